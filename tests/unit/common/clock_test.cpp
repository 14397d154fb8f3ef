// Clocks and the RNG (src/common/clock.hpp): time and randomness are parameters.
#include "common/clock.hpp"

#include <gtest/gtest.h>

#include <array>
#include <set>
#include <vector>

namespace demi {
namespace {

using namespace std::chrono_literals;

TEST(manual_clock_test, starts_where_told_and_moves_only_when_told) {
    manual_clock c(time_point(5s));
    EXPECT_EQ(c.now(), time_point(5s));
    EXPECT_EQ(c.now(), time_point(5s));
    c.advance(250ms);
    EXPECT_EQ(c.now(), time_point(5250ms));
    c.advance(1ns);
    EXPECT_EQ(c.now().time_since_epoch().count(), 5'250'000'001);
    c.set(time_point(1s)); // set may move backwards (simulations rewind)
    EXPECT_EQ(c.now(), time_point(1s));
}

TEST(manual_clock_test, default_starts_at_zero) {
    manual_clock c;
    EXPECT_EQ(c.now().time_since_epoch().count(), 0);
}

TEST(manual_clock_test, usable_through_the_interface) {
    manual_clock m(time_point(3ms));
    const clock_source &c = m;
    EXPECT_EQ(c.now(), time_point(3ms));
    m.advance(2ms);
    EXPECT_EQ(c.now(), time_point(5ms));
}

TEST(steady_clock_source_test, is_monotonic) {
    steady_clock_source c;
    time_point prev = c.now();
    for (int i = 0; i < 1000; ++i) {
        const time_point t = c.now();
        ASSERT_GE(t, prev);
        prev = t;
    }
}

// rng is splitmix64; these are the reference outputs of splitmix64 for the given seeds.
TEST(rng_test, matches_splitmix64_reference) {
    rng a(1);
    EXPECT_EQ(a.next(), 0x910a2dec89025cc1ULL);
    EXPECT_EQ(a.next(), 0xbeeb8da1658eec67ULL);
    EXPECT_EQ(a.next(), 0xf893a2eefb32555eULL);
    rng b(42);
    EXPECT_EQ(b.next(), 0xbdd732262feb6e95ULL);
    EXPECT_EQ(b.next(), 0x28efe333b266f103ULL);
    EXPECT_EQ(b.next(), 0x47526757130f9f52ULL);
}

TEST(rng_test, same_seed_same_sequence) {
    rng a(0xdeadbeef), b(0xdeadbeef);
    for (int i = 0; i < 10000; ++i) ASSERT_EQ(a.next(), b.next()) << "at draw " << i;
}

TEST(rng_test, different_seeds_differ) {
    rng a(7), b(8);
    int same = 0;
    for (int i = 0; i < 1000; ++i) same += a.next() == b.next() ? 1 : 0;
    EXPECT_EQ(same, 0);
}

TEST(rng_test, zero_seed_is_not_degenerate) {
    rng a(0), b(0);
    std::set<uint64_t> seen;
    for (int i = 0; i < 1000; ++i) {
        const uint64_t x = a.next();
        ASSERT_EQ(x, b.next());
        seen.insert(x);
    }
    EXPECT_EQ(seen.size(), 1000u);
    EXPECT_EQ(seen.count(0), 0u);
}

TEST(rng_test, below_stays_in_range_and_covers_it) {
    rng r(99);
    std::array<int, 10> hits{};
    for (int i = 0; i < 10000; ++i) {
        const uint64_t x = r.below(10);
        ASSERT_LT(x, 10u);
        ++hits[x];
    }
    for (size_t v = 0; v < hits.size(); ++v) {
        EXPECT_GT(hits[v], 800) << "value " << v;
        EXPECT_LT(hits[v], 1200) << "value " << v;
    }
    EXPECT_EQ(r.below(1), 0u);
    EXPECT_EQ(r.below(0), 0u);
}

TEST(rng_test, below_is_deterministic) {
    rng a(5), b(5);
    std::vector<uint64_t> xa, xb;
    for (int i = 0; i < 100; ++i) {
        xa.push_back(a.below(1000));
        xb.push_back(b.below(1000));
    }
    EXPECT_EQ(xa, xb);
}

} // namespace
} // namespace demi
