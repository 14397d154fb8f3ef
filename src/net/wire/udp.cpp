#include "net/wire/udp.hpp"

#include <cstring>

namespace demi::wire {

result<udp_repr> udp_repr::parse(const udp_view &v, ipv4_address src, ipv4_address dst,
                                 const checksum_caps &caps) noexcept {
    if (v.dst_port() == 0) return err::malformed;
    if (verifies(caps.udp_) && !v.verify_checksum(src, dst)) return err::bad_checksum;
    return udp_repr{v.src_port(), v.dst_port(), v.payload()};
}

void udp_repr::emit(std::span<std::byte> out, ipv4_address src, ipv4_address dst,
                    const checksum_caps &caps) const noexcept {
    const std::size_t len = buffer_len();
    detail::require(out.size() >= len && len <= 0xffff);
    std::byte *p = out.data();
    // The payload first: it may overlap where the header goes.
    if (!payload_.empty() && payload_.data() != p + udp_view::header_len)
        std::memmove(p + udp_view::header_len, payload_.data(), payload_.size());
    store_be16(p, src_port_);
    store_be16(p + 2, dst_port_);
    store_be16(p + 4, static_cast<std::uint16_t>(len));
    store_be16(p + 6, 0);
    const auto pseudo = ipv4_pseudo_header(src, dst, static_cast<std::uint8_t>(ip_protocol::udp),
                                           static_cast<std::uint16_t>(len));
    if (computes(caps.udp_)) {
        // RFC 768: an all-zero result is sent as all ones; zero means "no checksum".
        const std::uint16_t c = checksum_accumulator(pseudo).add(out.first(len)).checksum();
        store_be16(p + 6, c == 0 ? 0xffff : c);
    } else if (caps.tx_pseudo_header_seed_) {
        store_be16(p + 6, pseudo.sum());
    }
}

} // namespace demi::wire
