#include "net/wire/udp.hpp"

#include <gtest/gtest.h>

#include "test_util.hpp"
#include "vectors.hpp"

namespace demi::wire {
namespace {

using test::copy_of;
using test::host_a;
using test::host_b;
namespace tv = test_vectors;

TEST(Udp, ParsesCapturedDnsQuery) {
    const auto dgram = test::l4_of(test::bytes(tv::udp_dns_query));
    auto v = udp_view::check(dgram);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->src_port(), 37141);
    EXPECT_EQ(v->dst_port(), 5353);
    EXPECT_EQ(v->length(), 37);
    EXPECT_EQ(v->checksum(), 0xca67);
    EXPECT_TRUE(v->verify_checksum(host_a, host_b));
    auto r = udp_repr::parse(*v, host_a, host_b);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->src_port_, 37141);
    EXPECT_EQ(r->dst_port_, 5353);
    ASSERT_EQ(r->payload_.size(), 29u);
    EXPECT_EQ(test::hex(r->payload_.first(12)), "abcd01000001000000000000"); // DNS header: id, RD, 1 question
    EXPECT_EQ(r->payload_.data(), dgram.data() + 8);
}

TEST(Udp, ReEmitsByteExact) {
    struct vec {
        std::span<const std::byte> frame;
        ipv4_address src, dst;
    };
    for (const vec &t : {vec{test::bytes(tv::udp_dns_query), host_a, host_b},
                         vec{test::bytes(tv::udp_dns_response), host_b, host_a}}) {
        const auto dgram = test::l4_of(t.frame);
        auto r = udp_repr::parse(*udp_view::check(dgram), t.src, t.dst);
        ASSERT_TRUE(r);
        std::vector<std::byte> out(r->buffer_len());
        r->emit(out, t.src, t.dst);
        EXPECT_TRUE(test::same(out, dgram)) << test::hex(out);
    }
}

TEST(Udp, TruncatedAtEveryLengthIsRejected) {
    const auto dgram = test::l4_of(test::bytes(tv::udp_dns_query));
    for (std::size_t n = 0; n < dgram.size(); ++n) {
        auto v = udp_view::check(dgram.first(n));
        ASSERT_FALSE(v) << n;
        EXPECT_EQ(v.err(), err::truncated) << n;
    }
}

TEST(Udp, BadChecksumIsRejectedUnlessOffloaded) {
    auto dgram = copy_of(test::l4_of(test::bytes(tv::udp_dns_query)));
    dgram[10] ^= std::byte{0x80};
    auto v = udp_view::check(dgram);
    ASSERT_TRUE(v);
    EXPECT_FALSE(v->verify_checksum(host_a, host_b));
    EXPECT_EQ(udp_repr::parse(*v, host_a, host_b).err(), err::bad_checksum);
    EXPECT_TRUE(udp_repr::parse(*v, host_a, host_b, checksum_caps::offloaded()));
    // The pseudo-header matters: the right bytes from the wrong address fail.
    auto good = copy_of(test::l4_of(test::bytes(tv::udp_dns_query)));
    EXPECT_EQ(udp_repr::parse(*udp_view::check(good), host_a, ipv4_address(10, 0, 0, 3)).err(), err::bad_checksum);
}

TEST(Udp, ZeroChecksumMeansNone) {
    // RFC 768: a transmitted zero means the sender computed no checksum.
    auto dgram = copy_of(test::l4_of(test::bytes(tv::udp_dns_query)));
    dgram[6] = dgram[7] = std::byte{0};
    dgram[12] ^= std::byte{0xff}; // and the data is not what it was: nothing can tell
    auto r = udp_repr::parse(*udp_view::check(dgram), host_a, host_b);
    ASSERT_TRUE(r);
}

TEST(Udp, ComputedZeroIsSentAsAllOnes) {
    // Choose two payload bytes so the checksum comes out as zero (RFC 768: send 0xffff instead).
    udp_repr r{1000, 2000, {}};
    std::vector<std::byte> payload(2);
    r.payload_ = payload;
    std::vector<std::byte> out(r.buffer_len());
    r.emit(out, host_a, host_b);
    const std::uint16_t c = load_be16(out.data() + 6); // sum S with a zero word; c = ~S
    store_be16(payload.data(), c);                     // S + ~S = 0xffff: the checksum becomes 0
    r.emit(out, host_a, host_b);
    EXPECT_EQ(load_be16(out.data() + 6), 0xffff);
    auto v = udp_view::check(out);
    ASSERT_TRUE(v);
    EXPECT_TRUE(v->verify_checksum(host_a, host_b));
    auto w = udp_view_mut::check(out);
    w->set_checksum(0x1234);
    w->fill_checksum(host_a, host_b);
    EXPECT_EQ(w->checksum(), 0xffff);
}

TEST(Udp, OffloadSeedsPseudoHeaderSum) {
    auto r = udp_repr::parse(*udp_view::check(test::l4_of(test::bytes(tv::udp_dns_query))), host_a, host_b);
    ASSERT_TRUE(r);
    std::vector<std::byte> out(r->buffer_len());
    r->emit(out, host_a, host_b, checksum_caps::offloaded());
    // 0a00 + 0001 + 0a00 + 0002 + 0011 (UDP) + 0025 (length 37), uncomplemented, for the NIC to finish.
    EXPECT_EQ(load_be16(out.data() + 6), 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 0x0011 + 0x0025);
    checksum_caps zero_seed = checksum_caps::offloaded();
    zero_seed.tx_pseudo_header_seed_ = false;
    r->emit(out, host_a, host_b, zero_seed);
    EXPECT_EQ(load_be16(out.data() + 6), 0);
    // Finishing what the NIC would: sum from the checksum field on, complement, store.
    r->emit(out, host_a, host_b, checksum_caps::offloaded());
    checksum_accumulator nic;
    nic.add(out);
    store_be16(out.data() + 6, nic.checksum());
    EXPECT_EQ(load_be16(out.data() + 6), 0xca67);
}

TEST(Udp, MalformedIsRejected) {
    auto dgram = copy_of(test::l4_of(test::bytes(tv::udp_dns_query)));
    auto v = udp_view_mut::check(dgram);
    ASSERT_TRUE(v);
    v->set_dst_port(0);
    v->fill_checksum(host_a, host_b);
    EXPECT_EQ(udp_repr::parse(*v, host_a, host_b).err(), err::malformed);
    v->set_dst_port(53);
    v->set_src_port(0); // optional source port (RFC 768)
    v->fill_checksum(host_a, host_b);
    EXPECT_TRUE(udp_repr::parse(*v, host_a, host_b));
    for (std::uint16_t bad_len : {0, 1, 7}) {
        store_be16(dgram.data() + 4, bad_len);
        EXPECT_EQ(udp_view::check(dgram).err(), err::malformed) << bad_len;
    }
}

TEST(Udp, LengthShorterThanIpPayloadTrims) {
    auto dgram = copy_of(test::l4_of(test::bytes(tv::udp_dns_query)));
    dgram.resize(dgram.size() + 5, std::byte{0x55}); // extra bytes after the UDP length
    auto v = udp_view::check(dgram);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->bytes().size(), 37u);
    EXPECT_EQ(v->payload().size(), 29u);
    EXPECT_TRUE(udp_repr::parse(*v, host_a, host_b));
}

TEST(Udp, EmitCopiesOrKeepsPayloadInPlace) {
    const auto text = test::text_of("datagram");
    udp_repr r{4000, 4001, text};
    std::vector<std::byte> out(r.buffer_len());
    r.emit(out, host_a, host_b);
    auto back = udp_repr::parse(*udp_view::check(out), host_a, host_b);
    ASSERT_TRUE(back);
    EXPECT_TRUE(test::same(back->payload_, text));
    // In place: the payload is already at out[8] (a zero-copy push with headroom).
    std::vector<std::byte> buf(8 + text.size());
    std::copy(text.begin(), text.end(), buf.begin() + 8);
    udp_repr in_place{4000, 4001, std::span(buf).subspan(8)};
    in_place.emit(buf, host_a, host_b);
    EXPECT_TRUE(test::same(buf, out));
}

TEST(Udp, EmptyPayload) {
    udp_repr r{1, 2, {}};
    std::vector<std::byte> out(r.buffer_len());
    ASSERT_EQ(out.size(), 8u);
    r.emit(out, host_a, host_b);
    auto back = udp_repr::parse(*udp_view::check(out), host_a, host_b);
    ASSERT_TRUE(back);
    EXPECT_TRUE(back->payload_.empty());
}

} // namespace
} // namespace demi::wire
