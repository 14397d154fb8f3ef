#include "net/wire/ethernet.hpp"

#include <gtest/gtest.h>

#include "test_util.hpp"
#include "vectors.hpp"

namespace demi::wire {
namespace {

using test::copy_of;

TEST(Ethernet, ParsesCapturedBroadcast) {
    const auto frame = copy_of(test_vectors::arp_request);
    auto v = ethernet_view::check(frame);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->dst(), ethernet_address::broadcast());
    EXPECT_EQ(v->src(), test::mac_a);
    EXPECT_EQ(v->ethertype(), ethertype::arp);
    EXPECT_EQ(v->payload().size(), 28u);
    EXPECT_EQ(v->bytes().size(), frame.size());
    auto r = ethernet_repr::parse(*v);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->dst_, ethernet_address::broadcast());
    EXPECT_EQ(r->src_, test::mac_a);
    EXPECT_EQ(r->ethertype_, ethertype::arp);
}

TEST(Ethernet, ReEmitsEveryCapturedHeaderByteExact) {
    namespace tv = test_vectors;
    for (auto frame : {test::bytes(tv::arp_request), test::bytes(tv::arp_reply), test::bytes(tv::icmp_echo_request),
                       test::bytes(tv::tcp_syn), test::bytes(tv::udp_dns_query)}) {
        auto v = ethernet_view::check(frame);
        ASSERT_TRUE(v);
        auto r = ethernet_repr::parse(*v);
        ASSERT_TRUE(r);
        std::vector<std::byte> out(r->buffer_len());
        r->emit(out);
        EXPECT_TRUE(test::same(out, frame.first(14))) << test::hex(out);
    }
}

TEST(Ethernet, TruncatedAtEveryLengthIsRejected) {
    const auto frame = copy_of(test_vectors::arp_request);
    for (std::size_t n = 0; n < ethernet_view::header_len; ++n) {
        auto v = ethernet_view::check(std::span(frame).first(n));
        ASSERT_FALSE(v) << n;
        EXPECT_EQ(v.err(), err::truncated);
    }
    // The header alone is a frame with an empty payload.
    auto v = ethernet_view::check(std::span(frame).first(14));
    ASSERT_TRUE(v);
    EXPECT_TRUE(v->payload().empty());
}

TEST(Ethernet, Ieee8023LengthFieldIsUnsupported) {
    auto frame = copy_of(test_vectors::arp_request);
    frame[12] = std::byte{0x05};
    frame[13] = std::byte{0xdc}; // 1500: an 802.3 length, not an EtherType
    auto v = ethernet_view::check(frame);
    ASSERT_TRUE(v);
    EXPECT_EQ(ethernet_repr::parse(*v).err(), err::unsupported);
    frame[12] = std::byte{0x06};
    frame[13] = std::byte{0x00}; // 0x0600, the first EtherType value
    EXPECT_TRUE(ethernet_repr::parse(*ethernet_view::check(frame)));
}

TEST(Ethernet, UnknownEtherTypeIsCarried) {
    auto frame = copy_of(test_vectors::arp_request);
    frame[12] = std::byte{0x88};
    frame[13] = std::byte{0xcc}; // LLDP
    auto r = ethernet_repr::parse(*ethernet_view::check(frame));
    ASSERT_TRUE(r);
    EXPECT_EQ(static_cast<std::uint16_t>(r->ethertype_), 0x88cc);
}

TEST(Ethernet, PaddingStaysInPayload) {
    auto frame = copy_of(test_vectors::arp_request);
    frame.resize(ethernet_min_frame_len);
    auto v = ethernet_view::check(frame);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->payload().size(), 46u);
}

TEST(Ethernet, MutableViewSetters) {
    auto frame = copy_of(test_vectors::arp_reply);
    auto v = ethernet_view_mut::check(frame);
    ASSERT_TRUE(v);
    v->set_dst(test::mac_b);
    v->set_src(test::mac_a);
    v->set_ethertype(ethertype::ipv4);
    const ethernet_view ro = *v; // a mutable view converts to a read-only one
    EXPECT_EQ(ro.dst(), test::mac_b);
    EXPECT_EQ(ro.src(), test::mac_a);
    EXPECT_EQ(ro.ethertype(), ethertype::ipv4);
    EXPECT_EQ(std::to_integer<int>(frame[12]), 0x08);
    EXPECT_EQ(std::to_integer<int>(frame[13]), 0x00);
}

TEST(Ethernet, EmitWritesOnlyTheHeader) {
    std::vector<std::byte> out(20, std::byte{0xee});
    ethernet_repr{test::mac_a, test::mac_b, ethertype::ipv6}.emit(out);
    EXPECT_EQ(test::hex(out), "9aeb7c4b071ae21ff5198a9986ddeeeeeeeeeeee");
}

} // namespace
} // namespace demi::wire
