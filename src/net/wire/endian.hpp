// Byte-order helpers for wire formats: loads and stores of big-endian (network order) integers at
// byte addresses with no alignment requirement, and host <-> network conversions.
//
// Written with shifts rather than OS headers (<arpa/inet.h>) so that src/net/wire includes no OS
// header (DESIGN.md §2); compilers turn these into single bswap/movbe instructions.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

namespace demi::wire {

static_assert(std::endian::native == std::endian::little || std::endian::native == std::endian::big,
              "mixed-endian hosts are not supported");

/// Reverses the bytes of a 16-bit value.
[[nodiscard]] constexpr std::uint16_t byteswap16(std::uint16_t v) noexcept {
    return static_cast<std::uint16_t>((v >> 8) | (v << 8));
}

/// Reverses the bytes of a 32-bit value.
[[nodiscard]] constexpr std::uint32_t byteswap32(std::uint32_t v) noexcept {
    return ((v & 0x000000ffu) << 24) | ((v & 0x0000ff00u) << 8) | ((v & 0x00ff0000u) >> 8) | ((v & 0xff000000u) >> 24);
}

/// Host to network order (big-endian) and back; the identity on big-endian hosts.
[[nodiscard]] constexpr std::uint16_t host_to_net16(std::uint16_t v) noexcept {
    if constexpr (std::endian::native == std::endian::little) return byteswap16(v);
    return v;
}
[[nodiscard]] constexpr std::uint32_t host_to_net32(std::uint32_t v) noexcept {
    if constexpr (std::endian::native == std::endian::little) return byteswap32(v);
    return v;
}
[[nodiscard]] constexpr std::uint16_t net_to_host16(std::uint16_t v) noexcept { return host_to_net16(v); }
[[nodiscard]] constexpr std::uint32_t net_to_host32(std::uint32_t v) noexcept { return host_to_net32(v); }

/// Reads a big-endian 16-bit integer at `p` (any alignment).
[[nodiscard]] constexpr std::uint16_t load_be16(const std::byte *p) noexcept {
    return static_cast<std::uint16_t>((std::to_integer<unsigned>(p[0]) << 8) | std::to_integer<unsigned>(p[1]));
}

/// Reads a big-endian 32-bit integer at `p` (any alignment).
[[nodiscard]] constexpr std::uint32_t load_be32(const std::byte *p) noexcept {
    return (std::to_integer<std::uint32_t>(p[0]) << 24) | (std::to_integer<std::uint32_t>(p[1]) << 16) |
           (std::to_integer<std::uint32_t>(p[2]) << 8) | std::to_integer<std::uint32_t>(p[3]);
}

/// Writes `v` as a big-endian 16-bit integer at `p` (any alignment).
constexpr void store_be16(std::byte *p, std::uint16_t v) noexcept {
    p[0] = static_cast<std::byte>(v >> 8);
    p[1] = static_cast<std::byte>(v);
}

/// Writes `v` as a big-endian 32-bit integer at `p` (any alignment).
constexpr void store_be32(std::byte *p, std::uint32_t v) noexcept {
    p[0] = static_cast<std::byte>(v >> 24);
    p[1] = static_cast<std::byte>(v >> 16);
    p[2] = static_cast<std::byte>(v >> 8);
    p[3] = static_cast<std::byte>(v);
}

} // namespace demi::wire
