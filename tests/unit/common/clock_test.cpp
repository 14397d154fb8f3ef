// Clocks and the RNG (src/common/clock.hpp): time and randomness are parameters.
#include "common/clock.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <set>
#include <string>
#include <thread>
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

// ---- machine_clock_source: the TSC where the kernel keeps time with it ----

bool kernel_clocksource_is_tsc() {
#if defined(__x86_64__)
    std::ifstream f("/sys/devices/system/clocksource/clocksource0/current_clocksource");
    std::string name;
    return std::getline(f, name) && name == "tsc";
#else
    return false;
#endif
}

int64_t steady_ns() { return std::chrono::steady_clock::now().time_since_epoch().count(); }

// Reads `c` without pause for `span`, failing on any step backwards.
void read_monotonic_for(const machine_clock_source &c, duration span) {
    const int64_t end = steady_ns() + span.count();
    time_point prev = c.now();
    while (steady_ns() < end) {
        const time_point t = c.now();
        ASSERT_GE(t, prev);
        prev = t;
    }
}

// DEMI_CLOCK unset for the life of a test (restored after): the clocks made meanwhile decide alone.
class without_demi_clock {
public:
    without_demi_clock() {
        if (const char *v = std::getenv("DEMI_CLOCK")) saved_ = v;
        unsetenv("DEMI_CLOCK");
    }
    ~without_demi_clock() {
        if (!saved_.empty()) setenv("DEMI_CLOCK", saved_.c_str(), 1);
    }

private:
    std::string saved_;
};

TEST(machine_clock_source_test, uses_the_tsc_exactly_when_the_kernel_does) {
    const without_demi_clock env;
    machine_clock_source c;
    EXPECT_EQ(c.tsc_eligible(), kernel_clocksource_is_tsc());
    EXPECT_FALSE(c.uses_tsc()); // not before its rate is measured
    EXPECT_EQ(c.ns_per_tick(), 0.0);
    read_monotonic_for(c, machine_clock_source::calibration_span + 5ms);
    EXPECT_EQ(c.uses_tsc(), c.tsc_eligible());
    if (c.uses_tsc()) {
        // A TSC of 0.05-20 GHz.
        EXPECT_GT(c.ns_per_tick(), 0.05);
        EXPECT_LT(c.ns_per_tick(), 20.0);
    }
}

TEST(machine_clock_source_test, monotonic_across_the_switch_to_the_tsc) {
    const without_demi_clock env;
    machine_clock_source c;
    read_monotonic_for(c, machine_clock_source::calibration_span * 3);
}

TEST(machine_clock_source_test, keeps_time_with_the_steady_clock) {
    const without_demi_clock env;
    machine_clock_source c;
    read_monotonic_for(c, machine_clock_source::calibration_span + 1ms);
    EXPECT_EQ(c.uses_tsc(), c.tsc_eligible());
    // How far this clock is from the steady clock: its reading against the middle of two steady
    // readings around it, from the tightest of a few such brackets (one the thread was interrupted
    // in is far wider).
    auto offset = [&c] {
        int64_t best_width = std::numeric_limits<int64_t>::max(), best = 0;
        for (int i = 0; i < 50; ++i) {
            const int64_t a = steady_ns();
            const int64_t m = c.now().time_since_epoch().count();
            const int64_t b = steady_ns();
            if (b - a < best_width) {
                best_width = b - a;
                best = m - (a + (b - a) / 2);
            }
        }
        return best;
    };
    // Anchored at the steady clock's reading when it switched: the two agree now (a reading takes
    // ~25 ns; the anchor is ahead by ~10 ns)...
    const int64_t o0 = offset();
    EXPECT_LT(std::llabs(o0), 2'000) << "apart by " << o0 << " ns";
    // ...and move at the same rate: over 200 ms, within 20 ppm (4 us; the rate is measured to a few).
    std::this_thread::sleep_for(200ms);
    const int64_t o1 = offset();
    EXPECT_LT(std::llabs(o1 - o0), 4'000) << "apart by " << o0 << " ns, then by " << o1 << " ns";
}

TEST(machine_clock_source_test, demi_clock_steady_keeps_the_steady_clock) {
    const without_demi_clock env;
    ASSERT_EQ(setenv("DEMI_CLOCK", "steady", 1), 0);
    machine_clock_source c;
    ASSERT_EQ(unsetenv("DEMI_CLOCK"), 0);
    EXPECT_FALSE(c.tsc_eligible());
    read_monotonic_for(c, machine_clock_source::calibration_span * 2);
    EXPECT_FALSE(c.uses_tsc());
    // Its readings are the steady clock's: between two of them.
    for (int i = 0; i < 100; ++i) {
        const int64_t before = steady_ns();
        const int64_t t = c.now().time_since_epoch().count();
        const int64_t after = steady_ns();
        ASSERT_LE(before, t);
        ASSERT_LE(t, after);
    }
}

TEST(machine_clock_source_test, threads_reading_through_the_switch_each_see_time_move_forward) {
    const without_demi_clock env;
    machine_clock_source c;
    std::vector<std::thread> readers;
    std::array<bool, 4> ok{};
    for (size_t i = 0; i < ok.size(); ++i)
        readers.emplace_back([&c, &ok, i] {
            const int64_t end = steady_ns() + (machine_clock_source::calibration_span * 3).count();
            time_point prev = c.now();
            ok[i] = true;
            while (steady_ns() < end) {
                const time_point t = c.now();
                if (t < prev) ok[i] = false;
                prev = t;
            }
        });
    for (auto &t : readers)
        t.join();
    for (size_t i = 0; i < ok.size(); ++i)
        EXPECT_TRUE(ok[i]) << "reader " << i << " saw time go backwards";
    EXPECT_EQ(c.uses_tsc(), c.tsc_eligible());
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
