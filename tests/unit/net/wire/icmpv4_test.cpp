#include "net/wire/icmpv4.hpp"

#include <gtest/gtest.h>

#include "test_util.hpp"
#include "vectors.hpp"

namespace demi::wire {
namespace {

using test::copy_of;
namespace tv = test_vectors;

TEST(Icmpv4, ParsesCapturedEchoRequest) {
    const auto msg = test::l4_of(test::bytes(tv::icmp_echo_request));
    auto v = icmpv4_view::check(msg);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->type(), icmpv4_type::echo_request);
    EXPECT_EQ(v->code(), 0);
    EXPECT_EQ(v->checksum(), 0x86c8);
    EXPECT_TRUE(v->verify_checksum());
    EXPECT_EQ(v->echo_ident(), 0x1c2b);
    EXPECT_EQ(v->echo_seq(), 1);
    EXPECT_EQ(v->data().size(), 56u);
    auto r = icmpv4_repr::parse(*v);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->type_, icmpv4_type::echo_request);
    EXPECT_EQ(r->ident_, 0x1c2b);
    EXPECT_EQ(r->seq_no_, 1);
    ASSERT_EQ(r->data_.size(), 56u);
    EXPECT_EQ(r->data_.data(), msg.data() + 8); // points into the packet, no copy
    EXPECT_EQ(std::to_integer<int>(r->data_[16]), 0x10); // iputils' pattern after the timeval
}

TEST(Icmpv4, ReEmitsByteExact) {
    for (auto frame : {test::bytes(tv::icmp_echo_request), test::bytes(tv::icmp_echo_reply),
                       test::bytes(tv::icmp_port_unreachable)}) {
        const auto msg = test::l4_of(frame);
        auto r = icmpv4_repr::parse(*icmpv4_view::check(msg));
        ASSERT_TRUE(r);
        std::vector<std::byte> out(r->buffer_len());
        ASSERT_EQ(out.size(), msg.size());
        r->emit(out);
        EXPECT_TRUE(test::same(out, msg)) << test::hex(out);
    }
}

TEST(Icmpv4, EchoReplyMatchesWhatLinuxSent) {
    // Answer the captured request and compare with the kernel's own reply, byte for byte (ICMP part).
    auto req = icmpv4_repr::parse(*icmpv4_view::check(test::l4_of(test::bytes(tv::icmp_echo_request))));
    ASSERT_TRUE(req);
    const icmpv4_repr reply = req->echo_reply();
    std::vector<std::byte> out(reply.buffer_len());
    reply.emit(out);
    EXPECT_TRUE(test::same(out, test::l4_of(test::bytes(tv::icmp_echo_reply)))) << test::hex(out);
}

TEST(Icmpv4, ParsesCapturedPortUnreachable) {
    const auto msg = test::l4_of(test::bytes(tv::icmp_port_unreachable));
    auto r = icmpv4_repr::parse(*icmpv4_view::check(msg));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->type_, icmpv4_type::dst_unreachable);
    EXPECT_EQ(r->code_, static_cast<std::uint8_t>(icmpv4_unreachable::port_unreachable));
    EXPECT_EQ(r->next_hop_mtu_, 0);
    // The quoted datagram is the UDP query we sent to port 53: an IPv4 view reads its header.
    auto quoted = ipv4_view::check(r->data_);
    ASSERT_TRUE(quoted);
    EXPECT_EQ(quoted->src(), test::host_a);
    EXPECT_EQ(quoted->dst(), test::host_b);
    EXPECT_EQ(quoted->protocol(), ip_protocol::udp);
    EXPECT_EQ(load_be16(quoted->payload().data() + 2), 53);
}

TEST(Icmpv4, TruncatedAtEveryLengthIsRejected) {
    for (auto frame : {test::bytes(tv::icmp_echo_request), test::bytes(tv::icmp_port_unreachable)}) {
        const auto msg = test::l4_of(frame);
        for (std::size_t n = 0; n < msg.size(); ++n) {
            auto v = icmpv4_view::check(msg.first(n));
            if (n < icmpv4_view::header_len) {
                ASSERT_EQ(v.err(), err::truncated) << n;
                continue;
            }
            // ICMP has no length of its own: a short message is caught by the checksum over all of it
            // (or, for an error message, by the quoted datagram being too short).
            ASSERT_TRUE(v);
            auto r = icmpv4_repr::parse(*v);
            ASSERT_FALSE(r) << n;
            EXPECT_TRUE(r.err() == err::bad_checksum || r.err() == err::malformed) << n;
        }
    }
}

TEST(Icmpv4, BadChecksumIsRejectedUnlessOffloaded) {
    auto msg = copy_of(test::l4_of(test::bytes(tv::icmp_echo_request)));
    msg[20] ^= std::byte{0x01};
    auto v = icmpv4_view::check(msg);
    ASSERT_TRUE(v);
    EXPECT_EQ(icmpv4_repr::parse(*v).err(), err::bad_checksum);
    EXPECT_TRUE(icmpv4_repr::parse(*v, checksum_caps::offloaded()));
    checksum_caps caps;
    caps.icmpv4_ = checksum_mode::tx;
    EXPECT_TRUE(icmpv4_repr::parse(*v, caps));
}

TEST(Icmpv4, EmitWithoutChecksumWhenOffloaded) {
    auto r = icmpv4_repr::parse(*icmpv4_view::check(test::l4_of(test::bytes(tv::icmp_echo_request))));
    ASSERT_TRUE(r);
    std::vector<std::byte> out(r->buffer_len());
    r->emit(out, checksum_caps::offloaded());
    EXPECT_EQ(load_be16(out.data() + 2), 0);
    auto v = icmpv4_view_mut::check(out);
    ASSERT_TRUE(v);
    v->fill_checksum();
    EXPECT_EQ(v->checksum(), 0x86c8);
}

TEST(Icmpv4, EchoWithNonZeroCodeIsMalformed) {
    auto msg = copy_of(test::l4_of(test::bytes(tv::icmp_echo_request)));
    auto v = icmpv4_view_mut::check(msg);
    ASSERT_TRUE(v);
    v->set_code(1);
    v->fill_checksum();
    EXPECT_EQ(icmpv4_repr::parse(*v).err(), err::malformed);
}

TEST(Icmpv4, ShortQuoteInErrorIsMalformed) {
    const auto msg = test::l4_of(test::bytes(tv::icmp_port_unreachable));
    for (std::size_t quote : {std::size_t{0}, std::size_t{20}, std::size_t{27}, std::size_t{28}}) {
        auto cut = copy_of(msg.first(8 + quote));
        auto v = icmpv4_view_mut::check(cut);
        ASSERT_TRUE(v);
        v->fill_checksum();
        auto r = icmpv4_repr::parse(*v);
        if (quote < icmpv4_min_error_data_len)
            EXPECT_EQ(r.err(), err::malformed) << quote;
        else
            EXPECT_TRUE(r) << quote;
    }
}

TEST(Icmpv4, OtherTypesAreUnsupported) {
    std::vector<std::byte> msg(8 + 20);
    auto v = icmpv4_view_mut::check(msg);
    ASSERT_TRUE(v);
    for (std::uint8_t type : {4, 5, 11, 12, 13, 14, 255}) {
        v->set_type(static_cast<icmpv4_type>(type));
        v->fill_checksum();
        EXPECT_EQ(icmpv4_repr::parse(*v).err(), err::unsupported) << int(type);
    }
}

TEST(Icmpv4, FragNeededCarriesNextHopMtu) {
    const auto quoted = test::l3_of(test::bytes(tv::udp_dns_query)).first(28);
    icmpv4_repr r;
    r.type_ = icmpv4_type::dst_unreachable;
    r.code_ = static_cast<std::uint8_t>(icmpv4_unreachable::frag_needed);
    r.next_hop_mtu_ = 1400;
    r.ident_ = 0xffff; // ignored for errors
    r.data_ = quoted;
    std::vector<std::byte> out(r.buffer_len());
    r.emit(out);
    EXPECT_EQ(test::hex(std::span(out).first(2)), "0304");
    EXPECT_EQ(test::hex(std::span(out).subspan(4, 4)), "00000578");
    auto back = icmpv4_repr::parse(*icmpv4_view::check(out));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->next_hop_mtu_, 1400);
    EXPECT_EQ(back->ident_, 0);
    EXPECT_TRUE(test::same(back->data_, quoted));
}

TEST(Icmpv4, EmitInPlaceAndOverlapping) {
    // Reply in place: the data already sits at out[8], nothing is copied.
    auto msg = copy_of(test::l4_of(test::bytes(tv::icmp_echo_request)));
    auto req = icmpv4_repr::parse(*icmpv4_view::check(msg));
    ASSERT_TRUE(req);
    req->echo_reply().emit(msg);
    EXPECT_TRUE(test::same(msg, test::l4_of(test::bytes(tv::icmp_echo_reply))));
    // Data that overlaps the header region: moved before the header is written.
    std::vector<std::byte> buf(100);
    for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<std::byte>(i);
    icmpv4_repr r;
    r.type_ = icmpv4_type::echo_request;
    r.data_ = std::span(buf).subspan(4, 16);
    r.emit(buf);
    for (std::size_t i = 0; i < 16; ++i) EXPECT_EQ(std::to_integer<std::size_t>(buf[8 + i]), 4 + i);
    EXPECT_TRUE(icmpv4_repr::parse(*icmpv4_view::check(std::span(buf).first(24))));
}

} // namespace
} // namespace demi::wire
