// The mbuf pool (see mbuf_pool.hpp).
#include "libos/catnip/mbuf_pool.hpp"

#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>

#include "common/log.hpp"
#include "memory/heap.hpp"

namespace demi::catnip {

namespace {

using demi::detail::buffer_block;

// The private area holds the block header; priv_size must be a multiple of RTE_MBUF_PRIV_ALIGN.
constexpr std::uint16_t priv_size = static_cast<std::uint16_t>(RTE_ALIGN_CEIL(sizeof(buffer_block), RTE_MBUF_PRIV_ALIGN));
static_assert(alignof(buffer_block) <= RTE_MBUF_PRIV_ALIGN);

void release_mbuf(buffer_block *blk) noexcept { rte_pktmbuf_free(static_cast<rte_mbuf *>(blk->owner)); }

} // namespace

result<mbuf_pool_config> mbuf_pool_config::from(const rt::config &cfg) {
    mbuf_pool_config c;
    c.mtu = cfg.mtu;
    if (!rt::read_raw_u32(cfg, "dpdk.mbuf_count", 63, 1u << 24, &c.count) ||
        !rt::read_raw_u32(cfg, "dpdk.mbuf_cache", 0, RTE_MEMPOOL_CACHE_MAX_SIZE, &c.cache) ||
        !rt::read_raw_u32(cfg, "dpdk.mbuf_data_room", 0, 65535, &c.data_room))
        return error(EINVAL);
    return c;
}

std::uint32_t mbuf_pool_config::effective_data_room() const noexcept {
    if (data_room != 0) return data_room;
    return std::max<std::uint32_t>(RTE_MBUF_DEFAULT_BUF_SIZE, static_cast<std::uint32_t>(alloc_headroom) + mtu + 14);
}

result<std::unique_ptr<mbuf_pool>> mbuf_pool::create(const rt::config &cfg) {
    auto c = mbuf_pool_config::from(cfg);
    if (!c) return c.err();
    return create(*c);
}

result<std::unique_ptr<mbuf_pool>> mbuf_pool::create(const mbuf_pool_config &cfg) {
    const std::uint32_t room = cfg.effective_data_room();
    if (room < alloc_headroom + 64 || room < RTE_PKTMBUF_HEADROOM + 64 || room > 65535) {
        DEMI_LOG(error, "catnip", "mbuf data room %u is outside %zu..65535", room,
                 std::max<std::size_t>(alloc_headroom, RTE_PKTMBUF_HEADROOM) + 64);
        return error(EINVAL);
    }
    if (cfg.cache > RTE_MEMPOOL_CACHE_MAX_SIZE || cfg.cache > cfg.count / 2) {
        DEMI_LOG(error, "catnip", "mbuf cache %u too large for %u mbufs", cfg.cache, cfg.count);
        return error(EINVAL);
    }
    static std::atomic<unsigned> seq{0}; // mempool names are process-wide
    const std::string name = "demi_mbuf_" + std::to_string(seq.fetch_add(1));
    rte_mempool *mp = rte_pktmbuf_pool_create(name.c_str(), cfg.count, cfg.cache, priv_size,
                                              static_cast<std::uint16_t>(room), cfg.socket_id);
    if (mp == nullptr) {
        const int e = rte_errno;
        DEMI_LOG(error, "catnip",
                 "cannot create the mbuf pool (%u mbufs of %u bytes, about %zu MiB): %s; give the EAL more memory "
                 "(-m, hugepages: scripts/hugepages reserve) or fewer mbufs (dpdk.mbuf_count)",
                 cfg.count, room, (static_cast<std::size_t>(cfg.count) * (room + 128 + priv_size)) >> 20,
                 rte_strerror(e));
        return error(ENOMEM);
    }
    DEMI_LOG(info, "catnip", "mbuf pool %s: %u mbufs, data room %u", name.c_str(), cfg.count, room);
    return std::unique_ptr<mbuf_pool>(new mbuf_pool(mp, room, cfg.count));
}

mbuf_pool::~mbuf_pool() {
    if (mp_ == nullptr) return;
    if (rte_mempool_full(mp_) != 0) {
        rte_mempool_free(mp_);
    } else {
        DEMI_LOG(warn, "catnip", "mbuf pool %s destroyed with %u mbufs still in use: left allocated", mp_->name,
                 count_ - rte_mempool_avail_count(mp_));
    }
}

unsigned mbuf_pool::available() const noexcept { return rte_mempool_avail_count(mp_); }

buffer mbuf_pool::wrap(rte_mbuf *m) noexcept {
    auto *blk = static_cast<buffer_block *>(rte_mbuf_to_priv(m));
    blk->refs = 1;
    blk->flags = 0;
    blk->base = static_cast<std::byte *>(m->buf_addr);
    blk->capacity = m->buf_len;
    blk->release = &release_mbuf;
    blk->owner = m;
    return buffer::adopt(blk, m->data_off, m->data_len);
}

rte_mbuf *mbuf_pool::mbuf_of(const buffer &b) noexcept {
    const buffer_block *blk = b.block();
    if (blk == nullptr || blk->release != &release_mbuf) return nullptr;
    return static_cast<rte_mbuf *>(blk->owner);
}

rte_mbuf *mbuf_pool::take() noexcept {
    rte_mbuf *m = rte_pktmbuf_alloc(mp_);
    if (m == nullptr) {
        ++stats_.exhausted;
        DEMI_LOG(debug, "catnip", "mbuf pool empty (%u mbufs)", count_);
        return nullptr;
    }
    ++stats_.mbuf_allocs;
    return m;
}

result<buffer> mbuf_pool::alloc_mbuf() noexcept {
    rte_mbuf *m = take();
    if (m == nullptr) return error(ENOBUFS);
    return wrap(m);
}

result<buffer> mbuf_pool::alloc(std::size_t n, std::size_t headroom) noexcept {
    if (n == 0) return error(EINVAL);
    if (headroom > data_room_ || n > data_room_ - headroom) {
        ++stats_.heap_allocs;
        return mem::heap_allocate(n, headroom);
    }
    rte_mbuf *m = take();
    if (m == nullptr) return error(ENOBUFS);
    m->data_off = static_cast<std::uint16_t>(headroom);
    m->data_len = static_cast<std::uint16_t>(n);
    m->pkt_len = static_cast<std::uint32_t>(n);
    return wrap(m);
}

} // namespace demi::catnip
