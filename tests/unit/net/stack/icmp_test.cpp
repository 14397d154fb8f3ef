// ICMP: echo answered with the exact reply (RFC 792), pings from the stack matched both ways, broadcast
// and unmatched echoes dropped.
#include "harness.hpp"

namespace demi::net::test {
namespace {

const bytes_t echo_request = hex("08 00 5435 1234 0001 6162636465666768");
const bytes_t echo_reply_bytes = hex("00 00 5c35 1234 0001 6162636465666768");

/// The IPv4 identification the interface built with `seed` uses first (a counter from the rng's first
/// value).
uint16_t first_ident(uint64_t seed) {
    rng r(seed);
    return static_cast<uint16_t>(r.next());
}

class icmp : public link_test {};

TEST_F(icmp, echo_request_gets_exact_reply) {
    a_->add_static_arp(ip_b, mac_b);
    inject(*a_, ipv4_frame(mac_b, mac_a, ip_header(ip_b, ip_a, wire::ip_protocol::icmp), echo_request));
    auto out = drain(*a_, now_);
    ASSERT_EQ(out.size(), 1u);
    wire::ipv4_repr ip = ip_header(ip_a, ip_b, wire::ip_protocol::icmp, first_ident(1));
    EXPECT_EQ(dump(out[0]), dump(ipv4_frame(mac_a, mac_b, ip, echo_reply_bytes)));
    EXPECT_EQ(a_->stats().icmp_echo_replies_sent_, 1u);
}

TEST_F(icmp, echo_reply_header_bytes_are_exact) {
    // The whole reply spelled out: IPv4 header with its checksum, then the ICMP message.
    a_->add_static_arp(ip_b, mac_b);
    inject(*a_, ipv4_frame(mac_b, mac_a, ip_header(ip_b, ip_a, wire::ip_protocol::icmp), echo_request));
    auto out = drain(*a_, now_);
    ASSERT_EQ(out.size(), 1u);
    const uint16_t id = first_ident(1);
    bytes_t hdr = hex("4500 0024 0000 0000 4001 0000 0a000001 0a000002");
    wire::store_be16(hdr.data() + 4, id);
    wire::store_be16(hdr.data() + 10, wire::internet_checksum(hdr));
    bytes_t expected = hex("02000000000b 02000000000a 0800");
    expected.insert(expected.end(), hdr.begin(), hdr.end());
    expected.insert(expected.end(), echo_reply_bytes.begin(), echo_reply_bytes.end());
    EXPECT_EQ(dump(out[0]), dump(expected));
}

TEST_F(icmp, ping_both_ways) {
    const bytes_t data = to_bytes("0123456789abcdef");
    ASSERT_TRUE(a_->ping(now_, ip_b, 7, 1, data).has_value());
    pump();
    auto r = a_->take_echo_reply();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->from_, ip_b);
    EXPECT_EQ(r->ident_, 7);
    EXPECT_EQ(r->seq_no_, 1);
    EXPECT_EQ(r->data_len_, data.size());
    EXPECT_FALSE(a_->take_echo_reply().has_value());
    EXPECT_EQ(b_->stats().icmp_echo_replies_sent_, 1u);

    now_ += 5ms;
    ASSERT_TRUE(b_->ping(now_, ip_a, 9, 2, data).has_value());
    const time_point sent = now_;
    now_ += 1ms;
    pump();
    auto r2 = b_->take_echo_reply();
    ASSERT_TRUE(r2.has_value());
    EXPECT_EQ(r2->from_, ip_a);
    EXPECT_EQ(r2->seq_no_, 2);
    EXPECT_EQ(r2->sent_, sent);
    EXPECT_EQ(r2->received_, now_);
    // The reply's ICMP message is the request's with type 0 and the checksum adjusted.
    auto frames = from('a');
    ASSERT_FALSE(frames.empty());
    const bytes_t &reply = frames.back();
    ASSERT_EQ(reply.size(), 14u + 20 + 8 + data.size());
    EXPECT_EQ(std::to_integer<int>(reply[34]), 0);
    EXPECT_EQ(bytes_t(reply.begin() + 42, reply.end()), data);
}

TEST_F(icmp, unmatched_echo_reply_is_dropped) {
    ASSERT_TRUE(a_->ping(now_, ip_b, 7, 1, to_bytes("abcdefgh")).has_value());
    // A reply with another sequence number, and one from another host.
    inject(*a_, ipv4_frame(mac_b, mac_a, ip_header(ip_b, ip_a, wire::ip_protocol::icmp),
                           hex("00 00 5c34 1234 0002 6162636465666768")));
    inject(*a_, ipv4_frame(mac_b, mac_a, ip_header(ip_b, ip_a, wire::ip_protocol::icmp), echo_reply_bytes));
    EXPECT_FALSE(a_->take_echo_reply().has_value());
    EXPECT_EQ(a_->stats().rx_not_for_us_drops_, 2u);
}

TEST_F(icmp, echo_to_broadcast_is_not_answered) {
    a_->add_static_arp(ip_b, mac_b);
    inject(*a_, ipv4_frame(mac_b, ethernet_address::broadcast(),
                           ip_header(ip_b, ipv4_address(10, 0, 0, 255), wire::ip_protocol::icmp), echo_request));
    EXPECT_TRUE(drain(*a_, now_).empty());
    EXPECT_EQ(a_->stats().icmp_echo_replies_sent_, 0u);
}

TEST_F(icmp, bad_icmp_checksum_is_dropped) {
    bytes_t bad = echo_request;
    bad[3] ^= std::byte{1};
    inject(*a_, ipv4_frame(mac_b, mac_a, ip_header(ip_b, ip_a, wire::ip_protocol::icmp), bad));
    EXPECT_TRUE(drain(*a_, now_).empty());
    EXPECT_EQ(a_->stats().rx_bad_checksum_drops_, 1u);
}

} // namespace
} // namespace demi::net::test
