#include "net/wire/checksum.hpp"

#include <gtest/gtest.h>

#include <random>

#include "test_util.hpp"
#include "vectors.hpp"

namespace demi::wire {
namespace {

using test::bytes_of;
using test::copy_of;
using test::reference_sum;

std::vector<std::byte> random_bytes(std::mt19937 &rng, std::size_t n) {
    std::uniform_int_distribution<int> d(0, 255);
    std::vector<std::byte> v(n);
    for (auto &b : v) b = static_cast<std::byte>(d(rng));
    return v;
}

TEST(Checksum, Rfc1071NumericalExample) {
    // RFC 1071 §3: the bytes 00 01 f2 03 f4 f5 f6 f7 have the one's-complement sum dd f2.
    const auto data = bytes_of({0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7});
    EXPECT_EQ(ones_complement_sum(data), 0xddf2);
    EXPECT_EQ(internet_checksum(data), 0x220d);
}

TEST(Checksum, OddLengthPadsWithZero) {
    const auto data = bytes_of({0x00, 0x01, 0xf2});
    EXPECT_EQ(ones_complement_sum(data), 0xf201); // 0001 + f200
}

TEST(Checksum, EmptyAndZeroData) {
    EXPECT_EQ(ones_complement_sum({}), 0);
    EXPECT_EQ(internet_checksum({}), 0xffff);
    const std::vector<std::byte> zeros(100);
    EXPECT_EQ(internet_checksum(zeros), 0xffff);
}

TEST(Checksum, CarriesFoldAround) {
    const std::vector<std::byte> ones(1000, std::byte{0xff});
    EXPECT_EQ(ones_complement_sum(ones), 0xffff);
    const auto data = bytes_of({0xff, 0xff, 0x00, 0x01}); // ffff + 0001 = 1 0000 -> 0001
    EXPECT_EQ(ones_complement_sum(data), 0x0001);
}

TEST(Checksum, MatchesReferenceOnRandomData) {
    std::mt19937 rng(20240601);
    for (std::size_t n = 0; n < 300; ++n) {
        const auto data = random_bytes(rng, n);
        ASSERT_EQ(ones_complement_sum(data), reference_sum(data)) << "length " << n;
        // Every alignment of the start, since the fast path loads 32-bit words.
        if (n > 3) {
            const auto tail = std::span<const std::byte>(data).subspan(3);
            ASSERT_EQ(ones_complement_sum(tail), reference_sum(tail));
        }
    }
    const auto big = random_bytes(rng, 100'001);
    EXPECT_EQ(ones_complement_sum(big), reference_sum(big));
}

TEST(Checksum, AccumulatorSplitAnywhereEqualsWhole) {
    std::mt19937 rng(7);
    for (int round = 0; round < 20; ++round) {
        const auto data = random_bytes(rng, 1 + rng() % 97);
        const std::span<const std::byte> s(data);
        const std::uint16_t whole = reference_sum(s);
        for (std::size_t i = 0; i <= s.size(); ++i) {
            for (std::size_t j = i; j <= s.size(); j += 5) {
                checksum_accumulator acc;
                acc.add(s.first(i)).add(s.subspan(i, j - i)).add(s.subspan(j));
                ASSERT_EQ(acc.sum(), whole) << "split at " << i << ", " << j << " of " << s.size();
            }
        }
    }
}

TEST(Checksum, AccumulatorWordsAtOddOffsets) {
    // add16/add32 after an odd number of bytes must equal adding the same bytes.
    const auto data = bytes_of({0x12, 0xab, 0xcd, 0x01, 0x02, 0x03, 0x04, 0x99});
    checksum_accumulator bytes_only;
    bytes_only.add(data);
    checksum_accumulator words;
    words.add(std::span(data).first(1)).add16(0xabcd).add32(0x01020304).add(std::span(data).subspan(7));
    EXPECT_EQ(words.sum(), bytes_only.sum());
    EXPECT_EQ(words.sum(), reference_sum(data));
}

TEST(Checksum, CapturedIpv4HeaderChecksum) {
    // The header of the captured echo request carries d4 06.
    auto frame = copy_of(test_vectors::icmp_echo_request);
    std::span<std::byte> header = std::span(frame).subspan(14, 20);
    EXPECT_EQ(ones_complement_sum(header), 0xffff);
    header[10] = header[11] = std::byte{0};
    EXPECT_EQ(internet_checksum(header), 0xd406);
}

TEST(Checksum, PseudoHeaderOfCapturedSyn) {
    const auto frame = copy_of(test_vectors::tcp_syn);
    const auto seg = test::l4_of(frame);
    ASSERT_EQ(seg.size(), 40u);
    // RFC 9293 §3.1: src, dst, zero, protocol 6, TCP length.
    const std::uint16_t ph = ipv4_pseudo_header(test::host_a, test::host_b, 6, 40).sum();
    EXPECT_EQ(ph, 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 0x0006 + 0x0028);
    checksum_accumulator acc = ipv4_pseudo_header(test::host_a, test::host_b, 6, 40);
    EXPECT_EQ(acc.add(seg).sum(), 0xffff);
    EXPECT_EQ(acc.checksum(), 0);
}

TEST(Checksum, Rfc1624Example) {
    // RFC 1624 §4: HC = 0xdd2f, a word changes from 0x5555 to 0x3285; eqn. 3 gives 0x0000 (not 0xffff).
    EXPECT_EQ(checksum_update16(0xdd2f, 0x5555, 0x3285), 0x0000);
}

TEST(Checksum, IncrementalUpdateEqualsFullRecompute) {
    // Property test (fixed seed): random data with a checksum field at a random even offset; change a
    // random 16- or 32-bit word; the RFC 1624 update must equal recomputing from scratch.
    std::mt19937 rng(1624);
    for (int round = 0; round < 5000; ++round) {
        const std::size_t words = 4 + rng() % 200;
        auto data = random_bytes(rng, words * 2 + (rng() % 2)); // odd lengths too
        const std::size_t ck_at = 2 * (rng() % words);
        std::size_t at;
        do at = 2 * (rng() % (words - 1));
        while (at == ck_at || at + 2 == ck_at);
        store_be16(data.data() + ck_at, 0);
        const std::uint16_t ck = internet_checksum(data);
        store_be16(data.data() + ck_at, ck);
        ASSERT_EQ(ones_complement_sum(data), 0xffff);

        std::uint16_t updated;
        if (round % 2 == 0) {
            const std::uint16_t old_word = load_be16(data.data() + at);
            const auto new_word = static_cast<std::uint16_t>(rng());
            store_be16(data.data() + at, new_word);
            updated = checksum_update16(ck, old_word, new_word);
        } else {
            const std::uint32_t old_word = load_be32(data.data() + at);
            const auto new_word = static_cast<std::uint32_t>(rng());
            store_be32(data.data() + at, new_word);
            updated = checksum_update32(ck, old_word, new_word);
        }
        store_be16(data.data() + ck_at, 0);
        ASSERT_EQ(updated, internet_checksum(data)) << "round " << round;
        store_be16(data.data() + ck_at, updated);
        ASSERT_EQ(ones_complement_sum(data), 0xffff) << "round " << round;
    }
}

TEST(Checksum, IncrementalTtlDecrementOnCapturedHeader) {
    // A router-style update (RFC 1624 §1): TTL 64 -> 63 in the word (TTL, protocol).
    auto frame = copy_of(test_vectors::icmp_echo_request);
    auto ip = ipv4_view_mut::check(std::span(frame).subspan(14));
    ASSERT_TRUE(ip);
    const std::uint16_t old_word = static_cast<std::uint16_t>(ip->ttl() << 8 | ip->protocol_raw());
    ip->set_ttl(63);
    const std::uint16_t new_word = static_cast<std::uint16_t>(63 << 8 | ip->protocol_raw());
    const std::uint16_t incremental = checksum_update16(ip->checksum(), old_word, new_word);
    ip->fill_checksum();
    EXPECT_EQ(incremental, ip->checksum());
    EXPECT_TRUE(ip->verify_checksum());
}

TEST(Checksum, CapsModes) {
    EXPECT_TRUE(verifies(checksum_mode::both));
    EXPECT_TRUE(computes(checksum_mode::both));
    EXPECT_TRUE(verifies(checksum_mode::rx));
    EXPECT_FALSE(computes(checksum_mode::rx));
    EXPECT_FALSE(verifies(checksum_mode::tx));
    EXPECT_TRUE(computes(checksum_mode::tx));
    EXPECT_FALSE(verifies(checksum_mode::none));
    EXPECT_FALSE(computes(checksum_mode::none));
    constexpr auto sw = checksum_caps::software();
    EXPECT_EQ(sw.tcp_, checksum_mode::both);
    constexpr auto off = checksum_caps::offloaded();
    EXPECT_EQ(off.ipv4_, checksum_mode::none);
    EXPECT_EQ(off.udp_, checksum_mode::none);
}

TEST(Endian, LoadsAndStores) {
    std::byte buf[6] = {};
    store_be16(buf, 0x1234);
    store_be32(buf + 2, 0xdeadbeef);
    EXPECT_EQ(std::to_integer<int>(buf[0]), 0x12);
    EXPECT_EQ(std::to_integer<int>(buf[5]), 0xef);
    EXPECT_EQ(load_be16(buf), 0x1234);
    EXPECT_EQ(load_be32(buf + 2), 0xdeadbeefu);
    EXPECT_EQ(net_to_host16(host_to_net16(0xabcd)), 0xabcd);
    EXPECT_EQ(net_to_host32(host_to_net32(0x01020304)), 0x01020304u);
    EXPECT_EQ(byteswap32(0x01020304), 0x04030201u);
    static_assert(load_be16(std::array<std::byte, 2>{std::byte{1}, std::byte{2}}.data()) == 0x0102);
}

} // namespace
} // namespace demi::wire
