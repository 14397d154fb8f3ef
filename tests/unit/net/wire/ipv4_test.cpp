#include "net/wire/ipv4.hpp"

#include <gtest/gtest.h>

#include "test_util.hpp"
#include "vectors.hpp"

namespace demi::wire {
namespace {

using test::copy_of;
namespace tv = test_vectors;

TEST(Ipv4, ParsesCapturedEchoRequestHeader) {
    const auto pkt = test::l3_of(test::bytes(tv::icmp_echo_request));
    auto v = ipv4_view::check(pkt);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->version(), 4);
    EXPECT_EQ(v->header_len(), 20u);
    EXPECT_EQ(v->total_len(), 84);
    EXPECT_EQ(v->ident(), 0x52a0);
    EXPECT_TRUE(v->dont_frag());
    EXPECT_FALSE(v->more_frags());
    EXPECT_FALSE(v->reserved_flag());
    EXPECT_EQ(v->frag_offset(), 0u);
    EXPECT_FALSE(v->is_fragment());
    EXPECT_EQ(v->ttl(), 64);
    EXPECT_EQ(v->protocol(), ip_protocol::icmp);
    EXPECT_EQ(v->checksum(), 0xd406);
    EXPECT_TRUE(v->verify_checksum());
    EXPECT_EQ(v->src(), test::host_a);
    EXPECT_EQ(v->dst(), test::host_b);
    EXPECT_TRUE(v->options().empty());
    EXPECT_EQ(v->payload().size(), 64u);

    auto r = ipv4_repr::parse(*v);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->src_, test::host_a);
    EXPECT_EQ(r->dst_, test::host_b);
    EXPECT_EQ(r->protocol_, ip_protocol::icmp);
    EXPECT_EQ(r->payload_len_, 64);
    EXPECT_EQ(r->ttl_, 64);
    EXPECT_EQ(r->ident_, 0x52a0);
    EXPECT_TRUE(r->dont_frag_);
    EXPECT_FALSE(r->more_frags_);
    EXPECT_EQ(r->frag_offset_, 0u);
}

TEST(Ipv4, ReEmitsEveryCapturedHeaderByteExact) {
    for (auto frame : {test::bytes(tv::icmp_echo_request), test::bytes(tv::icmp_echo_reply), test::bytes(tv::tcp_syn),
                       test::bytes(tv::tcp_syn_ack), test::bytes(tv::tcp_psh_data), test::bytes(tv::tcp_rst_ack),
                       test::bytes(tv::tcp_sack), test::bytes(tv::udp_dns_query), test::bytes(tv::udp_dns_response),
                       test::bytes(tv::icmp_port_unreachable)}) {
        const auto pkt = test::l3_of(frame);
        auto r = ipv4_repr::parse(*ipv4_view::check(pkt));
        ASSERT_TRUE(r);
        std::vector<std::byte> out(r->buffer_len());
        r->emit(out);
        EXPECT_TRUE(test::same(out, pkt.first(20))) << test::hex(out) << " vs " << test::hex(pkt.first(20));
    }
}

TEST(Ipv4, TosOfCapturedIcmpError) {
    // Linux sends ICMP errors with TOS 0xc0 (precedence "internetwork control"): DSCP 48 (CS6), ECN 0.
    auto v = ipv4_view::check(test::l3_of(test::bytes(tv::icmp_port_unreachable)));
    ASSERT_TRUE(v);
    EXPECT_EQ(v->dscp(), 48);
    EXPECT_EQ(v->ecn(), 0);
    EXPECT_FALSE(v->dont_frag());
}

TEST(Ipv4, TruncatedAtEveryLengthIsRejected) {
    const auto pkt = test::l3_of(test::bytes(tv::icmp_echo_request));
    for (std::size_t n = 0; n < pkt.size(); ++n) {
        auto v = ipv4_view::check(pkt.first(n));
        ASSERT_FALSE(v) << n;
        EXPECT_EQ(v.err(), err::truncated) << n;
    }
}

TEST(Ipv4, TrailingPaddingIsNotPayload) {
    // A 54-byte frame padded to the Ethernet minimum of 60: the view stops at the total length.
    auto frame = copy_of(tv::tcp_rst_ack);
    frame.resize(ethernet_min_frame_len, std::byte{0});
    auto v = ipv4_view::check(test::l3_of(frame));
    ASSERT_TRUE(v);
    EXPECT_EQ(v->bytes().size(), 40u);
    EXPECT_EQ(v->payload().size(), 20u);
}

TEST(Ipv4, BadChecksumIsRejectedUnlessOffloaded) {
    auto pkt = copy_of(test::l3_of(test::bytes(tv::icmp_echo_request)));
    pkt[8] = std::byte{63}; // TTL changed, checksum not
    auto v = ipv4_view::check(pkt);
    ASSERT_TRUE(v);
    EXPECT_FALSE(v->verify_checksum());
    EXPECT_EQ(ipv4_repr::parse(*v).err(), err::bad_checksum);
    checksum_caps caps;
    caps.ipv4_ = checksum_mode::tx; // the device verified it on receive
    auto r = ipv4_repr::parse(*v, caps);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->ttl_, 63);
    EXPECT_TRUE(ipv4_repr::parse(*v, checksum_caps::offloaded()));
}

TEST(Ipv4, EmitLeavesChecksumToOffloadingDevice) {
    auto r = ipv4_repr::parse(*ipv4_view::check(test::l3_of(test::bytes(tv::icmp_echo_request))));
    ASSERT_TRUE(r);
    std::vector<std::byte> out(20);
    checksum_caps caps;
    caps.ipv4_ = checksum_mode::rx; // verify on receive only; the device computes on transmit
    r->emit(out, caps);
    EXPECT_EQ(load_be16(out.data() + 10), 0);
    r->emit(out, checksum_caps::offloaded());
    EXPECT_EQ(load_be16(out.data() + 10), 0);
    r->emit(out);
    EXPECT_EQ(load_be16(out.data() + 10), 0xd406);
}

TEST(Ipv4, OptionsAreLengthCheckedAndSkipped) {
    const auto pkt = test::bytes(tv::ipv4_with_options);
    auto v = ipv4_view::check(pkt);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->header_len(), 24u);
    EXPECT_EQ(test::hex(v->options()), "94040000"); // Router Alert (RFC 2113)
    EXPECT_EQ(v->payload().size(), 11u);
    auto r = ipv4_repr::parse(*v);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->payload_len_, 11);
    EXPECT_EQ(r->ttl_, 1);
    EXPECT_EQ(r->protocol_, ip_protocol::udp);
    // Emitted without options: a 20-byte header whose total length counts the same payload.
    std::vector<std::byte> out(r->buffer_len() + r->payload_len_);
    r->emit(out);
    std::copy(v->payload().begin(), v->payload().end(), out.begin() + 20);
    auto again = ipv4_view::check(out);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->header_len(), 20u);
    EXPECT_EQ(again->total_len(), 31);
    EXPECT_TRUE(test::same(again->payload(), v->payload()));
    auto r2 = ipv4_repr::parse(*again);
    ASSERT_TRUE(r2);
    EXPECT_EQ(*r2, *r);
}

TEST(Ipv4, MalformedOptionsAreRejected) {
    const auto orig = copy_of(test::bytes(tv::ipv4_with_options));
    auto with_options = [&](std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
        auto pkt = orig;
        pkt[20] = std::byte{a};
        pkt[21] = std::byte{b};
        pkt[22] = std::byte{c};
        pkt[23] = std::byte{d};
        auto v = ipv4_view_mut::check(pkt);
        v->fill_checksum();
        return ipv4_repr::parse(*v);
    };
    EXPECT_TRUE(with_options(1, 1, 1, 1));           // NOPs
    EXPECT_TRUE(with_options(0, 0xff, 0xff, 0xff));  // End of Option List, then anything
    EXPECT_TRUE(with_options(1, 0x44, 3, 0));        // NOP, an option of length 3, EOL
    EXPECT_EQ(with_options(0x94, 0, 0, 0).err(), err::malformed); // length 0
    EXPECT_EQ(with_options(0x94, 1, 0, 0).err(), err::malformed); // length 1
    EXPECT_EQ(with_options(0x94, 5, 0, 0).err(), err::malformed); // runs past the header
    EXPECT_EQ(with_options(1, 1, 1, 0x94).err(), err::malformed); // no room for the length byte
}

TEST(Ipv4, MalformedLengthsAreRejected) {
    const auto orig = copy_of(test::l3_of(test::bytes(tv::icmp_echo_request)));
    auto pkt = orig;
    pkt[0] = std::byte{0x44}; // IHL 4 < 5
    EXPECT_EQ(ipv4_view::check(pkt).err(), err::malformed);
    pkt = orig;
    pkt[0] = std::byte{0x40}; // IHL 0
    EXPECT_EQ(ipv4_view::check(pkt).err(), err::malformed);
    pkt = orig;
    pkt[0] = std::byte{0x4f}; // IHL 15 (60 bytes) inside an 84-byte packet: fine for the view
    EXPECT_TRUE(ipv4_view::check(pkt));
    pkt = orig;
    store_be16(pkt.data() + 2, 19); // total length below the header
    EXPECT_EQ(ipv4_view::check(pkt).err(), err::malformed);
    pkt = orig;
    store_be16(pkt.data() + 2, 85); // one more than we have
    EXPECT_EQ(ipv4_view::check(pkt).err(), err::truncated);
    pkt = orig;
    store_be16(pkt.data() + 2, 20); // a header with no payload is valid
    auto v = ipv4_view::check(pkt);
    ASSERT_TRUE(v);
    EXPECT_TRUE(v->payload().empty());
    pkt = orig;
    pkt.resize(24);
    pkt[0] = std::byte{0x46};
    store_be16(pkt.data() + 2, 24);
    pkt.resize(23); // options cut short
    EXPECT_EQ(ipv4_view::check(pkt).err(), err::truncated);
}

TEST(Ipv4, BoundsAreFixedAtCheck) {
    // Rewriting IHL or the total length under a checked view cannot move its options or payload.
    auto pkt = copy_of(test::bytes(tv::ipv4_with_options));
    auto v = ipv4_view::check(pkt);
    ASSERT_TRUE(v);
    pkt[0] = std::byte{0x4f};
    store_be16(pkt.data() + 2, 0xffff);
    EXPECT_EQ(v->header_len(), 24u);
    EXPECT_EQ(v->options().size(), 4u);
    EXPECT_EQ(v->payload().size(), 11u);
    EXPECT_EQ(v->bytes().size(), 35u);
}

TEST(Ipv4, OtherVersionsAreUnsupported) {
    auto pkt = copy_of(test::l3_of(test::bytes(tv::icmp_echo_request)));
    for (int version : {0, 5, 6, 15}) {
        pkt[0] = static_cast<std::byte>(version << 4 | 5);
        EXPECT_EQ(ipv4_view::check(pkt).err(), err::unsupported) << version;
    }
}

TEST(Ipv4, FragmentFieldsRoundTrip) {
    ipv4_repr r;
    r.src_ = test::host_a;
    r.dst_ = test::host_b;
    r.protocol_ = ip_protocol::udp;
    r.payload_len_ = 1480;
    r.ident_ = 0xbeef;
    r.more_frags_ = true;
    r.frag_offset_ = 2960;
    std::vector<std::byte> out(20 + 1480);
    r.emit(out);
    EXPECT_EQ(test::hex(std::span(out).first(8)), "450005dcbeef2172"); // MF | 2960/8 = 370 = 0x172
    auto v = ipv4_view::check(out);
    ASSERT_TRUE(v);
    EXPECT_TRUE(v->is_fragment());
    EXPECT_TRUE(v->more_frags());
    EXPECT_EQ(v->frag_offset_units(), 370);
    EXPECT_EQ(v->frag_offset(), 2960u);
    auto back = ipv4_repr::parse(*v);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, r);
}

TEST(Ipv4, OversizedFragmentIsRejected) {
    // The last fragment at offset 65528 with 8 bytes of payload would end at 65556 (> 65535).
    ipv4_repr r;
    r.src_ = test::host_a;
    r.dst_ = test::host_b;
    r.protocol_ = ip_protocol::icmp;
    r.payload_len_ = 8;
    r.frag_offset_ = 65528;
    std::vector<std::byte> out(28);
    r.emit(out);
    auto v = ipv4_view::check(out);
    ASSERT_TRUE(v);
    EXPECT_EQ(ipv4_repr::parse(*v).err(), err::malformed);
    r.frag_offset_ = 65496; // 65496 + 28 = 65524: still fits
    r.emit(out);
    EXPECT_TRUE(ipv4_repr::parse(*ipv4_view::check(out)));
}

TEST(Ipv4, MutableViewSettersKeepTheChecksumRight) {
    auto pkt = copy_of(test::l3_of(test::bytes(tv::udp_dns_query)));
    auto v = ipv4_view_mut::check(pkt);
    ASSERT_TRUE(v);
    v->set_src(ipv4_address(192, 168, 1, 1));
    v->set_dst(ipv4_address(192, 168, 1, 2));
    v->set_ttl(1);
    v->set_ident(7);
    v->set_dscp_ecn(46, 2);
    v->set_frag(false, true, 8);
    v->set_protocol(ip_protocol::tcp);
    EXPECT_FALSE(v->verify_checksum());
    v->fill_checksum();
    EXPECT_TRUE(v->verify_checksum());
    auto r = ipv4_repr::parse(*v);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->src_, ipv4_address(192, 168, 1, 1));
    EXPECT_EQ(r->dst_, ipv4_address(192, 168, 1, 2));
    EXPECT_EQ(r->ttl_, 1);
    EXPECT_EQ(r->ident_, 7);
    EXPECT_EQ(r->dscp_, 46);
    EXPECT_EQ(r->ecn_, 2);
    EXPECT_FALSE(r->dont_frag_);
    EXPECT_TRUE(r->more_frags_);
    EXPECT_EQ(r->frag_offset_, 8u);
    EXPECT_EQ(r->protocol_, ip_protocol::tcp);
}

TEST(Ipv4, IncrementalAddressRewriteMatchesRecompute) {
    // NAT-style rewrite of the source address with RFC 1624 updates.
    auto pkt = copy_of(test::l3_of(test::bytes(tv::tcp_syn)));
    auto v = ipv4_view_mut::check(pkt);
    ASSERT_TRUE(v);
    const ipv4_address new_src(203, 0, 113, 7);
    const std::uint16_t updated = checksum_update32(v->checksum(), v->src().to_host(), new_src.to_host());
    v->set_src(new_src);
    v->fill_checksum();
    EXPECT_EQ(updated, v->checksum());
}

} // namespace
} // namespace demi::wire
