// Time as a parameter: the runtime reads a clock through this interface, so tests and the network
// simulator can substitute a virtual one. Nothing below src/runtime reads a clock directly.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace demi {

using duration = std::chrono::nanoseconds;
/// A point on a monotonic time line, in nanoseconds from an arbitrary origin.
using time_point = std::chrono::time_point<std::chrono::steady_clock, duration>;

class clock_source {
public:
    virtual ~clock_source() = default;
    [[nodiscard]] virtual time_point now() const noexcept = 0;
};

/// The machine's monotonic clock.
class steady_clock_source final : public clock_source {
public:
    [[nodiscard]] time_point now() const noexcept override {
        return std::chrono::time_point_cast<duration>(std::chrono::steady_clock::now());
    }
};

/// The machine's monotonic clock, read through the CPU's time-stamp counter where the kernel itself
/// keeps time with it: a reading costs ~10 ns instead of clock_gettime's ~25 ns in a VM, and the
/// busy-poll loop reads the clock every few rounds.
///
/// The TSC is used only on x86-64 when the kernel's clocksource is "tsc" (the kernel then found it
/// invariant and synchronised across CPUs) and DEMI_CLOCK is not "steady". Its rate is measured
/// against the steady clock over the first `calibration_span` of use: until then every reading is
/// the steady clock's, after it the TSC's, scaled and anchored so that time goes on continuously
/// from the steady clock's reading at the switch. Afterwards the two clocks part only by the error
/// of that measurement (a few parts per million) and by whatever NTP slews the kernel's clock: this
/// clock is for the runtime's timers and deadlines, never to be compared with another clock's
/// readings. Safe to read from several threads at once, and monotonic within each thread; the TSC
/// is read without a fence (a fence doubles the cost), so one thread's reading may be a little
/// behind one another thread took just before (the runtime's times never cross threads). Should
/// the kernel later stop trusting the TSC (its watchdog), this clock does not notice.
class machine_clock_source final : public clock_source {
public:
    static constexpr duration calibration_span = std::chrono::milliseconds(10);

    machine_clock_source() noexcept;
    [[nodiscard]] time_point now() const noexcept override {
        if (calibrated_.load(std::memory_order_acquire)) [[likely]]
            return from_tsc(read_tsc());
        return calibrating_now();
    }
    /// True once readings come from the TSC.
    [[nodiscard]] bool uses_tsc() const noexcept { return calibrated_.load(std::memory_order_acquire); }
    /// True when this clock will move to the TSC once calibrated (x86-64, the kernel's clocksource
    /// is "tsc", DEMI_CLOCK is not "steady").
    [[nodiscard]] bool tsc_eligible() const noexcept { return eligible_.load(std::memory_order_relaxed); }
    /// Nanoseconds per TSC tick as measured (0 before calibration).
    [[nodiscard]] double ns_per_tick() const noexcept;

private:
    static uint64_t read_tsc() noexcept {
#if defined(__x86_64__)
        return __builtin_ia32_rdtsc();
#else
        return 0; // never used: not eligible
#endif
    }
    [[nodiscard]] time_point from_tsc(uint64_t tsc) const noexcept {
        // A reading taken on another CPU an instant after the anchor may be a few ticks behind it.
        const auto ticks = static_cast<int64_t>(tsc - base_tsc_);
        const auto t = static_cast<unsigned __int128>(ticks > 0 ? ticks : 0) * mult_;
        return time_point(duration(base_ns_ + static_cast<int64_t>(t >> 32)));
    }
    time_point calibrating_now() const noexcept;

    mutable std::atomic<bool> eligible_{false}; // cleared if the measured rate is implausible
    uint64_t anchor_tsc_ = 0; // TSC and steady-clock readings taken together at construction
    int64_t anchor_ns_ = 0;
    // Written once, by the one reading that claims the calibration, before calibrated_ is set.
    mutable uint64_t base_tsc_ = 0;
    mutable int64_t base_ns_ = 0;
    mutable uint64_t mult_ = 0; // nanoseconds per tick, 32.32 fixed point
    mutable std::atomic<bool> claimed_{false};
    mutable int failed_calibrations_ = 0; // written only by the reading holding claimed_
    mutable std::atomic<bool> calibrated_{false};
};

/// A clock that moves only when told to (tests, simulation).
class manual_clock final : public clock_source {
public:
    explicit manual_clock(time_point start = time_point{}) noexcept : now_(start) {}
    [[nodiscard]] time_point now() const noexcept override { return now_; }
    void advance(duration d) noexcept { now_ += d; }
    void set(time_point t) noexcept { now_ = t; }

private:
    time_point now_;
};

/// Randomness as a parameter (ISNs, ephemeral ports). splitmix64/xorshift-based; seeded.
class rng {
public:
    explicit rng(uint64_t seed) noexcept : s_(seed ? seed : 0x9e3779b97f4a7c15ULL) {}
    uint64_t next() noexcept {
        uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    /// Uniform in [0, bound).
    uint64_t below(uint64_t bound) noexcept { return bound ? next() % bound : 0; }

private:
    uint64_t s_;
};

} // namespace demi
