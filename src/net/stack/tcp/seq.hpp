// Sequence-number arithmetic (RFC 9293 §3.4): 32-bit values compared modulo 2^32, so that a number
// up to 2^31 - 1 ahead of another is "after" it. Every comparison of sequence or acknowledgment
// numbers in the TCP core goes through this type; plain `<` on the raw integers is a bug.
#pragma once

#include <cstdint>

namespace demi::net::tcp {

class seq32 {
public:
    constexpr seq32() noexcept = default;
    constexpr explicit seq32(std::uint32_t v) noexcept : v_(v) {}

    [[nodiscard]] constexpr std::uint32_t value() const noexcept { return v_; }

    friend constexpr seq32 operator+(seq32 s, std::uint32_t n) noexcept { return seq32(s.v_ + n); }
    friend constexpr seq32 operator-(seq32 s, std::uint32_t n) noexcept { return seq32(s.v_ - n); }
    constexpr seq32 &operator+=(std::uint32_t n) noexcept {
        v_ += n;
        return *this;
    }
    /// The signed distance a - b, meaningful when |a - b| < 2^31.
    friend constexpr std::int32_t operator-(seq32 a, seq32 b) noexcept {
        return static_cast<std::int32_t>(a.v_ - b.v_);
    }

    friend constexpr bool operator==(seq32, seq32) noexcept = default;
    // RFC 9293 §3.4: "<" means "less than" modulo 2^32 (the distance, read as signed, is negative).
    friend constexpr bool operator<(seq32 a, seq32 b) noexcept { return (a - b) < 0; }
    friend constexpr bool operator>(seq32 a, seq32 b) noexcept { return (a - b) > 0; }
    friend constexpr bool operator<=(seq32 a, seq32 b) noexcept { return (a - b) <= 0; }
    friend constexpr bool operator>=(seq32 a, seq32 b) noexcept { return (a - b) >= 0; }

private:
    std::uint32_t v_ = 0;
};

[[nodiscard]] constexpr seq32 seq_max(seq32 a, seq32 b) noexcept { return a < b ? b : a; }
[[nodiscard]] constexpr seq32 seq_min(seq32 a, seq32 b) noexcept { return a < b ? a : b; }

/// The unsigned distance from `from` forward to `to` (0 when `to` is not after `from`).
[[nodiscard]] constexpr std::uint32_t seq_distance(seq32 from, seq32 to) noexcept {
    return to > from ? static_cast<std::uint32_t>(to.value() - from.value()) : 0;
}

/// lo <= s <= hi, modulo 2^32.
[[nodiscard]] constexpr bool seq_between(seq32 lo, seq32 s, seq32 hi) noexcept { return lo <= s && s <= hi; }

/// start <= s < start + len: s falls in a window of len octets (empty when len is 0). Computed as an
/// unsigned offset so windows up to 2^30 (RFC 7323 §2.3) work across the wrap.
[[nodiscard]] constexpr bool seq_in_window(seq32 s, seq32 start, std::uint32_t len) noexcept {
    return static_cast<std::uint32_t>(s.value() - start.value()) < len;
}

} // namespace demi::net::tcp
