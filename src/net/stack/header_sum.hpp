// One's-complement sums over prebuilt headers: a header template (the host's TCP ACK template, a UDP
// socket's header template) keeps the sum of the 16-bit words that stay the same from one packet to
// the next, and adds the words that change per packet (lengths, ident, sequence numbers) to finish
// the checksum without summing the whole header again (RFC 1071 §2: the sum is commutative and
// associative, so the words may be added in any grouping).
#pragma once

#include <cstddef>
#include <cstdint>

namespace demi::net::header_sum {

/// The big-endian 16-bit word at `p`, in host order.
[[nodiscard]] inline std::uint32_t word_at(const std::byte *p) noexcept {
    return (std::uint32_t{std::to_integer<std::uint8_t>(p[0])} << 8) | std::to_integer<std::uint8_t>(p[1]);
}

/// The unfolded sum of the `n` bytes at `p` (n even) as big-endian 16-bit words.
[[nodiscard]] inline std::uint32_t sum_words(const std::byte *p, std::size_t n) noexcept {
    std::uint32_t s = 0;
    for (std::size_t i = 0; i < n; i += 2) s += word_at(p + i);
    return s;
}

/// The checksum field for an unfolded sum `s` below 2^34 (a few dozen 16-bit words): three folds
/// bring it to 16 bits, then the complement.
[[nodiscard]] inline std::uint16_t fold_complement(std::uint64_t s) noexcept {
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    return static_cast<std::uint16_t>(~s);
}

/// A 32-bit field as the sum of its two 16-bit words.
[[nodiscard]] inline std::uint32_t halves(std::uint32_t v) noexcept {
    return (v >> 16) + (v & 0xffff);
}

} // namespace demi::net::header_sum
