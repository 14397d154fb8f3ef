#include "libos/catnip/catnip.hpp"

#include "common/log.hpp"
#include "libos/catnip/dpdk_device.hpp"
#include "libos/catnip/eal.hpp"
#include "libos/catnip/mbuf_pool.hpp"
#include "libos/inetstack/inetstack.hpp"

namespace demi::catnip {

namespace {

// Process-wide like the EAL that holds it: the mbuf pool is made with the first catnip instance and
// kept until the process ends, because buffers (popped mbufs an application still holds) may outlive
// the instance that gave them.
struct process_state {
    std::unique_ptr<mbuf_pool> pool;
    bool port_open = false;
};

process_state &state() {
    static process_state s;
    return s;
}

result<buffer> pool_alloc(std::size_t size, std::size_t headroom) noexcept {
    return state().pool->alloc(size, headroom);
}

// The port is the instance's: it is closed (and may be opened again) when the backend goes.
class owned_device final : public phy::device {
public:
    explicit owned_device(std::unique_ptr<dpdk_device> d) noexcept : dev_(std::move(d)) {}
    ~owned_device() override {
        dev_.reset();
        state().port_open = false;
    }
    size_t transmit(std::span<buffer> frames) noexcept override { return dev_->transmit(frames); }
    size_t receive(std::span<buffer> out) noexcept override { return dev_->receive(out); }
    [[nodiscard]] wire::ethernet_address mac() const noexcept override { return dev_->mac(); }
    [[nodiscard]] size_t mtu() const noexcept override { return dev_->mtu(); }
    [[nodiscard]] phy::checksum_caps caps() const noexcept override { return dev_->caps(); }

private:
    std::unique_ptr<dpdk_device> dev_;
};

} // namespace

result<std::unique_ptr<rt::backend>> make(const rt::config &cfg) {
    process_state &s = state();
    if (s.port_open) {
        DEMI_LOG(error, "catnip", "one catnip instance per process: the port is in use by another");
        return error(EBUSY);
    }
    if (auto r = eal_start(cfg); !r) return r.err();
    if (!s.pool) {
        auto pool = mbuf_pool::create(cfg);
        if (!pool) return pool.err();
        s.pool = std::move(*pool);
    }
    auto dev = dpdk_device::open(cfg, *s.pool);
    if (!dev) return dev.err();
    s.port_open = true;
    auto owned = std::make_unique<owned_device>(std::move(*dev));
    return inetstack::make_backend(cfg, std::move(owned), &pool_alloc);
}

} // namespace demi::catnip
