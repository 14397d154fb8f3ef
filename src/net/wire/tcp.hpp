// TCP segments (RFC 9293 §3.1) over IPv4, with the options MSS (RFC 9293 §3.7.1), window scale and
// timestamps (RFC 7323), SACK-permitted and SACK blocks (RFC 2018). Sequence-number arithmetic and
// everything else stateful belongs to the stack (src/net/stack/tcp); this layer only reads and writes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "common/result.hpp"
#include "net/wire/address.hpp"
#include "net/wire/checksum.hpp"
#include "net/wire/errors.hpp"
#include "net/wire/ipv4.hpp"
#include "net/wire/view_base.hpp"

namespace demi::wire {

/// Control bits (RFC 9293 §3.1; CWR and ECE from RFC 3168 §23.2), as in header byte 13.
namespace tcp_flag {
inline constexpr std::uint8_t fin = 0x01;
inline constexpr std::uint8_t syn = 0x02;
inline constexpr std::uint8_t rst = 0x04;
inline constexpr std::uint8_t psh = 0x08;
inline constexpr std::uint8_t ack = 0x10;
inline constexpr std::uint8_t urg = 0x20;
inline constexpr std::uint8_t ece = 0x40;
inline constexpr std::uint8_t cwr = 0x80;
} // namespace tcp_flag

/// Option kinds (IANA "TCP Option Kind Numbers").
enum class tcp_option_kind : std::uint8_t {
    end = 0,            // RFC 9293 §3.2
    nop = 1,            // RFC 9293 §3.2
    mss = 2,            // RFC 9293 §3.2 and §3.7.1, length 4
    window_scale = 3,   // RFC 7323 §2.2, length 3
    sack_permitted = 4, // RFC 2018 §2, length 2
    sack = 5,           // RFC 2018 §3, length 2 + 8n
    timestamp = 8,      // RFC 7323 §3.2, length 10
};

/// RFC 7323 §2.3: a shift above 14 is used as 14.
inline constexpr std::uint8_t tcp_max_window_scale = 14;
/// RFC 2018 §3: with 40 bytes of option space at most 4 blocks fit (3 next to a timestamp).
inline constexpr std::size_t tcp_max_sack_blocks = 4;

/// One SACK block: the edges of a received run of data, [left, right) in sequence space.
struct tcp_sack_block {
    std::uint32_t left_ = 0;
    std::uint32_t right_ = 0;
    friend bool operator==(const tcp_sack_block &, const tcp_sack_block &) noexcept = default;
};

/// TSval and TSecr (RFC 7323 §3.2).
struct tcp_timestamp {
    std::uint32_t tsval_ = 0;
    std::uint32_t tsecr_ = 0;
    friend bool operator==(const tcp_timestamp &, const tcp_timestamp &) noexcept = default;
};

/// The options this stack understands. Unknown options are skipped on parse and not kept.
struct tcp_options {
    std::optional<std::uint16_t> mss_;
    /// The shift count, already limited to 14.
    std::optional<std::uint8_t> window_scale_;
    bool sack_permitted_ = false;
    std::optional<tcp_timestamp> timestamp_;
    std::array<tcp_sack_block, tcp_max_sack_blocks> sack_blocks_{};
    std::uint8_t sack_count_ = 0;

    /// Options as they appear in a header's option area. NOP and End of Option List are handled;
    /// unknown kinds are skipped by their length; err::malformed for a length byte missing, below 2 or
    /// running past the area (RFC 9293 §3.1: such a length must not crash the receiver), or a known
    /// option with the wrong length. A repeated option overrides the earlier one.
    [[nodiscard]] static result<tcp_options> parse(std::span<const std::byte> area) noexcept;

    /// The number of SACK blocks emit() writes: sack_count_, or fewer if the other options leave too
    /// little of the 40 bytes (RFC 2018 §3). The first blocks are kept: RFC 2018 §4 puts the most
    /// recent one first.
    [[nodiscard]] std::size_t sack_blocks_emitted() const noexcept;
    /// The bytes emit() writes, a multiple of 4 and at most 40.
    [[nodiscard]] std::size_t buffer_len() const noexcept;
    /// Writes the options, each aligned on 4 bytes with NOPs as Linux lays them out: MSS; timestamps
    /// after SACK-permitted or two NOPs; otherwise SACK-permitted after two NOPs; NOP + window scale;
    /// two NOPs + SACK blocks. `out` must hold buffer_len() bytes.
    void emit(std::span<std::byte> out) const noexcept;

    friend bool operator==(const tcp_options &, const tcp_options &) noexcept = default;
};

template <detail::wire_byte B>
class basic_tcp_view : public detail::view_base<B> {
    using base = detail::view_base<B>;
    template <detail::wire_byte>
    friend class basic_tcp_view;

public:
    static constexpr std::size_t min_header_len = 20;
    /// Data offset is 4 bits of 32-bit words.
    static constexpr std::size_t max_header_len = 60;

    /// Checks the 20-byte header, that data offset * 4 >= 20 (err::malformed), and that the header with
    /// its options is present. The view covers the whole segment (the IP payload): TCP has no length
    /// field of its own.
    [[nodiscard]] static result<basic_tcp_view> check(std::span<B> segment) noexcept {
        if (segment.size() < min_header_len) return err::truncated;
        const std::size_t hlen = std::size_t{std::to_integer<unsigned>(segment[12]) >> 4} * 4;
        if (hlen < min_header_len) return err::malformed;
        if (segment.size() < hlen) return err::truncated;
        return basic_tcp_view(segment, hlen);
    }

    template <detail::wire_byte B2>
        requires(std::is_const_v<B> && !std::is_const_v<B2>)
    basic_tcp_view(const basic_tcp_view<B2> &o) noexcept : base(o.bytes()), hlen_(o.hlen_) {}

    [[nodiscard]] std::uint16_t src_port() const noexcept { return this->get16(0); }
    [[nodiscard]] std::uint16_t dst_port() const noexcept { return this->get16(2); }
    [[nodiscard]] std::uint32_t seq() const noexcept { return this->get32(4); }
    [[nodiscard]] std::uint32_t ack() const noexcept { return this->get32(8); }
    /// Data offset in bytes (20..60), as read by check().
    [[nodiscard]] std::size_t header_len() const noexcept { return hlen_; }
    /// The 4 reserved bits (RFC 9293 §3.1: zero when sent, ignored when received).
    [[nodiscard]] std::uint8_t reserved() const noexcept { return this->get8(12) & 0x0f; }
    /// Control bits; see tcp_flag.
    [[nodiscard]] std::uint8_t flags() const noexcept { return this->get8(13); }
    [[nodiscard]] bool fin() const noexcept { return (flags() & tcp_flag::fin) != 0; }
    [[nodiscard]] bool syn() const noexcept { return (flags() & tcp_flag::syn) != 0; }
    [[nodiscard]] bool rst() const noexcept { return (flags() & tcp_flag::rst) != 0; }
    [[nodiscard]] bool psh() const noexcept { return (flags() & tcp_flag::psh) != 0; }
    [[nodiscard]] bool ack_flag() const noexcept { return (flags() & tcp_flag::ack) != 0; }
    [[nodiscard]] bool urg() const noexcept { return (flags() & tcp_flag::urg) != 0; }
    [[nodiscard]] bool ece() const noexcept { return (flags() & tcp_flag::ece) != 0; }
    [[nodiscard]] bool cwr() const noexcept { return (flags() & tcp_flag::cwr) != 0; }
    /// The window as sent, before window scaling.
    [[nodiscard]] std::uint16_t window() const noexcept { return this->get16(14); }
    [[nodiscard]] std::uint16_t checksum() const noexcept { return this->get16(16); }
    [[nodiscard]] std::uint16_t urgent_ptr() const noexcept { return this->get16(18); }
    [[nodiscard]] std::span<B> options() const noexcept {
        return this->buf_.subspan(min_header_len, header_len() - min_header_len);
    }
    [[nodiscard]] std::span<B> payload() const noexcept { return this->buf_.subspan(header_len()); }

    /// RFC 9293 §3.1 "Checksum": over the pseudo-header (with the segment length, header and data)
    /// and the whole segment.
    [[nodiscard]] bool verify_checksum(ipv4_address src, ipv4_address dst) const noexcept {
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
    void set_seq(std::uint32_t v) const noexcept
        requires base::is_mutable
    {
        this->put32(4, v);
    }
    void set_ack(std::uint32_t v) const noexcept
        requires base::is_mutable
    {
        this->put32(8, v);
    }
    void set_flags(std::uint8_t v) const noexcept
        requires base::is_mutable
    {
        this->put8(13, v);
    }
    void set_window(std::uint16_t v) const noexcept
        requires base::is_mutable
    {
        this->put16(14, v);
    }
    void set_checksum(std::uint16_t v) const noexcept
        requires base::is_mutable
    {
        this->put16(16, v);
    }
    void set_urgent_ptr(std::uint16_t v) const noexcept
        requires base::is_mutable
    {
        this->put16(18, v);
    }
    void fill_checksum(ipv4_address src, ipv4_address dst) const noexcept
        requires base::is_mutable
    {
        set_checksum(0);
        set_checksum(pseudo(src, dst).add(this->buf_).checksum());
    }

private:
    basic_tcp_view(std::span<B> b, std::size_t hlen) noexcept : base(b), hlen_(static_cast<std::uint8_t>(hlen)) {}

    [[nodiscard]] checksum_accumulator pseudo(ipv4_address src, ipv4_address dst) const noexcept {
        return ipv4_pseudo_header(src, dst, static_cast<std::uint8_t>(ip_protocol::tcp),
                                  static_cast<std::uint16_t>(this->buf_.size()));
    }

    std::uint8_t hlen_; // the checked data offset in bytes: later writes to the bytes cannot move the bounds
};

using tcp_view = basic_tcp_view<const std::byte>;
using tcp_view_mut = basic_tcp_view<std::byte>;

/// A TCP segment as plain values: what the state machine sees (DESIGN.md §3).
struct tcp_repr {
    std::uint16_t src_port_ = 0;
    std::uint16_t dst_port_ = 0;
    std::uint32_t seq_ = 0;
    /// Carried as is; meaningful only with tcp_flag::ack.
    std::uint32_t ack_ = 0;
    /// tcp_flag bits.
    std::uint8_t flags_ = 0;
    /// As sent, before window scaling.
    std::uint16_t window_ = 0;
    std::uint16_t urgent_ptr_ = 0;
    tcp_options options_;
    /// Points into the parsed segment, or to the bytes emit() copies.
    std::span<const std::byte> payload_;

    /// Ports must be non-zero (err::malformed; port 0 is reserved and nothing can be connected to it);
    /// the checksum must verify when `caps.tcp_` says so (err::bad_checksum); the options must parse
    /// (tcp_options::parse). Reserved bits are ignored (RFC 9293 §3.1).
    [[nodiscard]] static result<tcp_repr> parse(const tcp_view &v, ipv4_address src, ipv4_address dst,
                                                const checksum_caps &caps = {}) noexcept;
    [[nodiscard]] bool has(std::uint8_t flag) const noexcept { return (flags_ & flag) != 0; }
    /// SEG.LEN (RFC 9293 §3.4): payload octets plus one each for SYN and FIN.
    [[nodiscard]] std::uint32_t segment_len() const noexcept {
        return static_cast<std::uint32_t>(payload_.size()) + (has(tcp_flag::syn) ? 1 : 0) +
               (has(tcp_flag::fin) ? 1 : 0);
    }
    /// 20 + the options' length.
    [[nodiscard]] std::size_t header_len() const noexcept { return tcp_view::min_header_len + options_.buffer_len(); }
    /// The whole segment: header_len() + payload_.size() (at most 65535).
    [[nodiscard]] std::size_t buffer_len() const noexcept { return header_len() + payload_.size(); }
    /// Writes the segment into the first buffer_len() bytes of `out` (which must be at least that long),
    /// copying payload_ unless it already sits at out[header_len()] (overlap is fine). The checksum is
    /// computed when `caps.tcp_` says so, otherwise seeded per caps.tx_pseudo_header_seed_.
    void emit(std::span<std::byte> out, ipv4_address src, ipv4_address dst,
              const checksum_caps &caps = {}) const noexcept;
};

} // namespace demi::wire
