#include "net/wire/arp.hpp"

#include <gtest/gtest.h>

#include "test_util.hpp"
#include "vectors.hpp"

namespace demi::wire {
namespace {

using test::copy_of;
namespace tv = test_vectors;

TEST(Arp, ParsesCapturedRequest) {
    const auto pkt = test::l3_of(test::bytes(tv::arp_request));
    auto v = arp_view::check(pkt);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->hardware_type(), 1);
    EXPECT_EQ(v->protocol_type(), 0x0800);
    EXPECT_EQ(v->hardware_len(), 6);
    EXPECT_EQ(v->protocol_len(), 4);
    EXPECT_EQ(v->operation_raw(), 1);
    EXPECT_EQ(v->bytes().size(), 28u);
    auto r = arp_repr::parse(*v);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->operation_, arp_operation::request);
    EXPECT_EQ(r->sender_hardware_addr_, test::mac_a);
    EXPECT_EQ(r->sender_protocol_addr_, test::host_a);
    EXPECT_EQ(r->target_hardware_addr_, ethernet_address{}); // unknown: zero (RFC 826 leaves it unspecified)
    EXPECT_EQ(r->target_protocol_addr_, test::host_b);
}

TEST(Arp, ParsesCapturedReply) {
    auto r = arp_repr::parse(*arp_view::check(test::l3_of(test::bytes(tv::arp_reply))));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->operation_, arp_operation::reply);
    EXPECT_EQ(r->sender_hardware_addr_, test::mac_b);
    EXPECT_EQ(r->sender_protocol_addr_, test::host_b);
    EXPECT_EQ(r->target_hardware_addr_, test::mac_a);
    EXPECT_EQ(r->target_protocol_addr_, test::host_a);
}

TEST(Arp, ReEmitsByteExact) {
    for (auto frame : {test::bytes(tv::arp_request), test::bytes(tv::arp_reply)}) {
        auto r = arp_repr::parse(*arp_view::check(test::l3_of(frame)));
        ASSERT_TRUE(r);
        std::vector<std::byte> out(r->buffer_len());
        ASSERT_EQ(out.size(), 28u);
        r->emit(out);
        EXPECT_TRUE(test::same(out, test::l3_of(frame))) << test::hex(out);
    }
}

TEST(Arp, BuildsTheCapturedReplyFromTheRequest) {
    // What the stack does on a request for its address (RFC 826, "Packet Reception"): swap sender and
    // target, fill in its own hardware address, set the opcode to reply.
    auto req = arp_repr::parse(*arp_view::check(test::l3_of(test::bytes(tv::arp_request))));
    ASSERT_TRUE(req);
    arp_repr reply{arp_operation::reply, test::mac_b, req->target_protocol_addr_, req->sender_hardware_addr_,
                   req->sender_protocol_addr_};
    std::vector<std::byte> frame(ethernet_repr::buffer_len() + reply.buffer_len());
    ethernet_repr{test::mac_b, req->sender_hardware_addr_, ethertype::arp}.emit(frame);
    reply.emit(std::span(frame).subspan(ethernet_repr::buffer_len()));
    EXPECT_TRUE(test::same(frame, test::bytes(tv::arp_reply))) << test::hex(frame);
}

TEST(Arp, IgnoresEthernetPadding) {
    auto frame = copy_of(tv::arp_request);
    frame.resize(ethernet_min_frame_len, std::byte{0xaa});
    auto v = arp_view::check(test::l3_of(frame));
    ASSERT_TRUE(v);
    EXPECT_EQ(v->bytes().size(), 28u);
    auto r = arp_repr::parse(*v);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->target_protocol_addr_, test::host_b);
}

TEST(Arp, TruncatedAtEveryLengthIsRejected) {
    const auto pkt = test::l3_of(test::bytes(tv::arp_request));
    for (std::size_t n = 0; n < pkt.size(); ++n) {
        auto v = arp_view::check(pkt.first(n));
        ASSERT_FALSE(v) << n;
        EXPECT_EQ(v.err(), err::truncated);
    }
}

TEST(Arp, HugeAddressLengthsAreBoundsChecked) {
    auto pkt = copy_of(test::l3_of(test::bytes(tv::arp_request)));
    pkt[4] = std::byte{255};
    pkt[5] = std::byte{255};
    EXPECT_EQ(arp_view::check(pkt).err(), err::truncated);
    pkt.resize(8 + 2 * 255 + 2 * 255);
    auto v = arp_view::check(pkt);
    ASSERT_TRUE(v); // a valid view of an odd ARP packet...
    EXPECT_EQ(v->target_protocol_addr().size(), 255u);
    EXPECT_EQ(arp_repr::parse(*v).err(), err::unsupported); // ...that is not IPv4 over Ethernet
}

TEST(Arp, BoundsAreFixedAtCheck) {
    auto pkt = copy_of(test::l3_of(test::bytes(tv::arp_request)));
    auto v = arp_view::check(pkt);
    ASSERT_TRUE(v);
    pkt[4] = std::byte{200}; // hln rewritten after check()
    EXPECT_EQ(v->hardware_len(), 6);
    EXPECT_EQ(v->target_protocol_addr().size(), 4u);
    EXPECT_EQ(v->target_protocol_addr().data(), pkt.data() + 24);
}

TEST(Arp, NonEthernetOrNonIpv4IsUnsupported) {
    const auto orig = copy_of(test::l3_of(test::bytes(tv::arp_request)));
    auto expect_unsupported = [&](std::size_t at, std::uint8_t value) {
        auto pkt = orig;
        pkt[at] = static_cast<std::byte>(value);
        auto v = arp_view::check(pkt);
        if (!v) return; // a changed length may make it short; that is also a rejection
        EXPECT_EQ(arp_repr::parse(*v).err(), err::unsupported) << "byte " << at << " = " << int(value);
    };
    expect_unsupported(1, 6);    // hrd = 6 (IEEE 802)
    expect_unsupported(2, 0x86); // pro = 0x8600
    expect_unsupported(4, 5);    // hln = 5
    expect_unsupported(5, 3);    // pln = 3
    expect_unsupported(7, 3);    // op = 3 (RARP request)
    expect_unsupported(7, 0);    // op = 0
}

TEST(Arp, MutableViewSetsOperation) {
    auto pkt = copy_of(test::l3_of(test::bytes(tv::arp_request)));
    auto v = arp_view_mut::check(pkt);
    ASSERT_TRUE(v);
    v->set_operation(arp_operation::reply);
    EXPECT_EQ(arp_repr::parse(*v)->operation_, arp_operation::reply);
}

} // namespace
} // namespace demi::wire
