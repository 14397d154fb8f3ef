// The machine clock over the TSC (clock.hpp): the eligibility check and the calibration.
#include "common/clock.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace demi {
namespace {

int64_t steady_ns() noexcept { return std::chrono::steady_clock::now().time_since_epoch().count(); }

// The kernel keeps time with the TSC only when it found it invariant and in step on every CPU.
bool kernel_keeps_time_with_tsc() noexcept {
#if defined(__x86_64__)
    std::FILE *f = std::fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "re");
    if (f == nullptr) return false;
    char name[32] = {};
    const bool read = std::fgets(name, sizeof name, f) != nullptr;
    std::fclose(f);
    return read && std::strcmp(name, "tsc\n") == 0;
#else
    return false;
#endif
}

// A TSC reading and a steady-clock reading taken together: the TSC halfway through the steady
// clock's read, and how many ticks that read took (the pair's uncertainty).
struct pair_reading {
    uint64_t tsc;
    int64_t ns;
    uint64_t spread;
};

// A pair wider than this (~0.8 us at 2.6 GHz; a read takes ~25 ns, ~60 ticks, in a VM) was
// interrupted: too loose to measure the rate with (at this width, over the calibration span, the
// rate would be within ~0.01%; the pairs taken are ~100 times tighter).
constexpr uint64_t max_spread_ticks = 2000;
// Measurements that found no tight pair before the clock stays on the steady clock for good.
constexpr int max_failed_calibrations = 64;

template <class ReadTsc> pair_reading read_pair(ReadTsc read_tsc) noexcept {
    const uint64_t a = read_tsc();
    const int64_t ns = steady_ns();
    const uint64_t b = read_tsc();
    return {a + (b - a) / 2, ns, b - a};
}

} // namespace

machine_clock_source::machine_clock_source() noexcept {
    const char *want = std::getenv("DEMI_CLOCK");
    if (want != nullptr && std::strcmp(want, "steady") == 0) return;
    if (!kernel_keeps_time_with_tsc()) return;
    // The tightest of a few pairs: a pair the thread was interrupted in is far wider. No tight pair
    // at all (a steady clock that makes a system call each time): no TSC either.
    pair_reading best = read_pair(read_tsc);
    for (int i = 0; i < 16 && (i < 4 || best.spread > max_spread_ticks); ++i)
        if (pair_reading p = read_pair(read_tsc); p.spread < best.spread) best = p;
    if (best.spread > max_spread_ticks) return;
    anchor_tsc_ = best.tsc;
    anchor_ns_ = best.ns;
    eligible_.store(true, std::memory_order_relaxed);
}

time_point machine_clock_source::calibrating_now() const noexcept {
    if (!eligible_.load(std::memory_order_relaxed)) return time_point(duration(steady_ns()));
    const int64_t ns = steady_ns();
    if (ns - anchor_ns_ < calibration_span.count() || claimed_.exchange(true, std::memory_order_acq_rel))
        return time_point(duration(ns));
    // This reading measures the rate: the tightest of a few pairs, as for the anchor. With both ends
    // that tight the rate is within a few ppm. A thread interrupted in every pair leaves the
    // measurement to a later reading, up to max_failed_calibrations times.
    pair_reading p = read_pair(read_tsc);
    for (int i = 0; i < 4; ++i)
        if (pair_reading q = read_pair(read_tsc); q.spread < p.spread) p = q;
    if (p.spread > max_spread_ticks || p.tsc <= anchor_tsc_) {
        if (++failed_calibrations_ >= max_failed_calibrations) eligible_.store(false, std::memory_order_relaxed);
        claimed_.store(false, std::memory_order_release);
        return time_point(duration(p.ns));
    }
    const uint64_t ticks = p.tsc - anchor_tsc_;
    const auto elapsed_ns = static_cast<uint64_t>(p.ns - anchor_ns_);
    const auto rate = (static_cast<unsigned __int128>(elapsed_ns) << 32) / ticks;
    // A rate outside 0.05-20 GHz is no TSC to trust: stay on the steady clock.
    constexpr unsigned __int128 one = uint64_t{1} << 32;
    if (rate < one / 20 || rate > one * 20) {
        eligible_.store(false, std::memory_order_relaxed);
        return time_point(duration(p.ns));
    }
    const auto mult = static_cast<uint64_t>(rate);
    // The steady clock was read somewhere within the pair, up to half its spread before or after
    // p.tsc: anchored at the latest it can have been, the TSC's time is not behind the steady
    // readings taken before the switch (it is ahead by ~10 ns at most).
    base_tsc_ = p.tsc;
    base_ns_ = p.ns + static_cast<int64_t>((static_cast<unsigned __int128>(p.spread / 2 + 1) * mult) >> 32);
    mult_ = mult;
    calibrated_.store(true, std::memory_order_release);
    return time_point(duration(p.ns));
}

double machine_clock_source::ns_per_tick() const noexcept {
    return uses_tsc() ? static_cast<double>(mult_) / static_cast<double>(uint64_t{1} << 32) : 0.0;
}

} // namespace demi
