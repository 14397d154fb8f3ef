// Local delivery: datagrams to our own address or to 127.0.0.0/8 never reach the device; poll() hands
// them back to our own receive path, one hop per poll (no recursion), whole up to 65535 bytes.
#include "harness.hpp"

namespace demi::net::test {
namespace {

class local : public link_test {
protected:
    /// Polls `a_` until its local queue is empty; returns the frames it emitted to the device.
    size_t settle() {
        size_t emitted = 0;
        for (int round = 0; round < 16; ++round) {
            a_->poll(now_, [&](buffer &&) { ++emitted; });
            if (a_->local_queued() == 0) break;
        }
        EXPECT_EQ(a_->local_queued(), 0u);
        return emitted;
    }
};

TEST_F(local, udp_to_our_own_address_stays_off_the_wire) {
    auto s1 = a_->udp_open();
    auto s2 = a_->udp_open();
    ASSERT_TRUE(a_->udp_bind(s1, ip_a, 5000).has_value());
    ASSERT_TRUE(a_->udp_bind(s2, ipv4_address{}, 5001).has_value());
    const bytes_t hello = to_bytes("to myself");
    ASSERT_TRUE(a_->udp_sendto(now_, s1, {ip_a, 5001}, hello).has_value());
    EXPECT_EQ(a_->local_queued(), 1u);
    EXPECT_EQ(a_->poll_at(), time_point::min());
    EXPECT_EQ(a_->udp_recv(s2).code(), EAGAIN); // not before the next poll
    EXPECT_EQ(settle(), 0u);
    auto d = a_->udp_recv(s2);
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(to_bytes(d->payload_.bytes()), hello);
    EXPECT_EQ(d->src_, (udp_endpoint{ip_a, 5000}));
    EXPECT_EQ(d->dst_, (udp_endpoint{ip_a, 5001}));
    EXPECT_EQ(a_->stats().local_delivered_, 1u);
    EXPECT_EQ(a_->stats().tx_frames_, 0u);
    EXPECT_FALSE(a_->poll_at().has_value());
}

// With transmit checksums offloaded to the device (and received ones verified in software), a local
// datagram never meets the device that would fill them: the interface computes them on delivery, so
// it arrives, and a damaged one would still be caught.
TEST_F(local, offloaded_transmit_checksums_are_filled_for_local_delivery) {
    auto ca = config_a();
    ca.caps_.ipv4_ = wire::checksum_mode::rx;
    ca.caps_.udp_ = wire::checksum_mode::rx;
    ca.caps_.tcp_ = wire::checksum_mode::rx;
    make(ca, config_b());
    auto s1 = a_->udp_open();
    auto s2 = a_->udp_open();
    ASSERT_TRUE(a_->udp_bind(s2, ip_a, 5001).has_value());
    const bytes_t hello = to_bytes("seeded, not summed");
    ASSERT_TRUE(a_->udp_sendto(now_, s1, {ip_a, 5001}, hello).has_value());
    EXPECT_EQ(settle(), 0u);
    auto d = a_->udp_recv(s2);
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(to_bytes(d->payload_.bytes()), hello);
    EXPECT_EQ(a_->stats().rx_bad_checksum_drops_, 0u);
}

TEST_F(local, loopback_range_uses_the_destination_as_source) {
    auto s1 = a_->udp_open();
    auto s2 = a_->udp_open();
    ASSERT_TRUE(a_->udp_bind(s2, ipv4_address{}, 7).has_value());
    const ipv4_address lo{127, 0, 0, 1};
    ASSERT_TRUE(a_->udp_sendto(now_, s1, {lo, 7}, to_bytes("ping")).has_value());
    EXPECT_EQ(settle(), 0u);
    auto d = a_->udp_recv(s2);
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->src_.addr_, lo);
    EXPECT_EQ(d->dst_, (udp_endpoint{lo, 7}));
    // The reply goes back the same way.
    ASSERT_TRUE(a_->udp_sendto(now_, s2, d->src_, to_bytes("pong")).has_value());
    EXPECT_EQ(settle(), 0u);
    auto e = a_->udp_recv(s1);
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(to_bytes(e->payload_.bytes()), to_bytes("pong"));
    EXPECT_EQ(e->src_, (udp_endpoint{lo, 7}));
}

TEST_F(local, large_datagrams_are_not_fragmented_locally) {
    auto s1 = a_->udp_open();
    auto s2 = a_->udp_open();
    ASSERT_TRUE(a_->udp_bind(s2, ip_a, 9).has_value());
    bytes_t big(60000);
    for (size_t i = 0; i < big.size(); ++i) big[i] = std::byte(static_cast<uint8_t>(i * 7));
    ASSERT_TRUE(a_->udp_sendto(now_, s1, {ip_a, 9}, big).has_value());
    EXPECT_EQ(settle(), 0u);
    auto d = a_->udp_recv(s2);
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(to_bytes(d->payload_.bytes()), big);
    // The 65535-byte IPv4 limit holds for both (the wire fragments what exceeds its MTU).
    EXPECT_EQ(a_->udp_sendto(now_, s1, {ip_a, 9}, bytes_t(65536)).code(), EMSGSIZE);
    EXPECT_EQ(a_->udp_sendto(now_, s1, {ip_b, 9}, bytes_t(65508)).code(), EMSGSIZE);
}

TEST_F(local, ping_ourselves) {
    const bytes_t data = to_bytes("echo");
    ASSERT_TRUE(a_->ping(now_, ip_a, 1, 1, data).has_value());
    EXPECT_EQ(settle(), 0u);
    auto r = a_->take_echo_reply();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->from_, ip_a);
    EXPECT_EQ(r->data_len_, data.size());
}

TEST_F(local, closed_local_port_answers_port_unreachable_locally) {
    auto s1 = a_->udp_open();
    ASSERT_TRUE(a_->udp_sendto(now_, s1, {ip_a, 4444}, to_bytes("x")).has_value());
    EXPECT_EQ(settle(), 0u);
    EXPECT_EQ(a_->stats().udp_no_port_drops_, 1u);
    EXPECT_EQ(a_->stats().icmp_unreachable_received_, 1u);
}

TEST_F(local, loopback_destination_from_the_wire_is_dropped) {
    auto s = a_->udp_open();
    ASSERT_TRUE(a_->udp_bind(s, ipv4_address{}, 7).has_value());
    const ipv4_address lo{127, 0, 0, 1};
    auto frame = ipv4_frame(mac_b, mac_a, ip_header(ip_b, lo, wire::ip_protocol::udp),
                            udp_datagram_bytes(ip_b, lo, 1000, 7, to_bytes("spoof")));
    a_->receive(to_buffer(frame), now_);
    EXPECT_EQ(a_->udp_recv(s).code(), EAGAIN);
    EXPECT_EQ(a_->stats().rx_not_for_us_drops_, 1u);
}

} // namespace
} // namespace demi::net::test
