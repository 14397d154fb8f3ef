// IPv4 receive through the interface: checksum (and its offload), destination filter, fragment
// reassembly in every order and its failure modes, protocol unreachable, the TCP hook.
#include "harness.hpp"

namespace demi::net::test {
namespace {

class ipv4 : public link_test {
protected:
    ipv4() {
        sb_ = b_->udp_open();
        EXPECT_TRUE(b_->udp_bind(sb_, ipv4_address{}, 7).has_value());
        data_.resize(64);
        for (size_t i = 0; i < data_.size(); ++i) data_[i] = static_cast<std::byte>(i * 7 + 1);
        dgram_ = udp_datagram_bytes(ip_a, ip_b, 1111, 7, data_);
    }
    void remake(interface_config cb) {
        make(config_a(), std::move(cb));
        sb_ = b_->udp_open();
        EXPECT_TRUE(b_->udp_bind(sb_, ipv4_address{}, 7).has_value());
    }
    /// The frame of fragment [offset, offset + len) of dgram_, with MF unless it ends the datagram.
    bytes_t fragment(uint32_t offset, uint32_t len, uint16_t ident = 0x4242, std::optional<bool> mf = {}) {
        wire::ipv4_repr ip = ip_header(ip_a, ip_b, wire::ip_protocol::udp, ident);
        ip.frag_offset_ = offset;
        ip.more_frags_ = mf.value_or(offset + len < dgram_.size());
        return ipv4_frame(mac_a, mac_b, ip, std::span<const std::byte>(dgram_).subspan(offset, len));
    }
    void expect_delivered() {
        auto d = b_->udp_recv(sb_);
        ASSERT_TRUE(d.has_value());
        EXPECT_EQ(to_bytes(d->payload_.bytes()), data_);
        EXPECT_EQ(d->src_, (udp_endpoint{ip_a, 1111}));
        EXPECT_EQ(b_->udp_recv(sb_).code(), EAGAIN);
        EXPECT_EQ(b_->reassembly().bytes_held(), 0u);
        EXPECT_EQ(b_->reassembly().datagrams(), 0u);
    }
    void expect_nothing() { EXPECT_EQ(b_->udp_recv(sb_).code(), EAGAIN); }

    udp_socket_id sb_ = 0;
    bytes_t data_;
    bytes_t dgram_; // 72 bytes: three fragments of 24
};

TEST_F(ipv4, unfragmented_delivered) {
    inject(*b_, ipv4_frame(mac_a, mac_b, ip_header(ip_a, ip_b, wire::ip_protocol::udp), dgram_));
    expect_delivered();
}

TEST_F(ipv4, ethernet_padding_is_ignored) {
    bytes_t f = ipv4_frame(mac_a, mac_b, ip_header(ip_a, ip_b, wire::ip_protocol::udp),
                           udp_datagram_bytes(ip_a, ip_b, 1111, 7, to_bytes("x")));
    f.resize(60); // padded to the Ethernet minimum
    inject(*b_, f);
    auto d = b_->udp_recv(sb_);
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(to_bytes(d->payload_.bytes()), to_bytes("x"));
}

TEST_F(ipv4, bad_header_checksum_dropped_unless_offloaded) {
    bytes_t f = ipv4_frame(mac_a, mac_b, ip_header(ip_a, ip_b, wire::ip_protocol::udp), dgram_);
    f[14 + 10] ^= std::byte{0x01};
    inject(*b_, f);
    expect_nothing();
    EXPECT_EQ(b_->stats().rx_bad_checksum_drops_, 1u);
    auto cb = config_b();
    cb.caps_.ipv4_ = wire::checksum_mode::tx; // the device verifies on receive
    remake(cb);
    inject(*b_, f);
    expect_delivered();
}

TEST_F(ipv4, wrong_destination_dropped) {
    inject(*b_, ipv4_frame(mac_a, mac_b, ip_header(ip_a, ipv4_address(10, 0, 0, 3), wire::ip_protocol::udp), dgram_));
    inject(*b_, ipv4_frame(mac_a, ethernet_address(0x02, 0, 0, 0, 0, 0x0c),
                           ip_header(ip_a, ip_b, wire::ip_protocol::udp), dgram_));
    expect_nothing();
    EXPECT_EQ(b_->stats().rx_not_for_us_drops_, 2u);
    EXPECT_TRUE(drain(*b_, now_).empty());
}

TEST_F(ipv4, martian_source_and_garbage_dropped) {
    inject(*b_, ipv4_frame(mac_a, mac_b, ip_header(ipv4_address(224, 0, 0, 1), ip_b, wire::ip_protocol::udp), dgram_));
    inject(*b_, hex("02000000000b 02000000000a 0800 45000014"));       // truncated header
    inject(*b_, hex("02000000000b 02000000000a"));                    // truncated Ethernet
    inject(*b_, hex("02000000000b 02000000000a 86dd 6000000000000000")); // IPv6
    expect_nothing();
    EXPECT_EQ(b_->stats().rx_malformed_drops_, 3u);
    EXPECT_EQ(b_->stats().rx_unsupported_drops_, 1u);
}

TEST_F(ipv4, fragments_in_order) {
    inject(*b_, fragment(0, 24));
    inject(*b_, fragment(24, 24));
    EXPECT_EQ(b_->reassembly().bytes_held(), 48u);
    expect_nothing();
    inject(*b_, fragment(48, 24));
    expect_delivered();
    EXPECT_EQ(b_->stats().frag_reassembled_, 1u);
}

TEST_F(ipv4, fragments_reversed) {
    inject(*b_, fragment(48, 24));
    inject(*b_, fragment(24, 24));
    inject(*b_, fragment(0, 24));
    expect_delivered();
}

TEST_F(ipv4, fragments_with_duplicates) {
    inject(*b_, fragment(24, 24));
    inject(*b_, fragment(24, 24));
    inject(*b_, fragment(0, 24));
    inject(*b_, fragment(0, 8, 0x4242, true)); // a smaller copy of bytes held already
    inject(*b_, fragment(48, 24));
    expect_delivered();
    EXPECT_EQ(b_->stats().frag_drops_, 2u);
}

TEST_F(ipv4, overlapping_fragments_discard_the_datagram) {
    inject(*b_, fragment(0, 24));
    inject(*b_, fragment(16, 24)); // overlaps [16, 24) held and fills part of the hole
    EXPECT_EQ(b_->reassembly().datagrams(), 0u);
    EXPECT_EQ(b_->reassembly().bytes_held(), 0u);
    inject(*b_, fragment(24, 24));
    inject(*b_, fragment(48, 24));
    expect_nothing(); // what is left can never complete ...
    now_ += b_->config().reassembly_.timeout_;
    pump(); // ... and times out
    EXPECT_EQ(b_->reassembly().datagrams(), 0u);
    EXPECT_EQ(b_->stats().frag_drops_, 1u);
    EXPECT_EQ(b_->stats().frag_timeouts_, 1u);
}

TEST_F(ipv4, fragment_past_the_end_discards_the_datagram) {
    inject(*b_, fragment(48, 24));
    wire::ipv4_repr past = ip_header(ip_a, ip_b, wire::ip_protocol::udp, 0x4242);
    past.frag_offset_ = 64; // [64, 88) reaches beyond the last fragment's end (72)
    past.more_frags_ = true;
    inject(*b_, ipv4_frame(mac_a, mac_b, past, bytes_t(24)));
    EXPECT_EQ(b_->reassembly().datagrams(), 0u);
    inject(*b_, fragment(0, 20, 0x4242, true)); // MF with a length not a multiple of 8
    EXPECT_EQ(b_->reassembly().datagrams(), 0u);
    EXPECT_EQ(b_->stats().frag_drops_, 2u);
}

TEST_F(ipv4, reassembly_times_out) {
    inject(*b_, fragment(0, 24));
    inject(*b_, fragment(48, 24));
    const auto timeout = b_->config().reassembly_.timeout_;
    EXPECT_EQ(b_->poll_at(), now_ + timeout);
    now_ += timeout - 1ns;
    pump();
    EXPECT_EQ(b_->reassembly().datagrams(), 1u);
    now_ += 1ns;
    pump();
    EXPECT_EQ(b_->stats().frag_timeouts_, 1u);
    EXPECT_EQ(b_->reassembly().bytes_held(), 0u);
    EXPECT_FALSE(b_->poll_at().has_value());
    inject(*b_, fragment(24, 24)); // the missing piece, too late
    expect_nothing();
}

TEST_F(ipv4, reassembly_memory_is_bounded) {
    auto cb = config_b();
    cb.reassembly_.max_bytes_ = 40;
    remake(cb);
    inject(*b_, fragment(0, 24));
    inject(*b_, fragment(24, 24)); // would hold 48 > 40 bytes
    EXPECT_EQ(b_->reassembly().bytes_held(), 0u);
    EXPECT_EQ(b_->stats().frag_drops_, 1u);
    inject(*b_, fragment(48, 24)); // the last fragment alone must allocate the whole 72: also over
    EXPECT_EQ(b_->reassembly().bytes_held(), 0u);
    expect_nothing();
}

TEST_F(ipv4, reassembly_datagram_count_is_bounded) {
    auto cb = config_b();
    cb.reassembly_.max_datagrams_ = 1;
    remake(cb);
    inject(*b_, fragment(0, 24, 1));
    inject(*b_, fragment(0, 24, 2)); // a second datagram: no room
    EXPECT_EQ(b_->reassembly().datagrams(), 1u);
    EXPECT_EQ(b_->stats().frag_drops_, 1u);
    inject(*b_, fragment(24, 24, 1));
    inject(*b_, fragment(48, 24, 1));
    expect_delivered();
}

TEST_F(ipv4, fragmented_datagram_to_closed_port_is_answered) {
    b_->add_static_arp(ip_a, mac_a);
    ASSERT_TRUE(b_->udp_close(sb_).has_value());
    inject(*b_, fragment(0, 24));
    inject(*b_, fragment(24, 24));
    inject(*b_, fragment(48, 24));
    auto out = drain(*b_, now_);
    ASSERT_EQ(out.size(), 1u);
    // The error quotes the reassembled header (20 bytes) and the whole datagram (RFC 1812 §4.3.2.3).
    EXPECT_EQ(out[0].size(), 14u + 20 + 8 + 20 + dgram_.size());
    EXPECT_EQ(std::to_integer<int>(out[0][34]), 3);
    EXPECT_EQ(std::to_integer<int>(out[0][35]), 3);
}

TEST_F(ipv4, unknown_protocol_gets_protocol_unreachable) {
    b_->add_static_arp(ip_a, mac_a);
    wire::ipv4_repr ip = ip_header(ip_a, ip_b, wire::ip_protocol::udp);
    ip.protocol_ = static_cast<wire::ip_protocol>(132); // SCTP
    const bytes_t payload = hex("0001 0002 0000 0000 0000 0000");
    const bytes_t f = ipv4_frame(mac_a, mac_b, ip, payload);
    inject(*b_, f);
    auto out = drain(*b_, now_);
    ASSERT_EQ(out.size(), 1u);
    bytes_t icmp = hex("03 02 0000 00000000");
    icmp.insert(icmp.end(), f.begin() + 14, f.end());
    wire::store_be16(icmp.data() + 2, wire::internet_checksum(icmp));
    EXPECT_EQ(dump(bytes_t(out[0].begin() + 34, out[0].end())), dump(icmp));
}

struct recording_tcp : tcp_hook {
    void on_tcp(time_point now, const wire::ipv4_repr &ip, const buffer &segment) override {
        times_.push_back(now);
        ips_.push_back(ip);
        segments_.push_back(to_bytes(segment.bytes()));
    }
    std::vector<time_point> times_;
    std::vector<wire::ipv4_repr> ips_;
    std::vector<bytes_t> segments_;
};

TEST_F(ipv4, tcp_segments_go_to_the_hook) {
    const bytes_t seg = hex("1f90 0050 00000001 00000000 5002 ffff 0000 0000 6869");
    const bytes_t f = ipv4_frame(mac_a, mac_b, ip_header(ip_a, ip_b, wire::ip_protocol::tcp), seg);
    inject(*b_, f);
    EXPECT_EQ(b_->stats().tcp_no_handler_drops_, 1u);
    recording_tcp tcp;
    b_->set_tcp_hook(&tcp);
    inject(*b_, f);
    ASSERT_EQ(tcp.segments_.size(), 1u);
    EXPECT_EQ(tcp.segments_[0], seg);
    EXPECT_EQ(tcp.ips_[0].src_, ip_a);
    EXPECT_EQ(tcp.ips_[0].payload_len_, seg.size());
    EXPECT_EQ(tcp.times_[0], now_);
    b_->set_tcp_hook(nullptr);
}

TEST_F(ipv4, send_ipv4_for_the_transport) {
    a_->add_static_arp(ip_b, mac_b);
    recording_tcp tcp;
    b_->set_tcp_hook(&tcp);
    const bytes_t seg = hex("0050 1f90 00000001 00000000 5002 ffff 0000 0000");
    ASSERT_TRUE(a_->send_ipv4(now_, ip_b, wire::ip_protocol::tcp, to_buffer(seg)).has_value());
    EXPECT_EQ(a_->poll_at(), time_point::min());
    pump();
    ASSERT_EQ(tcp.segments_.size(), 1u);
    EXPECT_EQ(tcp.segments_[0], seg);
    EXPECT_EQ(a_->send_ipv4(now_, ip_b, wire::ip_protocol::tcp, to_buffer(bytes_t(1481))).code(), EMSGSIZE);
    b_->set_tcp_hook(nullptr);
}

} // namespace
} // namespace demi::net::test
