// The parts of the core on their own: reassembly ranges, the RFC 6298 estimator, congestion control.
#include <gtest/gtest.h>

#include "net/stack/tcp/congestion.hpp"
#include "net/stack/tcp/reassembly.hpp"
#include "net/stack/tcp/rto.hpp"

namespace demi::net::tcp {
namespace {

using namespace std::chrono_literals;

TEST(reassembly, merges_adjacent_and_overlapping) {
    reassembly r;
    EXPECT_TRUE(r.add(seq32(10), seq32(20)));
    EXPECT_TRUE(r.add(seq32(30), seq32(40)));
    EXPECT_EQ(r.size(), 2u);
    EXPECT_TRUE(r.add(seq32(20), seq32(30))); // touches both
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].start_, seq32(10));
    EXPECT_EQ(r[0].end_, seq32(40));
    EXPECT_TRUE(r.add(seq32(5), seq32(12)));
    EXPECT_EQ(r[0].start_, seq32(5));
    EXPECT_EQ(r.bytes(), 35u);
}

TEST(reassembly, advance_delivers_reached_range) {
    reassembly r;
    ASSERT_TRUE(r.add(seq32(10), seq32(20)));
    ASSERT_TRUE(r.add(seq32(30), seq32(40)));
    EXPECT_EQ(r.advance(seq32(5)), seq32(5));
    EXPECT_EQ(r.advance(seq32(10)), seq32(20));
    EXPECT_EQ(r.size(), 1u);
    EXPECT_EQ(r.advance(seq32(35)), seq32(40));
    EXPECT_TRUE(r.empty());
}

TEST(reassembly, bounded_slots) {
    reassembly r;
    for (std::uint32_t i = 0; i < reassembly::max_ranges; ++i) EXPECT_TRUE(r.add(seq32(i * 10), seq32(i * 10 + 5)));
    EXPECT_FALSE(r.add(seq32(1000), seq32(1005)));
    EXPECT_TRUE(r.add(seq32(0), seq32(12))); // merging still works when full
    EXPECT_EQ(r.size(), reassembly::max_ranges - 1);
}

TEST(reassembly, across_wrap) {
    reassembly r;
    ASSERT_TRUE(r.add(seq32(0xfffffff0u), seq32(0x10)));
    EXPECT_EQ(r.advance(seq32(0xfffffff0u)), seq32(0x10));
}

TEST(rto, initial_is_one_second) {
    rto_estimator e({1s, 200ms, 60s});
    EXPECT_EQ(e.rto(), 1s);
    EXPECT_FALSE(e.has_sample());
}

TEST(rto, first_sample_rfc6298_2_2) {
    rto_estimator e({1s, 200ms, 60s});
    e.sample(100ms);
    EXPECT_EQ(e.srtt(), 100ms);
    EXPECT_EQ(e.rttvar(), 50ms);
    EXPECT_EQ(e.rto(), 300ms); // SRTT + 4 RTTVAR
}

TEST(rto, later_samples_rfc6298_2_3) {
    rto_estimator e({1s, 10ms, 60s});
    e.sample(100ms);
    e.sample(200ms);
    // RTTVAR = 3/4 * 50 + 1/4 * 100 = 62.5; SRTT = 7/8 * 100 + 1/8 * 200 = 112.5
    EXPECT_EQ(e.rttvar(), 62500us);
    EXPECT_EQ(e.srtt(), 112500us);
    EXPECT_EQ(e.rto(), 362500us);
}

TEST(rto, floor_and_ceiling) {
    rto_estimator e({1s, 1s, 60s});
    e.sample(1ms);
    EXPECT_EQ(e.rto(), 1s);
    rto_estimator big({1s, 1s, 60s});
    big.sample(40s);
    EXPECT_EQ(big.rto(), 60s);
}

TEST(rto, backoff_doubles_to_max_and_sample_clears) {
    rto_estimator e({1s, 1s, 60s});
    e.back_off();
    EXPECT_EQ(e.rto(), 2s);
    e.back_off();
    EXPECT_EQ(e.rto(), 4s);
    for (int i = 0; i < 10; ++i) e.back_off();
    EXPECT_EQ(e.rto(), 60s);
    e.sample(10ms);
    EXPECT_EQ(e.backoff(), 0u);
    EXPECT_EQ(e.rto(), 1s);
}

TEST(congestion, initial_window_rfc5681) {
    EXPECT_EQ(new_reno(1460).cwnd(), 3u * 1460);
    EXPECT_EQ(new_reno(536).cwnd(), 4u * 536);
    EXPECT_EQ(new_reno(8960).cwnd(), 2u * 8960);
}

TEST(congestion, reno_slow_start_and_avoidance) {
    new_reno c(1000);
    time_point t{};
    c.on_ack(t, 1000, 3000, 10ms);
    EXPECT_EQ(c.cwnd(), 5000u);
    c.on_ack(t, 5000, 5000, 10ms); // at most one SMSS per ACK
    EXPECT_EQ(c.cwnd(), 6000u);
    c.on_loss(t, 6000);
    EXPECT_EQ(c.ssthresh(), 3000u);
    EXPECT_EQ(c.cwnd(), 3000u);
    c.on_ack(t, 1000, 3000, 10ms);
    c.on_ack(t, 1000, 3000, 10ms);
    EXPECT_EQ(c.cwnd(), 3000u);
    c.on_ack(t, 1000, 3000, 10ms); // a cwnd's worth acknowledged: +1 SMSS
    EXPECT_EQ(c.cwnd(), 4000u);
}

TEST(congestion, reno_timeout) {
    new_reno c(1000);
    c.on_timeout(time_point{}, 10000);
    EXPECT_EQ(c.ssthresh(), 5000u);
    EXPECT_EQ(c.cwnd(), 1000u);
    new_reno d(1000);
    d.on_timeout(time_point{}, 1000);
    EXPECT_EQ(d.ssthresh(), 2000u); // at least 2 SMSS
}

TEST(congestion, cubic_reduction_beta) {
    cubic c(1000);
    c.set_cwnd(100000);
    c.on_loss(time_point{}, 100000);
    EXPECT_EQ(c.cwnd(), 70000u);
    EXPECT_EQ(c.ssthresh(), 70000u);
    EXPECT_DOUBLE_EQ(c.w_max_segments(), 100.0);
    // fast convergence: a second loss below the previous maximum lowers W_max further
    c.on_loss(time_point{}, 70000);
    EXPECT_DOUBLE_EQ(c.w_max_segments(), 70.0 * 1.7 / 2.0);
}

TEST(congestion, cubic_grows_back_toward_wmax_then_beyond) {
    cubic c(1000);
    c.set_cwnd(100000);
    time_point t{};
    c.on_loss(t, 100000);
    // K = cbrt(100 * 0.3 / 0.4) = cbrt(75) ~ 4.22 s
    for (int i = 0; i < 840; ++i) { // until about t = K
        t += 5ms;
        c.on_ack(t, 1000, c.cwnd(), 20ms);
    }
    EXPECT_NEAR(c.k_seconds(), 4.217, 0.01);
    EXPECT_GT(c.cwnd(), 90000u);
    EXPECT_LT(c.cwnd(), 110000u);
    for (int i = 0; i < 4000; ++i) {
        t += 5ms;
        c.on_ack(t, 1000, c.cwnd(), 20ms);
    }
    EXPECT_GT(c.cwnd(), 110000u); // convex region past W_max
}

TEST(congestion, cubic_timeout_one_segment) {
    cubic c(1000);
    c.set_cwnd(20000);
    c.on_timeout(time_point{}, 20000);
    EXPECT_EQ(c.cwnd(), 1000u);
    EXPECT_EQ(c.ssthresh(), 14000u);
}

TEST(congestion, factory_picks_algorithm) {
    EXPECT_EQ(make_congestion_control(cc_algorithm::cubic, 1460)->algorithm(), cc_algorithm::cubic);
    EXPECT_EQ(make_congestion_control(cc_algorithm::new_reno, 1460)->algorithm(), cc_algorithm::new_reno);
}

} // namespace
} // namespace demi::net::tcp
