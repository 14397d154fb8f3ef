#include "net/wire/ipv4.hpp"

namespace demi::wire {

namespace {

// RFC 791 §3.1 "Options": single-octet End of Option List (0) and No Operation (1); every other option
// is type, length (counting the type and length octets, so >= 2), data. Nothing is kept: the stack
// acts on no IPv4 option; this only refuses an option area that does not add up.
bool options_well_formed(std::span<const std::byte> opts) noexcept {
    std::size_t i = 0;
    while (i < opts.size()) {
        const auto type = std::to_integer<std::uint8_t>(opts[i]);
        if (type == 0) return true; // End of Option List: the rest is padding
        if (type == 1) {
            ++i;
            continue;
        }
        if (i + 1 >= opts.size()) return false;
        const std::size_t len = std::to_integer<std::size_t>(opts[i + 1]);
        if (len < 2 || len > opts.size() - i) return false;
        i += len;
    }
    return true;
}

} // namespace

result<ipv4_repr> ipv4_repr::parse(const ipv4_view &v, const checksum_caps &caps) noexcept {
    if (verifies(caps.ipv4_) && !v.verify_checksum()) return err::bad_checksum;
    if (!options_well_formed(v.options())) return err::malformed;
    // Lengths from the view's checked bounds, not from re-reading the fields.
    const std::size_t payload_len = v.payload().size();
    // The reassembled datagram could not be expressed in the 16-bit total length field.
    if (v.frag_offset() + v.bytes().size() > ipv4_max_datagram_len) return err::malformed;
    ipv4_repr r;
    r.src_ = v.src();
    r.dst_ = v.dst();
    r.protocol_ = v.protocol();
    r.payload_len_ = static_cast<std::uint16_t>(payload_len);
    r.ttl_ = v.ttl();
    r.dscp_ = v.dscp();
    r.ecn_ = v.ecn();
    r.ident_ = v.ident();
    r.dont_frag_ = v.dont_frag();
    r.more_frags_ = v.more_frags();
    r.frag_offset_ = v.frag_offset();
    return r;
}

void ipv4_repr::emit(std::span<std::byte> out, const checksum_caps &caps) const noexcept {
    detail::require(out.size() >= buffer_len() && payload_len_ <= ipv4_max_datagram_len - buffer_len());
    std::byte *p = out.data();
    p[0] = std::byte{0x45}; // version 4, IHL 5
    p[1] = static_cast<std::byte>((dscp_ << 2) | (ecn_ & 0x03));
    store_be16(p + 2, static_cast<std::uint16_t>(buffer_len() + payload_len_));
    store_be16(p + 4, ident_);
    store_be16(p + 6, static_cast<std::uint16_t>((dont_frag_ ? 0x4000 : 0) | (more_frags_ ? 0x2000 : 0) |
                                                 ((frag_offset_ / 8) & 0x1fff)));
    p[8] = static_cast<std::byte>(ttl_);
    p[9] = static_cast<std::byte>(protocol_);
    store_be16(p + 10, 0);
    src_.write(p + 12);
    dst_.write(p + 16);
    if (computes(caps.ipv4_)) store_be16(p + 10, internet_checksum(out.first(buffer_len())));
}

} // namespace demi::wire
