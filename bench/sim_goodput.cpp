// Goodput of a bulk TCP transfer between two simulated hosts (src/net/sim), per fault scenario: the
// simulated goodput (octets delivered in order over simulated time), the wall time the simulation
// took, retransmissions and frames. Each transfer is verified octet by octet.
//
//   sim_goodput [--mib N] [--seed S]      (defaults: 64 MiB, seed 1)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "net/sim/bulk.hpp"

namespace {

struct scenario {
    const char *name;
    demi::phy::fault_params faults;
    std::size_t queue_frames = 0; // the link's transmit queue, if not the default's: losses from congestion
};

demi::phy::fault_params make(double drop, double reorder, double duplicate, double corrupt) {
    demi::phy::fault_params f;
    f.drop = drop;
    f.reorder = reorder;
    f.duplicate = duplicate;
    f.corrupt = corrupt;
    f.reorder_timeout = std::chrono::microseconds(200);
    return f;
}

} // namespace

int main(int argc, char **argv) {
    std::size_t mib = 64;
    std::uint64_t seed = 1;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--mib") == 0 && i + 1 < argc) {
            mib = std::strtoull(argv[++i], nullptr, 0);
        } else if (std::strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            seed = std::strtoull(argv[++i], nullptr, 0);
        } else {
            std::fprintf(stderr, "usage: %s [--mib N] [--seed S]\n", argv[0]);
            return 2;
        }
    }
    const scenario scenarios[] = {
        {"clean", make(0, 0, 0, 0)},         {"loss 1%", make(0.01, 0, 0, 0)},    {"loss 5%", make(0.05, 0, 0, 0)},
        {"loss 10%", make(0.10, 0, 0, 0)},   {"reorder 5%", make(0, 0.05, 0, 0)}, {"duplicate 5%", make(0, 0, 0.05, 0)},
        {"corrupt 1%", make(0, 0, 0, 0.01)},
        // No faults, a shallow queue at the sender's 1 Gbit/s link: the losses are the drops of a full
        // queue when the window outgrows the path (about 9 segments) plus the queue, as at a bottleneck.
        {"queue 16", make(0, 0, 0, 0), 16},  {"queue 32", make(0, 0, 0, 0), 32}, {"queue 64", make(0, 0, 0, 0), 64},
    };
    std::printf(
        "bulk TCP transfer, %zu MiB, 1 Gbit/s link with 50 us one-way latency, faults on both directions, seed %llu\n",
        mib, static_cast<unsigned long long>(seed));
    std::printf("%-14s %12s %10s %9s %10s %9s %9s %10s %s\n", "scenario", "sim Mbit/s", "sim s", "wall s", "retransmit",
                "timeouts", "fast rtx", "frames", "result");
    int failures = 0;
    for (const scenario &s : scenarios) {
        demi::sim::bulk_params p;
        p.seed_ = seed;
        p.bytes_ = mib << 20;
        p.faults_ = s.faults;
        if (s.queue_frames != 0) p.link_.queue_frames = s.queue_frames;
        p.limits_.max_steps_ = 500'000'000;
        p.limits_.max_time_ = std::chrono::hours(24);
        const auto t0 = std::chrono::steady_clock::now();
        const demi::sim::bulk_result r = demi::sim::run_bulk(p);
        const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf("%-14s %12.1f %10.3f %9.2f %10llu %9llu %9llu %10llu %s\n", s.name, r.goodput_mbps(),
                    std::chrono::duration<double>(r.transfer_time_).count(), wall,
                    static_cast<unsigned long long>(r.retransmits_), static_cast<unsigned long long>(r.timeouts_),
                    static_cast<unsigned long long>(r.fast_retransmits_), static_cast<unsigned long long>(r.frames_),
                    r.ok_ ? "verified" : r.failure_.c_str());
        std::fflush(stdout);
        if (!r.ok_) ++failures;
    }
    return failures == 0 ? 0 : 1;
}
