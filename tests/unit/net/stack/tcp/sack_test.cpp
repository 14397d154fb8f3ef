// SACK (RFC 2018): negotiation, the blocks a receiver reports, the sender's scoreboard; and SACK-based
// loss recovery (RFC 6675): IsLost, NextSeg, pipe, entering and leaving recovery; NewReno without SACK.
#include <utility>

#include "fixture.hpp"

namespace demi::net::tcp::test {
namespace {

constexpr std::uint32_t S = our_iss + 1;  // our first data octet
constexpr std::uint32_t R = peer_iss + 1; // the peer's first data octet
constexpr std::uint32_t M = 1460;         // MSS, no timestamps

using blocks = std::vector<std::pair<std::uint32_t, std::uint32_t>>;

class sack : public tcp_test {
protected:
    sack() { cfg_.cc_ = cc_algorithm::new_reno; }

    /// Passive open where the peer's SYN offers SACK (and timestamps when `ts`).
    void sack_established(bool ts = false) {
        wire::tcp_repr s = seg(f::syn, peer_iss);
        s.options_.mss_ = 1460;
        s.options_.sack_permitted_ = true;
        if (ts) {
            cfg_.timestamps_ = true;
            s.options_.timestamp_ = wire::tcp_timestamp{1, 0};
        }
        conn_.emplace(connection::accept_syn(tuple_, cfg_, seq32(our_iss), now_, s));
        dispatch();
        auto sa = expect(f::syn | f::ack, our_iss, peer_iss + 1);
        EXPECT_TRUE(sa.r_.options_.sack_permitted_);
        send(seg(f::ack, R, S));
        expect_nothing();
        ASSERT_EQ(conn_->current_state(), state::established);
        ASSERT_TRUE(conn_->sack_permitted());
    }
    /// The options an ACK carries with these SACK blocks (no timestamps).
    static wire::tcp_options with_blocks(const blocks &b) {
        wire::tcp_options o;
        for (const auto &[l, r] : b) o.sack_blocks_[o.sack_count_++] = {l, r};
        return o;
    }
    /// A pure ACK from the peer carrying SACK blocks.
    [[nodiscard]] wire::tcp_repr sack_ack(std::uint32_t ack, const blocks &b) const {
        wire::tcp_repr r = seg(f::ack, R, ack);
        r.options_ = with_blocks(b);
        return r;
    }
    /// The next segment is data [seq, seq + len) of `data_` (relative to S), with no options.
    void expect_data(std::uint32_t seq, std::uint32_t len, std::uint8_t flags = f::ack) {
        auto d = expect(flags, seq, R, len);
        EXPECT_EQ(d.r_.options_, wire::tcp_options{});
        const auto off = static_cast<std::ptrdiff_t>(seq - S);
        EXPECT_TRUE(d.data_.size() == len && std::equal(d.data_.begin(), d.data_.end(), data_.begin() + off));
    }
    /// Established with SACK, NewReno, and segments [12M, 18M) in flight (cwnd 6 * M), of `segments`
    /// pushed (at least 18).
    void six_in_flight(std::uint32_t segments = 40) {
        sack_established();
        data_ = filled(segments * M);
        ASSERT_TRUE(push(data_));
        dispatch();
        auto flags = [&](std::uint32_t i) -> std::uint8_t { return i + 1 == segments ? f::ack | f::psh : f::ack; };
        for (std::uint32_t i = 0; i < 3; ++i) expect_data(S + i * M, M, flags(i));
        send(seg(f::ack, R, S + 3 * M));
        for (std::uint32_t i = 3; i < 7; ++i) expect_data(S + i * M, M, flags(i));
        send(seg(f::ack, R, S + 7 * M));
        for (std::uint32_t i = 7; i < 12; ++i) expect_data(S + i * M, M, flags(i));
        send(seg(f::ack, R, S + 12 * M));
        for (std::uint32_t i = 12; i < 18; ++i) expect_data(S + i * M, M, flags(i));
        expect_nothing();
        ASSERT_EQ(conn_->cc().cwnd(), 6 * M);
    }
    /// The next segment is our pure ACK of RCV.NXT = `ack` with exactly these blocks.
    void expect_sack(std::uint32_t ack, const blocks &b) {
        auto a = expect(f::ack, S, ack);
        EXPECT_EQ(a.r_.options_, with_blocks(b));
    }

    /// Established with SACK, NewReno, and segments [17M, 37M) in flight (cwnd 20 * M: slow start
    /// with one ACK a segment), of 80 pushed.
    void twenty_in_flight() {
        sack_established();
        data_ = filled(80 * M);
        ASSERT_TRUE(push(data_));
        dispatch();
        for (std::uint32_t i = 0; i < 17; ++i) send(seg(f::ack, R, S + (i + 1) * M));
        out_.clear();
        ASSERT_EQ(conn_->cc().cwnd(), 20 * M);
        ASSERT_EQ(conn_->pipe(), 20 * M);
    }
    /// twenty_in_flight(), then [17M, 18M) lost: two limited transmits ([37M, 39M)) on the first two
    /// duplicate ACKs, SACK recovery on the third (ssthresh 11M), its fast retransmit sent.
    void one_loss_in_twenty() {
        twenty_in_flight();
        send(sack_ack(S + 17 * M, {{S + 18 * M, S + 19 * M}}));
        send(sack_ack(S + 17 * M, {{S + 18 * M, S + 20 * M}}));
        EXPECT_EQ(take_data_segments(), 2);
        send(sack_ack(S + 17 * M, {{S + 18 * M, S + 21 * M}}));
        ASSERT_TRUE(conn_->in_recovery());
        EXPECT_EQ(conn_->cc().ssthresh(), 11 * M);
        expect_data(S + 17 * M, M);
        expect_nothing();
    }
    /// Removes the segments sent so far, each one full segment of data; returns how many.
    int take_data_segments() {
        int n = 0;
        for (; !out_.empty(); out_.pop_front(), ++n) EXPECT_EQ(out_.front().data_.size(), M);
        return n;
    }

    std::vector<std::byte> data_;
};

// ---- negotiation (RFC 2018 §2) ----

TEST_F(sack, passive_open_answers_offer) {
    wire::tcp_repr s = seg(f::syn, peer_iss);
    s.options_.mss_ = 1460;
    s.options_.sack_permitted_ = true;
    conn_.emplace(connection::accept_syn(tuple_, cfg_, seq32(our_iss), now_, s));
    dispatch();
    auto sa = expect(f::syn | f::ack, our_iss, peer_iss + 1);
    wire::tcp_options want;
    want.mss_ = 1460;
    want.sack_permitted_ = true;
    EXPECT_EQ(sa.r_.options_, want);
    EXPECT_TRUE(conn_->sack_permitted());
}

TEST_F(sack, passive_open_without_offer) {
    syn_received();
    EXPECT_FALSE(conn_->sack_permitted());
    send(seg(f::ack, R, S));
    EXPECT_FALSE(conn_->sack_permitted());
}

TEST_F(sack, passive_open_offer_refused_by_config) {
    cfg_.sack_ = false;
    wire::tcp_repr s = seg(f::syn, peer_iss);
    s.options_.sack_permitted_ = true;
    conn_.emplace(connection::accept_syn(tuple_, cfg_, seq32(our_iss), now_, s));
    dispatch();
    auto sa = expect(f::syn | f::ack, our_iss, peer_iss + 1);
    wire::tcp_options want;
    want.mss_ = 1460;
    EXPECT_EQ(sa.r_.options_, want);
    EXPECT_FALSE(conn_->sack_permitted());
}

TEST_F(sack, active_open_offers_and_peer_agrees) {
    syn_sent();
    // syn_sent() consumed the SYN; open again to look at its options.
    conn_.emplace(connection::connect(tuple_, cfg_, seq32(our_iss), now_));
    dispatch();
    auto s = expect(f::syn, our_iss, 0);
    wire::tcp_options want;
    want.mss_ = 1460;
    want.sack_permitted_ = true;
    EXPECT_EQ(s.r_.options_, want);
    wire::tcp_repr sa = seg(f::syn | f::ack, peer_iss, our_iss + 1);
    sa.options_.sack_permitted_ = true;
    send(sa);
    auto a = expect(f::ack, S, R);
    EXPECT_EQ(a.r_.options_, wire::tcp_options{}); // SACK-permitted only ever rides on a SYN
    EXPECT_TRUE(conn_->sack_permitted());
}

TEST_F(sack, active_open_peer_declines) {
    syn_sent();
    send(seg(f::syn | f::ack, peer_iss, our_iss + 1));
    expect(f::ack, S, R);
    EXPECT_EQ(conn_->current_state(), state::established);
    EXPECT_FALSE(conn_->sack_permitted());
}

TEST_F(sack, active_open_not_offered_when_disabled) {
    cfg_.sack_ = false;
    conn_.emplace(connection::connect(tuple_, cfg_, seq32(our_iss), now_));
    dispatch();
    auto s = expect(f::syn, our_iss, 0);
    wire::tcp_options want;
    want.mss_ = 1460;
    EXPECT_EQ(s.r_.options_, want);
    wire::tcp_repr sa = seg(f::syn | f::ack, peer_iss, our_iss + 1);
    sa.options_.sack_permitted_ = true; // not ours to accept: we never offered
    send(sa);
    expect(f::ack, S, R);
    EXPECT_FALSE(conn_->sack_permitted());
}

// ---- blocks sent (RFC 2018 §3-4) ----

TEST_F(sack, one_hole_one_block) {
    sack_established();
    send(seg(f::ack, R + 100, S), filled(100));
    expect_sack(R, {{R + 100, R + 200}});
}

TEST_F(sack, two_holes_most_recent_first) {
    sack_established();
    send(seg(f::ack, R + 100, S), filled(100));
    expect_sack(R, {{R + 100, R + 200}});
    send(seg(f::ack, R + 300, S), filled(100));
    expect_sack(R, {{R + 300, R + 400}, {R + 100, R + 200}});
}

TEST_F(sack, three_holes_most_recent_first) {
    sack_established();
    send(seg(f::ack, R + 500, S), filled(100));
    expect_sack(R, {{R + 500, R + 600}});
    send(seg(f::ack, R + 100, S), filled(100));
    expect_sack(R, {{R + 100, R + 200}, {R + 500, R + 600}});
    send(seg(f::ack, R + 300, S), filled(100));
    expect_sack(R, {{R + 300, R + 400}, {R + 100, R + 200}, {R + 500, R + 600}});
}

TEST_F(sack, four_holes_four_blocks_without_timestamps) {
    sack_established();
    for (std::uint32_t i = 1; i <= 4; ++i) {
        send(seg(f::ack, R + 200 * i, S), filled(100));
        out_.pop_back();
        expect_nothing();
    }
    send(seg(f::ack, R + 200, S), filled(100)); // a duplicate of the oldest block: it is now the newest
    expect_sack(R, {{R + 200, R + 300}, {R + 800, R + 900}, {R + 600, R + 700}, {R + 400, R + 500}});
}

TEST_F(sack, four_holes_three_blocks_beside_timestamps) {
    sack_established(true);
    for (std::uint32_t i = 1; i <= 4; ++i) {
        send(seg(f::ack, R + 200 * i, S), filled(100));
        auto a = expect(f::ack, S, R);
        ASSERT_TRUE(a.r_.options_.timestamp_);
        EXPECT_EQ(a.r_.options_.sack_count_, std::min<std::uint32_t>(i, 3));
        if (i == 4) {
            wire::tcp_options want = with_blocks({{R + 800, R + 900}, {R + 600, R + 700}, {R + 400, R + 500}});
            want.timestamp_ = a.r_.options_.timestamp_;
            EXPECT_EQ(a.r_.options_, want);
            EXPECT_EQ(a.r_.options_.sack_blocks_emitted(), 3u);
        }
    }
}

TEST_F(sack, segment_joining_blocks_reports_merged_block_first) {
    sack_established();
    send(seg(f::ack, R + 100, S), filled(100));
    out_.clear();
    send(seg(f::ack, R + 300, S), filled(100));
    out_.clear();
    send(seg(f::ack, R + 600, S), filled(100));
    out_.clear();
    send(seg(f::ack, R + 200, S), filled(100)); // joins [100, 200) and [300, 400)
    expect_sack(R, {{R + 100, R + 400}, {R + 600, R + 700}});
}

TEST_F(sack, filling_first_hole_drops_its_block) {
    sack_established();
    send(seg(f::ack, R + 100, S), filled(100));
    out_.clear();
    send(seg(f::ack, R + 300, S), filled(100));
    out_.clear();
    send(seg(f::ack, R, S), filled(100)); // RCV.NXT moves to R + 200
    expect_sack(R + 200, {{R + 300, R + 400}});
    send(seg(f::ack, R + 200, S), filled(100));
    auto a = expect(f::ack, S, R + 400);
    EXPECT_EQ(a.r_.options_, wire::tcp_options{}); // nothing held: no SACK option
    EXPECT_EQ(conn_->readable(), 400u);
}

TEST_F(sack, no_blocks_when_not_negotiated) {
    established();
    send(seg(f::ack, R + 100, S), filled(100));
    auto a = expect(f::ack, S, R);
    EXPECT_EQ(a.r_.options_, wire::tcp_options{});
}

TEST_F(sack, blocks_on_data_segments_too) {
    cfg_.nodelay_ = true;
    sack_established();
    send(seg(f::ack, R + 100, S), filled(100));
    out_.clear();
    ASSERT_TRUE(push(text("x")));
    dispatch();
    auto d = expect(f::ack | f::psh, S, R, 1);
    EXPECT_EQ(d.r_.options_, with_blocks({{R + 100, R + 200}}));
    EXPECT_EQ(d.data_, text("x"));
}

TEST_F(sack, fin_beyond_hole_then_filled) {
    sack_established();
    send(seg(f::ack | f::fin, R + 100, S), filled(100));
    expect_sack(R, {{R + 100, R + 200}});
    send(seg(f::ack, R, S), filled(100));
    auto a = expect(f::ack, S, R + 201);
    EXPECT_EQ(a.r_.options_, wire::tcp_options{});
    EXPECT_EQ(conn_->current_state(), state::close_wait);
}

// ---- the sender's scoreboard (RFC 6675 §3, Update()) ----

TEST_F(sack, scoreboard_records_and_merges_blocks) {
    six_in_flight();
    send(sack_ack(S + 12 * M, {{S + 13 * M, S + 14 * M}}));
    send(sack_ack(S + 12 * M, {{S + 15 * M, S + 16 * M}, {S + 13 * M, S + 14 * M}}));
    ASSERT_EQ(conn_->scoreboard().size(), 2u);
    EXPECT_EQ(conn_->scoreboard()[0].start_, seq32(S + 13 * M));
    EXPECT_EQ(conn_->scoreboard()[1].end_, seq32(S + 16 * M));
    send(sack_ack(S + 12 * M, {{S + 14 * M, S + 15 * M}}));
    ASSERT_EQ(conn_->scoreboard().size(), 1u);
    EXPECT_EQ(conn_->scoreboard()[0].start_, seq32(S + 13 * M));
    EXPECT_EQ(conn_->scoreboard()[0].end_, seq32(S + 16 * M));
    EXPECT_EQ(conn_->scoreboard().sacked_bytes(), 3 * M);
}

TEST_F(sack, scoreboard_ignores_dsack_inverted_and_clips_unsent) {
    six_in_flight();
    send(sack_ack(S + 12 * M, {{S + 10 * M, S + 11 * M},    // below SND.UNA: D-SACK (RFC 2883)
                               {S + 15 * M, S + 14 * M},    // inverted
                               {S + 17 * M, S + 30 * M}})); // past SND.MAX: clipped
    ASSERT_EQ(conn_->scoreboard().size(), 1u);
    EXPECT_EQ(conn_->scoreboard()[0].start_, seq32(S + 17 * M));
    EXPECT_EQ(conn_->scoreboard()[0].end_, seq32(S + 18 * M));
    // The first duplicate ACK: limited transmit (RFC 3042) sends one new segment.
    expect_data(S + 18 * M, M);
    expect_nothing();
}

TEST_F(sack, scoreboard_trimmed_by_cumulative_ack) {
    six_in_flight();
    send(sack_ack(S + 12 * M, {{S + 13 * M, S + 14 * M}, {S + 15 * M, S + 16 * M}}));
    send(sack_ack(S + 14 * M, {{S + 15 * M, S + 16 * M}, {S + 17 * M, S + 18 * M}}));
    ASSERT_EQ(conn_->scoreboard().size(), 2u);
    EXPECT_EQ(conn_->scoreboard()[0].start_, seq32(S + 15 * M));
    EXPECT_EQ(conn_->scoreboard()[1].end_, seq32(S + 18 * M));
    out_.clear();
    send(seg(f::ack, R, S + 18 * M));
    EXPECT_TRUE(conn_->scoreboard().empty());
}

TEST_F(sack, ack_ending_inside_sacked_run_drops_scoreboard) {
    // RFC 2018 §8: a cumulative ACK at or inside a SACKed run means the receiver discarded SACKed
    // data (reneged): the scoreboard is dropped rather than trusted.
    six_in_flight();
    send(sack_ack(S + 12 * M, {{S + 13 * M, S + 15 * M}}));
    send(sack_ack(S + 14 * M, {{S + 16 * M, S + 17 * M}}));
    ASSERT_EQ(conn_->scoreboard().size(), 1u);
    EXPECT_EQ(conn_->scoreboard()[0].start_, seq32(S + 16 * M));
    EXPECT_EQ(conn_->scoreboard()[0].end_, seq32(S + 17 * M));
    EXPECT_EQ(conn_->stats().rejected_, 1u);
}

TEST_F(sack, ignored_when_not_negotiated) {
    established();
    data_ = filled(4 * M);
    ASSERT_TRUE(push(data_));
    dispatch();
    out_.clear();
    wire::tcp_repr a = seg(f::ack, R, S);
    a.options_ = with_blocks({{S + M, S + 3 * M}});
    send(a);
    EXPECT_TRUE(conn_->scoreboard().empty());
    // A plain duplicate (RFC 5681): limited transmit (RFC 3042) sends the last segment.
    expect(f::ack | f::psh, S + 3 * M, R, M);
    EXPECT_EQ(conn_->pipe(), 4 * M); // FlightSize without SACK
    EXPECT_FALSE(conn_->in_recovery());
    expect_nothing();
}

// ---- loss recovery (RFC 6675 §5) ----

TEST_F(sack, third_dupack_enters_recovery_resends_hole_then_new_data) {
    six_in_flight();
    // The first two duplicates: limited transmit (RFC 3042, RFC 6675 §5 step (3)), one new segment
    // each beyond cwnd, which does not change.
    send(sack_ack(S + 12 * M, {{S + 13 * M, S + 14 * M}}));
    expect_data(S + 18 * M, M);
    send(sack_ack(S + 12 * M, {{S + 13 * M, S + 15 * M}}));
    expect_data(S + 19 * M, M);
    expect_nothing();
    EXPECT_FALSE(conn_->in_recovery());
    EXPECT_EQ(conn_->cc().cwnd(), 6 * M);
    send(sack_ack(S + 12 * M, {{S + 13 * M, S + 16 * M}}));
    ASSERT_TRUE(conn_->in_recovery());
    // (4.2) NewReno: ssthresh = FlightSize / 2 = 8M / 2. pipe is [16M, 20M) = ssthresh, so PRR's
    // count is 0 but for the fast retransmit, which always goes (RFC 9937 §6): cwnd = pipe + M.
    EXPECT_EQ(conn_->cc().ssthresh(), 4 * M);
    EXPECT_EQ(conn_->cc().cwnd(), 5 * M);
    // (4.3) the segment at SND.UNA; pipe is then [16M, 20M) + the resent M = 5M: cwnd is full.
    expect_data(S + 12 * M, M);
    expect_nothing();
    EXPECT_EQ(conn_->pipe(), 5 * M);
    EXPECT_EQ(conn_->stats().sack_recoveries_, 1u);
    EXPECT_EQ(conn_->stats().fast_retransmits_, 1u);
}

TEST_F(sack, sacked_bytes_enter_recovery_before_dupthresh) {
    six_in_flight();
    // One ACK SACKing three segments: IsLost(SND.UNA) holds (3M > (DupThresh - 1) * SMSS).
    send(sack_ack(S + 12 * M, {{S + 13 * M, S + 16 * M}}));
    ASSERT_TRUE(conn_->in_recovery());
    expect_data(S + 12 * M, M);
    expect_nothing();
}

TEST_F(sack, holes_resent_in_order_with_pipe) {
    six_in_flight();
    send(sack_ack(S + 12 * M, {{S + 13 * M, S + 14 * M}}));
    expect_data(S + 18 * M, M); // limited transmit
    send(sack_ack(S + 12 * M, {{S + 15 * M, S + 16 * M}, {S + 13 * M, S + 14 * M}}));
    expect_data(S + 19 * M, M); // limited transmit
    send(sack_ack(S + 12 * M, {{S + 15 * M, S + 17 * M}, {S + 13 * M, S + 14 * M}}));
    ASSERT_TRUE(conn_->in_recovery());
    EXPECT_EQ(conn_->cc().ssthresh(), 4 * M); // FlightSize 8M / 2
    EXPECT_EQ(conn_->cc().cwnd(), 5 * M);     // pipe (4M) + the fast retransmit (RFC 9937)
    expect_data(S + 12 * M, M);
    expect_nothing();
    // Pipe: the resent [12M, 13M), [14M, 15M) (not yet lost: 2M SACKed above) and [17M, 20M).
    EXPECT_EQ(conn_->pipe(), 5 * M);
    send(sack_ack(S + 12 * M, {{S + 15 * M, S + 18 * M}, {S + 13 * M, S + 14 * M}}));
    // [14M, 15M) is now lost: pipe = 3M, so the hole goes (rule 1) and cwnd is full.
    expect_data(S + 14 * M, M);
    expect_nothing();
    EXPECT_EQ(conn_->pipe(), 4 * M);
    EXPECT_EQ(conn_->cc().cwnd(), 4 * M); // pipe 3M + PRR's count, the 1M this ACK delivered (no inflation)
    EXPECT_EQ(conn_->stats().sack_retransmits_, 1u);
}

// ---- RFC 9937 Proportional Rate Reduction ----

TEST_F(sack, prr_spreads_the_reduction_over_the_acks_of_recovery) {
    // One loss, [17M, 18M): after limited transmit 22 segments are out, so ssthresh = 11M (NewReno)
    // and RecoverFS, the FlightSize, 22M. While pipe > ssthresh, PRR lets out ssthresh / RecoverFS of
    // what each ACK delivers: one segment for every two SACKed, from the first ACKs of recovery on.
    // Without PRR (cwnd = ssthresh at once) nothing but the retransmission would go until pipe had
    // fallen to 11M, eight ACKs later.
    one_loss_in_twenty();
    // Each further ACK SACKs one more segment: after the k-th, prr_delivered = (k + 1)M and
    // CEIL(prr_delivered * 11 / 22) - prr_out is 0, 0.5M, 1M, 0.5M, 1M, ...: a segment goes whenever
    // a whole one is due.
    std::vector<int> sent;
    for (std::uint32_t k = 1; k <= 12; ++k) {
        send(sack_ack(S + 17 * M, {{S + 18 * M, S + (21 + k) * M}}));
        sent.push_back(take_data_segments());
    }
    EXPECT_EQ(sent, (std::vector<int>{0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0}));
    EXPECT_GT(conn_->pipe(), conn_->cc().ssthresh()); // still reducing: 14M
    // An ACK past RecoveryPoint (39M) ends recovery: cwnd = ssthresh.
    send(seg(f::ack, R, S + 39 * M));
    EXPECT_FALSE(conn_->in_recovery());
    EXPECT_EQ(conn_->cc().cwnd(), 11 * M);
}

TEST_F(sack, prr_counts_the_resending_of_a_lost_retransmission) {
    // As above; after three more ACKs one new segment, [39M, 40M), has gone after the retransmission
    // of 17M. An ACK that SACKs it (and one more old segment) shows that retransmission lost: it goes
    // again, within PRR's count (CEIL(6M * 11 / 22) - 2M sent = 1M), and nothing else with it.
    one_loss_in_twenty();
    for (std::uint32_t k = 1; k <= 3; ++k) send(sack_ack(S + 17 * M, {{S + 18 * M, S + (21 + k) * M}}));
    expect_data(S + 39 * M, M);
    expect_nothing();
    send(sack_ack(S + 17 * M, {{S + 39 * M, S + 40 * M}, {S + 18 * M, S + 25 * M}}));
    EXPECT_EQ(conn_->stats().lost_retransmits_, 1u);
    expect_data(S + 17 * M, M);
    expect_nothing();
}

TEST_F(sack, a_timeout_in_recovery_leaves_prr_for_slow_start) {
    six_in_flight();
    send(sack_ack(S + 12 * M, {{S + 13 * M, S + 16 * M}}));
    ASSERT_TRUE(conn_->in_recovery());
    expect_data(S + 12 * M, M);
    expect_nothing();
    advance(conn_->rto().rto());
    EXPECT_EQ(conn_->stats().timeouts_, 1u);
    EXPECT_FALSE(conn_->in_recovery());
    EXPECT_EQ(conn_->cc().cwnd(), M); // RFC 5681 §3.1: the loss window
    expect_data(S + 12 * M, M);
    expect_nothing();
    // The ACKs that follow grow cwnd by slow start, as after any timeout; PRR has no say.
    send(sack_ack(S + 16 * M, {}));
    EXPECT_EQ(conn_->cc().cwnd(), 2 * M);
}

TEST_F(sack, prr_reduction_bound_paces_repairs_by_what_is_delivered) {
    // Ten of twenty lost, [17M, 27M): when recovery begins pipe ([30M, 39M) = 9M) is already under
    // ssthresh (11M). With cwnd = ssthresh (RFC 6675 alone) each ACK would let out two segments;
    // PRR's reduction bound (CRB, as no ACK here advances SND.UNA) lets out what each ACK delivered:
    // one segment, the next lost hole.
    twenty_in_flight();
    send(sack_ack(S + 17 * M, {{S + 27 * M, S + 28 * M}}));
    send(sack_ack(S + 17 * M, {{S + 27 * M, S + 29 * M}}));
    EXPECT_EQ(take_data_segments(), 2); // limited transmit: [37M, 39M)
    send(sack_ack(S + 17 * M, {{S + 27 * M, S + 30 * M}}));
    ASSERT_TRUE(conn_->in_recovery());
    EXPECT_EQ(conn_->cc().ssthresh(), 11 * M);
    EXPECT_EQ(conn_->cc().cwnd(), 10 * M); // pipe 9M + the 1M this ACK delivered
    expect_data(S + 17 * M, M);             // the fast retransmit
    expect_nothing();
    for (std::uint32_t k = 1; k <= 5; ++k) {
        send(sack_ack(S + 17 * M, {{S + 27 * M, S + (30 + k) * M}}));
        expect_data(S + (17 + k) * M, M);
        expect_nothing();
    }
    EXPECT_EQ(conn_->stats().sack_retransmits_, 5u);
}

TEST_F(sack, prr_after_a_recovery_begun_with_pipe_empty_and_a_reneging_receiver) {
    // Recovery begins with pipe 0 ([12M, 13M) lost, the rest SACKed): RecoverFS is the FlightSize
    // (6M), not pipe, which would make ssthresh / RecoverFS a growth factor. Then the receiver
    // reneges (RFC 2018 §8): the scoreboard goes and pipe jumps above ssthresh. The proportional part
    // then lets out half of what is delivered (ssthresh 3M / RecoverFS 6M), not a burst.
    six_in_flight();
    send(sack_ack(S + 12 * M, {{S + 13 * M, S + 18 * M}}));
    ASSERT_TRUE(conn_->in_recovery());
    EXPECT_EQ(conn_->cc().ssthresh(), 3 * M);
    expect_data(S + 12 * M, M); // the fast retransmit, then what CRB allows: ssthresh - pipe
    expect_data(S + 18 * M, M);
    expect_data(S + 19 * M, M);
    expect_nothing();
    send(seg(f::ack, R, S + 14 * M)); // ends inside SACKed data: reneging
    expect_nothing();
    EXPECT_GT(conn_->pipe(), conn_->cc().ssthresh());
    send(sack_ack(S + 14 * M, {{S + 15 * M, S + 16 * M}}));
    send(sack_ack(S + 14 * M, {{S + 15 * M, S + 17 * M}}));
    // 7M delivered, 3M sent: CEIL(7M * 3M / 6M) = 3.5M allows half a segment more.
    expect_nothing();
    send(sack_ack(S + 14 * M, {{S + 15 * M, S + 18 * M}}));
    // 8M delivered, and pipe (2M: [14M, 15M) now lost) is under ssthresh: the reduction bound lets
    // out the hole the SACKs show lost.
    expect_data(S + 14 * M, M);
    expect_nothing();
}

TEST_F(sack, partial_ack_stays_in_recovery_then_exit) {
    six_in_flight();
    send(sack_ack(S + 12 * M, {{S + 13 * M, S + 16 * M}}));
    expect_data(S + 12 * M, M);
    expect_nothing();
    // Partial ACK: [13M, 16M) SACKed, now covered; pipe = [16M, 18M) = 2M: one new segment.
    send(sack_ack(S + 16 * M, {}));
    EXPECT_TRUE(conn_->in_recovery());
    expect_data(S + 18 * M, M);
    expect_nothing();
    // Beyond RecoveryPoint (18M): recovery ends with cwnd = ssthresh; the usual sending resumes.
    send(seg(f::ack, R, S + 18 * M));
    EXPECT_FALSE(conn_->in_recovery());
    EXPECT_EQ(conn_->cc().cwnd(), 3 * M);
    expect_data(S + 19 * M, M);
    expect_data(S + 20 * M, M);
    expect_nothing();
}

TEST_F(sack, rule_three_resends_unlost_hole_when_no_new_data) {
    sack_established();
    data_ = filled(3 * M);
    ASSERT_TRUE(push(data_));
    dispatch();
    for (std::uint32_t i = 0; i < 3; ++i) expect_data(S + i * M, M, i == 2 ? f::ack | f::psh : f::ack);
    // The first segment is lost; dupacks SACK the other two. Short of IsLost for [0, M) the third
    // duplicate still enters recovery (the plain duplicate counts: no SACK option).
    send(sack_ack(S, {{S + M, S + 2 * M}}));
    send(sack_ack(S, {{S + M, S + 3 * M}}));
    expect_nothing();
    send(seg(f::ack, R, S));
    ASSERT_TRUE(conn_->in_recovery());
    expect_data(S, M);
    expect_nothing();
    send(seg(f::ack, R, S + 3 * M));
    EXPECT_FALSE(conn_->in_recovery());
    EXPECT_EQ(conn_->send_queued(), 0u);
}

TEST_F(sack, timeout_keeps_scoreboard_and_fills_holes_in_order) {
    six_in_flight();
    send(sack_ack(S + 12 * M, {{S + 13 * M, S + 16 * M}}));
    expect_data(S + 12 * M, M);
    ASSERT_TRUE(conn_->in_recovery());
    advance(conn_->rto().rto());
    // RFC 6675 §5.1: recovery ends, RecoveryPoint = HighData; the scoreboard is kept and every
    // unSACKed octet outstanding is lost: they go again in order from SND.UNA as cwnd allows.
    EXPECT_FALSE(conn_->in_recovery());
    EXPECT_TRUE(conn_->in_rto_recovery());
    EXPECT_EQ(conn_->recovery_point(), seq32(S + 18 * M));
    EXPECT_EQ(conn_->scoreboard().size(), 1u);
    EXPECT_EQ(conn_->cc().cwnd(), M);
    expect_data(S + 12 * M, M);
    expect_nothing();
    EXPECT_EQ(conn_->pipe(), M);
    // The receiver had [13M, 16M): the next ACK covers it; slow start gives cwnd 2M, and the two
    // remaining holes go, not the SACKed data.
    send(seg(f::ack, R, S + 16 * M));
    EXPECT_EQ(conn_->cc().cwnd(), 2 * M);
    expect_data(S + 16 * M, M);
    expect_data(S + 17 * M, M);
    expect_nothing();
    send(seg(f::ack, R, S + 18 * M));
    EXPECT_FALSE(conn_->in_rto_recovery());
    // Normal sending again: cwnd 3M.
    expect_data(S + 18 * M, M);
    expect_data(S + 19 * M, M);
    expect_data(S + 20 * M, M);
    expect_nothing();
}

TEST_F(sack, no_new_recovery_below_recovery_point_after_timeout) {
    six_in_flight();
    advance(conn_->rto().rto());
    expect_data(S + 12 * M, M);
    expect_nothing();
    // RFC 6675 §5.1: SACKs for data sent before the timeout do not start a recovery.
    send(sack_ack(S + 12 * M, {{S + 13 * M, S + 17 * M}}));
    EXPECT_FALSE(conn_->in_recovery());
}

TEST_F(sack, newreno_fallback_without_sack) {
    cfg_.sack_ = false;
    wire::tcp_repr s = seg(f::syn, peer_iss);
    s.options_.mss_ = 1460;
    s.options_.sack_permitted_ = true;
    conn_.emplace(connection::accept_syn(tuple_, cfg_, seq32(our_iss), now_, s));
    dispatch();
    expect(f::syn | f::ack, our_iss, peer_iss + 1);
    send(seg(f::ack, R, S));
    data_ = filled(3 * M);
    ASSERT_TRUE(push(data_));
    dispatch();
    out_.clear();
    for (int i = 0; i < 3; ++i) send(sack_ack(S, {{S + M, S + 3 * M}}));
    ASSERT_TRUE(conn_->in_recovery());
    // RFC 5681 §3.2: ssthresh = 2 * SMSS (FlightSize / 2 below that), cwnd inflated by 3 segments.
    EXPECT_EQ(conn_->cc().cwnd(), 2 * M + 3 * M);
    expect_data(S, M);
    expect_nothing();
    EXPECT_EQ(conn_->stats().sack_recoveries_, 0u);
    EXPECT_TRUE(conn_->scoreboard().empty());
}

// ---- NextSeg() rule (4), lost retransmissions, tail loss probes, NewReno's "recover" ----

TEST_F(sack, rescue_retransmission_repairs_tail_loss) {
    // RFC 6675 §4 NextSeg() rule (4): [12M, 18M) is all the data; 12M and 17M (the tail) are lost.
    six_in_flight(18);
    send(sack_ack(S + 12 * M, {{S + 13 * M, S + 14 * M}}));
    send(sack_ack(S + 12 * M, {{S + 13 * M, S + 15 * M}}));
    expect_nothing(); // no new data for limited transmit
    send(sack_ack(S + 12 * M, {{S + 13 * M, S + 16 * M}}));
    ASSERT_TRUE(conn_->in_recovery());
    expect_data(S + 12 * M, M);
    expect_nothing();
    send(sack_ack(S + 12 * M, {{S + 13 * M, S + 17 * M}}));
    expect_nothing(); // rules (1)-(3) find nothing; HighACK is not yet above RescueRxt (13M)
    // The retransmission arrives: a partial ACK. Only [17M, 18M) is outstanding, not judged lost and
    // above every SACK: rule (4) resends it at once rather than after the retransmission timer.
    send(seg(f::ack, R, S + 17 * M));
    EXPECT_TRUE(conn_->in_recovery());
    expect(f::ack, S + 17 * M, R, M);
    expect_nothing();
    EXPECT_EQ(conn_->stats().rescue_retransmits_, 1u);
    EXPECT_EQ(conn_->stats().timeouts_, 0u);
    // Once per recovery: RescueRxt = RecoveryPoint.
    send(seg(f::ack, R, S + 17 * M));
    expect_nothing();
    send(seg(f::ack, R, S + 18 * M));
    EXPECT_FALSE(conn_->in_recovery());
}

TEST_F(sack, lost_retransmission_resent_when_later_data_is_sacked) {
    six_in_flight();
    send(sack_ack(S + 12 * M, {{S + 13 * M, S + 16 * M}}));
    ASSERT_TRUE(conn_->in_recovery());
    expect_data(S + 12 * M, M); // sent while SND.MAX was 18M
    expect_nothing();
    ASSERT_EQ(conn_->retransmissions().size(), 1u);
    send(sack_ack(S + 12 * M, {{S + 13 * M, S + 17 * M}}));
    expect_data(S + 18 * M, M); // rule (2): new data, sent after the retransmission
    expect_nothing();
    EXPECT_EQ(conn_->stats().lost_retransmits_, 0u);
    // 18M, first sent after the retransmission of 12M, is SACKed while 12M is not: the
    // retransmission was lost. It goes again now, not after the retransmission timer.
    send(sack_ack(S + 12 * M, {{S + 18 * M, S + 19 * M}, {S + 13 * M, S + 17 * M}}));
    EXPECT_EQ(conn_->stats().lost_retransmits_, 1u);
    expect_data(S + 12 * M, M);
    expect_data(S + 19 * M, M);
    expect_nothing();
    EXPECT_EQ(conn_->stats().timeouts_, 0u);
    send(seg(f::ack, R, S + 17 * M));
    EXPECT_TRUE(conn_->in_recovery());
}

TEST_F(sack, tail_loss_probe_sends_new_data_then_backs_off) {
    six_in_flight(); // ACKs at one instant: SRTT 0, so the probe timeout is its 1 ms floor
    ASSERT_TRUE(conn_->rto().has_sample());
    advance(999us);
    expect_nothing();
    advance(1us);
    expect_data(S + 18 * M, M); // RFC 8985 §7.3: new data although cwnd is full
    EXPECT_EQ(conn_->cc().cwnd(), 6 * M);
    advance(1999us);
    expect_nothing();
    advance(1us);
    expect_data(S + 19 * M, M); // the next probe after twice the timeout
    EXPECT_EQ(conn_->stats().probes_, 2u);
    EXPECT_EQ(conn_->stats().timeouts_, 0u);
    // Its SACK is a duplicate ACK as usual (limited transmit has no room: 8M are out).
    send(sack_ack(S + 12 * M, {{S + 18 * M, S + 20 * M}}));
    expect_nothing();
    EXPECT_EQ(conn_->stats().dup_acks_, 1u);
}

TEST_F(sack, tail_loss_probe_resends_last_segment_without_new_data) {
    six_in_flight(18);
    advance(1ms);
    expect_data(S + 17 * M, M);
    EXPECT_EQ(conn_->stats().probes_, 1u);
}

TEST_F(sack, tail_loss_probe_resends_the_hole_when_the_last_segment_is_sacked) {
    // All data sent, [12M, 18M); 12M is lost and the peer SACKs only [16M, 18M): one duplicate ACK,
    // IsLost(12M) does not hold (2M SACKed above it), and no new data can go. Resending the last
    // segment, already SACKed, would draw an ACK that counts for nothing; the probe repairs the hole.
    six_in_flight(18);
    send(sack_ack(S + 12 * M, {{S + 16 * M, S + 18 * M}}));
    expect_nothing();
    EXPECT_FALSE(conn_->in_recovery());
    advance(1ms);
    expect_data(S + 12 * M, M);
    expect_nothing();
    EXPECT_EQ(conn_->stats().probes_, 1u);
    EXPECT_EQ(conn_->stats().probe_hole_retransmits_, 1u);
    EXPECT_EQ(conn_->stats().timeouts_, 0u);
}

// RFC 6582 §3.2: recover is "the highest sequence number transmitted" and step 2 enters fast
// retransmit when the ACK "covers more than recover" (SEG.ACK > recover; step 1 sets recover = ISS
// so that the first loss qualifies). recover_ is kept as an exclusive end (recover + 1), so the test
// is SND.UNA >= recover_. A new loss of the first segment sent after a full acknowledgment that
// ends exactly at recover + 1 must be fast retransmitted; with `>` it waited for the timer.
TEST_F(sack, newreno_new_loss_right_after_full_ack_is_fast_retransmitted) {
    cfg_.nodelay_ = true;
    established(); // no SACK
    data_ = filled(40 * M);
    ASSERT_TRUE(push(data_));
    dispatch();
    out_.clear(); // [0, 3M) in flight; 0 is lost
    send(seg(f::ack, R, S));
    send(seg(f::ack, R, S));
    out_.clear(); // limited transmit: 3M, 4M
    send(seg(f::ack, R, S));
    ASSERT_TRUE(conn_->in_recovery());
    EXPECT_EQ(conn_->recovery_point(), seq32(S + 5 * M));
    expect(f::ack, S, R, M);
    expect_nothing();
    // A full acknowledgment of exactly everything sent before recovery: SEG.ACK = recover + 1.
    send(seg(f::ack, R, S + 5 * M));
    EXPECT_FALSE(conn_->in_recovery());
    ASSERT_GT(conn_->snd_nxt(), seq32(S + 5 * M));
    out_.clear();
    // The first segment after it, 5M, is lost: three duplicates of SEG.ACK = 5M.
    for (int i = 0; i < 3; ++i) send(seg(f::ack, R, S + 5 * M));
    EXPECT_TRUE(conn_->in_recovery());
    EXPECT_EQ(conn_->stats().fast_retransmits_, 2u);
    bool resent = false;
    for (const auto &o : out_) resent = resent || (o.r_.seq_ == S + 5 * M && o.data_.size() == M);
    EXPECT_TRUE(resent);
}

TEST_F(sack, newreno_no_second_fast_retransmit_below_recover) {
    // The other side of the same test: duplicates that do not cover more than recover (SEG.ACK <=
    // recover) after a timeout do not start a fast retransmit (RFC 6582 §3.2 step 2, step 4).
    cfg_.nodelay_ = true;
    established();
    data_ = filled(40 * M);
    ASSERT_TRUE(push(data_));
    dispatch();
    out_.clear();
    advance(conn_->rto().rto());
    EXPECT_EQ(conn_->recovery_point(), seq32(S + 3 * M));
    out_.clear();
    send(seg(f::ack, R, S + M)); // SEG.ACK = M <= recover
    out_.clear();
    for (int i = 0; i < 3; ++i) send(seg(f::ack, R, S + M));
    EXPECT_FALSE(conn_->in_recovery());
    EXPECT_EQ(conn_->stats().fast_retransmits_, 0u);
}

TEST_F(sack, limited_transmit_two_segments_at_most_newreno) {
    // RFC 3042 §2: one new segment on each of the first two duplicate ACKs, cwnd unchanged.
    cfg_.nodelay_ = true;
    established();
    data_ = filled(40 * M);
    ASSERT_TRUE(push(data_));
    dispatch();
    out_.clear();
    const std::uint32_t cwnd = conn_->cc().cwnd();
    send(seg(f::ack, R, S));
    expect_data(S + 3 * M, M);
    expect_nothing();
    send(seg(f::ack, R, S));
    expect_data(S + 4 * M, M);
    expect_nothing();
    EXPECT_EQ(conn_->cc().cwnd(), cwnd);
    send(seg(f::ack, R, S)); // the third: fast retransmit, no third limited transmit
    expect_data(S, M);
    EXPECT_TRUE(conn_->in_recovery());
}

TEST_F(sack, timeout_then_lost_retransmission_found_by_probe) {
    // After a timeout (RFC 6675 §5.1) the resent segment is lost again: a probe's SACK shows it.
    six_in_flight();
    send(sack_ack(S + 12 * M, {{S + 13 * M, S + 18 * M}}));
    expect_data(S + 12 * M, M);
    expect_data(S + 18 * M, M);
    expect_data(S + 19 * M, M);
    expect_nothing();
    advance(conn_->rto().rto());
    ASSERT_TRUE(conn_->in_rto_recovery());
    EXPECT_EQ(conn_->recovery_point(), seq32(S + 20 * M));
    expect_data(S + 12 * M, M); // sent while SND.MAX was 20M
    expect_nothing();
    advance(1ms);
    expect_data(S + 20 * M, M); // the probe: new data
    send(sack_ack(S + 12 * M, {{S + 20 * M, S + 21 * M}, {S + 13 * M, S + 18 * M}}));
    EXPECT_EQ(conn_->stats().lost_retransmits_, 1u);
    expect_data(S + 12 * M, M);
    EXPECT_EQ(conn_->stats().timeouts_, 1u);
}

// ---- the parts on their own ----

TEST(sack_scoreboard, is_lost_by_runs_and_by_bytes) {
    sack_scoreboard sb;
    const std::array<wire::tcp_sack_block, 3> b{{{110, 120}, {130, 140}, {150, 160}}};
    EXPECT_EQ(sb.update(seq32(100), seq32(200), b), 30u);
    EXPECT_TRUE(sb.is_lost(seq32(100), 1000));  // three discontiguous runs above
    EXPECT_FALSE(sb.is_lost(seq32(120), 1000)); // two runs, 20 octets
    EXPECT_TRUE(sb.is_lost(seq32(120), 9));     // 20 > 2 * 9
    EXPECT_FALSE(sb.is_lost(seq32(120), 10));   // 20 is not more than 2 * 10
}

TEST(sack_scoreboard, pipe_counts_unlost_and_retransmitted) {
    sack_scoreboard sb;
    const std::array<wire::tcp_sack_block, 1> b{{{130, 160}}};
    sb.update(seq32(100), seq32(200), b);
    // Hole [100, 130) is lost (30 > 2 * 10); [160, 200) is not.
    EXPECT_EQ(sb.pipe(seq32(100), seq32(200), seq32(100), 10), 40u);
    EXPECT_EQ(sb.pipe(seq32(100), seq32(200), seq32(110), 10), 50u);
    EXPECT_EQ(sb.pipe(seq32(100), seq32(200), seq32(100), 20), 70u); // 30 is not lost with SMSS 20
}

TEST(sack_scoreboard, next_hole_skips_retransmitted_and_sacked) {
    sack_scoreboard sb;
    const std::array<wire::tcp_sack_block, 2> b{{{120, 130}, {150, 160}}};
    sb.update(seq32(100), seq32(200), b);
    auto h = sb.next_hole(seq32(100), seq32(100), 15);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->start_, seq32(100));
    EXPECT_EQ(h->len_, 15u);
    EXPECT_FALSE(h->lost_); // two runs, 20 octets: not more than 2 * 15
    h = sb.next_hole(seq32(100), seq32(125), 15);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->start_, seq32(130));
    EXPECT_EQ(h->len_, 15u);
    h = sb.next_hole(seq32(100), seq32(145), 15);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->start_, seq32(145));
    EXPECT_EQ(h->len_, 5u);
    EXPECT_FALSE(sb.next_hole(seq32(100), seq32(160), 15)); // nothing SACKed above 160
}

TEST(sack_scoreboard, full_board_drops_highest_run) {
    sack_scoreboard sb;
    for (std::uint32_t i = 0; i < sack_scoreboard::max_ranges + 2; ++i) {
        const std::array<wire::tcp_sack_block, 1> b{{{1000 + 20 * i, 1010 + 20 * i}}};
        sb.update(seq32(1000), seq32(5000), b);
    }
    EXPECT_EQ(sb.size(), sack_scoreboard::max_ranges);
    const std::array<wire::tcp_sack_block, 1> low{{{990, 995}}};
    sb.update(seq32(900), seq32(5000), low);
    EXPECT_EQ(sb.size(), sack_scoreboard::max_ranges);
    EXPECT_EQ(sb[0].start_, seq32(990));
    EXPECT_EQ(sb[sack_scoreboard::max_ranges - 1].start_, seq32(1000 + 20 * (sack_scoreboard::max_ranges - 2)));
}

TEST(sack_scoreboard, across_sequence_wrap) {
    sack_scoreboard sb;
    const std::array<wire::tcp_sack_block, 1> b{{{0xfffffff0u, 0x10u}}};
    EXPECT_EQ(sb.update(seq32(0xffffffe0u), seq32(0x100u), b), 0x20u);
    EXPECT_TRUE(sb.is_sacked(seq32(0xffffffffu)));
    EXPECT_TRUE(sb.is_sacked(seq32(0)));
    EXPECT_FALSE(sb.is_sacked(seq32(0x10u)));
    EXPECT_EQ(sb.pipe(seq32(0xffffffe0u), seq32(0x100u), seq32(0xffffffe0u), 100), 0x10u + 0xf0u);
}

TEST(sack_history, reports_recent_then_remaining_in_order) {
    reassembly ooo;
    sack_history h;
    for (std::uint32_t s : {500u, 100u, 300u, 700u, 900u}) {
        ASSERT_TRUE(ooo.add(seq32(s), seq32(s + 50)));
        h.note(seq32(s), ooo);
    }
    std::array<wire::tcp_sack_block, 4> out{};
    ASSERT_EQ(h.fill(ooo, out), 4u);
    EXPECT_EQ(out[0], (wire::tcp_sack_block{900, 950}));
    EXPECT_EQ(out[1], (wire::tcp_sack_block{700, 750}));
    EXPECT_EQ(out[2], (wire::tcp_sack_block{300, 350}));
    EXPECT_EQ(out[3], (wire::tcp_sack_block{100, 150}));
    // Delivering the lowest blocks (RCV.NXT past 400) leaves the rest, recent first.
    (void)ooo.advance(seq32(400));
    ASSERT_EQ(h.fill(ooo, out), 3u);
    EXPECT_EQ(out[0], (wire::tcp_sack_block{900, 950}));
    EXPECT_EQ(out[1], (wire::tcp_sack_block{700, 750}));
    EXPECT_EQ(out[2], (wire::tcp_sack_block{500, 550})); // fell off the recent list, still reported
}

TEST(sack_scoreboard, lost_below_counts_everything_lost) {
    sack_scoreboard sb;
    const std::array<wire::tcp_sack_block, 1> b{{{130, 140}}};
    sb.update(seq32(100), seq32(200), b);
    // RFC 6675 §5.1 after a timeout at 200: every unSACKed octet below it is lost.
    EXPECT_EQ(sb.pipe(seq32(100), seq32(200), seq32(100), 10, seq32(200)), 0u);
    EXPECT_EQ(sb.pipe(seq32(100), seq32(200), seq32(120), 10, seq32(200)), 20u);
    EXPECT_EQ(sb.pipe(seq32(100), seq32(250), seq32(100), 10, seq32(200)), 50u); // new data above
    auto h = sb.next_hole(seq32(100), seq32(140), 15, seq32(200));
    ASSERT_TRUE(h);
    EXPECT_EQ(h->start_, seq32(140)); // above every SACKed run, still below the point
    EXPECT_EQ(h->len_, 15u);
    EXPECT_TRUE(h->lost_);
    EXPECT_FALSE(sb.next_hole(seq32(100), seq32(200), 15, seq32(200)));
}

TEST(sack_scoreboard, last_hole_holds_highest_unsacked_octet) {
    sack_scoreboard sb;
    EXPECT_EQ(sb.last_hole(seq32(100), seq32(200), 15)->start_, seq32(185));
    const std::array<wire::tcp_sack_block, 2> b{{{120, 130}, {150, 200}}};
    sb.update(seq32(100), seq32(200), b);
    auto h = sb.last_hole(seq32(100), seq32(200), 15);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->start_, seq32(135));
    EXPECT_EQ(h->len_, 15u);
    h = sb.last_hole(seq32(100), seq32(200), 50);
    EXPECT_EQ(h->start_, seq32(130)); // not below the SACKed run under it
    EXPECT_EQ(h->len_, 20u);
    const std::array<wire::tcp_sack_block, 1> all{{{100, 200}}};
    sb.update(seq32(100), seq32(200), all);
    EXPECT_FALSE(sb.last_hole(seq32(100), seq32(200), 15));
}

TEST(retransmit_log, lost_when_later_data_sacked) {
    sack_scoreboard sb;
    retransmit_log log;
    log.sent(seq32(100), seq32(110), seq32(200)); // SND.MAX was 200
    log.sent(seq32(110), seq32(120), seq32(200)); // contiguous: one entry
    log.sent(seq32(150), seq32(160), seq32(210));
    ASSERT_EQ(log.size(), 2u);
    const std::array<wire::tcp_sack_block, 1> b{{{120, 150}}};
    sb.update(seq32(100), seq32(220), b);
    EXPECT_EQ(log.detect(sb), 0u); // nothing sent after either is SACKed
    const std::array<wire::tcp_sack_block, 1> later{{{200, 205}}};
    sb.update(seq32(100), seq32(220), later);
    EXPECT_EQ(log.detect(sb), 1u); // 200.. was sent after the first, not after the second
    EXPECT_EQ(log.lost_octets(sb, seq32(100)), 20u);
    auto h = log.next_lost(sb, seq32(100), 15);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->start_, seq32(100));
    EXPECT_EQ(h->len_, 15u);
    log.resent(seq32(100), seq32(115));
    EXPECT_EQ(log.lost_octets(sb, seq32(100)), 5u);
    log.acked(seq32(120), sb); // the lost entry is acknowledged
    EXPECT_EQ(log.lost_octets(sb, seq32(120)), 0u);
    EXPECT_EQ(log.size(), 1u);
}

} // namespace
} // namespace demi::net::tcp::test
