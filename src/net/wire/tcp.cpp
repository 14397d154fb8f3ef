#include "net/wire/tcp.hpp"

#include <algorithm>
#include <cstring>

namespace demi::wire {

namespace {

constexpr std::size_t max_options_len = basic_tcp_view<const std::byte>::max_header_len -
                                        basic_tcp_view<const std::byte>::min_header_len; // 40

constexpr std::uint8_t kind(tcp_option_kind k) noexcept { return static_cast<std::uint8_t>(k); }

// Option lengths, counting the kind and length bytes.
constexpr std::size_t mss_len = 4;            // RFC 9293 §3.2, §3.7.1
constexpr std::size_t window_scale_len = 3;   // RFC 7323 §2.2
constexpr std::size_t sack_permitted_len = 2; // RFC 2018 §2
constexpr std::size_t timestamp_len = 10;     // RFC 7323 §3.2
constexpr std::size_t sack_block_len = 8;     // RFC 2018 §3: two 32-bit edges

// What emit() writes for everything except SACK blocks (each item padded to 4 bytes).
std::size_t fixed_options_len(const tcp_options &o) noexcept {
    std::size_t n = 0;
    if (o.mss_) n += 4;
    if (o.timestamp_)
        n += 12; // SACK-permitted (or NOP NOP) + timestamp
    else if (o.sack_permitted_)
        n += 4; // NOP NOP SACK-permitted
    if (o.window_scale_) n += 4; // NOP window-scale
    return n;
}

} // namespace

result<tcp_options> tcp_options::parse(std::span<const std::byte> area) noexcept {
    tcp_options o;
    // The layout of nearly every segment after the handshake (RFC 7323 Appendix A): NOP, NOP,
    // timestamp. Read it at once; any other area takes the general walk below, which gives the same
    // result for this one.
    if (area.size() == 12 && load_be32(area.data()) == 0x0101080au) {
        o.timestamp_ = tcp_timestamp{load_be32(area.data() + 4), load_be32(area.data() + 8)};
        return o;
    }
    if (area.empty()) return o;
    std::size_t i = 0;
    while (i < area.size()) {
        const auto k = std::to_integer<std::uint8_t>(area[i]);
        // RFC 9293 §3.2: End of Option List ends the options (what follows is padding); No-Operation
        // is a single byte.
        if (k == kind(tcp_option_kind::end)) break;
        if (k == kind(tcp_option_kind::nop)) {
            ++i;
            continue;
        }
        // Every other option has a length byte that counts the kind and length bytes themselves.
        if (area.size() - i < 2) return err::malformed;
        const std::size_t len = std::to_integer<std::size_t>(area[i + 1]);
        if (len < 2 || len > area.size() - i) return err::malformed;
        const std::byte *p = area.data() + i + 2;
        switch (k) {
        case kind(tcp_option_kind::mss):
            if (len != mss_len) return err::malformed;
            o.mss_ = load_be16(p);
            break;
        case kind(tcp_option_kind::window_scale):
            if (len != window_scale_len) return err::malformed;
            // RFC 7323 §2.3: a shift count above 14 is used as 14 (and the error may be logged).
            o.window_scale_ = std::min(std::to_integer<std::uint8_t>(p[0]), tcp_max_window_scale);
            break;
        case kind(tcp_option_kind::sack_permitted):
            if (len != sack_permitted_len) return err::malformed;
            o.sack_permitted_ = true;
            break;
        case kind(tcp_option_kind::sack): {
            // RFC 2018 §3: 2 + 8n bytes, n >= 1; the 40-byte option area bounds n by 4 (checked here too,
            // for an area handed in from elsewhere).
            if (len < 2 + sack_block_len || (len - 2) % sack_block_len != 0) return err::malformed;
            const std::size_t n = (len - 2) / sack_block_len;
            if (n > tcp_max_sack_blocks) return err::malformed;
            for (std::size_t b = 0; b < n; ++b)
                o.sack_blocks_[b] = {load_be32(p + b * sack_block_len), load_be32(p + b * sack_block_len + 4)};
            o.sack_count_ = static_cast<std::uint8_t>(n);
            break;
        }
        case kind(tcp_option_kind::timestamp):
            if (len != timestamp_len) return err::malformed;
            o.timestamp_ = tcp_timestamp{load_be32(p), load_be32(p + 4)};
            break;
        default:
            // RFC 9293 §3.1 (MUST-5): an option we do not implement is ignored; its length says how far
            // to skip.
            break;
        }
        i += len;
    }
    return o;
}

std::size_t tcp_options::sack_blocks_emitted() const noexcept {
    const std::size_t count = std::min<std::size_t>(sack_count_, tcp_max_sack_blocks);
    if (count == 0) return 0;
    const std::size_t room = max_options_len - fixed_options_len(*this);
    if (room < 4 + sack_block_len) return 0;
    return std::min(count, (room - 4) / sack_block_len);
}

std::size_t tcp_options::buffer_len() const noexcept {
    if (sack_count_ == 0) return fixed_options_len(*this);
    const std::size_t blocks = sack_blocks_emitted();
    return fixed_options_len(*this) + (blocks != 0 ? 4 + blocks * sack_block_len : 0);
}

void tcp_options::emit(std::span<std::byte> out) const noexcept {
    detail::require(out.size() >= buffer_len());
    std::byte *p = out.data();
    const auto put4 = [&p](std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
        p[0] = static_cast<std::byte>(a);
        p[1] = static_cast<std::byte>(b);
        p[2] = static_cast<std::byte>(c);
        p[3] = static_cast<std::byte>(d);
        p += 4;
    };
    const std::uint8_t nop = kind(tcp_option_kind::nop);
    if (mss_) {
        put4(kind(tcp_option_kind::mss), mss_len, 0, 0);
        store_be16(p - 2, *mss_);
    }
    if (timestamp_) {
        if (sack_permitted_)
            put4(kind(tcp_option_kind::sack_permitted), sack_permitted_len, kind(tcp_option_kind::timestamp),
                 timestamp_len);
        else
            put4(nop, nop, kind(tcp_option_kind::timestamp), timestamp_len);
        store_be32(p, timestamp_->tsval_);
        store_be32(p + 4, timestamp_->tsecr_);
        p += 8;
    } else if (sack_permitted_) {
        put4(nop, nop, kind(tcp_option_kind::sack_permitted), sack_permitted_len);
    }
    if (window_scale_)
        put4(nop, kind(tcp_option_kind::window_scale), window_scale_len,
             std::min(*window_scale_, tcp_max_window_scale));
    if (const std::size_t blocks = sack_blocks_emitted(); blocks != 0) {
        put4(nop, nop, kind(tcp_option_kind::sack), static_cast<std::uint8_t>(2 + blocks * sack_block_len));
        for (std::size_t b = 0; b < blocks; ++b, p += sack_block_len) {
            store_be32(p, sack_blocks_[b].left_);
            store_be32(p + 4, sack_blocks_[b].right_);
        }
    }
}

result<tcp_repr> tcp_repr::parse(const tcp_view &v, ipv4_address src, ipv4_address dst,
                                 const checksum_caps &caps) noexcept {
    if (v.src_port() == 0 || v.dst_port() == 0) return err::malformed;
    if (verifies(caps.tcp_) && !v.verify_checksum(src, dst)) return err::bad_checksum;
    auto opts = tcp_options::parse(v.options());
    if (!opts) return opts.err();
    tcp_repr r;
    r.src_port_ = v.src_port();
    r.dst_port_ = v.dst_port();
    r.seq_ = v.seq();
    r.ack_ = v.ack();
    r.flags_ = v.flags();
    r.window_ = v.window();
    r.urgent_ptr_ = v.urgent_ptr();
    r.options_ = *opts;
    r.payload_ = v.payload();
    return r;
}

void tcp_repr::emit(std::span<std::byte> out, ipv4_address src, ipv4_address dst,
                    const checksum_caps &caps) const noexcept {
    const std::size_t hlen = header_len();
    const std::size_t len = hlen + payload_.size();
    detail::require(out.size() >= len && len <= 0xffff);
    std::byte *p = out.data();
    // The payload first: it may overlap where the header goes (a repr re-emitted in place).
    if (!payload_.empty() && payload_.data() != p + hlen) std::memmove(p + hlen, payload_.data(), payload_.size());
    store_be16(p, src_port_);
    store_be16(p + 2, dst_port_);
    store_be32(p + 4, seq_);
    store_be32(p + 8, ack_);
    p[12] = static_cast<std::byte>((hlen / 4) << 4); // reserved bits zero (RFC 9293 §3.1)
    p[13] = static_cast<std::byte>(flags_);
    store_be16(p + 14, window_);
    store_be16(p + 16, 0);
    store_be16(p + 18, urgent_ptr_);
    options_.emit(out.subspan(tcp_view::min_header_len, hlen - tcp_view::min_header_len));
    const auto pseudo = ipv4_pseudo_header(src, dst, static_cast<std::uint8_t>(ip_protocol::tcp),
                                           static_cast<std::uint16_t>(len));
    if (computes(caps.tcp_))
        store_be16(p + 16, checksum_accumulator(pseudo).add(out.first(len)).checksum());
    else if (caps.tx_pseudo_header_seed_)
        store_be16(p + 16, pseudo.sum());
}

} // namespace demi::wire
