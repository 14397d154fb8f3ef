// Opening: SYN-SENT, SYN-RECEIVED, LISTEN (RFC 9293 §3.5, §3.10.7.2-3), options (RFC 9293 §3.7.1,
// RFC 7323), SYN retransmission.
#include <cerrno>

#include "fixture.hpp"

namespace demi::net::tcp::test {
namespace {

using syn_sent_state = tcp_test;
using syn_received_state = tcp_test;
class listen_state : public tcp_test {
protected:
    /// The connection `l` makes from the peer's SYN becomes conn_, its SYN-ACK sent.
    void half_open_from(listener &l) {
        wire::tcp_repr s = seg(f::syn, peer_iss);
        s.options_.mss_ = 1460;
        auto out = l.process(now_, ip_, s, {});
        ASSERT_TRUE(out.conn_);
        conn_.emplace(std::move(*out.conn_));
        dispatch();
        expect(f::syn | f::ack, our_iss, peer_iss + 1);
    }
};
using options = tcp_test;

TEST_F(syn_sent_state, syn_carries_mss_and_window) {
    conn_.emplace(connection::connect(tuple_, cfg_, seq32(our_iss), now_));
    dispatch();
    auto s = expect(f::syn, our_iss, 0);
    EXPECT_EQ(s.r_.options_.mss_, std::optional<std::uint16_t>(1460));
    EXPECT_FALSE(s.r_.options_.window_scale_);
    EXPECT_FALSE(s.r_.options_.timestamp_);
    EXPECT_EQ(s.r_.window_, 65535);
}

TEST_F(syn_sent_state, syn_ack_establishes) {
    syn_sent();
    send(seg(f::syn | f::ack, peer_iss, our_iss + 1, 8192));
    expect(f::ack, our_iss + 1, peer_iss + 1);
    EXPECT_EQ(conn_->current_state(), state::established);
    EXPECT_EQ(conn_->send_window(), 8192u);
    EXPECT_EQ(conn_->send_mss(), 536); // no MSS option: 536 (RFC 9293 §3.7.1)
}

TEST_F(syn_sent_state, bad_ack_gets_reset) {
    syn_sent();
    send(seg(f::syn | f::ack, peer_iss, our_iss + 5));
    expect(f::rst, our_iss + 5, 0);
    EXPECT_EQ(conn_->current_state(), state::syn_sent);
}

TEST_F(syn_sent_state, ack_of_iss_is_unacceptable) {
    syn_sent();
    send(seg(f::ack, peer_iss, our_iss));
    expect(f::rst, our_iss, 0);
}

TEST_F(syn_sent_state, rst_with_acceptable_ack_refuses) {
    syn_sent();
    send(seg(f::rst | f::ack, 0, our_iss + 1));
    expect_nothing();
    EXPECT_EQ(conn_->current_state(), state::closed);
    EXPECT_EQ(conn_->error(), ECONNREFUSED);
}

TEST_F(syn_sent_state, rst_without_ack_ignored) {
    syn_sent();
    send(seg(f::rst, 0));
    expect_nothing();
    EXPECT_EQ(conn_->current_state(), state::syn_sent);
}

TEST_F(syn_sent_state, rst_with_bad_ack_ignored) {
    syn_sent();
    send(seg(f::rst | f::ack, 0, our_iss + 9));
    expect_nothing();
    EXPECT_EQ(conn_->current_state(), state::syn_sent);
}

TEST_F(syn_sent_state, segment_without_syn_or_rst_dropped) {
    syn_sent();
    send(seg(f::ack, peer_iss, our_iss + 1));
    expect_nothing();
    EXPECT_EQ(conn_->current_state(), state::syn_sent);
    EXPECT_EQ(conn_->stats().rejected_, 1u);
}

TEST_F(syn_sent_state, simultaneous_open) {
    syn_sent();
    send(seg(f::syn, peer_iss));
    expect(f::syn | f::ack, our_iss, peer_iss + 1);
    EXPECT_EQ(conn_->current_state(), state::syn_received);
    send(seg(f::syn | f::ack, peer_iss, our_iss + 1)); // the peer's SYN-ACK: not acceptable, acked
    send(seg(f::ack, peer_iss + 1, our_iss + 1));
    EXPECT_EQ(conn_->current_state(), state::established);
}

TEST_F(syn_sent_state, syn_retransmitted_with_backoff) {
    syn_sent();
    advance(999ms);
    expect_nothing();
    advance(1ms);
    expect(f::syn, our_iss, 0);
    advance(1999ms);
    expect_nothing();
    advance(1ms);
    expect(f::syn, our_iss, 0);
    advance(4s);
    expect(f::syn, our_iss, 0);
    EXPECT_EQ(conn_->stats().retransmits_, 3u);
}

TEST_F(syn_sent_state, syn_retries_exhausted_times_out) {
    cfg_.syn_retries_ = 2;
    syn_sent();
    advance(1s);
    expect(f::syn, our_iss, 0);
    advance(2s);
    expect(f::syn, our_iss, 0);
    advance(4s);
    expect_nothing();
    EXPECT_EQ(conn_->current_state(), state::closed);
    EXPECT_EQ(conn_->error(), ETIMEDOUT);
    EXPECT_FALSE(conn_->poll_at());
}

TEST_F(syn_sent_state, poll_at_is_rto) {
    syn_sent();
    EXPECT_EQ(conn_->poll_at(), now_ + 1s);
}

TEST_F(syn_sent_state, close_deletes) {
    syn_sent();
    conn_->close();
    EXPECT_EQ(conn_->current_state(), state::closed);
    EXPECT_EQ(conn_->error(), 0);
    dispatch();
    expect_nothing();
}

TEST_F(syn_sent_state, rtt_sampled_from_handshake) {
    syn_sent();
    now_ += 30ms;
    send(seg(f::syn | f::ack, peer_iss, our_iss + 1));
    EXPECT_TRUE(conn_->rto().has_sample());
    EXPECT_EQ(conn_->rto().srtt(), 30ms);
}

TEST_F(syn_sent_state, data_pushed_before_established_goes_after) {
    syn_sent();
    ASSERT_TRUE(push(text("hi")));
    dispatch();
    expect_nothing();
    send(seg(f::syn | f::ack, peer_iss, our_iss + 1));
    expect(f::ack | f::psh, our_iss + 1, peer_iss + 1, 2);
}

TEST_F(syn_received_state, ack_establishes) {
    established();
    EXPECT_TRUE(conn_->passive());
    EXPECT_EQ(conn_->send_window(), 65535u);
}

TEST_F(syn_received_state, bad_ack_gets_reset) {
    syn_received();
    send(seg(f::ack, peer_iss + 1, our_iss + 7));
    expect(f::rst, our_iss + 7, 0);
    EXPECT_EQ(conn_->current_state(), state::syn_received);
}

TEST_F(syn_received_state, retransmitted_syn_resends_syn_ack) {
    syn_received();
    send(seg(f::syn, peer_iss));
    expect(f::syn | f::ack, our_iss, peer_iss + 1);
}

TEST_F(syn_received_state, rst_closes_passive_quietly) {
    syn_received();
    send(seg(f::rst, peer_iss + 1));
    EXPECT_EQ(conn_->current_state(), state::closed);
    EXPECT_EQ(conn_->error(), 0);
}

TEST_F(syn_received_state, rst_out_of_window_ignored) {
    syn_received();
    send(seg(f::rst, peer_iss + 100000));
    expect_nothing();
    EXPECT_EQ(conn_->current_state(), state::syn_received);
}

TEST_F(syn_received_state, syn_ack_retransmitted_on_timeout) {
    syn_received();
    advance(1s);
    expect(f::syn | f::ack, our_iss, peer_iss + 1);
    advance(2s);
    expect(f::syn | f::ack, our_iss, peer_iss + 1);
}

TEST_F(syn_received_state, segment_without_ack_dropped) {
    syn_received();
    send(seg(0, peer_iss + 1), text("x"));
    expect_nothing();
    EXPECT_EQ(conn_->current_state(), state::syn_received);
}

TEST_F(syn_received_state, data_on_final_ack_delivered) {
    syn_received();
    send(seg(f::ack | f::psh, peer_iss + 1, our_iss + 1), text("hello"));
    expect(f::ack, our_iss + 1, peer_iss + 6);
    EXPECT_EQ(read_all(), text("hello"));
}

TEST_F(syn_received_state, close_sends_fin_after_established) {
    syn_received();
    conn_->close();
    dispatch();
    expect_nothing();
    send(seg(f::ack, peer_iss + 1, our_iss + 1));
    expect(f::fin | f::ack, our_iss + 1, peer_iss + 1);
    EXPECT_EQ(conn_->current_state(), state::fin_wait_1);
}

TEST_F(syn_received_state, abort_sends_reset) {
    syn_received();
    conn_->abort();
    dispatch();
    expect(f::rst, our_iss + 1, 0);
    EXPECT_EQ(conn_->current_state(), state::closed);
}

TEST_F(options, mss_is_min_of_both) {
    cfg_.mss_ = 1200;
    syn_received(); // peer offered 1460
    EXPECT_EQ(conn_->send_mss(), 1200);
}

TEST_F(options, window_scale_negotiated) {
    cfg_.window_scaling_ = true;
    cfg_.recv_buffer_ = 1 << 20;
    wire::tcp_repr s = seg(f::syn, peer_iss, 0, 1000);
    s.options_.window_scale_ = 3;
    conn_.emplace(connection::accept_syn(tuple_, cfg_, seq32(our_iss), now_, s));
    dispatch();
    auto sa = expect(f::syn | f::ack, our_iss, peer_iss + 1);
    EXPECT_EQ(sa.r_.options_.window_scale_, std::optional<std::uint8_t>(5)); // 2^20 >> 5 < 65536
    EXPECT_EQ(sa.r_.window_, 65535);                                         // a SYN's window is unscaled
    EXPECT_TRUE(conn_->window_scaling());
    EXPECT_EQ(conn_->send_window(), 1000u); // from the SYN: unscaled
    send(seg(f::ack, peer_iss + 1, our_iss + 1, 1000));
    EXPECT_EQ(conn_->send_window(), 8000u);
    send(seg(f::ack, peer_iss + 1, our_iss + 1, 1000), text("abc"));
    auto a = expect(f::ack, our_iss + 1, peer_iss + 4);
    EXPECT_EQ(a.r_.window_, ((1u << 20) - 3) >> 5);
}

TEST_F(options, window_scale_needs_both_sides) {
    cfg_.window_scaling_ = true;
    cfg_.recv_buffer_ = 1 << 20;
    syn_received(); // peer sent no window scale
    EXPECT_FALSE(conn_->window_scaling());
    EXPECT_EQ(conn_->recv_scale(), 0);
    EXPECT_EQ(conn_->recv_window(), 65535u);
}

TEST_F(options, syn_offers_scale_and_timestamps) {
    cfg_.window_scaling_ = true;
    cfg_.timestamps_ = true;
    conn_.emplace(connection::connect(tuple_, cfg_, seq32(our_iss), now_));
    dispatch();
    auto s = expect(f::syn, our_iss, 0);
    ASSERT_TRUE(s.r_.options_.window_scale_);
    ASSERT_TRUE(s.r_.options_.timestamp_);
    EXPECT_EQ(s.r_.options_.timestamp_->tsecr_, 0u);
    EXPECT_EQ(s.r_.options_.timestamp_->tsval_, 100000u + our_iss); // ms clock + offset
}

TEST_F(options, timestamps_negotiated_and_echoed) {
    cfg_.timestamps_ = true;
    wire::tcp_repr s = seg(f::syn, peer_iss);
    s.options_.timestamp_ = wire::tcp_timestamp{777, 0};
    s.options_.mss_ = 1460;
    conn_.emplace(connection::accept_syn(tuple_, cfg_, seq32(our_iss), now_, s));
    dispatch();
    auto sa = expect(f::syn | f::ack, our_iss, peer_iss + 1);
    ASSERT_TRUE(sa.r_.options_.timestamp_);
    EXPECT_EQ(sa.r_.options_.timestamp_->tsecr_, 777u);
    EXPECT_TRUE(conn_->timestamps());
    wire::tcp_repr a = seg(f::ack, peer_iss + 1, our_iss + 1);
    a.options_.timestamp_ = wire::tcp_timestamp{778, sa.r_.options_.timestamp_->tsval_};
    now_ += 20ms;
    send(a);
    EXPECT_EQ(conn_->rto().srtt(), 20ms); // RTT from TSecr (RFC 7323 §4.1)
    ASSERT_TRUE(push(text("data")));
    dispatch();
    auto d = expect(f::ack | f::psh, our_iss + 1, peer_iss + 1, 4);
    EXPECT_EQ(d.r_.options_.timestamp_->tsecr_, 778u);
}

TEST_F(options, timestamps_off_when_peer_lacks_them) {
    cfg_.timestamps_ = true;
    syn_received();
    EXPECT_FALSE(conn_->timestamps());
}

TEST_F(options, paws_drops_old_timestamp) {
    cfg_.timestamps_ = true;
    wire::tcp_repr s = seg(f::syn, peer_iss);
    s.options_.timestamp_ = wire::tcp_timestamp{1000, 0};
    conn_.emplace(connection::accept_syn(tuple_, cfg_, seq32(our_iss), now_, s));
    dispatch();
    out_.clear();
    wire::tcp_repr a = seg(f::ack, peer_iss + 1, our_iss + 1);
    a.options_.timestamp_ = wire::tcp_timestamp{1001, 0};
    send(a);
    ASSERT_EQ(conn_->current_state(), state::established);
    wire::tcp_repr old = seg(f::ack, peer_iss + 1, our_iss + 1);
    old.options_.timestamp_ = wire::tcp_timestamp{900, 0};
    send(old, text("stale"));
    expect(f::ack, our_iss + 1, peer_iss + 1);
    EXPECT_EQ(conn_->readable(), 0u);
}

TEST_F(listen_state, syn_creates_connection) {
    rng r(1);
    listener l({tuple_.local_.addr_, 80}, 2, cfg_, isn_generator(r));
    wire::tcp_repr s = seg(f::syn, peer_iss);
    auto o = l.process(now_, ip_, s, {});
    ASSERT_TRUE(o.conn_);
    EXPECT_FALSE(o.reply_);
    EXPECT_EQ(o.conn_->current_state(), state::syn_received);
    EXPECT_EQ(o.conn_->tuple(), tuple_);
    EXPECT_EQ(l.queued(), 1u);
}

TEST_F(listen_state, backlog_limit_drops_and_counts) {
    listener l({tuple_.local_.addr_, 80}, 1, cfg_, [](const four_tuple &, time_point) { return seq32(7); });
    EXPECT_TRUE(l.process(now_, ip_, seg(f::syn, peer_iss), {}).conn_);
    auto o = l.process(now_, ip_, seg(f::syn, peer_iss + 99), {});
    EXPECT_FALSE(o.conn_);
    EXPECT_FALSE(o.reply_);
    EXPECT_EQ(l.dropped(), 1u);
    l.release();
    EXPECT_TRUE(l.process(now_, ip_, seg(f::syn, peer_iss + 99), {}).conn_);
}

TEST_F(listen_state, ack_gets_reset) {
    listener l({tuple_.local_.addr_, 80}, 1, cfg_, [](const four_tuple &, time_point) { return seq32(7); });
    auto o = l.process(now_, ip_, seg(f::ack, 1, 4242), {});
    ASSERT_TRUE(o.reply_);
    EXPECT_EQ(o.reply_->flags_, f::rst);
    EXPECT_EQ(o.reply_->seq_, 4242u);
    EXPECT_EQ(o.reply_->dst_port_, 5000);
}

TEST_F(listen_state, rst_and_bare_segments_ignored) {
    listener l({tuple_.local_.addr_, 80}, 1, cfg_, [](const four_tuple &, time_point) { return seq32(7); });
    auto a = l.process(now_, ip_, seg(f::rst, 1), {});
    EXPECT_FALSE(a.conn_ || a.reply_);
    auto b = l.process(now_, ip_, seg(0, 1), {});
    EXPECT_FALSE(b.conn_ || b.reply_);
}

TEST_F(listen_state, isn_differs_per_tuple_and_moves_with_time) {
    rng r(42);
    isn_generator g(r);
    four_tuple other = tuple_;
    other.remote_.port_ = 5001;
    EXPECT_NE(g(tuple_, now_), g(other, now_));
    EXPECT_EQ(g(tuple_, now_ + 4us).value() - g(tuple_, now_).value(), 1u); // RFC 6528: M ticks every 4 µs
}

TEST(reset_for, answers_closed_port) {
    wire::tcp_repr s;
    s.src_port_ = 1;
    s.dst_port_ = 2;
    s.flags_ = f::syn;
    s.seq_ = 100;
    auto r = reset_for(s, 0);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->flags_, f::rst | f::ack);
    EXPECT_EQ(r->seq_, 0u);
    EXPECT_EQ(r->ack_, 101u);
    s.flags_ = f::ack;
    s.ack_ = 55;
    r = reset_for(s, 10);
    EXPECT_EQ(r->flags_, f::rst);
    EXPECT_EQ(r->seq_, 55u);
    s.flags_ = f::rst;
    EXPECT_FALSE(reset_for(s, 0));
}

// ---- data on a SYN (RFC 9293 §3.10.7.2-3) and a new SYN in SYN-RECEIVED (§3.10.7.4) ----

TEST_F(syn_received_state, syn_data_queued_acked_and_delivered_once_established) {
    wire::tcp_repr s = seg(f::syn, peer_iss);
    s.options_.mss_ = 1460;
    const auto hello = text("hello");
    conn_.emplace(connection::accept_syn(tuple_, cfg_, seq32(our_iss), now_, s, hello));
    dispatch();
    // The SYN-ACK acknowledges the data it keeps; the application sees it only once ESTABLISHED.
    auto sa = expect(f::syn | f::ack, our_iss, peer_iss + 6);
    EXPECT_EQ(sa.r_.window_, 65535 - 5);
    EXPECT_EQ(conn_->readable(), 0u);
    EXPECT_EQ(conn_->stats().syn_data_, 5u);
    send(seg(f::ack | f::psh, peer_iss + 6, our_iss + 1), text(" world"));
    expect(f::ack, our_iss + 1, peer_iss + 12);
    EXPECT_EQ(conn_->current_state(), state::established);
    EXPECT_EQ(read_all(), text("hello world"));
}

TEST_F(syn_received_state, syn_data_beyond_window_not_acked) {
    cfg_.recv_buffer_ = 3;
    wire::tcp_repr s = seg(f::syn, peer_iss);
    conn_.emplace(connection::accept_syn(tuple_, cfg_, seq32(our_iss), now_, s, text("hello")));
    dispatch();
    // Only what fits is kept, and only that is acknowledged: never ACK data that was dropped.
    expect(f::syn | f::ack, our_iss, peer_iss + 4);
    send(seg(f::ack, peer_iss + 4, our_iss + 1));
    EXPECT_EQ(read_all(), text("hel"));
}

TEST_F(listen_state, a_half_open_connection_sends_its_syn_ack_five_more_times_by_default) {
    // As Linux's tcp_synack_retries (5), not the SYN retries (6): the SYN-ACK goes again after 1, 3,
    // 7, 15 and 31 s, and the connection is given up when the next, doubled RTO (32 s) runs out.
    EXPECT_EQ(cfg_.syn_retries_, 6u);
    listener l({tuple_.local_.addr_, 80}, 4, cfg_, [](const four_tuple &, time_point) { return seq32(our_iss); });
    half_open_from(l);
    duration rto = 1s;
    for (int i = 0; i < 5; ++i) {
        advance(rto);
        expect(f::syn | f::ack, our_iss, peer_iss + 1);
        rto *= 2;
    }
    advance(rto - 1ms);
    EXPECT_EQ(conn_->current_state(), state::syn_received);
    advance(1ms);
    expect_nothing();
    EXPECT_EQ(conn_->current_state(), state::closed);
    EXPECT_EQ(conn_->error(), ETIMEDOUT);
    EXPECT_EQ(conn_->stats().retransmits_, 5u);
}

TEST_F(listen_state, tcp_syncnt_on_the_listener_replaces_the_syn_ack_default) {
    listener l({tuple_.local_.addr_, 80}, 4, cfg_, [](const four_tuple &, time_point) { return seq32(our_iss); });
    l.set_syn_retries(1);
    half_open_from(l);
    advance(1s);
    expect(f::syn | f::ack, our_iss, peer_iss + 1);
    advance(2s);
    expect_nothing();
    EXPECT_EQ(conn_->error(), ETIMEDOUT);
}

TEST_F(listen_state, syn_data_reaches_the_connection) {
    listener l({tuple_.local_.addr_, 80}, 4, cfg_, [](const four_tuple &, time_point) { return seq32(our_iss); });
    wire::tcp_repr s = seg(f::syn, peer_iss);
    const auto data = text("abc");
    s.payload_ = data;
    auto out = l.process(now_, ip_, s, data);
    ASSERT_TRUE(out.conn_);
    EXPECT_EQ(out.conn_->rcv_nxt(), seq32(peer_iss + 4));
}

TEST_F(syn_sent_state, syn_ack_data_delivered) {
    syn_sent();
    send(seg(f::syn | f::ack, peer_iss, our_iss + 1), text("hi"));
    expect(f::ack, our_iss + 1, peer_iss + 3);
    EXPECT_EQ(conn_->current_state(), state::established);
    EXPECT_EQ(read_all(), text("hi"));
}

TEST_F(syn_sent_state, syn_ack_data_and_fin) {
    syn_sent();
    send(seg(f::syn | f::ack | f::fin, peer_iss, our_iss + 1), text("bye"));
    expect(f::ack, our_iss + 1, peer_iss + 5);
    EXPECT_EQ(conn_->current_state(), state::close_wait);
    EXPECT_EQ(read_all(), text("bye"));
}

TEST_F(syn_sent_state, simultaneous_open_syn_data_waits_for_established) {
    syn_sent();
    send(seg(f::syn, peer_iss), text("ab"));
    expect(f::syn | f::ack, our_iss, peer_iss + 3);
    EXPECT_EQ(conn_->readable(), 0u);
    send(seg(f::ack, peer_iss + 3, our_iss + 1));
    EXPECT_EQ(conn_->current_state(), state::established);
    EXPECT_EQ(read_all(), text("ab"));
}

TEST_F(syn_received_state, new_syn_from_passive_open_returns_to_listen) {
    // RFC 9293 §3.10.7.4 "fourth", SYN-RECEIVED: "If the connection was initiated with a passive
    // OPEN, then return this connection to the LISTEN state and return." The listener never left
    // LISTEN; this connection goes away without a RST or an error, and the SYN is not answered (its
    // retransmission reaches the listener).
    syn_received();
    send(seg(f::syn, peer_iss + 100));
    expect_nothing();
    EXPECT_EQ(conn_->current_state(), state::closed);
    EXPECT_EQ(conn_->error(), 0);
    EXPECT_EQ(conn_->stats().challenge_acks_, 0u);
}

TEST_F(syn_received_state, retransmitted_syn_still_resends_syn_ack) {
    syn_received();
    send(seg(f::syn, peer_iss)); // the same SYN again (SEG.SEQ = IRS): our SYN-ACK was lost
    expect(f::syn | f::ack, our_iss, peer_iss + 1);
    EXPECT_EQ(conn_->current_state(), state::syn_received);
}

TEST_F(syn_sent_state, new_syn_after_simultaneous_open_draws_challenge_ack) {
    // From an active open, SYN-RECEIVED handles a SYN as the synchronized states do (RFC 9293
    // §3.10.7.4, RFC 5961 §4.2): a challenge ACK, never a reset.
    syn_sent();
    send(seg(f::syn, peer_iss));
    expect(f::syn | f::ack, our_iss, peer_iss + 1);
    send(seg(f::syn, peer_iss + 100));
    expect(f::ack, our_iss + 1, peer_iss + 1);
    EXPECT_EQ(conn_->current_state(), state::syn_received);
    EXPECT_EQ(conn_->stats().challenge_acks_, 1u);
}

// ---- RFC 6298 §5.7 ----

TEST_F(syn_sent_state, rto_three_seconds_after_syn_timeout) {
    syn_sent();
    advance(1s);
    expect(f::syn, our_iss, 0);
    send(seg(f::syn | f::ack, peer_iss, our_iss + 1));
    expect(f::ack, our_iss + 1, peer_iss + 1);
    // The SYN timed out and the initial RTO (1 s) is below 3 s: 3 s once data transmission begins.
    EXPECT_EQ(conn_->rto().rto(), 3s);
    ASSERT_TRUE(push(text("x")));
    dispatch();
    expect(f::ack | f::psh, our_iss + 1, peer_iss + 1, 1);
    advance(2999ms);
    expect_nothing();
    advance(1ms);
    expect(f::ack | f::psh, our_iss + 1, peer_iss + 1, 1);
}

TEST_F(syn_sent_state, rto_unchanged_without_syn_timeout) {
    syn_sent();
    advance(10ms);
    send(seg(f::syn | f::ack, peer_iss, our_iss + 1));
    EXPECT_EQ(conn_->rto().rto(), 1s); // a 10 ms sample, held up by the 1 s minimum
}

TEST_F(syn_received_state, rto_three_seconds_after_syn_ack_timeout) {
    syn_received();
    advance(1s);
    expect(f::syn | f::ack, our_iss, peer_iss + 1);
    send(seg(f::ack, peer_iss + 1, our_iss + 1));
    EXPECT_EQ(conn_->current_state(), state::established);
    EXPECT_EQ(conn_->rto().rto(), 3s);
}

} // namespace
} // namespace demi::net::tcp::test
