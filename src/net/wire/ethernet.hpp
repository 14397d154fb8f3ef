// Ethernet II frames (IEEE 802.3 §3.2 with the DIX type field): destination, source, EtherType,
// payload. The frame check sequence is not part of the view: devices strip it on receive and append
// it on transmit. 802.1Q tags are not parsed here; a tagged frame shows EtherType 0x8100.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/result.hpp"
#include "net/wire/address.hpp"
#include "net/wire/errors.hpp"
#include "net/wire/view_base.hpp"

namespace demi::wire {

/// EtherType values this stack knows (IEEE registry); any other value is still carried through.
enum class ethertype : std::uint16_t {
    ipv4 = 0x0800,
    arp = 0x0806,
    vlan = 0x8100,
    ipv6 = 0x86dd,
};

/// Values of the type/length field below this are an IEEE 802.3 length, not an EtherType (IEEE 802.3
/// §3.2.6): such frames are not Ethernet II.
inline constexpr std::uint16_t ethertype_min = 0x0600;

/// The smallest frame on the wire without the FCS (64 - 4 bytes); shorter frames are padded.
inline constexpr std::size_t ethernet_min_frame_len = 60;

template <detail::wire_byte B>
class basic_ethernet_view : public detail::view_base<B> {
    using base = detail::view_base<B>;
    template <detail::wire_byte>
    friend class basic_ethernet_view;

public:
    static constexpr std::size_t header_len = 14;

    /// The one way to make a view: checks that `frame` holds the 14-byte header.
    [[nodiscard]] static result<basic_ethernet_view> check(std::span<B> frame) noexcept {
        if (frame.size() < header_len) return err::truncated;
        return basic_ethernet_view(frame);
    }

    /// A read-only view of a mutable one.
    template <detail::wire_byte B2>
        requires(std::is_const_v<B> && !std::is_const_v<B2>)
    basic_ethernet_view(const basic_ethernet_view<B2> &o) noexcept : base(o.bytes()) {}

    [[nodiscard]] ethernet_address dst() const noexcept { return ethernet_address::from_bytes(this->buf_.data()); }
    [[nodiscard]] ethernet_address src() const noexcept {
        return ethernet_address::from_bytes(this->buf_.data() + 6);
    }
    [[nodiscard]] std::uint16_t ethertype_raw() const noexcept { return this->get16(12); }
    [[nodiscard]] wire::ethertype ethertype() const noexcept { return static_cast<wire::ethertype>(ethertype_raw()); }
    /// Everything after the header, including any padding up to the 60-byte minimum.
    [[nodiscard]] std::span<B> payload() const noexcept { return this->buf_.subspan(header_len); }

    void set_dst(ethernet_address a) const noexcept
        requires base::is_mutable
    {
        a.write(this->buf_.data());
    }
    void set_src(ethernet_address a) const noexcept
        requires base::is_mutable
    {
        a.write(this->buf_.data() + 6);
    }
    void set_ethertype(wire::ethertype t) const noexcept
        requires base::is_mutable
    {
        this->put16(12, static_cast<std::uint16_t>(t));
    }

private:
    explicit basic_ethernet_view(std::span<B> b) noexcept : base(b) {}
};

using ethernet_view = basic_ethernet_view<const std::byte>;
using ethernet_view_mut = basic_ethernet_view<std::byte>;

/// The header of an Ethernet II frame as plain values.
struct ethernet_repr {
    ethernet_address src_;
    ethernet_address dst_;
    wire::ethertype ethertype_ = wire::ethertype::ipv4;

    /// Reads the header; fails with err::unsupported for an IEEE 802.3 length field (< 0x0600).
    [[nodiscard]] static result<ethernet_repr> parse(const ethernet_view &v) noexcept;
    /// The bytes emit() writes: the header only; the payload follows at that offset.
    [[nodiscard]] static constexpr std::size_t buffer_len() noexcept { return ethernet_view::header_len; }
    /// Writes the header into the first buffer_len() bytes of `out` (which must be at least that long).
    void emit(std::span<std::byte> out) const noexcept;

    friend bool operator==(const ethernet_repr &, const ethernet_repr &) noexcept = default;
};

} // namespace demi::wire
