// Timers on a manual clock: retransmission and backoff (RFC 6298), connection timeout, delayed
// ACK (RFC 1122 §4.2.3.2), persist (RFC 9293 §3.8.6.1), keepalive (RFC 1122 §4.2.3.6).
#include <cerrno>

#include "fixture.hpp"

namespace demi::net::tcp::test {
namespace {

constexpr std::uint32_t S = our_iss + 1;
constexpr std::uint32_t R = peer_iss + 1;

class timer_test : public tcp_test {
protected:
    /// ESTABLISHED, with "abc" pushed and sent (on the wire in out_).
    void established_sending_abc() {
        established();
        ASSERT_TRUE(push(text("abc")));
        dispatch();
    }
    /// ESTABLISHED, the peer's window shut, then "abc" pushed (held back).
    void established_behind_a_zero_window() {
        established();
        send(seg(f::ack, R, S, 0));
        ASSERT_TRUE(push(text("abc")));
        dispatch();
    }
};
using retransmission = timer_test;
using delayed_ack = timer_test;
using persist = timer_test;
using keepalive = timer_test;

TEST_F(retransmission, data_resent_after_rto_with_backoff) {
    established_sending_abc();
    expect(f::ack | f::psh, S, R, 3);
    EXPECT_EQ(conn_->poll_at(), now_ + 1s);
    advance(1s);
    expect(f::ack | f::psh, S, R, 3);
    advance(1999ms);
    expect_nothing();
    advance(1ms);
    expect(f::ack | f::psh, S, R, 3);
    EXPECT_EQ(conn_->poll_at(), now_ + 4s);
}

TEST_F(retransmission, timeout_collapses_cwnd) {
    cfg_.nodelay_ = true;
    established();
    ASSERT_TRUE(push(filled(4380)));
    dispatch();
    out_.clear();
    advance(1s);
    expect(f::ack, S, R, 1460); // one segment: cwnd = 1 MSS
    expect_nothing();
    EXPECT_EQ(conn_->cc().cwnd(), 1460u);
}

TEST_F(retransmission, too_many_retransmits_etimedout) {
    cfg_.max_retransmits_ = 2;
    established_sending_abc();
    advance(1s);
    advance(2s);
    out_.clear();
    advance(4s);
    expect_nothing();
    EXPECT_EQ(conn_->current_state(), state::closed);
    EXPECT_EQ(conn_->error(), ETIMEDOUT);
    EXPECT_EQ(push(text("x")).code(), ETIMEDOUT);
}

TEST_F(retransmission, user_timeout_etimedout) {
    cfg_.user_timeout_ = 2500ms;
    established_sending_abc();
    expect(f::ack | f::psh, S, R, 3);
    advance(1s);
    expect(f::ack | f::psh, S, R, 3); // the first retransmission
    // The backed-off RTO would run out at 3 s; as on Linux the timer is brought to the user
    // timeout, and the connection fails at 2.5 s since the data was first sent.
    EXPECT_EQ(conn_->poll_at(), now_ + 1500ms);
    advance(1499ms);
    EXPECT_EQ(conn_->error(), 0);
    advance(1ms);
    expect_nothing();
    EXPECT_EQ(conn_->error(), ETIMEDOUT);
    EXPECT_EQ(conn_->current_state(), state::closed);
}

TEST_F(retransmission, user_timeout_set_while_retransmitting_moves_the_running_timer) {
    established_sending_abc();
    advance(1s);
    advance(2s);
    EXPECT_EQ(conn_->poll_at(), now_ + 4s); // the third retransmission at 7 s
    conn_->set_user_timeout(5s, now_);     // 5 s since the data was sent: 2 s from now
    EXPECT_EQ(conn_->poll_at(), now_ + 2s);
    advance(2s);
    EXPECT_EQ(conn_->error(), ETIMEDOUT);
}

TEST_F(retransmission, user_timeout_already_past_fails_at_the_next_millisecond) {
    established_sending_abc();
    advance(1s);
    advance(2s);
    conn_->set_user_timeout(1s, now_);
    EXPECT_EQ(conn_->poll_at(), now_ + 1ms);
    advance(1ms);
    EXPECT_EQ(conn_->error(), ETIMEDOUT);
}

TEST_F(retransmission, user_timeout_bounds_an_active_open_too) {
    // As Linux since 5.4: connect fails at whichever comes first, TCP_SYNCNT or the user timeout.
    cfg_.user_timeout_ = 2500ms;
    syn_sent();
    advance(1s);
    expect(f::syn, our_iss, 0); // retransmitted; the next would go at 3 s
    EXPECT_EQ(conn_->poll_at(), now_ + 1500ms);
    advance(1500ms);
    expect_nothing();
    EXPECT_EQ(conn_->error(), ETIMEDOUT);
}

TEST_F(retransmission, user_timeout_leaves_a_half_open_connection_to_its_syn_ack_retries) {
    // A listener's half-open connection (SYN-RECEIVED) is bounded by its SYN-ACK retries, as Linux's
    // request sockets are.
    cfg_.user_timeout_ = 500ms;
    syn_received();
    advance(1s);
    expect(f::syn | f::ack, our_iss, peer_iss + 1);
    advance(2s);
    expect(f::syn | f::ack, our_iss, peer_iss + 1);
    EXPECT_EQ(conn_->error(), 0);
    EXPECT_EQ(conn_->current_state(), state::syn_received);
}

TEST_F(retransmission, user_timeout_counts_from_the_data_not_from_the_syn) {
    // An active open that then sits idle: the SYN's send time must not count against the first data.
    cfg_.user_timeout_ = 10s;
    syn_sent();
    send(seg(f::syn | f::ack, peer_iss, our_iss + 1));
    expect(f::ack, S, R);
    ASSERT_EQ(conn_->current_state(), state::established);
    advance(60s);
    ASSERT_TRUE(push(text("abc")));
    dispatch();
    expect(f::ack | f::psh, S, R, 3);
    advance(1s);
    expect(f::ack | f::psh, S, R, 3); // retransmitted, not failed
    EXPECT_EQ(conn_->error(), 0);
    advance(2s);
    expect(f::ack | f::psh, S, R, 3);
    EXPECT_EQ(conn_->error(), 0);
}

TEST_F(retransmission, user_timeout_shorter_than_the_rto_fails_after_one_retransmission) {
    // As Linux: nothing fails before a retransmission timeout has retransmitted; then the timer is
    // already past the user timeout, and runs out 1 ms later.
    cfg_.user_timeout_ = 300ms;
    established_sending_abc();
    expect(f::ack | f::psh, S, R, 3);
    advance(1s);
    expect(f::ack | f::psh, S, R, 3);
    EXPECT_EQ(conn_->error(), 0);
    EXPECT_EQ(conn_->poll_at(), now_ + 1ms);
    advance(1ms);
    EXPECT_EQ(conn_->error(), ETIMEDOUT);
}

TEST_F(retransmission, user_timeout_replaces_the_retransmission_count) {
    // Set, it alone ends a synchronized connection, as Linux's replaces tcp_retries2.
    cfg_.max_retransmits_ = 2;
    cfg_.user_timeout_ = 20s;
    established_sending_abc();
    advance(1s);
    advance(2s);
    advance(4s); // the third timeout: without a user timeout the connection would end here
    EXPECT_EQ(conn_->error(), 0);
    advance(8s); // 15 s
    EXPECT_EQ(conn_->error(), 0);
    EXPECT_EQ(conn_->poll_at(), now_ + 5s); // brought in to 20 s from 31 s
    advance(5s);
    EXPECT_EQ(conn_->error(), ETIMEDOUT);
}

TEST_F(retransmission, ack_stops_timer) {
    established_sending_abc();
    send(seg(f::ack, R, S + 3));
    EXPECT_FALSE(conn_->poll_at());
}

TEST_F(retransmission, rtt_sample_shortens_rto) {
    cfg_.rto_min_ = 200ms;
    syn_received();
    now_ += 50ms;
    send(seg(f::ack, R, S)); // the handshake gives the first sample
    EXPECT_EQ(conn_->rto().srtt(), 50ms);
    ASSERT_TRUE(push(text("abc")));
    dispatch();
    now_ += 50ms;
    send(seg(f::ack, R, S + 3));
    EXPECT_EQ(conn_->rto().srtt(), 50ms);
    EXPECT_EQ(conn_->rto().rto(), 200ms);
}

TEST_F(retransmission, karn_no_sample_from_retransmission) {
    established_sending_abc();
    const duration before = conn_->rto().srtt();
    advance(1s);
    out_.clear();
    now_ += 10ms;
    send(seg(f::ack, R, S + 3));
    EXPECT_EQ(conn_->rto().srtt(), before);
}

TEST_F(delayed_ack, single_segment_acked_after_delay) {
    cfg_.delayed_ack_ = 40ms;
    established();
    send(seg(f::ack, R, S), text("a"));
    expect_nothing();
    EXPECT_EQ(conn_->poll_at(), now_ + 40ms);
    advance(40ms);
    expect(f::ack, S, R + 1);
}

TEST_F(delayed_ack, every_second_full_segment) {
    cfg_.delayed_ack_ = 40ms;
    established();
    send(seg(f::ack, R, S), filled(1460));
    expect_nothing();
    send(seg(f::ack, R + 1460, S), filled(1460));
    expect(f::ack, S, R + 2920);
}

TEST_F(delayed_ack, clamped_to_200ms) {
    cfg_.delayed_ack_ = 1s;
    established();
    send(seg(f::ack, R, S), text("a"));
    EXPECT_EQ(conn_->poll_at(), now_ + 200ms);
}

TEST_F(delayed_ack, out_of_order_acked_at_once) {
    cfg_.delayed_ack_ = 40ms;
    established();
    send(seg(f::ack, R + 10, S), text("a"));
    expect(f::ack, S, R);
}

TEST_F(delayed_ack, piggybacked_on_data) {
    cfg_.delayed_ack_ = 40ms;
    established();
    send(seg(f::ack, R, S), text("q"));
    ASSERT_TRUE(push(text("r")));
    dispatch();
    expect(f::ack | f::psh, S, R + 1, 1);
    advance(40ms);
    expect_nothing();
}

TEST_F(persist, zero_window_probed_with_backoff) {
    established_behind_a_zero_window();
    expect_nothing();
    EXPECT_EQ(conn_->poll_at(), now_ + 1s);
    advance(1s);
    expect(f::ack, S, R, 1); // one octet of new data
    send(seg(f::ack, R, S, 0)); // still shut
    expect_nothing();
    advance(2s);
    expect(f::ack, S, R, 1);
    EXPECT_EQ(conn_->current_state(), state::established);
}

TEST_F(persist, window_opens_sends_rest) {
    established_behind_a_zero_window();
    advance(1s);
    expect(f::ack, S, R, 1);
    send(seg(f::ack, R, S + 1, 100));
    expect(f::ack | f::psh, S + 1, R, 2);
}

TEST_F(persist, probes_never_time_out) {
    cfg_.max_retransmits_ = 1;
    established_behind_a_zero_window();
    for (int i = 0; i < 6; ++i) {
        now_ = *conn_->poll_at();
        dispatch();
        send(seg(f::ack, R, S, 0));
    }
    EXPECT_EQ(conn_->current_state(), state::established);
}

TEST_F(persist, user_timeout_bounds_data_held_behind_a_zero_window) {
    // As on Linux, counted from the first probe: probes at 1 s and 3 s (2 s later, under 2.5 s);
    // the next, due at 7 s, is brought in to 3.5 s, where the connection fails instead of probing.
    cfg_.user_timeout_ = 2500ms;
    established_behind_a_zero_window();
    advance(1s);
    expect(f::ack, S, R, 1);
    send(seg(f::ack, R, S, 0));
    advance(2s);
    expect(f::ack, S, R, 1);
    send(seg(f::ack, R, S, 0));
    EXPECT_EQ(conn_->error(), 0);
    EXPECT_EQ(conn_->poll_at(), now_ + 500ms);
    advance(500ms);
    expect_nothing();
    EXPECT_EQ(conn_->error(), ETIMEDOUT);
}

TEST_F(keepalive, user_timeout_replaces_the_probe_count) {
    // With TCP_USER_TIMEOUT set, as on Linux, a keepalive timer that finds a probe out and the peer
    // silent for at least that long fails the connection, whatever TCP_KEEPCNT says.
    keepalive_config(10s, 1s, 9);
    cfg_.user_timeout_ = 12500ms;
    established(); // the peer was last heard now
    advance(10s);
    expect(f::ack, S - 1, R);
    advance(1s);
    expect(f::ack, S - 1, R);
    advance(1s);
    expect(f::ack, S - 1, R);
    advance(1s); // 13 s of silence, three probes out
    expect_nothing();
    EXPECT_EQ(conn_->error(), ETIMEDOUT);
}

TEST_F(keepalive, probe_after_idle_then_timeout) {
    keepalive_config(10s, 1s, 2);
    established();
    EXPECT_EQ(conn_->poll_at(), now_ + 10s);
    advance(10s);
    expect(f::ack, S - 1, R);
    advance(1s);
    expect(f::ack, S - 1, R);
    advance(1s);
    EXPECT_EQ(conn_->error(), ETIMEDOUT);
}

TEST_F(keepalive, answered_probe_rearms) {
    keepalive_config(10s);
    established();
    advance(10s);
    expect(f::ack, S - 1, R);
    send(seg(f::ack, R, S));
    EXPECT_EQ(conn_->poll_at(), now_ + 10s);
}

TEST_F(keepalive, off_by_default) {
    established();
    EXPECT_FALSE(conn_->poll_at());
}

TEST_F(keepalive, turned_on_and_off_on_an_established_connection) {
    cfg_.keepalive_idle_ = 10s;
    cfg_.keepalive_interval_ = 1s;
    cfg_.keepalive_probes_ = 1;
    established();
    advance(5s);
    conn_->set_keepalive(true, now_); // SO_KEEPALIVE: the idle time counts from now
    EXPECT_TRUE(conn_->keepalive());
    EXPECT_EQ(conn_->poll_at(), now_ + 10s);
    advance(9s);
    expect_nothing();
    advance(1s);
    expect(f::ack, S - 1, R);
    conn_->set_keepalive(false, now_); // off: the pending probe and its count are forgotten
    EXPECT_FALSE(conn_->poll_at());
    advance(1h);
    expect_nothing();
    EXPECT_EQ(conn_->error(), 0);
    conn_->set_keepalive(true, now_); // on again: a full idle time, a fresh count of unanswered probes
    advance(10s);
    expect(f::ack, S - 1, R);
    advance(1s);
    EXPECT_EQ(conn_->error(), ETIMEDOUT);
}

TEST_F(keepalive, timing_changed_while_idle_and_while_probing) {
    keepalive_config(10s, 1s, 5);
    established(); // the peer was last heard now
    advance(4s);
    // TCP_KEEPIDLE counts from when the peer was last heard: 6 s is 2 s from now, 20 s is 16 s from
    // now, 3 s is past (at once, not in the past), and then 5 s is 1 s from now again.
    conn_->set_keepalive_timing(6s, 1s, 5, now_);
    EXPECT_EQ(conn_->poll_at(), now_ + 2s);
    conn_->set_keepalive_timing(20s, 1s, 5, now_);
    EXPECT_EQ(conn_->poll_at(), now_ + 16s);
    conn_->set_keepalive_timing(3s, 1s, 5, now_);
    EXPECT_EQ(conn_->poll_at(), now_);
    conn_->set_keepalive_timing(5s, 1s, 5, now_);
    EXPECT_EQ(conn_->poll_at(), now_ + 1s);
    advance(1s);
    expect(f::ack, S - 1, R);
    // Probing: the same idle time passed again with another option moves nothing; the new interval
    // and count apply from the next probe on.
    conn_->set_keepalive_timing(5s, 5s, 2, now_);
    EXPECT_EQ(conn_->poll_at(), now_ + 1s);
    advance(1s);
    expect(f::ack, S - 1, R);
    advance(4s);
    expect_nothing();
    advance(1s);
    EXPECT_EQ(conn_->error(), ETIMEDOUT); // two unanswered probes
}

TEST_F(keepalive, tcp_keepidle_set_to_the_same_value_while_probing_probes_at_once) {
    keepalive_config(10s, 5s, 5);
    established();
    advance(10s);
    expect(f::ack, S - 1, R); // the first probe; the next is due in 5 s
    advance(2s);
    EXPECT_EQ(conn_->poll_at(), now_ + 3s);
    // TCP_KEEPIDLE 10 again: as on Linux, the idle time counts from when the peer was last heard,
    // 12 s ago, so the next probe goes at once.
    conn_->set_keepalive_timing(10s, 5s, 5, now_, true);
    EXPECT_EQ(conn_->poll_at(), now_);
    advance(0s);
    expect(f::ack, S - 1, R);
    // While idle (not yet probing) the same value lands where the timer already was.
    send(seg(f::ack, R, S));
    advance(4s);
    conn_->set_keepalive_timing(10s, 5s, 5, now_, true);
    EXPECT_EQ(conn_->poll_at(), now_ + 6s);
}

TEST_F(keepalive, a_shorter_idle_time_after_a_long_silence_probes_at_once) {
    cfg_.keepalive_interval_ = 1s;
    established();
    advance(100s);
    conn_->set_keepalive(true, now_); // SO_KEEPALIVE late: the default idle time from now
    EXPECT_EQ(conn_->poll_at(), now_ + 2h);
    conn_->set_keepalive_timing(10s, 1s, 9, now_); // TCP_KEEPIDLE 10: the peer was heard 100 s ago
    EXPECT_EQ(conn_->poll_at(), now_);
    advance(0s);
    expect(f::ack, S - 1, R);
    // The peer answers: the idle time counts from its answer.
    send(seg(f::ack, R, S));
    EXPECT_EQ(conn_->poll_at(), now_ + 10s);
}

TEST_F(keepalive, turned_on_before_the_handshake_arms_at_establishment) {
    cfg_.keepalive_idle_ = 10s;
    syn_sent();
    conn_->set_keepalive(true, now_);
    EXPECT_EQ(conn_->poll_at(), now_ + 1s); // only the SYN's retransmission
    advance(500ms);
    send(seg(f::syn | f::ack, peer_iss, our_iss + 1));
    expect(f::ack, S, R);
    ASSERT_EQ(conn_->current_state(), state::established);
    EXPECT_EQ(conn_->poll_at(), now_ + 10s);
    advance(10s);
    expect(f::ack, S - 1, R);
}

} // namespace
} // namespace demi::net::tcp::test
