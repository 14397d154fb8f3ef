// Behaviour across many segments of one connection: congestion window growth (NewReno, RFC 5681
// §3.1; CUBIC, RFC 9438) as seen on the wire, window scaling with sequence numbers wrapping
// (RFC 7323 §2, RFC 9293 §3.4), and delayed-ACK (RFC 1122 §4.2.3.2) and keepalive (RFC 1122
// §4.2.3.6) edge cases.
#include <cerrno>

#include "fixture.hpp"

namespace demi::net::tcp::test {
namespace {

constexpr std::uint32_t S = our_iss + 1;
constexpr std::uint32_t R = peer_iss + 1;
constexpr std::uint32_t M = 1460;

class growth : public tcp_test {
protected:
    /// Expects `n` full segments from `from`, each exactly the pushed bytes, and nothing after.
    void expect_run(std::uint32_t from, std::uint32_t n) {
        for (std::uint32_t i = 0; i < n; ++i) {
            auto d = expect(f::ack, from + i * M, R, M);
            const auto off = static_cast<std::ptrdiff_t>(from + i * M - S);
            EXPECT_TRUE(std::equal(d.data_.begin(), d.data_.end(), data_.begin() + off));
            EXPECT_EQ(d.r_.options_, wire::tcp_options{});
        }
        expect_nothing();
    }
    std::vector<std::byte> data_ = filled(200 * M);
};

TEST_F(growth, newreno_slow_start_then_congestion_avoidance) {
    cfg_.cc_ = cc_algorithm::new_reno;
    established();
    ASSERT_TRUE(push(data_));
    dispatch();
    expect_run(S, 3); // IW = 3 * SMSS (RFC 5681 §3.1)
    // A timeout sets ssthresh = max(FlightSize / 2, 2 * SMSS) = 2M and cwnd = 1M.
    advance(conn_->rto().rto());
    expect_run(S, 1);
    EXPECT_EQ(conn_->cc().ssthresh(), 2 * M);
    // Slow start: +1 SMSS on the ACK; cwnd 2M, the rest goes again (go-back-N).
    send(seg(f::ack, R, S + M));
    EXPECT_EQ(conn_->cc().cwnd(), 2 * M);
    expect_run(S + M, 2);
    // Congestion avoidance: +1 SMSS once a cwnd's worth of bytes is acknowledged.
    send(seg(f::ack, R, S + 3 * M));
    EXPECT_EQ(conn_->cc().cwnd(), 3 * M);
    expect_run(S + 3 * M, 3);
    send(seg(f::ack, R, S + 4 * M));
    EXPECT_EQ(conn_->cc().cwnd(), 3 * M); // 1M of 3M counted
    expect_run(S + 6 * M, 1);
    send(seg(f::ack, R, S + 7 * M));
    EXPECT_EQ(conn_->cc().cwnd(), 4 * M); // 4M counted: +1 SMSS, 1M carried over
    expect_run(S + 7 * M, 4);
    send(seg(f::ack, R, S + 11 * M));
    EXPECT_EQ(conn_->cc().cwnd(), 5 * M);
    expect_run(S + 11 * M, 5);
}

TEST_F(growth, newreno_slow_start_one_smss_per_ack) {
    cfg_.cc_ = cc_algorithm::new_reno;
    established();
    ASSERT_TRUE(push(data_));
    dispatch();
    expect_run(S, 3);
    // One ACK for three segments still adds one SMSS (RFC 5681 §3.1, no ABC beyond L = 1).
    send(seg(f::ack, R, S + 3 * M));
    EXPECT_EQ(conn_->cc().cwnd(), 4 * M);
    expect_run(S + 3 * M, 4);
    for (std::uint32_t i = 0; i < 4; ++i) {
        send(seg(f::ack, R, S + (4 + i) * M));
        expect_run(S + (7 + 2 * i) * M, 2); // each ACK: one segment left, one more cwnd
    }
    EXPECT_EQ(conn_->cc().cwnd(), 8 * M);
}

TEST_F(growth, cubic_grows_in_congestion_avoidance_after_loss) {
    established(); // CUBIC is the default
    ASSERT_EQ(conn_->cc().algorithm(), cc_algorithm::cubic);
    ASSERT_TRUE(push(data_));
    dispatch();
    expect_run(S, 3);
    send(seg(f::ack, R, S + 3 * M));
    expect_run(S + 3 * M, 4);
    // Loss by timeout: CUBIC takes ssthresh = max(beta * cwnd, 2 * SMSS) (RFC 9438 §4.6-4.8).
    advance(conn_->rto().rto());
    expect_run(S + 3 * M, 1);
    EXPECT_EQ(conn_->cc().cwnd(), M);
    const std::uint32_t ssthresh = conn_->cc().ssthresh();
    EXPECT_EQ(ssthresh, static_cast<std::uint32_t>(4 * M * cubic::beta));
    // Every ACK acknowledges all that is out; what goes next is exactly cwnd, and cwnd never shrinks.
    std::uint32_t una = S + 4 * M;
    std::uint32_t prev = M;
    std::uint32_t nxt = S + 4 * M;
    for (int round = 0; round < 12; ++round) {
        now_ += 100ms;
        send(seg(f::ack, R, una));
        const std::uint32_t cwnd = conn_->cc().cwnd();
        EXPECT_GE(cwnd, prev);
        prev = cwnd;
        // Full segments fill cwnd from una; what was retransmitted by go-back-N is sent again first.
        const std::uint32_t n = cwnd / M;
        for (std::uint32_t i = 0; i < n; ++i) {
            auto d = expect(f::ack, una + i * M, R, M);
            EXPECT_EQ(d.r_.options_, wire::tcp_options{});
        }
        expect_nothing();
        nxt = una + n * M;
        una = nxt;
    }
    EXPECT_FALSE(conn_->cc().in_slow_start());
    EXPECT_GT(conn_->cc().cwnd(), ssthresh + M); // grown past the post-loss window
}

// ---- window scaling across the sequence wrap ----

TEST_F(growth, scaled_windows_across_sequence_wrap) {
    cfg_.window_scaling_ = true;
    cfg_.recv_buffer_ = 1 << 20;
    cfg_.nodelay_ = true;
    const std::uint32_t piss = 0xfffffe00u;
    const std::uint32_t iss = 0xfffffa00u;
    wire::tcp_repr syn = seg(f::syn, piss, 0, 1000);
    syn.options_.mss_ = 1460;
    syn.options_.window_scale_ = 4;
    conn_.emplace(connection::accept_syn(tuple_, cfg_, seq32(iss), now_, syn));
    dispatch();
    auto sa = expect(f::syn | f::ack, iss, piss + 1);
    wire::tcp_options want;
    want.mss_ = 1460;
    want.window_scale_ = 5; // 2^20 >> 5 fits 16 bits
    EXPECT_EQ(sa.r_.options_, want);
    EXPECT_EQ(sa.r_.window_, 0xffff);          // a SYN's window is never scaled
    send(seg(f::ack, piss + 1, iss + 1, 200)); // 200 << 4 = 3200
    ASSERT_EQ(conn_->current_state(), state::established);
    EXPECT_EQ(conn_->send_window(), 3200u);

    // Receive 1000 octets across 2^32: RCV.NXT wraps, the window is shifted by 5.
    const auto in = filled(1000);
    send(seg(f::ack, piss + 1, iss + 1, 200), in);
    auto a = expect(f::ack, iss + 1, piss + 1 + 1000);
    EXPECT_EQ(a.r_.ack_, 0x000001e9u);
    EXPECT_EQ(a.r_.window_, ((1u << 20) - 1000) >> 5);
    EXPECT_EQ(read_all(), in);

    // Send 3000 octets across 2^32 into the 3200-octet scaled window: MSS, MSS, then 80 (the rest).
    const auto out = filled(3000, 5);
    ASSERT_TRUE(push(out));
    dispatch();
    auto d1 = expect(f::ack, iss + 1, piss + 1001, 1460);
    auto d2 = expect(f::ack, iss + 1461, piss + 1001, 1460);
    auto d3 = expect(f::ack | f::psh, iss + 2921, piss + 1001, 80);
    expect_nothing();
    EXPECT_EQ(d2.r_.seq_, 0xffffffb5u); // its octets run across 2^32
    EXPECT_EQ(d3.r_.seq_, 0x00000569u);
    EXPECT_TRUE(std::equal(d2.data_.begin(), d2.data_.end(), out.begin() + 1460));
    EXPECT_TRUE(std::equal(d3.data_.begin(), d3.data_.end(), out.begin() + 2920));
    // An ACK from beyond the wrap acknowledges all of it; the window update is scaled.
    send(seg(f::ack, piss + 1001, iss + 3001, 4000));
    EXPECT_EQ(conn_->snd_una(), seq32(iss + 3001));
    EXPECT_EQ(conn_->send_window(), 64000u);
    EXPECT_EQ(conn_->pushes_completed(), 1u);
    expect_nothing();
}

TEST_F(growth, old_ack_across_wrap_ignored) {
    cfg_.window_scaling_ = true;
    const std::uint32_t iss = 0xfffffff0u;
    wire::tcp_repr syn = seg(f::syn, peer_iss);
    syn.options_.window_scale_ = 2;
    conn_.emplace(connection::accept_syn(tuple_, cfg_, seq32(iss), now_, syn));
    dispatch();
    expect(f::syn | f::ack, iss, peer_iss + 1);
    send(seg(f::ack, R, iss + 1, 1000));
    cfg_.nodelay_ = true;
    ASSERT_TRUE(push(filled(100)));
    dispatch();
    expect(f::ack | f::psh, iss + 1, R, 100); // 536-octet MSS: one segment, 0xfffffff1..0x55
    // An ACK for 0xfffffff1 (SND.UNA, before the wrap) changes nothing; one for 0x55 completes.
    send(seg(f::ack, R, iss + 1, 1000));
    EXPECT_EQ(conn_->snd_una(), seq32(iss + 1));
    send(seg(f::ack, R, iss + 101, 1000));
    EXPECT_EQ(conn_->snd_una(), seq32(0x55u));
    EXPECT_EQ(conn_->send_queued(), 0u);
    expect_nothing();
}

// ---- delayed ACK (RFC 1122 §4.2.3.2) ----

TEST_F(growth, delayed_ack_deadline_not_pushed_back_by_more_data) {
    cfg_.delayed_ack_ = 40ms;
    established();
    send(seg(f::ack, R, S), text("a"));
    now_ += 30ms;
    send(seg(f::ack, R + 1, S), text("b"));
    expect_nothing();
    EXPECT_EQ(conn_->poll_at(), now_ + 10ms); // at most 40 ms after the first
    advance(10ms);
    auto a = expect(f::ack, S, R + 2);
    EXPECT_EQ(a.r_.window_, 65535 - 2);
    EXPECT_FALSE(conn_->poll_at());
}

TEST_F(growth, delayed_ack_gap_fill_acked_at_once) {
    cfg_.delayed_ack_ = 40ms;
    established();
    send(seg(f::ack, R + 1, S), text("b"));
    expect(f::ack, S, R); // out of order: at once
    send(seg(f::ack, R, S), text("a"));
    expect(f::ack, S, R + 2); // the gap closed: at once (RFC 5681 §4.2)
    EXPECT_EQ(read_all(), text("ab"));
    EXPECT_FALSE(conn_->poll_at());
}

TEST_F(growth, delayed_ack_fin_acked_at_once) {
    cfg_.delayed_ack_ = 40ms;
    established();
    send(seg(f::ack, R, S), text("a"));
    expect_nothing();
    send(seg(f::ack | f::fin, R + 1, S));
    expect(f::ack, S, R + 2);
    EXPECT_EQ(conn_->current_state(), state::close_wait);
}

TEST_F(growth, delayed_ack_short_segments_count_only_by_timer) {
    cfg_.delayed_ack_ = 40ms;
    established();
    send(seg(f::ack, R, S), filled(100));
    send(seg(f::ack, R + 100, S), filled(100));
    send(seg(f::ack, R + 200, S), filled(100));
    expect_nothing(); // no full-sized segments: only the timer sends the ACK
    advance(40ms);
    expect(f::ack, S, R + 300);
}

TEST_F(growth, delayed_ack_counts_restart_after_ack) {
    cfg_.delayed_ack_ = 40ms;
    established();
    send(seg(f::ack, R, S), filled(M));
    send(seg(f::ack, R + M, S), filled(M));
    expect(f::ack, S, R + 2 * M);
    send(seg(f::ack, R + 2 * M, S), filled(M));
    expect_nothing(); // the count starts again after each ACK
    send(seg(f::ack, R + 3 * M, S), filled(M));
    expect(f::ack, S, R + 4 * M);
}

// ---- keepalive (RFC 1122 §4.2.3.6) ----

TEST_F(growth, keepalive_idle_restarted_by_incoming_data) {
    keepalive_config(10s);
    established();
    now_ += 6s;
    send(seg(f::ack, R, S), text("z"));
    expect(f::ack, S, R + 1);
    EXPECT_EQ(conn_->poll_at(), now_ + 10s);
    advance(9s);
    expect_nothing();
    advance(1s);
    expect(f::ack, S - 1, R + 1);
}

TEST_F(growth, keepalive_answer_resets_probe_count) {
    keepalive_config(10s, 1s, 2);
    established();
    advance(10s);
    expect(f::ack, S - 1, R);
    advance(1s);
    expect(f::ack, S - 1, R);
    send(seg(f::ack, R, S)); // answered just in time
    expect_nothing();
    advance(10s);
    expect(f::ack, S - 1, R);
    advance(1s);
    expect(f::ack, S - 1, R);
    EXPECT_EQ(conn_->error(), 0);
    advance(1s);
    EXPECT_EQ(conn_->error(), ETIMEDOUT);
    EXPECT_TRUE(conn_->is_closed());
}

TEST_F(growth, keepalive_in_close_wait) {
    keepalive_config(10s);
    close_wait();
    advance(10s);
    expect(f::ack, S - 1, R + 1); // <SEQ=SND.NXT-1> with the FIN acknowledged
    send(seg(f::ack, R + 1, S));
    EXPECT_EQ(conn_->poll_at(), now_ + 10s);
}

TEST_F(growth, keepalive_off_sends_nothing_when_idle) {
    established();
    advance(3h);
    expect_nothing();
    EXPECT_EQ(conn_->current_state(), state::established);
}

} // namespace
} // namespace demi::net::tcp::test
