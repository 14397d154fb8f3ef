// The goodput table's scenarios (bench/sim_goodput, docs/PERFORMANCE.md) as tests: a 64 MiB bulk
// transfer on the 1 Gbit/s simulated link with 0/1/5/10% loss, reordering, duplication and
// corruption on both directions, each verified octet by octet, with a floor on the simulated
// goodput that loss recovery must keep (the simulation is deterministic, so the floors are exact
// regressions guards, far below the measured values). A plain build runs each in about a second.
// Under AddressSanitizer the transfers are 8 MiB (about ten times slower per octet); the floors hold
// for both sizes. DEMI_SIM_SEED replays a seed; DEMI_SIM_MIB overrides the size.
#include <gtest/gtest.h>

#include <cstdlib>
#include <ostream>
#include <string>

#include "net/sim/bulk.hpp"
#include "seed.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define DEMI_SIM_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DEMI_SIM_SANITIZED 1
#endif
#endif

namespace demi::sim {
namespace {

std::size_t transfer_bytes() {
    if (const char *s = std::getenv("DEMI_SIM_MIB"); s != nullptr && *s != '\0')
        return static_cast<std::size_t>(std::strtoull(s, nullptr, 0)) << 20;
#ifdef DEMI_SIM_SANITIZED
    return std::size_t{8} << 20;
#else
    return std::size_t{64} << 20;
#endif
}

struct table_case {
    const char *name_;
    double drop_, reorder_, duplicate_, corrupt_;
    double min_mbps_; // simulated goodput floor
};

void PrintTo(const table_case &c, std::ostream *os) {
    *os << c.name_;
}

class goodput_table : public ::testing::TestWithParam<table_case> {};

TEST_P(goodput_table, arrives_byte_exact_at_speed) {
    const table_case &c = GetParam();
    bulk_params p;
    p.seed_ = test::seed_or(1); // bench/sim_goodput's default seed
    p.bytes_ = transfer_bytes();
    p.faults_.drop = c.drop_;
    p.faults_.reorder = c.reorder_;
    p.faults_.duplicate = c.duplicate_;
    p.faults_.corrupt = c.corrupt_;
    p.faults_.reorder_timeout = std::chrono::microseconds(200);
    p.limits_.max_steps_ = 500'000'000;
    p.limits_.max_time_ = std::chrono::minutes(10);
    SCOPED_TRACE(test::seed_text(p.seed_));
    const bulk_result r = run_bulk(p);
    ASSERT_TRUE(r.ok_) << r.failure_ << " (" << test::seed_text(p.seed_) << ")";
    EXPECT_EQ(r.received_, p.bytes_);
    EXPECT_GE(r.goodput_mbps(), c.min_mbps_) << test::seed_text(p.seed_);
    std::printf("[ sim      ] %s: %zu MiB in %.3f s simulated (%.1f Mbit/s), %llu retransmits, %llu timeouts, "
                "%llu frames\n",
                c.name_, p.bytes_ >> 20, std::chrono::duration<double>(r.transfer_time_).count(), r.goodput_mbps(),
                static_cast<unsigned long long>(r.retransmits_), static_cast<unsigned long long>(r.timeouts_),
                static_cast<unsigned long long>(r.frames_));
}

INSTANTIATE_TEST_SUITE_P(
    scenarios, goodput_table,
    ::testing::Values(table_case{"clean", 0, 0, 0, 0, 900}, table_case{"loss_1", 0.01, 0, 0, 0, 500},
                      table_case{"loss_5", 0.05, 0, 0, 0, 100}, table_case{"loss_10", 0.10, 0, 0, 0, 20},
                      table_case{"reorder_5", 0, 0.05, 0, 0, 900}, table_case{"duplicate_5", 0, 0, 0.05, 0, 850},
                      table_case{"corrupt_1", 0, 0, 0, 0.01, 500}),
    [](const auto &info) { return std::string(info.param.name_); });

} // namespace
} // namespace demi::sim
