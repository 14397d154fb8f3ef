#include "net/wire/icmpv4.hpp"

#include <cstring>

namespace demi::wire {

result<icmpv4_repr> icmpv4_repr::parse(const icmpv4_view &v, const checksum_caps &caps) noexcept {
    // RFC 792: the checksum covers the ICMP message starting with the type.
    if (verifies(caps.icmpv4_) && !v.verify_checksum()) return err::bad_checksum;
    icmpv4_repr r;
    r.code_ = v.code();
    r.data_ = v.data();
    switch (v.type_raw()) {
    case static_cast<std::uint8_t>(icmpv4_type::echo_request):
    case static_cast<std::uint8_t>(icmpv4_type::echo_reply):
        // RFC 792, "Echo or Echo Reply Message": Code 0.
        if (v.code() != 0) return err::malformed;
        r.type_ = v.type();
        r.ident_ = v.echo_ident();
        r.seq_no_ = v.echo_seq();
        return r;
    case static_cast<std::uint8_t>(icmpv4_type::dst_unreachable):
        // RFC 792, "Destination Unreachable Message": internet header + 64 bits of original data.
        if (v.data().size() < icmpv4_min_error_data_len) return err::malformed;
        r.type_ = icmpv4_type::dst_unreachable;
        if (v.code() == static_cast<std::uint8_t>(icmpv4_unreachable::frag_needed)) r.next_hop_mtu_ = v.next_hop_mtu();
        return r;
    default:
        return err::unsupported;
    }
}

void icmpv4_repr::emit(std::span<std::byte> out, const checksum_caps &caps) const noexcept {
    const std::size_t len = buffer_len();
    detail::require(out.size() >= len);
    std::byte *p = out.data();
    // The data first: it may overlap where the header goes.
    if (!data_.empty() && data_.data() != p + icmpv4_view::header_len)
        std::memmove(p + icmpv4_view::header_len, data_.data(), data_.size());
    p[0] = static_cast<std::byte>(type_);
    p[1] = static_cast<std::byte>(code_);
    store_be16(p + 2, 0);
    if (type_ == icmpv4_type::dst_unreachable) {
        // RFC 792: the 32 bits after the checksum are unused (zero); RFC 1191 §4 puts the next-hop MTU in
        // the low 16 bits for "fragmentation needed".
        store_be16(p + 4, 0);
        store_be16(p + 6, code_ == static_cast<std::uint8_t>(icmpv4_unreachable::frag_needed) ? next_hop_mtu_ : 0);
    } else {
        store_be16(p + 4, ident_);
        store_be16(p + 6, seq_no_);
    }
    if (computes(caps.icmpv4_)) store_be16(p + 2, internet_checksum(out.first(len)));
}

} // namespace demi::wire
