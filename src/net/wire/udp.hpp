// UDP datagrams (RFC 768) over IPv4, with the pseudo-header checksum.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/result.hpp"
#include "net/wire/address.hpp"
#include "net/wire/checksum.hpp"
#include "net/wire/errors.hpp"
#include "net/wire/ipv4.hpp"
#include "net/wire/view_base.hpp"

namespace demi::wire {

template <detail::wire_byte B>
class basic_udp_view : public detail::view_base<B> {
    using base = detail::view_base<B>;
    template <detail::wire_byte>
    friend class basic_udp_view;

public:
    static constexpr std::size_t header_len = 8;

    /// Checks the 8-byte header, that the length field (RFC 768: header plus data) is at least 8
    /// (err::malformed), and that the bytes it counts are present. The view covers the length field's
    /// bytes; IP payload beyond them is not part of the datagram and is ignored.
    [[nodiscard]] static result<basic_udp_view> check(std::span<B> datagram) noexcept {
        if (datagram.size() < header_len) return err::truncated;
        const std::size_t len = load_be16(datagram.data() + 4);
        if (len < header_len) return err::malformed;
        if (datagram.size() < len) return err::truncated;
        return basic_udp_view(datagram.first(len));
    }

    template <detail::wire_byte B2>
        requires(std::is_const_v<B> && !std::is_const_v<B2>)
    basic_udp_view(const basic_udp_view<B2> &o) noexcept : base(o.bytes()) {}

    [[nodiscard]] std::uint16_t src_port() const noexcept { return this->get16(0); }
    [[nodiscard]] std::uint16_t dst_port() const noexcept { return this->get16(2); }
    [[nodiscard]] std::uint16_t length() const noexcept { return this->get16(4); }
    [[nodiscard]] std::uint16_t checksum() const noexcept { return this->get16(6); }
    [[nodiscard]] std::span<B> payload() const noexcept { return this->buf_.subspan(header_len); }

    /// RFC 768: a zero checksum field means the sender computed none, which verifies. Otherwise the
    /// pseudo-header, header and data sum to 0xffff.
    [[nodiscard]] bool verify_checksum(ipv4_address src, ipv4_address dst) const noexcept {
        if (checksum() == 0) return true;
        return pseudo(src, dst).add(this->buf_).sum() == 0xffff;
    }

    void set_src_port(std::uint16_t v) const noexcept
        requires base::is_mutable
    {
        this->put16(0, v);
    }
    void set_dst_port(std::uint16_t v) const noexcept
        requires base::is_mutable
    {
        this->put16(2, v);
    }
    void set_checksum(std::uint16_t v) const noexcept
        requires base::is_mutable
    {
        this->put16(6, v);
    }
    /// Computes the checksum; a result of zero is sent as 0xffff, zero meaning "none" (RFC 768).
    void fill_checksum(ipv4_address src, ipv4_address dst) const noexcept
        requires base::is_mutable
    {
        set_checksum(0);
        const std::uint16_t c = pseudo(src, dst).add(this->buf_).checksum();
        set_checksum(c == 0 ? 0xffff : c);
    }

private:
    explicit basic_udp_view(std::span<B> b) noexcept : base(b) {}

    [[nodiscard]] checksum_accumulator pseudo(ipv4_address src, ipv4_address dst) const noexcept {
        // The checked length (equal to the length field when check() ran).
        return ipv4_pseudo_header(src, dst, static_cast<std::uint8_t>(ip_protocol::udp),
                                  static_cast<std::uint16_t>(this->buf_.size()));
    }
};

using udp_view = basic_udp_view<const std::byte>;
using udp_view_mut = basic_udp_view<std::byte>;

/// A UDP datagram as plain values.
struct udp_repr {
    std::uint16_t src_port_ = 0;
    std::uint16_t dst_port_ = 0;
    /// The data; points into the parsed datagram, or to the bytes emit() copies. At most 65527 bytes.
    std::span<const std::byte> payload_;

    /// Verifies the checksum when `caps.udp_` says so and the field is not zero (err::bad_checksum).
    /// Destination port 0 is err::malformed: nothing can listen on it (source port 0 is allowed, RFC
    /// 768 makes it optional).
    [[nodiscard]] static result<udp_repr> parse(const udp_view &v, ipv4_address src, ipv4_address dst,
                                                const checksum_caps &caps = {}) noexcept;
    /// The whole datagram: 8 + payload_.size() bytes.
    [[nodiscard]] std::size_t buffer_len() const noexcept { return udp_view::header_len + payload_.size(); }
    /// Writes the datagram into the first buffer_len() bytes of `out` (which must be at least that
    /// long), copying payload_ unless it already sits at out[8] (overlap is fine). The checksum is
    /// computed when `caps.udp_` says so, otherwise seeded per caps.tx_pseudo_header_seed_ for the
    /// device to finish.
    void emit(std::span<std::byte> out, ipv4_address src, ipv4_address dst,
              const checksum_caps &caps = {}) const noexcept;
};

} // namespace demi::wire
