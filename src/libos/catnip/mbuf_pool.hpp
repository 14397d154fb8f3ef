// catnip: a DPDK mempool of mbufs whose memory is handed out as demi::buffers without copying.
//
// Every mbuf of the pool carries a demi::detail::buffer_block in its private area (priv_size, right
// after struct rte_mbuf): base = buf_addr, capacity = buf_len, owner = the mbuf, release =
// rte_pktmbuf_free. So a buffer made here or received by dpdk_device IS an mbuf: the stack prepends
// headers into its headroom and the device transmits the same memory. The block's refs count
// demi::buffers; the mbuf's own refcnt counts DPDK holders (the block holds one while any buffer
// lives, the TX ring one per frame in flight), and the mbuf returns to the pool when both are done.
//
// Sizes: each mbuf has `data_room` bytes (dpdk.mbuf_data_room; default the larger of DPDK's 2048 + 128
// and alloc_headroom + MTU + 14, so one frame of the configured MTU, jumbo included, fits one mbuf).
// alloc(n) larger than one mbuf falls back to a heap buffer (mem::heap_allocate): demi_sgaalloc of
// 1 MiB works, and the device copies such a frame into an mbuf on transmit (counted).
//
// Not thread-safe (one libOS instance, one thread). The pool must outlive its buffers: destroying it
// with mbufs still out leaves the mempool allocated (logged) rather than freeing memory in use.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/result.hpp"
#include "runtime/config.hpp"

#include <demi/buffer.hpp>

struct rte_mempool;
struct rte_mbuf;

namespace demi::catnip {

/// Headroom alloc() leaves before the data by default: Ethernet (14) + IPv4 with options (60) + TCP
/// with options (60) = 134, rounded up to a cache line multiple.
inline constexpr std::size_t alloc_headroom = 192;

struct mbuf_pool_config {
    std::uint32_t count = 8191;     ///< dpdk.mbuf_count (a power of two minus one suits the ring best)
    std::uint32_t cache = 256;      ///< dpdk.mbuf_cache (per-lcore cache; at most 512)
    std::uint32_t data_room = 0;    ///< dpdk.mbuf_data_room; 0: from the MTU (see the file comment)
    std::uint32_t mtu = 1500;       ///< inetstack_config.mtu
    int socket_id = -1;             ///< NUMA socket (-1: any)

    /// Reads the keys above from `cfg` (cfg.raw for the dpdk.* ones). EINVAL (logged) for a bad value.
    static result<mbuf_pool_config> from(const rt::config &cfg);
    /// The data room used: data_room, or the default from mtu.
    [[nodiscard]] std::uint32_t effective_data_room() const noexcept;
};

struct mbuf_pool_stats {
    std::uint64_t mbuf_allocs = 0;     ///< alloc() answered with an mbuf
    std::uint64_t heap_allocs = 0;     ///< alloc() too large for an mbuf, answered from the heap
    std::uint64_t exhausted = 0;       ///< an mbuf was wanted and the pool had none (ENOBUFS)
};

class mbuf_pool {
public:
    /// Creates the mempool (the EAL must run: eal_start). ENOMEM (logged with the sizes and DPDK's
    /// reason) when the EAL has no memory for it; EINVAL for a bad configuration.
    static result<std::unique_ptr<mbuf_pool>> create(const mbuf_pool_config &cfg);
    static result<std::unique_ptr<mbuf_pool>> create(const rt::config &cfg);
    ~mbuf_pool();
    mbuf_pool(const mbuf_pool &) = delete;
    mbuf_pool &operator=(const mbuf_pool &) = delete;

    /// A buffer of n bytes (uninitialised) with at least `headroom` bytes before them: an mbuf when
    /// headroom + n fits one, else a heap buffer. ENOBUFS when an mbuf would do and the pool is empty
    /// (counted; never waits); EINVAL for n == 0; ENOMEM when the heap says so.
    result<buffer> alloc(std::size_t n, std::size_t headroom = alloc_headroom) noexcept;
    /// An mbuf of the pool as a buffer of [data_off, data_off + data_len) (its whole first segment);
    /// ENOBUFS when the pool is empty.
    result<buffer> alloc_mbuf() noexcept;

    /// Takes one reference to `m` (an mbuf of this pool, e.g. received) and returns it as a buffer of
    /// its first segment's data; the buffer's last reference frees it.
    [[nodiscard]] static buffer wrap(rte_mbuf *m) noexcept;
    /// The mbuf behind `b` if b's block is an mbuf of a catnip pool, else nullptr.
    [[nodiscard]] static rte_mbuf *mbuf_of(const buffer &b) noexcept;

    [[nodiscard]] rte_mempool *mempool() const noexcept { return mp_; }
    /// Bytes of one mbuf's data room (headroom included).
    [[nodiscard]] std::uint32_t data_room() const noexcept { return data_room_; }
    /// The largest n alloc(n, alloc_headroom) answers with an mbuf.
    [[nodiscard]] std::size_t max_mbuf_alloc() const noexcept { return data_room_ - alloc_headroom; }
    /// mbufs in the pool now (not allocated).
    [[nodiscard]] unsigned available() const noexcept;
    [[nodiscard]] std::uint32_t count() const noexcept { return count_; }
    [[nodiscard]] const mbuf_pool_stats &stats() const noexcept { return stats_; }

private:
    /// One mbuf from the pool, counted (nullptr when the pool is empty: counted and logged).
    rte_mbuf *take() noexcept;
    mbuf_pool(rte_mempool *mp, std::uint32_t data_room, std::uint32_t count) noexcept
        : mp_(mp), data_room_(data_room), count_(count) {}

    rte_mempool *mp_;
    std::uint32_t data_room_;
    std::uint32_t count_;
    mbuf_pool_stats stats_;
};

} // namespace demi::catnip
