#include "net/wire/tcp.hpp"

#include <gtest/gtest.h>

#include <random>

#include "test_util.hpp"
#include "vectors.hpp"

namespace demi::wire {
namespace {

using test::copy_of;
using test::host_a;
using test::host_b;
namespace tv = test_vectors;

struct captured {
    const char *name;
    std::span<const std::byte> frame;
    ipv4_address src, dst;
};

const captured all_segments[] = {
    {"syn", test::bytes(tv::tcp_syn), host_a, host_b},
    {"syn_ack", test::bytes(tv::tcp_syn_ack), host_b, host_a},
    {"ack", test::bytes(tv::tcp_ack), host_a, host_b},
    {"psh_data", test::bytes(tv::tcp_psh_data), host_a, host_b},
    {"fin_ack", test::bytes(tv::tcp_fin_ack), host_b, host_a},
    {"rst_ack", test::bytes(tv::tcp_rst_ack), host_b, host_a},
    {"sack", test::bytes(tv::tcp_sack), host_b, host_a},
};

result<tcp_repr> parse(std::span<const std::byte> seg, ipv4_address src, ipv4_address dst,
                       const checksum_caps &caps = {}) {
    auto v = tcp_view::check(seg);
    if (!v) return v.err();
    return tcp_repr::parse(*v, src, dst, caps);
}

result<tcp_options> options_of(const std::vector<int> &bytes) {
    const auto b = test::bytes_of(bytes);
    return tcp_options::parse(b);
}

std::vector<std::byte> emit_options(const tcp_options &o) {
    std::vector<std::byte> out(o.buffer_len());
    o.emit(out);
    return out;
}

TEST(Tcp, ParsesCapturedLinuxSyn) {
    const auto seg = test::l4_of(test::bytes(tv::tcp_syn));
    auto v = tcp_view::check(seg);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->src_port(), 46766);
    EXPECT_EQ(v->dst_port(), 5001);
    EXPECT_EQ(v->seq(), 0x386c109cu);
    EXPECT_EQ(v->ack(), 0u);
    EXPECT_EQ(v->header_len(), 40u);
    EXPECT_EQ(v->flags(), tcp_flag::syn);
    EXPECT_TRUE(v->syn());
    EXPECT_FALSE(v->ack_flag());
    EXPECT_EQ(v->window(), 64240);
    EXPECT_EQ(v->checksum(), 0xeb8c);
    EXPECT_EQ(v->urgent_ptr(), 0);
    EXPECT_EQ(v->options().size(), 20u);
    EXPECT_TRUE(v->payload().empty());
    EXPECT_TRUE(v->verify_checksum(host_a, host_b));

    auto r = tcp_repr::parse(*v, host_a, host_b);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->src_port_, 46766);
    EXPECT_EQ(r->dst_port_, 5001);
    EXPECT_EQ(r->seq_, 0x386c109cu);
    EXPECT_EQ(r->flags_, tcp_flag::syn);
    EXPECT_EQ(r->window_, 64240);
    EXPECT_EQ(r->options_.mss_, 1460);
    EXPECT_TRUE(r->options_.sack_permitted_);
    ASSERT_TRUE(r->options_.timestamp_);
    EXPECT_EQ(r->options_.timestamp_->tsval_, 0x96d6a366u);
    EXPECT_EQ(r->options_.timestamp_->tsecr_, 0u);
    EXPECT_EQ(r->options_.window_scale_, 10);
    EXPECT_EQ(r->options_.sack_count_, 0);
    EXPECT_EQ(r->segment_len(), 1u); // SYN occupies one sequence number
    EXPECT_EQ(r->header_len(), 40u);
}

TEST(Tcp, ParsesCapturedSynAckAndData) {
    auto sa = parse(test::l4_of(test::bytes(tv::tcp_syn_ack)), host_b, host_a);
    ASSERT_TRUE(sa);
    EXPECT_EQ(sa->flags_, tcp_flag::syn | tcp_flag::ack);
    EXPECT_EQ(sa->ack_, 0x386c109du); // the SYN's ISN + 1
    EXPECT_EQ(sa->options_.timestamp_->tsecr_, 0x96d6a366u); // echoes the SYN's TSval
    EXPECT_EQ(sa->window_, 65160);

    auto data = parse(test::l4_of(test::bytes(tv::tcp_psh_data)), host_a, host_b);
    ASSERT_TRUE(data);
    EXPECT_EQ(data->flags_, tcp_flag::psh | tcp_flag::ack);
    EXPECT_TRUE(test::same(data->payload_, test::text_of("hello\n")));
    EXPECT_EQ(data->segment_len(), 6u);
    EXPECT_FALSE(data->options_.mss_);
    EXPECT_FALSE(data->options_.sack_permitted_);
    EXPECT_TRUE(data->options_.timestamp_);

    auto fin = parse(test::l4_of(test::bytes(tv::tcp_fin_ack)), host_b, host_a);
    ASSERT_TRUE(fin);
    EXPECT_TRUE(fin->has(tcp_flag::fin));
    EXPECT_EQ(fin->segment_len(), 1u);

    auto rst = parse(test::l4_of(test::bytes(tv::tcp_rst_ack)), host_b, host_a);
    ASSERT_TRUE(rst);
    EXPECT_EQ(rst->flags_, tcp_flag::rst | tcp_flag::ack);
    EXPECT_EQ(rst->seq_, 0u);
    EXPECT_EQ(rst->window_, 0);
    EXPECT_EQ(rst->header_len(), 20u);
    EXPECT_EQ(rst->options_, tcp_options{});
}

TEST(Tcp, ParsesSackBlocks) {
    auto r = parse(test::l4_of(test::bytes(tv::tcp_sack)), host_b, host_a);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->options_.sack_count_, 2);
    EXPECT_EQ(r->options_.sack_blocks_[0], (tcp_sack_block{0x62cbd000, 0x62cbd5b4}));
    EXPECT_EQ(r->options_.sack_blocks_[1], (tcp_sack_block{0x62cbe000, 0x62cbe5b4}));
    EXPECT_EQ(r->options_.timestamp_, (tcp_timestamp{0xb01cfd00, 0x96d6a600}));
}

TEST(Tcp, ReEmitsEveryCapturedSegmentByteExact) {
    for (const auto &c : all_segments) {
        const auto seg = test::l4_of(c.frame);
        auto r = parse(seg, c.src, c.dst);
        ASSERT_TRUE(r) << c.name;
        std::vector<std::byte> out(r->buffer_len());
        ASSERT_EQ(out.size(), seg.size()) << c.name;
        r->emit(out, c.src, c.dst);
        EXPECT_TRUE(test::same(out, seg)) << c.name << ": " << test::hex(out) << " vs " << test::hex(seg);
    }
}

TEST(Tcp, TruncatedAtEveryLengthIsRejected) {
    for (const auto &c : all_segments) {
        const auto seg = test::l4_of(c.frame);
        for (std::size_t n = 0; n < seg.size(); ++n) {
            auto r = parse(seg.first(n), c.src, c.dst);
            ASSERT_FALSE(r) << c.name << " " << n;
            // Short of the header: truncated; short of the payload (TCP has no length of its own): the
            // checksum, whose pseudo-header counts the segment length, catches it.
            const error expected = n < tcp_view::check(seg)->header_len() ? err::truncated : err::bad_checksum;
            EXPECT_EQ(r.err(), expected) << c.name << " " << n;
        }
    }
}

TEST(Tcp, BadChecksumIsRejectedUnlessOffloaded) {
    for (const auto &c : all_segments) {
        auto seg = copy_of(test::l4_of(c.frame));
        seg[4] ^= std::byte{0x10}; // sequence number
        EXPECT_EQ(parse(seg, c.src, c.dst).err(), err::bad_checksum) << c.name;
        EXPECT_TRUE(parse(seg, c.src, c.dst, checksum_caps::offloaded())) << c.name;
        checksum_caps tx_only;
        tx_only.tcp_ = checksum_mode::tx;
        EXPECT_TRUE(parse(seg, c.src, c.dst, tx_only)) << c.name;
        // Right bytes, wrong pseudo-header. (Swapping source and destination would not do: the sum is
        // commutative.)
        EXPECT_EQ(parse(test::l4_of(c.frame), c.src, ipv4_address(10, 0, 0, 3)).err(), err::bad_checksum) << c.name;
    }
}

TEST(Tcp, OffloadSeedsPseudoHeaderSum) {
    const auto seg = test::l4_of(test::bytes(tv::tcp_psh_data));
    auto r = parse(seg, host_a, host_b);
    ASSERT_TRUE(r);
    std::vector<std::byte> out(r->buffer_len());
    r->emit(out, host_a, host_b, checksum_caps::offloaded());
    EXPECT_EQ(load_be16(out.data() + 16), 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 0x0006 + 38);
    // What the device does with it: sum the segment with the seed in place and store the complement.
    checksum_accumulator nic;
    nic.add(out);
    store_be16(out.data() + 16, nic.checksum());
    EXPECT_TRUE(test::same(out, seg));
    checksum_caps zero_seed = checksum_caps::offloaded();
    zero_seed.tx_pseudo_header_seed_ = false;
    r->emit(out, host_a, host_b, zero_seed);
    EXPECT_EQ(load_be16(out.data() + 16), 0);
}

TEST(Tcp, ZeroPortsAreMalformed) {
    auto seg = copy_of(test::l4_of(test::bytes(tv::tcp_syn)));
    auto v = tcp_view_mut::check(seg);
    ASSERT_TRUE(v);
    v->set_dst_port(0);
    v->fill_checksum(host_a, host_b);
    EXPECT_EQ(tcp_repr::parse(*v, host_a, host_b).err(), err::malformed);
    v->set_dst_port(5001);
    v->set_src_port(0);
    v->fill_checksum(host_a, host_b);
    EXPECT_EQ(tcp_repr::parse(*v, host_a, host_b).err(), err::malformed);
}

TEST(Tcp, DataOffsetIsChecked) {
    auto seg = copy_of(test::l4_of(test::bytes(tv::tcp_psh_data)));
    for (int doff = 0; doff < 5; ++doff) {
        seg[12] = static_cast<std::byte>(doff << 4);
        EXPECT_EQ(tcp_view::check(seg).err(), err::malformed) << doff;
    }
    seg[12] = std::byte{0xf0}; // 60 bytes of header in a 38-byte segment
    EXPECT_EQ(tcp_view::check(seg).err(), err::truncated);
    seg[12] = std::byte{0x50}; // 20: the options become payload
    auto v = tcp_view::check(seg);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->payload().size(), 18u);
}

TEST(Tcp, ReservedBitsAreIgnoredOnParseAndZeroOnEmit) {
    auto seg = copy_of(test::l4_of(test::bytes(tv::tcp_ack)));
    seg[12] |= std::byte{0x0f};
    auto v = tcp_view_mut::check(seg);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->reserved(), 0x0f);
    v->fill_checksum(host_a, host_b);
    auto r = tcp_repr::parse(*v, host_a, host_b);
    ASSERT_TRUE(r);
    std::vector<std::byte> out(r->buffer_len());
    r->emit(out, host_a, host_b);
    EXPECT_TRUE(test::same(out, test::l4_of(test::bytes(tv::tcp_ack))));
}

TEST(Tcp, BoundsAreFixedAtCheck) {
    // Rewriting the data offset under a checked view cannot move its options or payload.
    auto seg = copy_of(test::l4_of(test::bytes(tv::tcp_psh_data)));
    auto v = tcp_view::check(seg);
    ASSERT_TRUE(v);
    seg[12] = std::byte{0xf0};
    EXPECT_EQ(v->header_len(), 32u);
    EXPECT_EQ(v->options().size(), 12u);
    EXPECT_EQ(v->payload().size(), 6u);
}

TEST(Tcp, EcnAndUrgentFlags) {
    auto seg = copy_of(test::l4_of(test::bytes(tv::tcp_psh_data)));
    auto v = tcp_view_mut::check(seg);
    ASSERT_TRUE(v);
    v->set_flags(tcp_flag::ack | tcp_flag::urg | tcp_flag::ece | tcp_flag::cwr);
    v->set_urgent_ptr(3);
    v->fill_checksum(host_a, host_b);
    EXPECT_TRUE(v->urg());
    EXPECT_TRUE(v->ece());
    EXPECT_TRUE(v->cwr());
    EXPECT_FALSE(v->psh());
    auto r = tcp_repr::parse(*v, host_a, host_b);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->urgent_ptr_, 3);
    EXPECT_TRUE(r->has(tcp_flag::ece));
    std::vector<std::byte> out(r->buffer_len());
    r->emit(out, host_a, host_b);
    EXPECT_TRUE(test::same(out, seg));
}

TEST(Tcp, MutableViewAndIncrementalUpdate) {
    auto seg = copy_of(test::l4_of(test::bytes(tv::tcp_ack)));
    auto v = tcp_view_mut::check(seg);
    ASSERT_TRUE(v);
    std::uint16_t ck = v->checksum();
    ck = checksum_update32(ck, v->ack(), 0x62cbd000);
    ck = checksum_update16(ck, v->window(), 1000);
    v->set_ack(0x62cbd000);
    v->set_window(1000);
    v->set_seq(v->seq()); // unchanged
    v->fill_checksum(host_a, host_b);
    EXPECT_EQ(ck, v->checksum());
    EXPECT_TRUE(v->verify_checksum(host_a, host_b));
}

TEST(Tcp, EmitInPlaceAndWhenOptionsShrink) {
    // Re-emit a data segment into its own buffer without options: the payload moves back over the old
    // options, then the header is written.
    auto seg = copy_of(test::l4_of(test::bytes(tv::tcp_psh_data)));
    auto r = parse(seg, host_a, host_b);
    ASSERT_TRUE(r);
    r->options_ = {};
    r->emit(seg, host_b, host_a);
    auto back = parse(std::span(seg).first(r->buffer_len()), host_b, host_a);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->header_len(), 20u);
    EXPECT_TRUE(test::same(back->payload_, test::text_of("hello\n")));

    // Options grow: the payload moves forward.
    std::vector<std::byte> buf(100);
    const auto text = test::text_of("0123456789");
    std::copy(text.begin(), text.end(), buf.begin() + 20);
    tcp_repr grow;
    grow.src_port_ = 1;
    grow.dst_port_ = 2;
    grow.flags_ = tcp_flag::ack;
    grow.options_.timestamp_ = tcp_timestamp{1, 2};
    grow.payload_ = std::span(buf).subspan(20, text.size());
    grow.emit(buf, host_a, host_b);
    auto g = parse(std::span(buf).first(grow.buffer_len()), host_a, host_b);
    ASSERT_TRUE(g);
    EXPECT_EQ(g->header_len(), 32u);
    EXPECT_TRUE(test::same(g->payload_, text));
}

// ---- options ----

TEST(TcpOptions, LinuxLayoutOnEmit) {
    tcp_options o;
    o.sack_permitted_ = true;
    EXPECT_EQ(test::hex(emit_options(o)), "01010402"); // SACK-permitted alone: NOP NOP first
    o.sack_permitted_ = false;
    o.timestamp_ = tcp_timestamp{0x01020304, 0x05060708};
    EXPECT_EQ(test::hex(emit_options(o)), "0101080a0102030405060708");
    o.sack_permitted_ = true;
    EXPECT_EQ(test::hex(emit_options(o)), "0402080a0102030405060708");
    o = {};
    o.window_scale_ = 7;
    o.mss_ = 536;
    EXPECT_EQ(test::hex(emit_options(o)), "0204021801030307");
    o = {};
    o.sack_count_ = 1;
    o.sack_blocks_[0] = {0x11111111, 0x22222222};
    EXPECT_EQ(test::hex(emit_options(o)), "0101050a1111111122222222");
    EXPECT_TRUE(emit_options(tcp_options{}).empty());
}

TEST(TcpOptions, SackBlocksLimitedByRoom) {
    tcp_options o;
    o.sack_count_ = 4;
    for (std::uint32_t i = 0; i < 4; ++i) o.sack_blocks_[i] = {i * 100, i * 100 + 50};
    EXPECT_EQ(o.sack_blocks_emitted(), 4u); // 4 + 32 = 36 bytes
    EXPECT_EQ(o.buffer_len(), 36u);
    o.timestamp_ = tcp_timestamp{1, 2};
    EXPECT_EQ(o.sack_blocks_emitted(), 3u); // RFC 2018 §3: 3 blocks next to a timestamp
    EXPECT_EQ(o.buffer_len(), 40u);
    o.window_scale_ = 1;
    o.mss_ = 1460;
    EXPECT_EQ(o.sack_blocks_emitted(), 2u);
    EXPECT_EQ(o.buffer_len(), 40u);
    auto back = tcp_options::parse(emit_options(o));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->sack_count_, 2);
    EXPECT_EQ(back->sack_blocks_[1], o.sack_blocks_[1]); // the first (most recent) blocks are kept
    o.sack_count_ = 200; // nonsense count: clamped, never read past the array
    EXPECT_LE(o.buffer_len(), 40u);
}

TEST(TcpOptions, SkipsUnknownAndHonoursEnd) {
    // Unknown kind 30 (MPTCP) of length 4 is skipped; kind 34 (TFO cookie) of length 10 too.
    auto o = options_of({30, 4, 0xaa, 0xbb, 2, 4, 0x05, 0xb4, 34, 10, 1, 2, 3, 4, 5, 6, 7, 8, 1, 1});
    ASSERT_TRUE(o);
    EXPECT_EQ(o->mss_, 1460);
    // After End of Option List, nothing is read, even garbage.
    o = options_of({2, 4, 0x02, 0x18, 0, 2, 99, 0xff});
    ASSERT_TRUE(o);
    EXPECT_EQ(o->mss_, 536);
    EXPECT_FALSE(o->window_scale_);
    // An empty option area and one of only NOPs.
    EXPECT_EQ(*options_of({}), tcp_options{});
    EXPECT_EQ(*options_of({1, 1, 1, 1}), tcp_options{});
}

TEST(TcpOptions, MalformedAreRejected) {
    const std::vector<std::vector<int>> bad = {
        {2},                            // kind without a length byte
        {1, 1, 1, 8},                   // same, after NOPs
        {30, 0},                        // length 0 (RFC 9293 §3.1: must not loop forever)
        {30, 1},                        // length 1
        {30, 5, 0, 0},                  // length past the area
        {2, 3, 0},                      // MSS of length 3
        {2, 5, 0, 0, 0},                // MSS of length 5
        {3, 2},                         // window scale of length 2
        {3, 4, 7, 0},                   // window scale of length 4
        {4, 3, 0},                      // SACK-permitted of length 3
        {5, 2},                         // SACK with no block
        {5, 9, 0, 0, 0, 0, 0, 0, 0},    // SACK not a multiple of 8
        {8, 8, 0, 0, 0, 0, 0, 0},       // timestamp of length 8
        {8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, // timestamp of length 12
    };
    for (const auto &b : bad) {
        auto o = options_of(b);
        EXPECT_FALSE(o) << test::hex(test::bytes_of(b));
        EXPECT_EQ(o.err(), err::malformed);
    }
}

TEST(TcpOptions, MoreThanFourSackBlocksAreMalformed) {
    // Cannot happen inside a TCP header (40 bytes of options), but parse() takes any area.
    std::vector<int> area = {5, 2 + 5 * 8};
    area.resize(2 + 5 * 8, 0);
    EXPECT_EQ(options_of(area).err(), err::malformed);
    area = {5, 2 + 4 * 8};
    area.resize(2 + 4 * 8, 0);
    auto o = options_of(area);
    ASSERT_TRUE(o);
    EXPECT_EQ(o->sack_count_, 4);
}

TEST(TcpOptions, WindowScaleAbove14IsClamped) {
    // RFC 7323 §2.3: use 14 instead.
    auto o = options_of({1, 3, 3, 15});
    ASSERT_TRUE(o);
    EXPECT_EQ(o->window_scale_, 14);
    o = options_of({1, 3, 3, 255});
    EXPECT_EQ(o->window_scale_, 14);
    tcp_options big;
    big.window_scale_ = 200; // emit clamps too
    EXPECT_EQ(test::hex(emit_options(big)), "0103030e");
}

TEST(TcpOptions, RepeatedOptionOverrides) {
    auto o = options_of({2, 4, 0, 100, 2, 4, 0, 200});
    ASSERT_TRUE(o);
    EXPECT_EQ(o->mss_, 200);
}

TEST(TcpOptions, MalformedOptionsRejectTheSegment) {
    auto seg = copy_of(test::l4_of(test::bytes(tv::tcp_syn)));
    seg[20 + 1] = std::byte{0}; // MSS length byte: 0
    auto v = tcp_view_mut::check(seg);
    ASSERT_TRUE(v);
    v->fill_checksum(host_a, host_b);
    EXPECT_EQ(tcp_repr::parse(*v, host_a, host_b).err(), err::malformed);
}

TEST(TcpOptions, RandomOptionsRoundTrip) {
    // Property test (fixed seed): any options that fit come back equal after emit and parse.
    std::mt19937 rng(9293);
    const auto u32 = [&rng] { return static_cast<std::uint32_t>(rng()); };
    for (int round = 0; round < 2000; ++round) {
        tcp_options o;
        if (rng() % 2) o.mss_ = static_cast<std::uint16_t>(rng());
        if (rng() % 2) o.window_scale_ = static_cast<std::uint8_t>(rng() % 15);
        o.sack_permitted_ = rng() % 2;
        if (rng() % 2) o.timestamp_ = tcp_timestamp{u32(), u32()};
        o.sack_count_ = static_cast<std::uint8_t>(rng() % 5);
        for (std::size_t i = 0; i < o.sack_count_; ++i) o.sack_blocks_[i] = {u32(), u32()};
        const auto bytes = emit_options(o);
        ASSERT_LE(bytes.size(), 40u);
        ASSERT_EQ(bytes.size() % 4, 0u);
        auto back = tcp_options::parse(bytes);
        ASSERT_TRUE(back) << test::hex(bytes);
        tcp_options expected = o;
        expected.sack_count_ = static_cast<std::uint8_t>(o.sack_blocks_emitted());
        for (std::size_t i = expected.sack_count_; i < tcp_max_sack_blocks; ++i) expected.sack_blocks_[i] = {};
        ASSERT_EQ(*back, expected) << test::hex(bytes);
    }
}

TEST(Tcp, BuildsASegmentFromScratch) {
    // The SYN-ACK a Demi listener would answer the captured SYN with, checked by an independent
    // checksum computation over the emitted bytes.
    auto syn = parse(test::l4_of(test::bytes(tv::tcp_syn)), host_a, host_b);
    ASSERT_TRUE(syn);
    tcp_repr r;
    r.src_port_ = syn->dst_port_;
    r.dst_port_ = syn->src_port_;
    r.seq_ = 12345;
    r.ack_ = syn->seq_ + 1;
    r.flags_ = tcp_flag::syn | tcp_flag::ack;
    r.window_ = 65535;
    r.options_.mss_ = 1460;
    r.options_.sack_permitted_ = syn->options_.sack_permitted_;
    r.options_.window_scale_ = 7;
    r.options_.timestamp_ = tcp_timestamp{42, syn->options_.timestamp_->tsval_};
    std::vector<std::byte> out(r.buffer_len());
    r.emit(out, host_b, host_a);
    EXPECT_EQ(out.size(), 40u);
    std::vector<std::byte> pseudo = test::bytes_of({10, 0, 0, 2, 10, 0, 0, 1, 0, 6, 0, 40});
    pseudo.insert(pseudo.end(), out.begin(), out.end());
    EXPECT_EQ(test::reference_sum(pseudo), 0xffff);
    auto back = parse(out, host_b, host_a);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->options_, r.options_);
    EXPECT_EQ(back->ack_, 0x386c109du);
}

} // namespace
} // namespace demi::wire
