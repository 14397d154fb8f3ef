// libFuzzer target: a whole frame through Ethernet -> ARP | IPv4 -> ICMP | UDP | TCP, as the stack's
// receive path walks it.
#include "fuzz_util.hpp"

using namespace demi::wire;

namespace {

void walk(std::span<const std::byte> frame, const checksum_caps &caps) {
    auto eth_v = ethernet_view::check(frame);
    if (!eth_v) return;
    auto eth = ethernet_repr::parse(*eth_v);
    if (!eth) return;
    if (eth->ethertype_ == ethertype::arp) {
        if (auto v = arp_view::check(eth_v->payload())) (void)arp_repr::parse(*v);
        return;
    }
    if (eth->ethertype_ != ethertype::ipv4) return;
    auto ip_v = ipv4_view::check(eth_v->payload());
    if (!ip_v) return;
    auto ip = ipv4_repr::parse(*ip_v, caps);
    if (!ip || ip->frag_offset_ != 0 || ip->more_frags_) return;
    const auto l4 = ip_v->payload();
    switch (ip->protocol_) {
    case ip_protocol::icmp:
        if (auto v = icmpv4_view::check(l4)) {
            auto r = icmpv4_repr::parse(*v, caps);
            // An error quotes a datagram: read its header the way the stack would.
            if (r && r->type_ == icmpv4_type::dst_unreachable) (void)ipv4_view::check(r->data_);
        }
        break;
    case ip_protocol::udp:
        if (auto v = udp_view::check(l4)) (void)udp_repr::parse(*v, ip->src_, ip->dst_, caps);
        break;
    case ip_protocol::tcp:
        if (auto v = tcp_view::check(l4)) (void)tcp_repr::parse(*v, ip->src_, ip->dst_, caps);
        break;
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    const auto in = fuzz::input(data, size);
    for (const auto &caps : fuzz::caps_variants) walk(in, caps);
    return 0;
}
