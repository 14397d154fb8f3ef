// IPv4 headers (RFC 791 §3.1). The header checksum is verified and computed per checksum_caps; options
// are length-checked and skipped (the repr carries none and emits a 20-byte header); fragmentation
// fields are exposed for the stack's reassembly, which lives above this layer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/result.hpp"
#include "net/wire/address.hpp"
#include "net/wire/checksum.hpp"
#include "net/wire/errors.hpp"
#include "net/wire/view_base.hpp"

namespace demi::wire {

/// IP protocol numbers (IANA "Assigned Internet Protocol Numbers") the stack knows; others pass through.
enum class ip_protocol : std::uint8_t {
    icmp = 1,
    tcp = 6,
    udp = 17,
};

/// The largest IPv4 datagram: the total length field is 16 bits (RFC 791 §3.1).
inline constexpr std::size_t ipv4_max_datagram_len = 65535;

template <detail::wire_byte B>
class basic_ipv4_view : public detail::view_base<B> {
    using base = detail::view_base<B>;
    template <detail::wire_byte>
    friend class basic_ipv4_view;

public:
    /// The header without options (IHL = 5).
    static constexpr std::size_t min_header_len = 20;
    /// IHL is 4 bits of 32-bit words.
    static constexpr std::size_t max_header_len = 60;

    /// Checks, in this order (RFC 791 §3.1; RFC 1122 §3.2.1.1-2): 20 bytes present; version 4
    /// (otherwise err::unsupported); 20 <= IHL*4 (err::malformed); IHL*4 bytes present; IHL*4 <= total
    /// length (err::malformed); total length bytes present. The view covers the total length only, so
    /// Ethernet padding after the datagram is not part of its payload.
    [[nodiscard]] static result<basic_ipv4_view> check(std::span<B> packet) noexcept {
        if (packet.size() < min_header_len) return err::truncated;
        const unsigned b0 = std::to_integer<unsigned>(packet[0]);
        if ((b0 >> 4) != 4) return err::unsupported;
        const std::size_t hlen = (b0 & 0x0fu) * 4;
        if (hlen < min_header_len) return err::malformed;
        if (packet.size() < hlen) return err::truncated;
        const std::size_t total = load_be16(packet.data() + 2);
        if (total < hlen) return err::malformed;
        if (packet.size() < total) return err::truncated;
        return basic_ipv4_view(packet.first(total), hlen);
    }

    template <detail::wire_byte B2>
        requires(std::is_const_v<B> && !std::is_const_v<B2>)
    basic_ipv4_view(const basic_ipv4_view<B2> &o) noexcept : base(o.bytes()), hlen_(o.hlen_) {}

    [[nodiscard]] std::uint8_t version() const noexcept { return static_cast<std::uint8_t>(this->get8(0) >> 4); }
    /// IHL in bytes (20..60), as read by check().
    [[nodiscard]] std::size_t header_len() const noexcept { return hlen_; }
    /// Differentiated services code point (RFC 2474) and ECN (RFC 3168), the old TOS octet.
    [[nodiscard]] std::uint8_t dscp() const noexcept { return static_cast<std::uint8_t>(this->get8(1) >> 2); }
    [[nodiscard]] std::uint8_t ecn() const noexcept { return static_cast<std::uint8_t>(this->get8(1) & 0x03); }
    [[nodiscard]] std::uint16_t total_len() const noexcept { return this->get16(2); }
    [[nodiscard]] std::uint16_t ident() const noexcept { return this->get16(4); }
    /// Flags (RFC 791): bit 0 reserved (must be zero), DF, MF.
    [[nodiscard]] bool reserved_flag() const noexcept { return (this->get8(6) & 0x80) != 0; }
    [[nodiscard]] bool dont_frag() const noexcept { return (this->get8(6) & 0x40) != 0; }
    [[nodiscard]] bool more_frags() const noexcept { return (this->get8(6) & 0x20) != 0; }
    /// Fragment offset in 8-byte units as on the wire, and in bytes.
    [[nodiscard]] std::uint16_t frag_offset_units() const noexcept { return this->get16(6) & 0x1fff; }
    [[nodiscard]] std::uint32_t frag_offset() const noexcept { return std::uint32_t{frag_offset_units()} * 8; }
    /// A fragment: MF set or a non-zero offset (RFC 791 §3.2, "Fragmentation and reassembly").
    [[nodiscard]] bool is_fragment() const noexcept { return more_frags() || frag_offset_units() != 0; }
    [[nodiscard]] std::uint8_t ttl() const noexcept { return this->get8(8); }
    [[nodiscard]] std::uint8_t protocol_raw() const noexcept { return this->get8(9); }
    [[nodiscard]] ip_protocol protocol() const noexcept { return static_cast<ip_protocol>(protocol_raw()); }
    [[nodiscard]] std::uint16_t checksum() const noexcept { return this->get16(10); }
    [[nodiscard]] ipv4_address src() const noexcept { return ipv4_address::from_bytes(this->buf_.data() + 12); }
    [[nodiscard]] ipv4_address dst() const noexcept { return ipv4_address::from_bytes(this->buf_.data() + 16); }
    /// The header and its options, header_len() bytes.
    [[nodiscard]] std::span<B> header() const noexcept { return this->buf_.first(header_len()); }
    [[nodiscard]] std::span<B> options() const noexcept {
        return this->buf_.subspan(min_header_len, header_len() - min_header_len);
    }
    /// From the end of the header to the total length.
    [[nodiscard]] std::span<B> payload() const noexcept { return this->buf_.subspan(header_len()); }

    /// The header checksum covers the header and options only (RFC 791 §3.1 "Header Checksum").
    [[nodiscard]] bool verify_checksum() const noexcept { return ones_complement_sum(header()) == 0xffff; }

    void set_dscp_ecn(std::uint8_t dscp, std::uint8_t ecn) const noexcept
        requires base::is_mutable
    {
        this->put8(1, static_cast<std::uint8_t>((dscp << 2) | (ecn & 0x03)));
    }
    void set_ident(std::uint16_t v) const noexcept
        requires base::is_mutable
    {
        this->put16(4, v);
    }
    /// DF, MF and the offset in bytes (a multiple of 8; the low 3 bits are dropped).
    void set_frag(bool dont_frag, bool more_frags, std::uint32_t offset_bytes) const noexcept
        requires base::is_mutable
    {
        this->put16(6, static_cast<std::uint16_t>((dont_frag ? 0x4000 : 0) | (more_frags ? 0x2000 : 0) |
                                                  ((offset_bytes / 8) & 0x1fff)));
    }
    void set_ttl(std::uint8_t v) const noexcept
        requires base::is_mutable
    {
        this->put8(8, v);
    }
    void set_protocol(ip_protocol p) const noexcept
        requires base::is_mutable
    {
        this->put8(9, static_cast<std::uint8_t>(p));
    }
    void set_checksum(std::uint16_t v) const noexcept
        requires base::is_mutable
    {
        this->put16(10, v);
    }
    void set_src(ipv4_address a) const noexcept
        requires base::is_mutable
    {
        a.write(this->buf_.data() + 12);
    }
    void set_dst(ipv4_address a) const noexcept
        requires base::is_mutable
    {
        a.write(this->buf_.data() + 16);
    }
    /// Recomputes the header checksum over the header as it now is.
    void fill_checksum() const noexcept
        requires base::is_mutable
    {
        set_checksum(0);
        set_checksum(internet_checksum(header()));
    }

private:
    basic_ipv4_view(std::span<B> b, std::size_t hlen) noexcept : base(b), hlen_(static_cast<std::uint8_t>(hlen)) {}

    std::uint8_t hlen_; // the checked IHL in bytes: later writes to the bytes cannot move the bounds
};

using ipv4_view = basic_ipv4_view<const std::byte>;
using ipv4_view_mut = basic_ipv4_view<std::byte>;

/// An IPv4 header as plain values. Options are not represented.
struct ipv4_repr {
    ipv4_address src_;
    ipv4_address dst_;
    ip_protocol protocol_ = ip_protocol::tcp;
    /// Bytes after the header: total length - IHL*4. At most 65515 on emit.
    std::uint16_t payload_len_ = 0;
    std::uint8_t ttl_ = 64;
    std::uint8_t dscp_ = 0;
    std::uint8_t ecn_ = 0;
    std::uint16_t ident_ = 0;
    bool dont_frag_ = false;
    bool more_frags_ = false;
    /// In bytes; a multiple of 8.
    std::uint32_t frag_offset_ = 0;

    /// Verifies the header checksum when `caps.ipv4_` says so (err::bad_checksum); walks the options
    /// (err::malformed if one overruns the header); rejects a fragment that would end past 65535 bytes
    /// (err::malformed; RFC 791 §3.1 total length, the "ping of death").
    [[nodiscard]] static result<ipv4_repr> parse(const ipv4_view &v, const checksum_caps &caps = {}) noexcept;
    /// The header emit() writes: always 20 bytes; the payload follows at that offset.
    [[nodiscard]] static constexpr std::size_t buffer_len() noexcept { return ipv4_view::min_header_len; }
    /// Writes the header into the first 20 bytes of `out`, with the checksum when `caps.ipv4_` computes
    /// it and zero otherwise (the device fills it). Needs out.size() >= 20 and payload_len_ <= 65515.
    void emit(std::span<std::byte> out, const checksum_caps &caps = {}) const noexcept;

    friend bool operator==(const ipv4_repr &, const ipv4_repr &) noexcept = default;
};

} // namespace demi::wire
