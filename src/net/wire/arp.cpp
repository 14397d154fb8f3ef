#include "net/wire/arp.hpp"

#include "net/wire/ethernet.hpp"

namespace demi::wire {

result<arp_repr> arp_repr::parse(const arp_view &v) noexcept {
    // RFC 826, "Packet Reception": the (ar$hrd, ar$pro) pair must be one we have a resolver for; the
    // lengths must then be those of that pair's addresses.
    if (v.hardware_type() != arp_hardware_ethernet || v.protocol_type() != static_cast<std::uint16_t>(ethertype::ipv4))
        return err::unsupported;
    if (v.hardware_len() != ethernet_address::size || v.protocol_len() != ipv4_address::size) return err::unsupported;
    const std::uint16_t op = v.operation_raw();
    if (op != static_cast<std::uint16_t>(arp_operation::request) &&
        op != static_cast<std::uint16_t>(arp_operation::reply))
        return err::unsupported;
    return arp_repr{
        static_cast<arp_operation>(op),
        ethernet_address::from_bytes(v.sender_hardware_addr().data()),
        ipv4_address::from_bytes(v.sender_protocol_addr().data()),
        ethernet_address::from_bytes(v.target_hardware_addr().data()),
        ipv4_address::from_bytes(v.target_protocol_addr().data()),
    };
}

void arp_repr::emit(std::span<std::byte> out) const noexcept {
    detail::require(out.size() >= buffer_len());
    std::byte *p = out.data();
    store_be16(p, arp_hardware_ethernet);
    store_be16(p + 2, static_cast<std::uint16_t>(ethertype::ipv4));
    p[4] = static_cast<std::byte>(ethernet_address::size);
    p[5] = static_cast<std::byte>(ipv4_address::size);
    store_be16(p + 6, static_cast<std::uint16_t>(operation_));
    sender_hardware_addr_.write(p + 8);
    sender_protocol_addr_.write(p + 14);
    target_hardware_addr_.write(p + 18);
    target_protocol_addr_.write(p + 24);
}

} // namespace demi::wire
