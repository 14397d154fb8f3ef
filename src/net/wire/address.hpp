// Link and network addresses as small value types: ethernet_address (6 bytes, IEEE 802) and
// ipv4_address (4 bytes, RFC 791), stored in network order, with host-order helpers, classification,
// and conversion to and from text.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "common/result.hpp"

namespace demi::wire {

/// An IEEE 802 MAC address (48 bits), in transmission order.
class ethernet_address {
public:
    static constexpr std::size_t size = 6;
    /// Longest text form "xx:xx:xx:xx:xx:xx" plus a terminating NUL.
    static constexpr std::size_t max_text_len = 18;

    constexpr ethernet_address() noexcept = default;
    constexpr ethernet_address(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d, std::uint8_t e,
                               std::uint8_t f) noexcept
        : octets_{a, b, c, d, e, f} {}
    constexpr explicit ethernet_address(const std::array<std::uint8_t, size> &octets) noexcept : octets_(octets) {}

    /// Reads the address from the first 6 bytes of `b` (the caller guarantees b.size() >= 6).
    [[nodiscard]] static constexpr ethernet_address from_bytes(const std::byte *b) noexcept {
        ethernet_address a;
        for (std::size_t i = 0; i < size; ++i) a.octets_[i] = std::to_integer<std::uint8_t>(b[i]);
        return a;
    }
    /// Writes the address to the first 6 bytes at `b`.
    constexpr void write(std::byte *b) const noexcept {
        for (std::size_t i = 0; i < size; ++i) b[i] = static_cast<std::byte>(octets_[i]);
    }

    [[nodiscard]] static constexpr ethernet_address broadcast() noexcept {
        return {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    }
    [[nodiscard]] constexpr const std::array<std::uint8_t, size> &octets() const noexcept { return octets_; }

    [[nodiscard]] constexpr bool is_broadcast() const noexcept { return *this == broadcast(); }
    /// Group bit (I/G, the least significant bit of the first octet); broadcast is a multicast address.
    [[nodiscard]] constexpr bool is_multicast() const noexcept { return (octets_[0] & 0x01) != 0; }
    [[nodiscard]] constexpr bool is_unicast() const noexcept { return !is_multicast(); }
    /// Locally administered (U/L bit set), as for generated addresses of virtual devices.
    [[nodiscard]] constexpr bool is_local() const noexcept { return (octets_[0] & 0x02) != 0; }
    [[nodiscard]] constexpr bool is_zero() const noexcept { return *this == ethernet_address{}; }

    /// Writes "xx:xx:xx:xx:xx:xx" (lower-case hex) and a NUL into `out`; returns the length (17).
    std::size_t to_chars(std::span<char, max_text_len> out) const noexcept;
    [[nodiscard]] std::string to_string() const;
    /// Parses "xx:xx:xx:xx:xx:xx" or "xx-xx-xx-xx-xx-xx" (hex, either case, two digits per octet).
    [[nodiscard]] static result<ethernet_address> from_string(std::string_view text) noexcept;

    friend constexpr auto operator<=>(const ethernet_address &, const ethernet_address &) noexcept = default;
    // Equality on the data path (every received frame): two loads per address (the defaulted form
    // calls memcmp).
    friend constexpr bool operator==(const ethernet_address &a, const ethernet_address &b) noexcept {
        if (std::is_constant_evaluated()) return a.octets_ == b.octets_;
        std::uint32_t a4, b4;
        std::uint16_t a2, b2;
        std::memcpy(&a4, a.octets_.data(), 4);
        std::memcpy(&b4, b.octets_.data(), 4);
        std::memcpy(&a2, a.octets_.data() + 4, 2);
        std::memcpy(&b2, b.octets_.data() + 4, 2);
        return ((a4 ^ b4) | static_cast<std::uint32_t>(a2 ^ b2)) == 0;
    }

private:
    std::array<std::uint8_t, size> octets_{};
};

/// An IPv4 address (RFC 791), stored in network order.
class ipv4_address {
public:
    static constexpr std::size_t size = 4;
    /// Longest text form "255.255.255.255" plus a terminating NUL.
    static constexpr std::size_t max_text_len = 16;

    constexpr ipv4_address() noexcept = default;
    constexpr ipv4_address(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) noexcept
        : octets_{a, b, c, d} {}
    constexpr explicit ipv4_address(const std::array<std::uint8_t, size> &octets) noexcept : octets_(octets) {}

    /// From a host-order integer: 0x0a000001 is 10.0.0.1.
    [[nodiscard]] static constexpr ipv4_address from_host(std::uint32_t v) noexcept {
        return {static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
                static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
    }
    /// The address as a host-order integer (10.0.0.1 is 0x0a000001).
    [[nodiscard]] constexpr std::uint32_t to_host() const noexcept {
        return (std::uint32_t{octets_[0]} << 24) | (std::uint32_t{octets_[1]} << 16) |
               (std::uint32_t{octets_[2]} << 8) | std::uint32_t{octets_[3]};
    }
    /// From / to a network-order integer, as held in `struct in_addr::s_addr`.
    [[nodiscard]] static ipv4_address from_network(std::uint32_t s_addr) noexcept;
    [[nodiscard]] std::uint32_t to_network() const noexcept;

    /// Reads the address from the first 4 bytes at `b`.
    [[nodiscard]] static constexpr ipv4_address from_bytes(const std::byte *b) noexcept {
        return {std::to_integer<std::uint8_t>(b[0]), std::to_integer<std::uint8_t>(b[1]),
                std::to_integer<std::uint8_t>(b[2]), std::to_integer<std::uint8_t>(b[3])};
    }
    /// Writes the address to the first 4 bytes at `b`.
    constexpr void write(std::byte *b) const noexcept {
        for (std::size_t i = 0; i < size; ++i) b[i] = static_cast<std::byte>(octets_[i]);
    }

    [[nodiscard]] static constexpr ipv4_address unspecified() noexcept { return {}; }
    [[nodiscard]] static constexpr ipv4_address broadcast() noexcept { return {255, 255, 255, 255}; }
    /// The netmask of a prefix length (0..32; larger values are treated as 32).
    [[nodiscard]] static constexpr ipv4_address netmask(unsigned prefix_len) noexcept {
        if (prefix_len == 0) return {};
        if (prefix_len >= 32) return broadcast();
        return from_host(~std::uint32_t{0} << (32 - prefix_len));
    }

    [[nodiscard]] constexpr const std::array<std::uint8_t, size> &octets() const noexcept { return octets_; }

    /// 0.0.0.0 (INADDR_ANY).
    [[nodiscard]] constexpr bool is_unspecified() const noexcept { return to_host() == 0; }
    /// 255.255.255.255, the limited broadcast address (RFC 919).
    [[nodiscard]] constexpr bool is_broadcast() const noexcept { return to_host() == 0xffffffffu; }
    /// 224.0.0.0/4 (RFC 5771).
    [[nodiscard]] constexpr bool is_multicast() const noexcept { return (octets_[0] & 0xf0) == 0xe0; }
    /// 127.0.0.0/8 (RFC 1122 §3.2.1.3).
    [[nodiscard]] constexpr bool is_loopback() const noexcept { return octets_[0] == 127; }
    /// 169.254.0.0/16 (RFC 3927).
    [[nodiscard]] constexpr bool is_link_local() const noexcept { return octets_[0] == 169 && octets_[1] == 254; }
    /// 10/8, 172.16/12, 192.168/16 (RFC 1918).
    [[nodiscard]] constexpr bool is_private() const noexcept {
        return octets_[0] == 10 || (octets_[0] == 172 && (octets_[1] & 0xf0) == 16) ||
               (octets_[0] == 192 && octets_[1] == 168);
    }
    /// A unicast address: not unspecified, broadcast or multicast (a subnet's directed broadcast is
    /// not known here; the interface checks that).
    [[nodiscard]] constexpr bool is_unicast() const noexcept {
        return !is_unspecified() && !is_broadcast() && !is_multicast();
    }
    /// Whether this address and `other` share the first `prefix_len` bits.
    [[nodiscard]] constexpr bool same_subnet(ipv4_address other, unsigned prefix_len) const noexcept {
        const std::uint32_t m = netmask(prefix_len).to_host();
        return (to_host() & m) == (other.to_host() & m);
    }

    /// Writes the dotted-decimal form and a NUL into `out`; returns the length (7..15).
    std::size_t to_chars(std::span<char, max_text_len> out) const noexcept;
    [[nodiscard]] std::string to_string() const;
    /// Parses strict dotted-decimal "a.b.c.d": four decimal octets 0..255, no leading zeros (which
    /// inet_aton would read as octal), no other forms.
    [[nodiscard]] static result<ipv4_address> from_string(std::string_view text) noexcept;

    friend constexpr auto operator<=>(const ipv4_address &, const ipv4_address &) noexcept = default;
    friend constexpr bool operator==(const ipv4_address &a, const ipv4_address &b) noexcept {
        return a.to_host() == b.to_host();
    }

private:
    std::array<std::uint8_t, size> octets_{};
};

} // namespace demi::wire

template <>
struct std::hash<demi::wire::ethernet_address> {
    std::size_t operator()(const demi::wire::ethernet_address &a) const noexcept {
        std::uint64_t v = 0;
        for (auto o : a.octets()) v = (v << 8) | o;
        return std::hash<std::uint64_t>{}(v);
    }
};

template <>
struct std::hash<demi::wire::ipv4_address> {
    std::size_t operator()(const demi::wire::ipv4_address &a) const noexcept {
        return std::hash<std::uint32_t>{}(a.to_host());
    }
};
