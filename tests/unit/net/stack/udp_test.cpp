// UDP sockets: exchange with exact payloads and source addresses, ephemeral ports from the rng,
// binding rules, the bounded receive queue, port unreachable, zero-copy sends.
#include "harness.hpp"

#include <set>

namespace demi::net::test {
namespace {

class udp : public link_test {};

TEST_F(udp, exchange_with_source_addresses) {
    auto sa = a_->udp_open();
    auto sb = b_->udp_open();
    auto la = a_->udp_bind(sa, ipv4_address{}, 0);
    ASSERT_TRUE(la.has_value());
    ASSERT_TRUE(b_->udp_bind(sb, ip_b, 7).has_value());
    const bytes_t hello = to_bytes("hello, demi");
    ASSERT_TRUE(a_->udp_sendto(now_, sa, {ip_b, 7}, hello).has_value());
    pump();
    auto d = b_->udp_recv(sb);
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(to_bytes(d->payload_.bytes()), hello);
    EXPECT_EQ(d->src_, (udp_endpoint{ip_a, la->port_}));
    EXPECT_EQ(d->dst_, (udp_endpoint{ip_b, 7}));
    // Echo it back to where it came from.
    const bytes_t reply = to_bytes("and back");
    ASSERT_TRUE(b_->udp_sendto(now_, sb, d->src_, reply).has_value());
    pump();
    auto e = a_->udp_recv(sa);
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(to_bytes(e->payload_.bytes()), reply);
    EXPECT_EQ(e->src_, (udp_endpoint{ip_b, 7}));
    EXPECT_EQ(a_->udp_recv(sa).code(), EAGAIN);
    EXPECT_EQ(b_->stats().udp_delivered_, 1u);
    EXPECT_EQ(a_->stats().udp_delivered_, 1u);
}

TEST_F(udp, empty_datagram) {
    auto sa = a_->udp_open();
    auto sb = b_->udp_open();
    ASSERT_TRUE(b_->udp_bind(sb, ipv4_address{}, 9).has_value());
    ASSERT_TRUE(a_->udp_sendto(now_, sa, {ip_b, 9}, std::span<const std::byte>{}).has_value());
    pump();
    auto d = b_->udp_recv(sb);
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->payload_.size(), 0u);
    // The unbound sender was bound to an ephemeral port by the send.
    EXPECT_GE(d->src_.port_, 49152);
    EXPECT_EQ(a_->udp_local(sa)->port_, d->src_.port_);
}

TEST_F(udp, exact_datagram_bytes) {
    a_->add_static_arp(ip_b, mac_b);
    auto sa = a_->udp_open();
    ASSERT_TRUE(a_->udp_bind(sa, ip_a, 0x1000).has_value());
    ASSERT_TRUE(a_->udp_sendto(now_, sa, {ip_b, 0x2000}, to_bytes("ab")).has_value());
    auto out = drain(*a_, now_);
    ASSERT_EQ(out.size(), 1u);
    // UDP header: ports, length 10, checksum over the pseudo-header (RFC 768).
    const bytes_t udp_bytes = udp_datagram_bytes(ip_a, ip_b, 0x1000, 0x2000, to_bytes("ab"));
    EXPECT_EQ(dump(bytes_t(out[0].begin() + 34, out[0].begin() + 40)), dump(hex("1000 2000 000a")));
    EXPECT_EQ(bytes_t(out[0].begin() + 34, out[0].end()), udp_bytes);
}

TEST_F(udp, ephemeral_port_comes_from_the_rng) {
    rng expect(1);
    (void)expect.next(); // the interface's IPv4 identification seed
    const uint16_t first = static_cast<uint16_t>(49152 + expect.below(16384));
    auto s = a_->udp_open();
    auto l = a_->udp_bind(s, ipv4_address{}, 0);
    ASSERT_TRUE(l.has_value());
    EXPECT_EQ(l->port_, first);
}

TEST_F(udp, ephemeral_ports_are_distinct_and_in_range) {
    std::set<uint16_t> ports;
    for (int i = 0; i < 200; ++i) {
        auto s = a_->udp_open();
        auto l = a_->udp_bind(s, ipv4_address{}, 0);
        ASSERT_TRUE(l.has_value());
        EXPECT_GE(l->port_, 49152);
        ports.insert(l->port_);
    }
    EXPECT_EQ(ports.size(), 200u);
}

TEST_F(udp, ephemeral_range_exhausted) {
    auto ca = config_a();
    ca.udp_.ephemeral_first_ = 60000;
    ca.udp_.ephemeral_last_ = 60002;
    make(ca, config_b());
    std::set<uint16_t> ports;
    for (int i = 0; i < 3; ++i) {
        auto l = a_->udp_bind(a_->udp_open(), ipv4_address{}, 0);
        ASSERT_TRUE(l.has_value());
        ports.insert(l->port_);
    }
    EXPECT_EQ(ports, (std::set<uint16_t>{60000, 60001, 60002}));
    EXPECT_EQ(a_->udp_bind(a_->udp_open(), ipv4_address{}, 0).code(), EADDRINUSE);
}

TEST_F(udp, bind_rules) {
    auto s1 = a_->udp_open();
    auto s2 = a_->udp_open();
    ASSERT_TRUE(a_->udp_bind(s1, ipv4_address{}, 80).has_value());
    EXPECT_EQ(a_->udp_bind(s1, ipv4_address{}, 81).code(), EINVAL);
    EXPECT_EQ(a_->udp_bind(s2, ip_a, 80).code(), EADDRINUSE);
    EXPECT_EQ(a_->udp_bind(s2, ip_b, 81).code(), EADDRNOTAVAIL);
    EXPECT_EQ(a_->udp_bind(999, ipv4_address{}, 81).code(), EBADF);
    ASSERT_TRUE(a_->udp_close(s1).has_value());
    EXPECT_TRUE(a_->udp_bind(s2, ip_a, 80).has_value());
    EXPECT_EQ(a_->udp_close(s1).code(), EBADF);
    EXPECT_EQ(a_->udp_recv(s1).code(), EBADF);
}

TEST_F(udp, socket_bound_to_address_ignores_broadcast) {
    auto sany = b_->udp_open();
    ASSERT_TRUE(b_->udp_bind(sany, ipv4_address{}, 67).has_value());
    const bytes_t dg = udp_datagram_bytes(ip_a, ipv4_address::broadcast(), 68, 67, to_bytes("dhcp?"));
    inject(*b_, ipv4_frame(mac_a, ethernet_address::broadcast(),
                           ip_header(ip_a, ipv4_address::broadcast(), wire::ip_protocol::udp), dg));
    EXPECT_TRUE(b_->udp_recv(sany).has_value());
    ASSERT_TRUE(b_->udp_close(sany).has_value());
    auto sbound = b_->udp_open();
    ASSERT_TRUE(b_->udp_bind(sbound, ip_b, 67).has_value());
    inject(*b_, ipv4_frame(mac_a, ethernet_address::broadcast(),
                           ip_header(ip_a, ipv4_address::broadcast(), wire::ip_protocol::udp), dg));
    EXPECT_EQ(b_->udp_recv(sbound).code(), EAGAIN);
    // No port unreachable for a broadcast (RFC 1122 §3.2.2).
    EXPECT_TRUE(drain(*b_, now_).empty());
}

TEST_F(udp, receive_queue_is_bounded) {
    auto cb = config_b();
    cb.udp_.recv_queue_limit_ = 2;
    make(config_a(), cb);
    auto sa = a_->udp_open();
    auto sb = b_->udp_open();
    ASSERT_TRUE(b_->udp_bind(sb, ipv4_address{}, 7).has_value());
    for (int i = 0; i < 5; ++i) {
        const bytes_t msg{static_cast<std::byte>('0' + i)};
        ASSERT_TRUE(a_->udp_sendto(now_, sa, {ip_b, 7}, msg).has_value());
    }
    pump();
    EXPECT_EQ(b_->udp_drops(sb), 3u);
    EXPECT_EQ(b_->stats().udp_queue_full_drops_, 3u);
    EXPECT_EQ(to_bytes(b_->udp_recv(sb)->payload_.bytes()), to_bytes("0"));
    EXPECT_EQ(to_bytes(b_->udp_recv(sb)->payload_.bytes()), to_bytes("1"));
    EXPECT_EQ(b_->udp_recv(sb).code(), EAGAIN);
}

TEST_F(udp, queued_count_covers_every_socket) {
    auto sa = a_->udp_open();
    auto s1 = b_->udp_open();
    auto s2 = b_->udp_open();
    ASSERT_TRUE(b_->udp_bind(s1, ipv4_address{}, 7).has_value());
    ASSERT_TRUE(b_->udp_bind(s2, ipv4_address{}, 8).has_value());
    for (uint16_t port : {7, 8, 8, 7, 8})
        ASSERT_TRUE(a_->udp_sendto(now_, sa, {ip_b, port}, to_bytes("x")).has_value());
    pump();
    EXPECT_EQ(b_->udp_queued(), 5u);
    ASSERT_TRUE(b_->udp_recv(s2).has_value());
    EXPECT_EQ(b_->udp_queued(), 4u);
    EXPECT_EQ(b_->udp_recv(s1).has_value(), true);
    EXPECT_EQ(b_->udp_queued(), 3u);
    // Closing a socket drops its queue (two on port 8), and the count with it.
    ASSERT_TRUE(b_->udp_close(s2).has_value());
    EXPECT_EQ(b_->udp_queued(), 1u);
    ASSERT_TRUE(b_->udp_recv(s1).has_value());
    EXPECT_EQ(b_->udp_queued(), 0u);
    EXPECT_EQ(b_->udp_recv(s1).code(), EAGAIN);
    EXPECT_EQ(b_->udp_queued(), 0u);
}

TEST_F(udp, closed_port_gets_port_unreachable_quoting_the_datagram) {
    auto sa = a_->udp_open();
    ASSERT_TRUE(a_->udp_bind(sa, ipv4_address{}, 4000).has_value());
    ASSERT_TRUE(a_->udp_sendto(now_, sa, {ip_b, 9}, to_bytes("anyone?")).has_value());
    pump();
    EXPECT_EQ(b_->stats().udp_no_port_drops_, 1u);
    EXPECT_EQ(b_->stats().icmp_unreachable_sent_, 1u);
    EXPECT_EQ(a_->stats().icmp_unreachable_received_, 1u);
    // The last frame from A is the datagram; the last from B the ICMP error.
    const bytes_t sent = from('a').back();
    const bytes_t err = from('b').back();
    const bytes_t original(sent.begin() + 14, sent.end()); // IPv4 header + UDP datagram
    ASSERT_EQ(err.size(), 14u + 20 + 8 + original.size());
    auto ip = wire::ipv4_view::check(std::span<const std::byte>(err).subspan(14));
    ASSERT_TRUE(ip.has_value());
    EXPECT_EQ(ip->src(), ip_b);
    EXPECT_EQ(ip->dst(), ip_a);
    EXPECT_EQ(ip->protocol(), wire::ip_protocol::icmp);
    bytes_t expected_icmp = hex("03 03 0000 00000000");
    expected_icmp.insert(expected_icmp.end(), original.begin(), original.end());
    wire::store_be16(expected_icmp.data() + 2, wire::internet_checksum(expected_icmp));
    EXPECT_EQ(dump(bytes_t(err.begin() + 34, err.end())), dump(expected_icmp));
}

TEST_F(udp, send_prepends_into_headroom_without_copy) {
    a_->add_static_arp(ip_b, mac_b);
    auto sa = a_->udp_open();
    auto b = mem::heap_allocate(16, 64);
    ASSERT_TRUE(b.has_value());
    std::memset(b->data(), 0x5a, 16);
    const std::byte *payload_at = b->data();
    ASSERT_TRUE(a_->udp_sendto(now_, sa, {ip_b, 7}, std::move(*b)).has_value());
    const std::byte *frame_at = nullptr;
    a_->poll(now_, [&](buffer &&f) { frame_at = f.data(); });
    EXPECT_EQ(frame_at, payload_at - udp_headroom);
}

TEST_F(udp, send_copies_without_headroom_or_when_shared) {
    a_->add_static_arp(ip_b, mac_b);
    auto sa = a_->udp_open();
    auto small = mem::heap_allocate(16, 0);
    ASSERT_TRUE(small.has_value());
    std::memset(small->data(), 0x5a, 16);
    ASSERT_TRUE(a_->udp_sendto(now_, sa, {ip_b, 7}, std::move(*small)).has_value());
    auto shared = mem::heap_allocate(16, 64);
    ASSERT_TRUE(shared.has_value());
    std::memset(shared->data(), 0x5b, 16);
    ASSERT_TRUE(a_->udp_sendto(now_, sa, {ip_b, 7}, *shared).has_value()); // the caller keeps a reference
    ASSERT_TRUE(a_->udp_sendto(now_, sa, {ip_b, 7}, *shared).has_value());
    std::vector<buffer> frames;
    a_->poll(now_, [&](buffer &&f) { frames.push_back(std::move(f)); });
    ASSERT_EQ(frames.size(), 3u);
    for (const auto &f : frames) {
        EXPECT_EQ(f.size(), 14u + 20 + 8 + 16);
        EXPECT_NE(f.block(), shared->block());
    }
    EXPECT_EQ(std::to_integer<int>(frames[0].bytes()[42]), 0x5a);
    EXPECT_EQ(std::to_integer<int>(frames[2].bytes()[42]), 0x5b);
    EXPECT_EQ(shared->use_count(), 1u);
}

// The overload for callers whose exact time costs a clock read: the template is checked at the
// recent time and the clock is asked only when the datagram takes the generic path.
TEST_F(udp, recent_time_send_asks_the_clock_only_off_the_template) {
    a_->add_static_arp(ip_b, mac_b);
    auto sa = a_->udp_open();
    int asked = 0;
    const auto clock = [&] {
        ++asked;
        return now_;
    };
    const bytes_t d = to_bytes("x");
    ASSERT_TRUE(a_->udp_sendto(now_, clock, sa, {ip_b, 7}, to_buffer(d)).has_value()); // generic
    ASSERT_TRUE(a_->udp_sendto(now_, clock, sa, {ip_b, 7}, to_buffer(d)).has_value()); // generic, builds
    EXPECT_EQ(asked, 2);
    EXPECT_EQ(a_->stats().udp_template_sends_, 1u);
    ASSERT_TRUE(a_->udp_sendto(now_, clock, sa, {ip_b, 7}, to_buffer(d)).has_value()); // template
    EXPECT_EQ(asked, 2);
    EXPECT_EQ(a_->stats().udp_template_sends_, 2u);
    ASSERT_TRUE(a_->udp_sendto(now_, clock, sa, {ip_b, 9}, to_buffer(d)).has_value()); // another port
    EXPECT_EQ(asked, 3);
    EXPECT_EQ(drain(*a_, now_).size(), 4u);
}

// A server answering many clients in turn: each of the socket's last 16 destinations keeps its own
// template (made on its second datagram); with more destinations in turn than that, each is pushed
// out before its next datagram and none is built (nor asked for the clock's time in vain).
TEST_F(udp, templates_for_each_recent_destination) {
    a_->add_static_arp(ip_b, mac_b);
    auto sa = a_->udp_open();
    ASSERT_TRUE(a_->udp_bind(sa, ipv4_address{}, 4000).has_value());
    const bytes_t d = to_bytes("ping");
    int asked = 0;
    const auto clock = [&] {
        ++asked;
        return now_;
    };
    const auto round = [&](uint16_t first_port, uint16_t clients) {
        for (uint16_t p = 0; p < clients; ++p)
            ASSERT_TRUE(a_->udp_sendto(now_, clock, sa, {ip_b, static_cast<uint16_t>(first_port + p)}, to_buffer(d))
                            .has_value());
        EXPECT_EQ(drain(*a_, now_).size(), clients);
    };
    constexpr uint16_t n = udp_template_cache::max_entries;
    round(5000, n); // first datagrams: generic
    EXPECT_EQ(a_->stats().udp_template_sends_, 0u);
    round(5000, n); // seconds: built
    round(5000, n); // from the templates, no clock read
    EXPECT_EQ(a_->stats().udp_template_sends_, 2u * n);
    EXPECT_EQ(asked, 2 * n);
    // One more client than there are entries, in turn: each one's entry is gone when it comes round.
    round(6000, n + 1);
    round(6000, n + 1);
    round(6000, n + 1);
    EXPECT_EQ(a_->stats().udp_template_sends_, 2u * n);
    // Fewer again: templates from the second round.
    round(7000, 4);
    round(7000, 4);
    round(7000, 4);
    EXPECT_EQ(a_->stats().udp_template_sends_, 2u * n + 8);
}

// The entry replaced is the one used longest ago: a busy client keeps its template while one-off
// destinations come and go between its datagrams.
TEST_F(udp, busy_destination_keeps_its_template_among_one_off_ones) {
    a_->add_static_arp(ip_b, mac_b);
    auto sa = a_->udp_open();
    ASSERT_TRUE(a_->udp_bind(sa, ipv4_address{}, 4000).has_value());
    const bytes_t d = to_bytes("q");
    const udp_endpoint busy{ip_b, 53};
    constexpr int others = 3 * static_cast<int>(udp_template_cache::max_entries);
    for (int i = 0; i <= others; ++i) {
        ASSERT_TRUE(a_->udp_sendto(now_, sa, busy, to_buffer(d)).has_value());
        for (int k = 0; i < others && k < 2; ++k) { // two one-off destinations between its datagrams
            const udp_endpoint once{ip_b, static_cast<uint16_t>(20000 + 2 * i + k)};
            ASSERT_TRUE(a_->udp_sendto(now_, sa, once, to_buffer(d)).has_value());
        }
        drain(*a_, now_);
    }
    // The busy destination's first datagram goes the generic way, every later one from its template;
    // none of the one-off destinations gets one.
    EXPECT_EQ(a_->stats().udp_template_sends_, static_cast<uint64_t>(others));
}

// RFC 791 §3.2: a datagram larger than the MTU leaves in fragments of one identification, each at
// most the MTU, offsets in 8-octet units, MF on all but the last; the peer reassembles it byte-exact.
TEST_F(udp, larger_than_the_mtu_is_fragmented) {
    auto sa = a_->udp_open();
    auto sb = b_->udp_open();
    ASSERT_TRUE(b_->udp_bind(sb, ip_b, 7).has_value());
    for (size_t size : {1473u, 4000u, 65507u}) {
        bytes_t data(size);
        for (size_t i = 0; i < size; ++i) data[i] = std::byte(static_cast<uint8_t>(i * 13 + (i >> 9)));
        frames_.clear();
        auto sr = a_->udp_sendto(now_, sa, {ip_b, 7}, data);
        ASSERT_TRUE(sr.has_value()) << size << ": " << sr.code();
        pump();
        std::vector<bytes_t> sent; // IPv4 frames only (the first send also resolves b's address)
        for (auto &f : from('a'))
            if (std::to_integer<int>(f[12]) == 0x08 && std::to_integer<int>(f[13]) == 0x00) sent.push_back(f);
        const size_t per = (1500 - 20) / 8 * 8; // 1480 octets of IP payload per full fragment
        ASSERT_EQ(sent.size(), (size + 8 + per - 1) / per) << size;
        uint16_t ident = 0;
        for (size_t i = 0; i < sent.size(); ++i) {
            const auto &f = sent[i];
            ASSERT_LE(f.size(), 14u + 1500u);
            auto vr = wire::basic_ipv4_view<const std::byte>::check(std::span<const std::byte>(f).subspan(14));
            ASSERT_TRUE(vr.has_value());
            const auto &v = *vr;
            if (i == 0) ident = v.ident();
            EXPECT_EQ(v.ident(), ident);
            EXPECT_EQ(v.frag_offset(), i * per);
            EXPECT_EQ(v.more_frags(), i + 1 < sent.size());
        }
        auto d = b_->udp_recv(sb);
        ASSERT_TRUE(d.has_value()) << size;
        EXPECT_EQ(to_bytes(d->payload_.bytes()), data) << size;
    }
    EXPECT_EQ(a_->stats().frag_sent_, 2u + 3u + 45u);
}

TEST_F(udp, too_large_and_bad_destinations) {
    auto sa = a_->udp_open();
    // Beyond IPv4's 65535 bytes there is no datagram; larger than the MTU is fragmented (below).
    const bytes_t big(65535 - 28 + 1);
    EXPECT_EQ(a_->udp_sendto(now_, sa, {ip_b, 7}, big).code(), EMSGSIZE);
    const bytes_t fits(1500 - 28);
    EXPECT_TRUE(a_->udp_sendto(now_, sa, {ip_b, 7}, fits).has_value());
    EXPECT_EQ(a_->udp_sendto(now_, sa, {ip_b, 0}, fits).code(), EINVAL);
    EXPECT_EQ(a_->udp_sendto(now_, sa, {ipv4_address(224, 0, 0, 1), 7}, fits).code(), EINVAL);
    EXPECT_EQ(a_->udp_sendto(now_, 4242, {ip_b, 7}, fits).code(), EBADF);
}

TEST_F(udp, bad_checksum_dropped_unless_offloaded) {
    auto sb = b_->udp_open();
    ASSERT_TRUE(b_->udp_bind(sb, ipv4_address{}, 7).has_value());
    bytes_t dg = udp_datagram_bytes(ip_a, ip_b, 1000, 7, to_bytes("data"));
    dg[6] ^= std::byte{0x40};
    const bytes_t frame = ipv4_frame(mac_a, mac_b, ip_header(ip_a, ip_b, wire::ip_protocol::udp), dg);
    inject(*b_, frame);
    EXPECT_EQ(b_->udp_recv(sb).code(), EAGAIN);
    EXPECT_EQ(b_->stats().rx_bad_checksum_drops_, 1u);
    auto cb = config_b();
    cb.caps_ = wire::checksum_caps::offloaded();
    make(config_a(), cb);
    sb = b_->udp_open();
    ASSERT_TRUE(b_->udp_bind(sb, ipv4_address{}, 7).has_value());
    inject(*b_, frame);
    EXPECT_TRUE(b_->udp_recv(sb).has_value());
}

} // namespace
} // namespace demi::net::test

namespace demi::net::test {
namespace {

// A socket's header template (udp_header_template) must put on the wire exactly what the generic
// path would: the frames are compared byte for byte with the wire encoding of each datagram, for
// every checksum mode, through runs of one destination (template) and changes of destination,
// gateway routes, broadcasts and fragments (generic), a next hop whose MAC changes, and one whose
// ARP entry expires (the template must not outlive it).
TEST(udp_template, frames_are_the_wire_encoding_of_each_datagram) {
    const ethernet_address mac_b2{0x02, 0, 0, 0, 0, 0x2b};
    wire::checksum_caps ip_only = wire::checksum_caps::offloaded();
    ip_only.ipv4_ = wire::checksum_mode::both;
    wire::checksum_caps no_seed = wire::checksum_caps::offloaded();
    no_seed.tx_pseudo_header_seed_ = false;
    const ipv4_address far{192, 168, 7, 9};
    const ipv4_address directed{10, 0, 0, 255};
    for (const auto &caps : {wire::checksum_caps::software(), wire::checksum_caps::offloaded(), ip_only, no_seed}) {
        SCOPED_TRACE(testing::Message() << "ipv4 checksum computed " << wire::computes(caps.ipv4_)
                                        << ", udp computed " << wire::computes(caps.udp_) << ", seed "
                                        << caps.tx_pseudo_header_seed_);
        rng ra(1);
        auto ca = config_a();
        ca.caps_ = caps;
        ca.gateway_ = ip_gw;
        ca.static_arp_.push_back({ip_gw, mac_gw});
        interface a(ca, ra);
        time_point now{std::chrono::seconds(1000)};
        auto s = a.udp_open();
        ASSERT_TRUE(a.udp_bind(s, ipv4_address{}, 4000).has_value());
        const auto learn_b = [&](ethernet_address mac) { // an ARP reply from ip_b with `mac`
            bytes_t f(14 + wire::arp_repr::buffer_len());
            wire::ethernet_repr{mac, mac_a, wire::ethertype::arp}.emit(f);
            wire::arp_repr{wire::arp_operation::reply, mac, ip_b, mac_a, ip_a}.emit(std::span(f).subspan(14));
            a.receive(to_buffer(f), now);
        };
        learn_b(mac_b);
        const auto drain = [&] {
            std::vector<bytes_t> out;
            a.poll(now, [&](buffer &&f) { out.push_back(to_bytes(f.bytes())); });
            return out;
        };
        std::optional<uint16_t> last_ident;
        uint64_t sent = 0;
        // Sends `size` bytes to `dst` and checks the one IPv4 frame that leaves (`to_mac`), or that
        // none leaves (`to_mac` empty: held for ARP).
        const auto send_data = [&](udp_endpoint dst, const bytes_t &data, std::optional<ethernet_address> to_mac) {
            const size_t size = data.size();
            SCOPED_TRACE(testing::Message() << dst.addr_.to_string() << ":" << dst.port_ << " " << size << " B");
            ASSERT_TRUE(a.udp_sendto(now, s, dst, data).has_value());
            std::vector<bytes_t> ip_frames;
            for (auto &f : drain())
                if (std::to_integer<int>(f[12]) == 0x08 && std::to_integer<int>(f[13]) == 0x00) ip_frames.push_back(f);
            if (!to_mac) {
                EXPECT_TRUE(ip_frames.empty());
                return;
            }
            ASSERT_EQ(ip_frames.size(), 1u);
            const bytes_t &f = ip_frames[0];
            const uint16_t ident = wire::load_be16(f.data() + 18);
            if (last_ident) {
                EXPECT_EQ(ident, static_cast<uint16_t>(*last_ident + 1)); // one ident per datagram
            }
            last_ident = ident;
            bytes_t expect(14 + 20 + 8 + size);
            wire::ethernet_repr{mac_a, *to_mac, wire::ethertype::ipv4}.emit(expect);
            wire::ipv4_repr ip = ip_header(ip_a, dst.addr_, wire::ip_protocol::udp, ident);
            ip.payload_len_ = static_cast<uint16_t>(8 + size);
            ip.emit(std::span(expect).subspan(14), caps);
            wire::udp_repr{4000, dst.port_, data}.emit(std::span(expect).subspan(34), ip_a, dst.addr_, caps);
            EXPECT_EQ(dump(f), dump(expect));
            ++sent;
        };
        const auto send = [&](udp_endpoint dst, size_t size, std::optional<ethernet_address> to_mac) {
            bytes_t data(size);
            for (size_t i = 0; i < size; ++i) data[i] = std::byte(static_cast<uint8_t>(i * 7 + size));
            send_data(dst, data, to_mac);
        };
        const udp_endpoint b7{ip_b, 7};
        send(b7, 0, mac_b); // the first to b7: generic
        for (size_t n : {1u, 7u, 64u, 1471u, 1472u}) send(b7, n, mac_b); // from the template
        EXPECT_EQ(a.stats().udp_template_sends_, 5u);
        {
            // Two bytes that make the sum come out all ones: the computed checksum is zero and goes on
            // the wire as 0xffff (RFC 768).
            auto acc = wire::ipv4_pseudo_header(ip_a, ip_b, 17, 10);
            acc.add16(4000).add16(7).add16(10);
            const auto w = static_cast<uint16_t>(0xffff - acc.sum());
            send_data(b7, {std::byte(static_cast<uint8_t>(w >> 8)), std::byte(static_cast<uint8_t>(w))}, mac_b);
        }
        EXPECT_EQ(a.stats().udp_template_sends_, 6u);
        // Larger than the MTU: fragments, the generic way (one ident; checked by its own test).
        ASSERT_TRUE(a.udp_sendto(now, s, b7, bytes_t(1473)).has_value());
        EXPECT_EQ(drain().size(), 2u);
        last_ident = static_cast<uint16_t>(*last_ident + 1);
        send({ip_b, 8}, 33, mac_b);          // another port: generic
        send(b7, 5, mac_b);                  // b7's template still holds
        send(b7, 6, mac_b);
        EXPECT_EQ(a.stats().udp_template_sends_, 8u);
        // Two destinations in turn (a server answering two clients): each has its own template from
        // its second datagram on.
        for (size_t n : {40u, 41u, 42u}) {
            send({ip_b, 8}, n, mac_b);
            send(b7, n + 10, mac_b);
        }
        EXPECT_EQ(a.stats().udp_template_sends_, 14u);
        for (int i = 0; i < 3; ++i) send({far, 53}, 10, mac_gw); // off-subnet, through the gateway
        EXPECT_EQ(a.stats().udp_template_sends_, 16u);
        for (int i = 0; i < 2; ++i) send({directed, 9}, 4, ethernet_address::broadcast());
        for (int i = 0; i < 2; ++i) send({ipv4_address::broadcast(), 9}, 4, ethernet_address::broadcast());
        EXPECT_EQ(a.stats().udp_template_sends_, 16u); // never for broadcasts
        send(b7, 100, mac_b); // b7's template outlived the datagrams to others
        send(b7, 101, mac_b);
        EXPECT_EQ(a.stats().udp_template_sends_, 18u);
        // b moves to another MAC: the next datagrams must follow it, to both of its ports.
        learn_b(mac_b2);
        send(b7, 12, mac_b2);
        send(b7, 13, mac_b2);
        send({ip_b, 8}, 14, mac_b2);
        EXPECT_EQ(a.stats().udp_template_sends_, 21u);
        // b's entry expires: the datagram waits for a new resolution, not sent with the old headers.
        now += a.config().arp_.entry_ttl_;
        send(b7, 14, std::nullopt);
        EXPECT_TRUE(a.arp().resolving(ip_b));
        learn_b(mac_b);
        const auto held = drain();
        ASSERT_EQ(held.size(), 1u);
        auto eth = wire::ethernet_view::check(std::span<const std::byte>(held[0]));
        ASSERT_TRUE(eth.has_value());
        EXPECT_EQ(eth->dst(), mac_b);
        last_ident = static_cast<uint16_t>(*last_ident + 1);
        send(b7, 15, mac_b);
        EXPECT_EQ(a.stats().udp_template_sends_, 22u);
        EXPECT_EQ(a.stats().tx_frames_, sent + 2 + 1 + 1); // + the fragments, the held datagram, one ARP request
    }
}

} // namespace
} // namespace demi::net::test
