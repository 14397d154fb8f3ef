// catnip in one process over net_ring0 (DPDK's ring PMD: what the port transmits comes back on its own
// receive queue): the mbuf pool as demi::buffers (headroom, references, free-protection, exhaustion,
// heap fallback) and dpdk_device (zero-copy and copied transmit, shared blocks, back-pressure, bad
// sizes, caps), and that the stack's checksum seed is what DPDK's L4 offload expects.
//
// The EAL is started once, in main(), with dpdk.eal_init = --vdev=net_ring0 completed by eal_start's
// defaults (DEMI_DPDK_EAL_INIT overrides, as everywhere). Run by run_catnip_test.sh (label root).
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "libos/catnip/dpdk_device.hpp"
#include "libos/catnip/eal.hpp"
#include "libos/catnip/mbuf_pool.hpp"
#include "memory/heap.hpp"
#include "net/wire/ethernet.hpp"
#include "net/wire/ipv4.hpp"
#include "net/wire/tcp.hpp"
#include "net/wire/udp.hpp"

namespace {

using namespace demi::catnip;
using demi::buffer;

demi::rt::config base_config() {
    demi::rt::config cfg;
    // net_ring1: a second port, for a jumbo MTU (JumboMtuOnAPortWithoutMtuSetting).
    cfg.eal_init = {"--vdev=net_ring0", "--vdev=net_ring1"};
    // run_catnip_test.sh names the EAL's runtime directory, to remove it afterwards.
    if (const char *p = std::getenv("DEMI_CATNIP_TEST_PREFIX")) cfg.eal_init.push_back(std::string("--file-prefix=") + p);
    cfg.raw["dpdk.link_wait_ms"] = "100";
    return cfg;
}

void fill(buffer &b, unsigned seed) {
    auto *p = reinterpret_cast<unsigned char *>(b.data());
    for (size_t i = 0; i < b.size(); ++i) p[i] = static_cast<unsigned char>(seed * 31 + i * 7);
    // An Ethernet header: broadcast, a local experimental EtherType.
    std::memset(p, 0xff, 6);
    p[12] = 0x88;
    p[13] = 0xb5;
}

class Catnip : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        auto p = mbuf_pool::create(base_config());
        ASSERT_TRUE(p) << std::strerror(p.code());
        pool_ = std::move(*p).release();
        auto d = dpdk_device::open(base_config(), *pool_);
        ASSERT_TRUE(d) << std::strerror(d.code());
        dev_ = std::move(*d).release();
    }
    static void TearDownTestSuite() {
        delete dev_;
        delete pool_;
    }
    void SetUp() override { ASSERT_NE(dev_, nullptr); }
    // Everything sent comes back on net_ring0: takes it.
    std::vector<buffer> drain() {
        std::vector<buffer> got(64), all;
        while (size_t n = dev_->receive(got)) {
            for (size_t i = 0; i < n; ++i) all.push_back(std::move(got[i]));
        }
        return all;
    }

    static inline mbuf_pool *pool_ = nullptr;
    static inline dpdk_device *dev_ = nullptr;
};

TEST_F(Catnip, AllocIsAnMbufWithHeadroomForAllHeaders) {
    const unsigned before = pool_->available();
    auto b = pool_->alloc(100);
    ASSERT_TRUE(b);
    EXPECT_NE(mbuf_pool::mbuf_of(*b), nullptr);
    EXPECT_EQ(b->size(), 100u);
    EXPECT_GE(b->headroom(), 14u + 60 + 60);
    EXPECT_EQ(b->headroom(), alloc_headroom);
    EXPECT_TRUE(b->prepend(14 + 60 + 60));
    EXPECT_EQ(pool_->available(), before - 1);
    b->reset();
    EXPECT_EQ(pool_->available(), before);
}

TEST_F(Catnip, SharedBufferSurvivesOneRelease) {
    const unsigned before = pool_->available();
    auto b = pool_->alloc(64);
    ASSERT_TRUE(b);
    fill(*b, 1);
    std::vector<std::byte> want(b->bytes().begin(), b->bytes().end());
    buffer other = *b;
    EXPECT_EQ(other.use_count(), 2u);
    b->reset();
    EXPECT_EQ(pool_->available(), before - 1); // still held
    ASSERT_EQ(other.size(), want.size());
    EXPECT_EQ(std::memcmp(other.data(), want.data(), want.size()), 0);
    other.reset();
    EXPECT_EQ(pool_->available(), before);
}

TEST_F(Catnip, LargeAllocFallsBackToTheHeap) {
    const auto heap_before = pool_->stats().heap_allocs;
    auto b = pool_->alloc(1 << 20);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->size(), size_t{1} << 20);
    EXPECT_EQ(mbuf_pool::mbuf_of(*b), nullptr);
    EXPECT_EQ(pool_->stats().heap_allocs, heap_before + 1);
    auto edge = pool_->alloc(pool_->max_mbuf_alloc());
    ASSERT_TRUE(edge);
    EXPECT_NE(mbuf_pool::mbuf_of(*edge), nullptr);
    auto over = pool_->alloc(pool_->max_mbuf_alloc() + 1);
    ASSERT_TRUE(over);
    EXPECT_EQ(mbuf_pool::mbuf_of(*over), nullptr);
    EXPECT_EQ(pool_->alloc(0).code(), EINVAL);
}

TEST_F(Catnip, ExhaustedPoolSaysEnobufs) {
    mbuf_pool_config c;
    c.count = 63;
    c.cache = 0;
    auto small = mbuf_pool::create(c);
    ASSERT_TRUE(small) << std::strerror(small.code());
    std::vector<buffer> held;
    while (true) {
        auto b = (*small)->alloc(10);
        if (!b) {
            EXPECT_EQ(b.code(), ENOBUFS);
            break;
        }
        held.push_back(std::move(*b));
        ASSERT_LE(held.size(), 63u);
    }
    EXPECT_EQ(held.size(), 63u);
    EXPECT_EQ((*small)->stats().exhausted, 1u);
    EXPECT_EQ((*small)->alloc_mbuf().code(), ENOBUFS);
    EXPECT_EQ((*small)->stats().exhausted, 2u);
    held.pop_back();
    EXPECT_TRUE((*small)->alloc(10));
    held.clear();
    EXPECT_EQ((*small)->available(), 63u);
}

TEST_F(Catnip, DeviceBasics) {
    std::printf("port %u driver %s mac %s mtu %zu link %s\n", dev_->port_id(), dev_->driver_name(),
                dev_->mac().to_string().c_str(), dev_->mtu(), dev_->link_up() ? "up" : "down");
    EXPECT_EQ(dev_->mtu(), 1500u);
    EXPECT_TRUE(dev_->link_up());
    // net_ring reports no checksum offload: everything stays in software.
    EXPECT_EQ(dev_->caps(), demi::phy::checksum_caps{});
}

// net_ring, like net_memif, has no MTU operation (rte_eth_dev_set_mtu is ENOTSUP) and takes frames of
// any length: a 9000-byte MTU is the stack's, and a 9014-byte frame goes round in one mbuf.
TEST(CatnipJumbo, JumboMtuOnAPortWithoutMtuSetting) {
    demi::rt::config cfg = base_config();
    cfg.mtu = 9000;
    cfg.raw["dpdk.port_id"] = "1";
    cfg.raw["dpdk.mbuf_count"] = "255";
    cfg.raw["dpdk.mbuf_cache"] = "32";
    auto p = mbuf_pool::create(cfg);
    ASSERT_TRUE(p) << std::strerror(p.code());
    auto d = dpdk_device::open(cfg, **p);
    ASSERT_TRUE(d) << std::strerror(d.code());
    dpdk_device &dev = **d;
    EXPECT_EQ(dev.port_id(), 1u);
    EXPECT_EQ(dev.mtu(), 9000u);
    auto b = (*p)->alloc(9014);
    ASSERT_TRUE(b);
    EXPECT_NE(mbuf_pool::mbuf_of(*b), nullptr); // one mbuf holds a whole frame
    fill(*b, 9);
    std::vector<std::byte> want(b->bytes().begin(), b->bytes().end());
    buffer frames[1] = {std::move(*b)};
    ASSERT_EQ(dev.transmit(frames), 1u);
    EXPECT_EQ(dev.stats().tx_oversize_drops, 0u);
    buffer got[4];
    ASSERT_EQ(dev.receive(got), 1u);
    ASSERT_EQ(got[0].size(), want.size());
    EXPECT_EQ(std::memcmp(got[0].data(), want.data(), want.size()), 0);
    got[0].reset();
    // Larger than the MTU: taken and dropped, as on port 0.
    auto big = (*p)->alloc(9015);
    ASSERT_TRUE(big);
    fill(*big, 10);
    frames[0] = std::move(*big);
    ASSERT_EQ(dev.transmit(frames), 1u);
    EXPECT_EQ(dev.stats().tx_oversize_drops, 1u);
    EXPECT_EQ(dev.receive(got), 0u);
    d->reset(); // the port goes before its pool
    EXPECT_EQ((*p)->available(), (*p)->count());
}

TEST_F(Catnip, MbufFrameGoesOutWithoutCopy) {
    const unsigned before = pool_->available();
    const auto st = dev_->stats();
    auto b = pool_->alloc(60);
    ASSERT_TRUE(b);
    fill(*b, 2);
    std::vector<std::byte> want(b->bytes().begin(), b->bytes().end());
    const std::byte *where = b->data();
    buffer frames[1] = {std::move(*b)};
    ASSERT_EQ(dev_->transmit(frames), 1u);
    EXPECT_FALSE(frames[0].valid()); // taken
    EXPECT_EQ(dev_->stats().tx_frames, st.tx_frames + 1);
    EXPECT_EQ(dev_->stats().tx_zero_copy, st.tx_zero_copy + 1);
    EXPECT_EQ(dev_->stats().tx_copies, st.tx_copies);
    auto got = drain();
    ASSERT_EQ(got.size(), 1u);
    ASSERT_EQ(got[0].size(), want.size());
    EXPECT_EQ(std::memcmp(got[0].data(), want.data(), want.size()), 0);
    EXPECT_EQ(got[0].data(), where); // the very same bytes came back: no copy anywhere
    EXPECT_NE(mbuf_pool::mbuf_of(got[0]), nullptr);
    got.clear();
    EXPECT_EQ(pool_->available(), before);
}

TEST_F(Catnip, HeapFrameIsCopiedOnce) {
    const unsigned before = pool_->available();
    const auto st = dev_->stats();
    auto b = demi::mem::heap_allocate(1514);
    ASSERT_TRUE(b);
    fill(*b, 3);
    std::vector<std::byte> want(b->bytes().begin(), b->bytes().end());
    buffer frames[1] = {std::move(*b)};
    ASSERT_EQ(dev_->transmit(frames), 1u);
    EXPECT_EQ(dev_->stats().tx_copies, st.tx_copies + 1);
    EXPECT_EQ(dev_->stats().tx_zero_copy, st.tx_zero_copy);
    auto got = drain();
    ASSERT_EQ(got.size(), 1u);
    ASSERT_EQ(got[0].size(), want.size());
    EXPECT_EQ(std::memcmp(got[0].data(), want.data(), want.size()), 0);
    got.clear();
    EXPECT_EQ(pool_->available(), before);
}

TEST_F(Catnip, SharedFrameGoesOutIndirectAndStaysIntact) {
    const unsigned before = pool_->available();
    const auto st = dev_->stats();
    auto b = pool_->alloc(200);
    ASSERT_TRUE(b);
    fill(*b, 4);
    buffer keep = *b; // e.g. the stack keeping the segment for retransmission
    std::vector<std::byte> want(b->bytes().begin(), b->bytes().end());
    // Two views of one block in flight at once, with different lengths.
    buffer frames[2] = {std::move(*b), keep.slice(0, 100)};
    ASSERT_EQ(dev_->transmit(frames), 2u);
    EXPECT_EQ(dev_->stats().tx_indirect, st.tx_indirect + 2);
    EXPECT_EQ(dev_->stats().tx_copies, st.tx_copies);
    auto got = drain();
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].size(), 200u);
    EXPECT_EQ(got[1].size(), 100u);
    EXPECT_EQ(std::memcmp(got[0].data(), want.data(), 200), 0);
    EXPECT_EQ(std::memcmp(got[1].data(), want.data(), 100), 0);
    EXPECT_EQ(keep.use_count(), 1u);
    EXPECT_EQ(std::memcmp(keep.data(), want.data(), 200), 0);
    got.clear();
    EXPECT_EQ(pool_->available(), before - 1); // keep still holds its mbuf
    // The last view is again the only one: the mbuf itself goes out.
    buffer again[1] = {std::move(keep)};
    ASSERT_EQ(dev_->transmit(again), 1u);
    EXPECT_EQ(dev_->stats().tx_indirect, st.tx_indirect + 2);
    EXPECT_EQ(dev_->stats().tx_zero_copy, st.tx_zero_copy + 3);
    got = drain();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(std::memcmp(got[0].data(), want.data(), 200), 0);
    got.clear();
    EXPECT_EQ(pool_->available(), before);
}

TEST_F(Catnip, BadSizesAreTakenAndDropped) {
    const auto st = dev_->stats();
    auto big = demi::mem::heap_allocate(1515);
    auto tiny = demi::mem::heap_allocate(10);
    auto ok = pool_->alloc(60);
    ASSERT_TRUE(big && tiny && ok);
    fill(*ok, 5);
    buffer frames[3] = {std::move(*big), std::move(*ok), std::move(*tiny)};
    EXPECT_EQ(dev_->transmit(frames), 3u);
    EXPECT_EQ(dev_->stats().tx_oversize_drops, st.tx_oversize_drops + 2);
    EXPECT_EQ(dev_->stats().tx_frames, st.tx_frames + 1);
    EXPECT_EQ(drain().size(), 1u);
}

TEST_F(Catnip, FullRingPushesBackAndLeavesFramesWithTheCaller) {
    const unsigned before = pool_->available();
    const auto st = dev_->stats();
    std::vector<buffer> frames;
    for (int i = 0; i < 3000; ++i) {
        auto b = pool_->alloc(60);
        ASSERT_TRUE(b);
        fill(*b, static_cast<unsigned>(i));
        frames.push_back(std::move(*b));
    }
    const size_t n = dev_->transmit(frames);
    std::printf("net_ring took %zu of 3000 frames\n", n);
    ASSERT_LT(n, frames.size());
    EXPECT_GT(n, 0u);
    EXPECT_EQ(dev_->stats().tx_full, st.tx_full + 1);
    for (size_t i = 0; i < frames.size(); ++i) EXPECT_EQ(frames[i].valid(), i >= n) << i;
    for (size_t i = n; i < frames.size(); ++i) EXPECT_EQ(frames[i].use_count(), 1u);
    EXPECT_EQ(drain().size(), n);
    // The rest goes now, in order.
    std::span<buffer> rest(frames.begin() + static_cast<std::ptrdiff_t>(n), frames.end());
    size_t total = n;
    while (!rest.empty()) {
        const size_t m = dev_->transmit(rest);
        ASSERT_GT(m, 0u);
        auto got = drain();
        ASSERT_EQ(got.size(), m);
        for (size_t i = 0; i < m; ++i) {
            auto *p = reinterpret_cast<const unsigned char *>(got[i].data());
            EXPECT_EQ(p[14], static_cast<unsigned char>((total + i) * 31 + 14 * 7));
        }
        total += m;
        rest = rest.subspan(m);
    }
    frames.clear();
    EXPECT_EQ(pool_->available(), before);
}

TEST_F(Catnip, StackChecksumSeedIsWhatDpdkOffloadExpects) {
    using namespace demi::wire;
    const ipv4_address src(10, 0, 0, 1), dst(10, 0, 0, 2);
    std::vector<std::byte> payload(333);
    for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<std::byte>(i * 13);
    for (int proto : {6, 17}) {
        for (bool offload : {true, false}) {
            checksum_caps caps = offload ? checksum_caps::offloaded() : checksum_caps::software();
            std::vector<std::byte> f(14 + 20 + (proto == 6 ? 20 : 8) + payload.size());
            ethernet_repr{ethernet_address(2, 0, 0, 0, 0, 1), ethernet_address(2, 0, 0, 0, 0, 2), ethertype::ipv4}.emit(f);
            ipv4_repr ip;
            ip.src_ = src;
            ip.dst_ = dst;
            ip.protocol_ = proto == 6 ? ip_protocol::tcp : ip_protocol::udp;
            ip.payload_len_ = static_cast<std::uint16_t>(f.size() - 34);
            ip.emit(std::span(f).subspan(14), caps);
            if (proto == 6) {
                tcp_repr t;
                t.src_port_ = 40000;
                t.dst_port_ = 80;
                t.seq_ = 12345;
                t.ack_ = 678;
                t.flags_ = tcp_flag::ack | tcp_flag::psh;
                t.window_ = 1000;
                t.payload_ = payload;
                t.emit(std::span(f).subspan(34), src, dst, caps);
            } else {
                udp_repr u;
                u.src_port_ = 40000;
                u.dst_port_ = 53;
                u.payload_ = payload;
                u.emit(std::span(f).subspan(34), src, dst, caps);
            }
            auto c = demi::catnip::detail::dpdk_l4_checksums(f);
            ASSERT_TRUE(c);
            if (offload)
                EXPECT_EQ(c->field, c->pseudo_seed) << "proto " << proto;
            else
                EXPECT_EQ(c->field, c->full) << "proto " << proto;
        }
    }
}

} // namespace

int main(int argc, char **argv) {
    ::testing::InitGoogleTest(&argc, argv);
    if (auto r = eal_start(base_config()); !r) {
        std::fprintf(stderr, "device_test: eal_start: %s\n", std::strerror(r.code()));
        return 1;
    }
    // A second start with the same configuration is fine.
    if (auto r = eal_start(base_config()); !r) {
        std::fprintf(stderr, "device_test: second eal_start: %s\n", std::strerror(r.code()));
        return 1;
    }
    demi::rt::config other = base_config();
    other.eal_init.push_back("--vdev=net_null0");
    if (auto r = eal_start(other); std::getenv("DEMI_DPDK_EAL_INIT") == nullptr && r.code() != EALREADY) {
        std::fprintf(stderr, "device_test: eal_start with other arguments: %d, want EALREADY\n", r.code());
        return 1;
    }
    return RUN_ALL_TESTS();
}
