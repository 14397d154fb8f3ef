// Whole frames through every layer, as the stack's receive path walks them.
#include <gtest/gtest.h>

#include "test_util.hpp"
#include "vectors.hpp"

namespace demi::wire {
namespace {

namespace tv = test_vectors;

/// Ethernet -> ARP or IPv4 -> ICMP/UDP/TCP; the protocol number of the innermost layer reached.
result<int> parse_frame(std::span<const std::byte> frame, const checksum_caps &caps = {}) {
    auto eth_v = ethernet_view::check(frame);
    if (!eth_v) return eth_v.err();
    auto eth = ethernet_repr::parse(*eth_v);
    if (!eth) return eth.err();
    if (eth->ethertype_ == ethertype::arp) {
        auto v = arp_view::check(eth_v->payload());
        if (!v) return v.err();
        auto r = arp_repr::parse(*v);
        if (!r) return r.err();
        return 0x0806;
    }
    if (eth->ethertype_ != ethertype::ipv4) return err::unsupported;
    auto ip_v = ipv4_view::check(eth_v->payload());
    if (!ip_v) return ip_v.err();
    auto ip = ipv4_repr::parse(*ip_v, caps);
    if (!ip) return ip.err();
    switch (ip->protocol_) {
    case ip_protocol::icmp: {
        auto v = icmpv4_view::check(ip_v->payload());
        if (!v) return v.err();
        auto r = icmpv4_repr::parse(*v, caps);
        if (!r) return r.err();
        return 1;
    }
    case ip_protocol::udp: {
        auto v = udp_view::check(ip_v->payload());
        if (!v) return v.err();
        auto r = udp_repr::parse(*v, ip->src_, ip->dst_, caps);
        if (!r) return r.err();
        return 17;
    }
    case ip_protocol::tcp: {
        auto v = tcp_view::check(ip_v->payload());
        if (!v) return v.err();
        auto r = tcp_repr::parse(*v, ip->src_, ip->dst_, caps);
        if (!r) return r.err();
        return 6;
    }
    }
    return err::unsupported;
}

const std::span<const std::byte> all_frames[] = {
    test::bytes(tv::arp_request),    test::bytes(tv::arp_reply),         test::bytes(tv::icmp_echo_request),
    test::bytes(tv::icmp_echo_reply), test::bytes(tv::tcp_syn),          test::bytes(tv::tcp_syn_ack),
    test::bytes(tv::tcp_ack),        test::bytes(tv::tcp_psh_data),      test::bytes(tv::tcp_fin_ack),
    test::bytes(tv::tcp_rst_ack),    test::bytes(tv::tcp_sack),          test::bytes(tv::udp_dns_query),
    test::bytes(tv::udp_dns_response), test::bytes(tv::icmp_port_unreachable),
};

TEST(Frame, EveryCapturedFrameParses) {
    for (auto f : all_frames) {
        auto r = parse_frame(f);
        EXPECT_TRUE(r) << test::hex(f) << ": " << r.code();
    }
}

TEST(Frame, EveryStrictPrefixOfEveryFrameIsRejected) {
    for (auto f : all_frames) {
        for (std::size_t n = 0; n < f.size(); ++n) {
            auto r = parse_frame(f.first(n));
            ASSERT_FALSE(r) << test::hex(f) << " cut at " << n;
            // Even with every checksum offloaded, the lengths alone reject all but TCP, whose only
            // length is the IP total length.
            auto off = parse_frame(f.first(n), checksum_caps::offloaded());
            ASSERT_FALSE(off) << test::hex(f) << " cut at " << n << " (offloaded)";
        }
    }
}

TEST(Frame, PaddedToEthernetMinimumStillParses) {
    for (auto f : all_frames) {
        if (f.size() >= ethernet_min_frame_len) continue;
        auto padded = test::copy_of(f);
        padded.resize(ethernet_min_frame_len, std::byte{0xa5});
        EXPECT_TRUE(parse_frame(padded)) << test::hex(f);
    }
}

TEST(Frame, EverySingleBitFlipIsRejectedOrStillConsistent) {
    // Flip each bit of each frame: a parse may succeed only if the flip landed where no check looks
    // (addresses and ports are covered by checksums; Ethernet and ARP have none). Nothing may crash,
    // and the result must not depend on bytes outside the frame (checked by ASan in CI).
    int rejected = 0;
    for (auto f : all_frames) {
        auto copy = test::copy_of(f);
        for (std::size_t i = 0; i < copy.size() * 8; ++i) {
            copy[i / 8] ^= static_cast<std::byte>(1u << (i % 8));
            if (!parse_frame(copy)) ++rejected;
            copy[i / 8] ^= static_cast<std::byte>(1u << (i % 8));
        }
    }
    EXPECT_GT(rejected, 0);
}

TEST(Frame, IpBitFlipsAreCaughtByChecksums) {
    // Past the Ethernet header of an IPv4 frame, every single-bit error is detected (RFC 1071: the
    // Internet checksum catches all single-bit errors).
    for (auto f : {test::bytes(tv::icmp_echo_request), test::bytes(tv::tcp_syn), test::bytes(tv::tcp_psh_data),
                   test::bytes(tv::udp_dns_query), test::bytes(tv::icmp_port_unreachable)}) {
        auto copy = test::copy_of(f);
        for (std::size_t i = 14 * 8; i < copy.size() * 8; ++i) {
            copy[i / 8] ^= static_cast<std::byte>(1u << (i % 8));
            EXPECT_FALSE(parse_frame(copy)) << test::hex(f) << " bit " << i;
            copy[i / 8] ^= static_cast<std::byte>(1u << (i % 8));
        }
    }
}

} // namespace
} // namespace demi::wire
