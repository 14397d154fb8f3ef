// Helpers shared by the wire tests.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "net/wire/wire.hpp"

namespace demi {
/// Lets GoogleTest print an error as its errno and message.
inline void PrintTo(const error &e, std::ostream *os) { *os << e.code() << " (" << e.message() << ")"; }
} // namespace demi

namespace demi::wire::test {

/// A read-only byte view of a test vector.
template <std::size_t N>
std::span<const std::byte> bytes(const std::uint8_t (&a)[N]) {
    return std::as_bytes(std::span<const std::uint8_t>(a));
}

/// A mutable copy of a byte array.
template <std::size_t N>
std::vector<std::byte> copy_of(const std::uint8_t (&a)[N]) {
    std::vector<std::byte> v(N);
    for (std::size_t i = 0; i < N; ++i) v[i] = static_cast<std::byte>(a[i]);
    return v;
}

inline std::vector<std::byte> copy_of(std::span<const std::byte> s) { return {s.begin(), s.end()}; }

/// Bytes from text: "hello" -> 68 65 6c 6c 6f.
inline std::vector<std::byte> text_of(const std::string &s) {
    std::vector<std::byte> v;
    for (char c : s) v.push_back(static_cast<std::byte>(c));
    return v;
}

inline std::vector<std::byte> bytes_of(const std::vector<int> &l) {
    std::vector<std::byte> v;
    for (int x : l) v.push_back(static_cast<std::byte>(x));
    return v;
}

/// Hex dump for failure messages.
inline std::string hex(std::span<const std::byte> s) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (std::byte b : s) {
        const auto v = std::to_integer<unsigned>(b);
        out += digits[v >> 4];
        out += digits[v & 15];
    }
    return out;
}

inline bool same(std::span<const std::byte> a, std::span<const std::byte> b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

/// The Ethernet payload of a frame vector (its IPv4 packet or ARP packet).
inline std::span<const std::byte> l3_of(std::span<const std::byte> frame) { return frame.subspan(14); }

/// The layer-4 bytes of an IPv4-over-Ethernet frame vector (trimmed to the IP total length).
inline std::span<const std::byte> l4_of(std::span<const std::byte> frame) {
    auto ip = ipv4_view::check(l3_of(frame));
    return ip ? ip->payload() : std::span<const std::byte>{};
}

inline const ipv4_address host_a{10, 0, 0, 1};
inline const ipv4_address host_b{10, 0, 0, 2};
inline const ethernet_address mac_a{0xe2, 0x1f, 0xf5, 0x19, 0x8a, 0x99};
inline const ethernet_address mac_b{0x9a, 0xeb, 0x7c, 0x4b, 0x07, 0x1a};

/// A reference Internet checksum sum written the plainest way (RFC 1071 §4.1), independent of the
/// library's word-at-a-time code.
inline std::uint16_t reference_sum(std::span<const std::byte> data) {
    std::uint64_t sum = 0;
    std::size_t i = 0;
    for (; i + 1 < data.size(); i += 2)
        sum += (std::to_integer<std::uint64_t>(data[i]) << 8) | std::to_integer<std::uint64_t>(data[i + 1]);
    if (i < data.size()) sum += std::to_integer<std::uint64_t>(data[i]) << 8;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(sum);
}

} // namespace demi::wire::test
