#include "libos/catnip/catnip.hpp"

#include "common/log.hpp"
#include "libos/catnip/dpdk_device.hpp"
#include "libos/catnip/eal.hpp"
#include "libos/catnip/mbuf_pool.hpp"
#include "libos/inetstack/inetstack.hpp"

namespace demi::catnip {

namespace {

// Process-wide like the EAL that holds them, and never torn down: the mbuf pool (popped buffers may
// outlive the instance that gave them) and the port, opened by the first catnip instance with its
// configuration. DPDK is not cleaned up at exit (no rte_eal_cleanup), and its PMDs' control threads
// still run then (memif's unregisters interrupt handlers asynchronously): stopping or closing the port
// from an exit-time destructor races with them and crashed a client at exit. So the state is made once
// and left to the end of the process; an instance leases the port and gives it back.
struct process_state {
    std::unique_ptr<mbuf_pool> pool;
    std::unique_ptr<dpdk_device> dev;
    bool leased = false;
};

process_state &state() {
    static auto *s = new process_state; // deliberately never destroyed (see above)
    return *s;
}

result<buffer> pool_alloc(std::size_t size, std::size_t headroom) noexcept {
    return state().pool->alloc(size, headroom);
}

// An instance's use of the process's port.
class port_lease final : public phy::device {
public:
    explicit port_lease(dpdk_device &d) noexcept : dev_(d) { dev_.set_leased(true); }
    ~port_lease() override {
        dev_.set_leased(false);
        const dpdk_device_stats &d = dev_.stats();
        const mbuf_pool_stats &p = dev_.pool().stats();
        DEMI_LOG(info, "catnip",
                 "port %u: rx %llu frames in %llu bursts of %llu polls (multi-segment drops %llu, bad checksum "
                 "drops %llu), tx %llu frames in %llu bursts (zero-copy %llu, indirect %llu, copies %llu), tx ring "
                 "full %llu, pool exhausted on tx %llu, oversize drops %llu, peer departures %llu; pool: %llu mbuf "
                 "allocs, %llu heap allocs, exhausted %llu, %u of %u free",
                 dev_.port_id(), (unsigned long long)d.rx_frames, (unsigned long long)d.rx_bursts,
                 (unsigned long long)d.rx_polls, (unsigned long long)d.rx_multiseg_drops,
                 (unsigned long long)d.rx_bad_checksum_drops, (unsigned long long)d.tx_frames,
                 (unsigned long long)d.tx_bursts,
                 (unsigned long long)d.tx_zero_copy, (unsigned long long)d.tx_indirect,
                 (unsigned long long)d.tx_copies, (unsigned long long)d.tx_full,
                 (unsigned long long)d.tx_pool_exhausted, (unsigned long long)d.tx_oversize_drops,
                 (unsigned long long)d.peer_departures,
                 (unsigned long long)p.mbuf_allocs, (unsigned long long)p.heap_allocs,
                 (unsigned long long)p.exhausted, dev_.pool().available(), dev_.pool().count());
        state().leased = false;
    }
    size_t transmit(std::span<buffer> frames) noexcept override { return dev_.transmit(frames); }
    size_t receive(std::span<buffer> out) noexcept override { return dev_.receive(out); }
    [[nodiscard]] wire::ethernet_address mac() const noexcept override { return dev_.mac(); }
    [[nodiscard]] size_t mtu() const noexcept override { return dev_.mtu(); }
    [[nodiscard]] phy::checksum_caps caps() const noexcept override { return dev_.caps(); }
    [[nodiscard]] bool peer_gone() const noexcept override { return dev_.parked(); }

private:
    dpdk_device &dev_;
};

} // namespace

result<std::unique_ptr<rt::backend>> make(const rt::config &cfg) {
    process_state &s = state();
    if (s.leased) {
        DEMI_LOG(error, "catnip", "one catnip instance per process at a time: the port is in use by another");
        return error(EBUSY);
    }
    if (auto r = eal_start(cfg); !r) return r.err();
    if (!s.pool) {
        auto pool = mbuf_pool::create(cfg);
        if (!pool) return pool.err();
        s.pool = std::move(*pool);
    }
    if (!s.dev) {
        auto dev = dpdk_device::open(cfg, *s.pool);
        if (!dev) return dev.err();
        s.dev = std::move(*dev);
    }
    s.leased = true;
    return inetstack::make_backend(cfg, std::make_unique<port_lease>(*s.dev), &pool_alloc);
}

} // namespace demi::catnip
