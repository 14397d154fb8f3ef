// The Internet checksum (RFC 1071): the 16-bit one's complement of the one's-complement sum of the
// data taken as big-endian 16-bit words; its incremental update (RFC 1624); the IPv4 pseudo-header of
// UDP and TCP (RFC 768, RFC 9293 §3.1); and which checksums software computes or verifies when the
// device offloads them.
//
// Values are host-order integers whose big-endian encoding is what goes on the wire: a checksum field
// reading 0x86c8 holds the bytes 86 c8.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "net/wire/address.hpp"
#include "net/wire/endian.hpp"

namespace demi::wire {

/// Where software handles a checksum: `rx` verifies it on receive, `tx` computes it on transmit.
/// A direction left out is done by the device (or, on receive, trusted as the device reported it).
enum class checksum_mode : std::uint8_t { none = 0, rx = 1, tx = 2, both = 3 };

[[nodiscard]] constexpr bool verifies(checksum_mode m) noexcept { return (static_cast<unsigned>(m) & 1u) != 0; }
[[nodiscard]] constexpr bool computes(checksum_mode m) noexcept { return (static_cast<unsigned>(m) & 2u) != 0; }

/// Per-protocol checksum handling, from the device's offload capabilities. The default is software
/// for everything, which is always correct.
struct checksum_caps {
    checksum_mode ipv4_ = checksum_mode::both;
    checksum_mode icmpv4_ = checksum_mode::both;
    checksum_mode udp_ = checksum_mode::both;
    checksum_mode tcp_ = checksum_mode::both;
    /// When UDP/TCP transmit checksums are offloaded, emit() seeds the checksum field with the folded,
    /// uncomplemented pseudo-header sum, which is what DPDK's L4 checksum offload and virtio-net's
    /// partial checksums expect; when false it writes zero. (IPv4 header checksum offload always
    /// gets zero.)
    bool tx_pseudo_header_seed_ = true;

    /// Everything in software.
    [[nodiscard]] static constexpr checksum_caps software() noexcept { return {}; }
    /// Everything offloaded: nothing computed, nothing verified.
    [[nodiscard]] static constexpr checksum_caps offloaded() noexcept {
        return {checksum_mode::none, checksum_mode::none, checksum_mode::none, checksum_mode::none, true};
    }
};

/// A running one's-complement sum over any number of byte ranges, of any lengths: a range that starts
/// at an odd overall offset is folded in byte-swapped (RFC 1071 §2(B) byte-order independence), so
/// sum(a ++ b) == sum(a) then sum(b) for every split.
class checksum_accumulator {
public:
    constexpr checksum_accumulator() noexcept = default;

    /// Adds a range of bytes that follows everything added so far.
    checksum_accumulator &add(std::span<const std::byte> data) noexcept;
    /// Adds one big-endian 16-bit word (given in host order) as if its two bytes were added.
    constexpr checksum_accumulator &add16(std::uint16_t word) noexcept {
        sum_ += odd_ ? static_cast<std::uint16_t>((word >> 8) | (word << 8)) : word;
        return *this;
    }
    /// Adds one big-endian 32-bit word (given in host order) as if its four bytes were added.
    constexpr checksum_accumulator &add32(std::uint32_t word) noexcept {
        add16(static_cast<std::uint16_t>(word >> 16));
        return add16(static_cast<std::uint16_t>(word));
    }

    /// The folded one's-complement sum, 0..0xffff (0 only if every byte added was zero). Data that
    /// includes a correct checksum field sums to 0xffff.
    [[nodiscard]] constexpr std::uint16_t sum() const noexcept {
        std::uint64_t s = sum_;
        while (s >> 16) s = (s & 0xffff) + (s >> 16);
        return static_cast<std::uint16_t>(s);
    }
    /// The value for a checksum field: the complement of sum().
    [[nodiscard]] constexpr std::uint16_t checksum() const noexcept { return static_cast<std::uint16_t>(~sum()); }

private:
    std::uint64_t sum_ = 0; // kept below 2^48 by folding in add()
    bool odd_ = false;      // an odd number of bytes added so far
};

/// The folded one's-complement sum of `data` (RFC 1071 §4.1 without the final complement).
[[nodiscard]] std::uint16_t ones_complement_sum(std::span<const std::byte> data) noexcept;

/// The Internet checksum of `data`, with its checksum field (if any) zeroed: the value to store.
/// Data whose checksum field is already filled in checks out when this returns 0.
[[nodiscard]] std::uint16_t internet_checksum(std::span<const std::byte> data) noexcept;

/// An accumulator seeded with the IPv4 pseudo-header for UDP and TCP: source and destination address,
/// zero, protocol, and the length of the UDP datagram / TCP segment (RFC 768; RFC 9293 §3.1).
[[nodiscard]] constexpr checksum_accumulator ipv4_pseudo_header(ipv4_address src, ipv4_address dst,
                                                                std::uint8_t protocol, std::uint16_t length) noexcept {
    checksum_accumulator acc;
    acc.add32(src.to_host()).add32(dst.to_host()).add16(protocol).add16(length);
    return acc;
}

/// RFC 1624 eqn. 3: the checksum after one 16-bit word covered by it changes from `old_word` to
/// `new_word`, without touching the rest of the data: HC' = ~(~HC + ~m + m'). Unlike eqn. 2 it never
/// yields 0xffff where a full recompute gives 0x0000 (RFC 1624 §3).
[[nodiscard]] constexpr std::uint16_t checksum_update16(std::uint16_t checksum, std::uint16_t old_word,
                                                        std::uint16_t new_word) noexcept {
    std::uint32_t s = static_cast<std::uint16_t>(~checksum);
    s += static_cast<std::uint16_t>(~old_word);
    s += new_word;
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return static_cast<std::uint16_t>(~s);
}

/// As checksum_update16 for a 32-bit field at an even offset (an address, a sequence number).
[[nodiscard]] constexpr std::uint16_t checksum_update32(std::uint16_t checksum, std::uint32_t old_word,
                                                        std::uint32_t new_word) noexcept {
    checksum = checksum_update16(checksum, static_cast<std::uint16_t>(old_word >> 16),
                                 static_cast<std::uint16_t>(new_word >> 16));
    return checksum_update16(checksum, static_cast<std::uint16_t>(old_word), static_cast<std::uint16_t>(new_word));
}

} // namespace demi::wire
