// ICMP for IPv4 (RFC 792): echo request and reply, destination unreachable (with the next-hop MTU of
// RFC 1191 §4 for "fragmentation needed"). Other messages are viewable but the repr refuses them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/result.hpp"
#include "net/wire/checksum.hpp"
#include "net/wire/errors.hpp"
#include "net/wire/view_base.hpp"

namespace demi::wire {

/// ICMP message types (RFC 792) handled here.
enum class icmpv4_type : std::uint8_t {
    echo_reply = 0,
    dst_unreachable = 3,
    echo_request = 8,
};

/// Destination unreachable codes (RFC 792; RFC 1122 §3.2.2.1; RFC 1812 §5.2.7.1).
enum class icmpv4_unreachable : std::uint8_t {
    net_unreachable = 0,
    host_unreachable = 1,
    protocol_unreachable = 2,
    port_unreachable = 3,
    frag_needed = 4, // with the next-hop MTU (RFC 1191 §4)
    source_route_failed = 5,
    dst_net_unknown = 6,
    dst_host_unknown = 7,
    source_host_isolated = 8,
    net_prohibited = 9,
    host_prohibited = 10,
    net_unreachable_for_tos = 11,
    host_unreachable_for_tos = 12,
    comm_prohibited = 13,
    host_precedence_violation = 14,
    precedence_cutoff = 15,
};

/// An error message quotes the offending datagram's IP header and the first 64 bits of its data (RFC
/// 792), so at least 20 + 8 bytes.
inline constexpr std::size_t icmpv4_min_error_data_len = 28;
/// The most of the offending datagram an error should quote: the message stays within 576 bytes
/// (RFC 1812 §4.3.2.3).
inline constexpr std::size_t icmpv4_max_error_data_len = 576 - 20 - 8;

template <detail::wire_byte B>
class basic_icmpv4_view : public detail::view_base<B> {
    using base = detail::view_base<B>;
    template <detail::wire_byte>
    friend class basic_icmpv4_view;

public:
    /// Type, code, checksum and the 4-byte rest of the header.
    static constexpr std::size_t header_len = 8;

    /// The view covers the whole message (the IP payload): the checksum covers all of it (RFC 792).
    [[nodiscard]] static result<basic_icmpv4_view> check(std::span<B> message) noexcept {
        if (message.size() < header_len) return err::truncated;
        return basic_icmpv4_view(message);
    }

    template <detail::wire_byte B2>
        requires(std::is_const_v<B> && !std::is_const_v<B2>)
    basic_icmpv4_view(const basic_icmpv4_view<B2> &o) noexcept : base(o.bytes()) {}

    [[nodiscard]] std::uint8_t type_raw() const noexcept { return this->get8(0); }
    [[nodiscard]] icmpv4_type type() const noexcept { return static_cast<icmpv4_type>(type_raw()); }
    [[nodiscard]] std::uint8_t code() const noexcept { return this->get8(1); }
    [[nodiscard]] std::uint16_t checksum() const noexcept { return this->get16(2); }
    /// The 4 bytes after the checksum, whose meaning depends on the type.
    [[nodiscard]] std::uint32_t rest_of_header() const noexcept { return this->get32(4); }
    /// Echo: identifier and sequence number (RFC 792, "Echo or Echo Reply Message").
    [[nodiscard]] std::uint16_t echo_ident() const noexcept { return this->get16(4); }
    [[nodiscard]] std::uint16_t echo_seq() const noexcept { return this->get16(6); }
    /// Destination unreachable, code 4: the next-hop MTU in the low 16 bits (RFC 1191 §4).
    [[nodiscard]] std::uint16_t next_hop_mtu() const noexcept { return this->get16(6); }
    /// Echo data, or the quoted datagram of an error message.
    [[nodiscard]] std::span<B> data() const noexcept { return this->buf_.subspan(header_len); }

    [[nodiscard]] bool verify_checksum() const noexcept { return ones_complement_sum(this->buf_) == 0xffff; }

    void set_type(icmpv4_type t) const noexcept
        requires base::is_mutable
    {
        this->put8(0, static_cast<std::uint8_t>(t));
    }
    void set_code(std::uint8_t c) const noexcept
        requires base::is_mutable
    {
        this->put8(1, c);
    }
    void set_checksum(std::uint16_t v) const noexcept
        requires base::is_mutable
    {
        this->put16(2, v);
    }
    void set_rest_of_header(std::uint32_t v) const noexcept
        requires base::is_mutable
    {
        this->put32(4, v);
    }
    void fill_checksum() const noexcept
        requires base::is_mutable
    {
        set_checksum(0);
        set_checksum(internet_checksum(this->buf_));
    }

private:
    explicit basic_icmpv4_view(std::span<B> b) noexcept : base(b) {}
};

using icmpv4_view = basic_icmpv4_view<const std::byte>;
using icmpv4_view_mut = basic_icmpv4_view<std::byte>;

/// An echo request, echo reply or destination unreachable message as plain values.
struct icmpv4_repr {
    icmpv4_type type_ = icmpv4_type::echo_request;
    /// 0 for echo; an icmpv4_unreachable value for destination unreachable.
    std::uint8_t code_ = 0;
    /// Echo only.
    std::uint16_t ident_ = 0;
    std::uint16_t seq_no_ = 0;
    /// Destination unreachable only: the next-hop MTU for code 4, otherwise 0.
    std::uint16_t next_hop_mtu_ = 0;
    /// Echo data (returned unchanged in the reply, RFC 792), or the quoted IP header and at least 8
    /// bytes of the datagram that caused the error. Points into the parsed packet, or to the bytes
    /// emit() copies.
    std::span<const std::byte> data_;

    /// Verifies the checksum when `caps.icmpv4_` says so (err::bad_checksum). Echo with a non-zero code
    /// is err::malformed (RFC 792: code 0); destination unreachable quoting less than 28 bytes is
    /// err::malformed; any other type is err::unsupported.
    [[nodiscard]] static result<icmpv4_repr> parse(const icmpv4_view &v, const checksum_caps &caps = {}) noexcept;
    /// The whole message: 8 + data_.size() bytes.
    [[nodiscard]] std::size_t buffer_len() const noexcept { return icmpv4_view::header_len + data_.size(); }
    /// Writes the message into the first buffer_len() bytes of `out` (which must be at least that long),
    /// copying data_ unless it already sits at out[8] (overlap is fine), then the checksum per caps.
    void emit(std::span<std::byte> out, const checksum_caps &caps = {}) const noexcept;

    /// The reply to an echo request: same identifier, sequence number and data (RFC 792).
    [[nodiscard]] icmpv4_repr echo_reply() const noexcept {
        icmpv4_repr r = *this;
        r.type_ = icmpv4_type::echo_reply;
        r.code_ = 0;
        return r;
    }
};

} // namespace demi::wire
