// The reassembler alone: hole bookkeeping (RFC 815) over arbitrary fragment patterns.
#include "harness.hpp"

namespace demi::net::test {
namespace {

using st = reassembler::status;

wire::ipv4_repr frag(uint32_t off, bool mf, uint16_t ident = 1) {
    wire::ipv4_repr ip = ip_header(ip_a, ip_b, wire::ip_protocol::udp, ident);
    ip.frag_offset_ = off;
    ip.more_frags_ = mf;
    return ip;
}

TEST(reassembler, every_order_of_eight_fragments) {
    bytes_t data(8 * 16 + 5);
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::byte>(i);
    std::vector<uint32_t> order{0, 1, 2, 3, 4, 5, 6, 7, 8};
    rng r(7);
    for (int round = 0; round < 50; ++round) {
        for (size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[r.below(i + 1)]);
        reassembler re(reassembly_config{}, nullptr);
        reassembler::add_result res;
        for (size_t k = 0; k < order.size(); ++k) {
            const uint32_t off = order[k] * 16;
            const uint32_t len = std::min<uint32_t>(16, static_cast<uint32_t>(data.size()) - off);
            res = re.add(time_point{}, frag(off, off + len < data.size()),
                         std::span<const std::byte>(data).subspan(off, len));
            if (k + 1 < order.size()) {
                ASSERT_EQ(res.status_, st::held);
            }
        }
        ASSERT_EQ(res.status_, st::complete);
        EXPECT_EQ(to_bytes(res.payload_.bytes()), data);
        EXPECT_EQ(res.ip_.payload_len_, data.size());
        EXPECT_FALSE(res.ip_.more_frags_);
        EXPECT_EQ(res.payload_.headroom(), 64u);
        EXPECT_EQ(re.bytes_held(), 0u);
    }
}

TEST(reassembler, conflicting_last_fragments) {
    reassembler re(reassembly_config{}, nullptr);
    const bytes_t d(16);
    EXPECT_EQ(re.add(time_point{}, frag(16, false), d).status_, st::held);
    EXPECT_EQ(re.add(time_point{}, frag(8, false), std::span<const std::byte>(d).first(8)).status_, st::malformed);
    EXPECT_EQ(re.datagrams(), 0u);
}

TEST(reassembler, separate_datagrams_by_key) {
    reassembler re(reassembly_config{}, nullptr);
    const bytes_t d(8, std::byte{1});
    EXPECT_EQ(re.add(time_point{}, frag(0, true, 1), d).status_, st::held);
    EXPECT_EQ(re.add(time_point{}, frag(0, true, 2), d).status_, st::held);
    EXPECT_EQ(re.datagrams(), 2u);
    EXPECT_EQ(re.add(time_point{}, frag(8, false, 2), d).status_, st::complete);
    EXPECT_EQ(re.datagrams(), 1u);
    EXPECT_EQ(re.bytes_held(), 8u);
    EXPECT_EQ(re.expire(time_point{} + reassembly_config{}.timeout_), 1u);
}

TEST(reassembler, far_offset_counts_its_whole_span) {
    // A small fragment far out makes the datagram's buffer reach it: that is what the bound counts.
    reassembly_config cfg;
    cfg.max_bytes_ = 1000;
    reassembler small(cfg, nullptr);
    EXPECT_EQ(small.add(time_point{}, frag(65504, false), bytes_t(11)).status_, st::no_memory);
    EXPECT_EQ(small.bytes_held(), 0u);
    reassembler big(reassembly_config{}, nullptr);
    EXPECT_EQ(big.add(time_point{}, frag(65504, false), bytes_t(11)).status_, st::held);
    EXPECT_EQ(big.bytes_held(), 65515u);
}

TEST(reassembler, timeout_from_first_fragment) {
    reassembly_config cfg;
    reassembler re(cfg, nullptr);
    const time_point t0{std::chrono::seconds(5)};
    EXPECT_EQ(re.add(t0, frag(0, true), bytes_t(8)).status_, st::held);
    EXPECT_EQ(re.add(t0 + 10s, frag(16, false), bytes_t(8)).status_, st::held);
    EXPECT_EQ(re.poll_at(), t0 + cfg.timeout_);
    EXPECT_EQ(re.expire(t0 + cfg.timeout_ - 1ns), 0u);
    EXPECT_EQ(re.expire(t0 + cfg.timeout_), 1u);
    EXPECT_FALSE(re.poll_at().has_value());
}

} // namespace
} // namespace demi::net::test
