// Time as a parameter: the runtime reads a clock through this interface, so tests and the network
// simulator can substitute a virtual one. Nothing below src/runtime reads a clock directly.
#pragma once

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
