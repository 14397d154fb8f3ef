// ARP: resolution with retries and give-up, the pending queue, TTL expiry, static entries, gateway
// routing, and answers to requests, checked byte for byte.
#include "harness.hpp"

namespace demi::net::test {
namespace {

const bytes_t request_a_for_b = hex("ffffffffffff 02000000000a 0806"
                                    "0001 0800 06 04 0001 02000000000a 0a000001 000000000000 0a000002");
const bytes_t reply_b_to_a = hex("02000000000a 02000000000b 0806"
                                 "0001 0800 06 04 0002 02000000000b 0a000002 02000000000a 0a000001");

class arp : public link_test {
protected:
    udp_socket_id open_a() {
        auto s = a_->udp_open();
        EXPECT_TRUE(a_->udp_bind(s, ipv4_address{}, 5000).has_value());
        return s;
    }
    udp_socket_id open_b() {
        auto s = b_->udp_open();
        EXPECT_TRUE(b_->udp_bind(s, ipv4_address{}, 7).has_value());
        return s;
    }
};

TEST_F(arp, resolves_then_sends_held_packet) {
    auto sa = open_a();
    auto sb = open_b();
    ASSERT_TRUE(a_->udp_sendto(now_, sa, {ip_b, 7}, to_bytes("one")).has_value());
    ASSERT_TRUE(a_->udp_sendto(now_, sa, {ip_b, 7}, to_bytes("two")).has_value());
    EXPECT_TRUE(a_->arp().resolving(ip_b));
    pump();
    ASSERT_GE(frames_.size(), 4u);
    EXPECT_EQ(frames_[0].from, 'a');
    EXPECT_EQ(dump(frames_[0].bytes), dump(request_a_for_b));
    EXPECT_EQ(frames_[1].from, 'b');
    EXPECT_EQ(dump(frames_[1].bytes), dump(reply_b_to_a));
    EXPECT_EQ(a_->stats().arp_requests_sent_, 1u);
    EXPECT_EQ(b_->stats().arp_replies_sent_, 1u);
    EXPECT_EQ(a_->arp_lookup(ip_b, now_), mac_b);
    EXPECT_EQ(b_->arp_lookup(ip_a, now_), mac_a); // RFC 826: the target learns the sender
    auto d1 = b_->udp_recv(sb);
    auto d2 = b_->udp_recv(sb);
    ASSERT_TRUE(d1.has_value());
    ASSERT_TRUE(d2.has_value());
    EXPECT_EQ(to_bytes(d1->payload_.bytes()), to_bytes("one"));
    EXPECT_EQ(to_bytes(d2->payload_.bytes()), to_bytes("two"));
    EXPECT_FALSE(a_->poll_at().has_value());
}

TEST_F(arp, retries_then_gives_up_and_drops_pending) {
    connected_ = false;
    auto sa = open_a();
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(a_->udp_sendto(now_, sa, {ip_b, 7}, to_bytes("x")).has_value());
    pump();
    const auto interval = a_->config().arp_.retry_interval_;
    const auto retries = a_->config().arp_.request_retries_;
    EXPECT_EQ(a_->stats().arp_requests_sent_, 1u);
    for (uint32_t i = 1; i <= retries; ++i) {
        ASSERT_EQ(a_->poll_at(), now_ + interval);
        advance(interval / 2);
        EXPECT_EQ(a_->stats().arp_requests_sent_, i); // not yet
        advance(interval / 2);
        EXPECT_EQ(a_->stats().arp_requests_sent_, i + 1);
    }
    EXPECT_EQ(a_->stats().arp_resolution_failures_, 0u);
    advance(interval);
    EXPECT_EQ(a_->stats().arp_requests_sent_, retries + 1);
    EXPECT_EQ(a_->stats().arp_resolution_failures_, 1u);
    EXPECT_EQ(a_->stats().arp_unresolved_drops_, 3u);
    EXPECT_FALSE(a_->arp().resolving(ip_b));
    EXPECT_FALSE(a_->poll_at().has_value());
    for (const auto &f : from('a')) EXPECT_EQ(dump(f), dump(request_a_for_b));
    EXPECT_EQ(from('a').size(), retries + 1);
}

TEST_F(arp, pending_queue_is_bounded) {
    auto ca = config_a();
    ca.arp_.max_pending_per_address_ = 2;
    make(ca, config_b());
    connected_ = false;
    auto sa = open_a();
    EXPECT_TRUE(a_->udp_sendto(now_, sa, {ip_b, 7}, to_bytes("1")).has_value());
    EXPECT_TRUE(a_->udp_sendto(now_, sa, {ip_b, 7}, to_bytes("2")).has_value());
    // A third send succeeds and pushes the oldest held packet out.
    EXPECT_TRUE(a_->udp_sendto(now_, sa, {ip_b, 7}, to_bytes("3")).has_value());
    EXPECT_EQ(a_->stats().arp_unresolved_drops_, 1u);
    // The two newest held packets go out, in order, once the address resolves.
    connected_ = true;
    auto sb = open_b();
    inject(*a_, reply_b_to_a);
    pump();
    for (const char *want : {"2", "3"}) {
        auto d = b_->udp_recv(sb);
        ASSERT_TRUE(d.has_value());
        EXPECT_EQ(to_bytes(d->payload_.bytes()), to_bytes(want));
    }
    EXPECT_EQ(b_->udp_recv(sb).code(), EAGAIN);
}

TEST_F(arp, learned_entry_expires_after_ttl) {
    auto sa = open_a();
    open_b();
    ASSERT_TRUE(a_->udp_sendto(now_, sa, {ip_b, 7}, to_bytes("x")).has_value());
    pump();
    const auto ttl = a_->config().arp_.entry_ttl_;
    now_ += ttl - 1ns;
    EXPECT_EQ(a_->arp_lookup(ip_b, now_), mac_b);
    ASSERT_TRUE(a_->udp_sendto(now_, sa, {ip_b, 7}, to_bytes("y")).has_value());
    pump();
    EXPECT_EQ(a_->stats().arp_requests_sent_, 1u);
    now_ += 1ns;
    EXPECT_FALSE(a_->arp_lookup(ip_b, now_).has_value());
    ASSERT_TRUE(a_->udp_sendto(now_, sa, {ip_b, 7}, to_bytes("z")).has_value());
    pump();
    EXPECT_EQ(a_->stats().arp_requests_sent_, 2u);
    EXPECT_EQ(a_->arp_lookup(ip_b, now_), mac_b);
}

TEST_F(arp, static_entry_needs_no_request_and_is_not_overwritten) {
    auto ca = config_a();
    ca.static_arp_.push_back({ip_b, mac_b});
    make(ca, config_b());
    auto sa = open_a();
    auto sb = open_b();
    ASSERT_TRUE(a_->udp_sendto(now_, sa, {ip_b, 7}, to_bytes("x")).has_value());
    pump();
    EXPECT_EQ(a_->stats().arp_requests_sent_, 0u);
    EXPECT_TRUE(b_->udp_recv(sb).has_value());
    // A reply claiming another MAC for ip_b, long after any TTL, changes nothing.
    now_ += 24h;
    inject(*a_, hex("02000000000a 02000000000c 0806 0001 0800 06 04 0002 02000000000c 0a000002 02000000000a 0a000001"));
    EXPECT_EQ(a_->arp_lookup(ip_b, now_), mac_b);
}

TEST_F(arp, off_subnet_goes_to_gateway_mac) {
    auto ca = config_a();
    ca.gateway_ = ip_gw;
    make(ca, config_b());
    connected_ = false;
    auto sa = open_a();
    const ipv4_address far{192, 168, 7, 9};
    ASSERT_TRUE(a_->udp_sendto(now_, sa, {far, 53}, to_bytes("q")).has_value());
    EXPECT_TRUE(a_->arp().resolving(ip_gw));
    EXPECT_FALSE(a_->arp().resolving(far));
    auto out = drain(*a_, now_);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(dump(out[0]), dump(hex("ffffffffffff 02000000000a 0806 0001 0800 06 04 0001 02000000000a 0a000001 "
                                     "000000000000 0a0000fe")));
    inject(*a_, hex("02000000000a 0200000000fe 0806 0001 0800 06 04 0002 0200000000fe 0a0000fe 02000000000a 0a000001"));
    out = drain(*a_, now_);
    ASSERT_EQ(out.size(), 1u);
    auto eth = wire::ethernet_view::check(std::span<const std::byte>(out[0]));
    ASSERT_TRUE(eth.has_value());
    EXPECT_EQ(eth->dst(), mac_gw);
    auto ip = wire::ipv4_view::check(eth->payload());
    ASSERT_TRUE(ip.has_value());
    EXPECT_EQ(ip->dst(), far);
    EXPECT_EQ(ip->src(), ip_a);
}

TEST_F(arp, off_subnet_without_gateway_is_unreachable) {
    auto sa = open_a();
    EXPECT_EQ(a_->udp_sendto(now_, sa, {ipv4_address{192, 168, 7, 9}, 53}, to_bytes("q")).code(), ENETUNREACH);
}

TEST_F(arp, answers_request_for_our_address_only) {
    // A request from B for A, byte for byte as Linux sends it (target hardware address zero).
    const bytes_t req = hex("ffffffffffff 02000000000b 0806 0001 0800 06 04 0001 02000000000b 0a000002 "
                            "000000000000 0a000001");
    inject(*a_, req);
    auto out = drain(*a_, now_);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(dump(out[0]), dump(hex("02000000000b 02000000000a 0806 0001 0800 06 04 0002 02000000000a 0a000001 "
                                     "02000000000b 0a000002")));
    // For someone else: no answer, nothing learned.
    inject(*a_, hex("ffffffffffff 02000000000c 0806 0001 0800 06 04 0001 02000000000c 0a000003 "
                    "000000000000 0a000009"));
    EXPECT_TRUE(drain(*a_, now_).empty());
    EXPECT_FALSE(a_->arp_lookup(ipv4_address(10, 0, 0, 3), now_).has_value());
    EXPECT_EQ(a_->stats().rx_not_for_us_drops_, 1u);
}

TEST_F(arp, ignores_broadcast_sender_and_claims_of_our_address) {
    inject(*a_, hex("ffffffffffff ffffffffffff 0806 0001 0800 06 04 0001 ffffffffffff 0a000002 "
                    "000000000000 0a000001"));
    inject(*a_, hex("ffffffffffff 02000000000c 0806 0001 0800 06 04 0001 02000000000c 0a000001 "
                    "000000000000 0a000001"));
    EXPECT_TRUE(drain(*a_, now_).empty());
    EXPECT_EQ(a_->stats().rx_malformed_drops_, 2u);
    EXPECT_FALSE(a_->arp_lookup(ip_b, now_).has_value());
}

TEST(arp_cache_unit, full_table_replaces_entry_closest_to_expiry) {
    arp_config cfg;
    cfg.max_entries_ = 2;
    arp_cache c(cfg);
    std::deque<buffer> rel;
    const time_point t0{};
    c.learn(ipv4_address(10, 0, 0, 1), mac_a, t0, true, rel);
    c.learn(ipv4_address(10, 0, 0, 2), mac_b, t0 + 1s, true, rel);
    c.learn(ipv4_address(10, 0, 0, 3), mac_gw, t0 + 2s, true, rel);
    EXPECT_EQ(c.size(), 2u);
    EXPECT_FALSE(c.lookup(ipv4_address(10, 0, 0, 1), t0 + 2s).has_value());
    EXPECT_EQ(c.lookup(ipv4_address(10, 0, 0, 3), t0 + 2s), mac_gw);
}

} // namespace
} // namespace demi::net::test
