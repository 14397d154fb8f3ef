// ARP (RFC 826). The view reads any hardware/protocol address sizes; the repr is ARP for IPv4 over
// Ethernet only (hardware type 1, protocol type 0x0800, lengths 6 and 4), the only kind the stack
// answers or sends.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/result.hpp"
#include "net/wire/address.hpp"
#include "net/wire/errors.hpp"
#include "net/wire/view_base.hpp"

namespace demi::wire {

/// ar$op (RFC 826): 1 request, 2 reply. (3/4 are RARP, RFC 903, not handled.)
enum class arp_operation : std::uint16_t { request = 1, reply = 2 };

/// ar$hrd for Ethernet (RFC 826; IANA "Hardware Types").
inline constexpr std::uint16_t arp_hardware_ethernet = 1;

template <detail::wire_byte B>
class basic_arp_view : public detail::view_base<B> {
    using base = detail::view_base<B>;
    template <detail::wire_byte>
    friend class basic_arp_view;

public:
    /// hrd, pro, hln, pln, op: the part before the addresses.
    static constexpr std::size_t fixed_len = 8;

    /// Checks the fixed part, then that the four addresses (2*hln + 2*pln bytes) follow it; the view
    /// covers exactly that much (Ethernet padding after it is left out).
    [[nodiscard]] static result<basic_arp_view> check(std::span<B> packet) noexcept {
        if (packet.size() < fixed_len) return err::truncated;
        const std::size_t hln = std::to_integer<std::size_t>(packet[4]);
        const std::size_t pln = std::to_integer<std::size_t>(packet[5]);
        const std::size_t len = fixed_len + 2 * hln + 2 * pln;
        if (packet.size() < len) return err::truncated;
        return basic_arp_view(packet.first(len), hln, pln);
    }

    template <detail::wire_byte B2>
        requires(std::is_const_v<B> && !std::is_const_v<B2>)
    basic_arp_view(const basic_arp_view<B2> &o) noexcept : base(o.bytes()), hln_(o.hln_), pln_(o.pln_) {}

    [[nodiscard]] std::uint16_t hardware_type() const noexcept { return this->get16(0); }
    [[nodiscard]] std::uint16_t protocol_type() const noexcept { return this->get16(2); }
    /// hln and pln, as read by check().
    [[nodiscard]] std::uint8_t hardware_len() const noexcept { return hln_; }
    [[nodiscard]] std::uint8_t protocol_len() const noexcept { return pln_; }
    [[nodiscard]] std::uint16_t operation_raw() const noexcept { return this->get16(6); }

    /// ar$sha, ar$spa, ar$tha, ar$tpa: hln or pln bytes each, in this order.
    [[nodiscard]] std::span<B> sender_hardware_addr() const noexcept {
        return this->buf_.subspan(fixed_len, hardware_len());
    }
    [[nodiscard]] std::span<B> sender_protocol_addr() const noexcept {
        return this->buf_.subspan(fixed_len + hardware_len(), protocol_len());
    }
    [[nodiscard]] std::span<B> target_hardware_addr() const noexcept {
        return this->buf_.subspan(fixed_len + hardware_len() + protocol_len(), hardware_len());
    }
    [[nodiscard]] std::span<B> target_protocol_addr() const noexcept {
        return this->buf_.subspan(fixed_len + 2 * std::size_t{hardware_len()} + protocol_len(), protocol_len());
    }

    void set_operation(arp_operation op) const noexcept
        requires base::is_mutable
    {
        this->put16(6, static_cast<std::uint16_t>(op));
    }

private:
    basic_arp_view(std::span<B> b, std::size_t hln, std::size_t pln) noexcept
        : base(b), hln_(static_cast<std::uint8_t>(hln)), pln_(static_cast<std::uint8_t>(pln)) {}

    // The checked address lengths: later writes to the bytes cannot move the bounds.
    std::uint8_t hln_;
    std::uint8_t pln_;
};

using arp_view = basic_arp_view<const std::byte>;
using arp_view_mut = basic_arp_view<std::byte>;

/// An ARP packet for IPv4 over Ethernet.
struct arp_repr {
    arp_operation operation_ = arp_operation::request;
    ethernet_address sender_hardware_addr_;
    ipv4_address sender_protocol_addr_;
    ethernet_address target_hardware_addr_;
    ipv4_address target_protocol_addr_;

    /// Fails with err::unsupported unless hrd = 1 (Ethernet), pro = 0x0800 (IPv4), hln = 6, pln = 4 and
    /// op is request or reply. RFC 826 leaves other pairs to other resolvers; we have none.
    [[nodiscard]] static result<arp_repr> parse(const arp_view &v) noexcept;
    /// 28 bytes: 8 fixed, 2 * 6 hardware and 2 * 4 protocol address bytes.
    [[nodiscard]] static constexpr std::size_t buffer_len() noexcept { return arp_view::fixed_len + 20; }
    /// Writes the packet into the first buffer_len() bytes of `out` (which must be at least that long).
    void emit(std::span<std::byte> out) const noexcept;

    friend bool operator==(const arp_repr &, const arp_repr &) noexcept = default;
};

} // namespace demi::wire
