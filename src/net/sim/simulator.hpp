// The deterministic network simulator: N hosts (net::host) on one phy::sim_network, one manual_clock
// for all, each host optionally behind a fault_injector and a pcap_writer. Seeded: every rng (each
// host's ISNs and ports, each injector's decisions) is derived from the one seed, and the simulator
// never reads a real clock, so the same seed and the same scenario give the same frames at the same
// times, byte for byte (frame_hash() checks it).
//
// Device stack per host, top to bottom: host -> fault_injector (optional) -> pcap_writer (optional)
// -> frame_tap (counts and hashes every frame put on the wire) -> sim_port.
//
// run_until(pred) steps: every host takes what arrived and polls; then pred() is asked; then the clock
// jumps to the next deadline: the minimum of the hosts' poll_at(), the network's next_event() and the
// injectors' next_event(). Bounded by a number of steps and a simulated time limit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "net/phy/device.hpp"
#include "net/phy/fault_injector.hpp"
#include "net/phy/pcap.hpp"
#include "net/phy/sim_network.hpp"
#include "net/stack/host.hpp"

namespace demi::sim {

/// A pass-through device that counts the frames transmitted through it and folds them, with the time
/// they were sent, into a 64-bit FNV-1a hash.
class frame_tap final : public phy::device {
public:
    frame_tap(phy::device &inner, const clock_source &clock) noexcept : inner_(inner), clock_(clock) {}
    size_t transmit(std::span<buffer> frames) noexcept override;
    size_t receive(std::span<buffer> out) noexcept override { return inner_.receive(out); }
    [[nodiscard]] wire::ethernet_address mac() const noexcept override { return inner_.mac(); }
    [[nodiscard]] size_t mtu() const noexcept override { return inner_.mtu(); }
    [[nodiscard]] phy::checksum_caps caps() const noexcept override { return inner_.caps(); }
    [[nodiscard]] bool peer_gone() const noexcept override { return inner_.peer_gone(); }

    [[nodiscard]] std::uint64_t hash() const noexcept { return hash_; }
    [[nodiscard]] std::uint64_t frames() const noexcept { return frames_; }
    [[nodiscard]] std::uint64_t bytes() const noexcept { return bytes_; }
    /// While muted, frames are taken and dropped (counted in muted(), not hashed).
    void set_muted(bool m) noexcept { muted_ = m; }
    [[nodiscard]] std::uint64_t muted() const noexcept { return muted_frames_; }

private:
    phy::device &inner_;
    const clock_source &clock_;
    std::uint64_t hash_ = 0xcbf29ce484222325ULL;
    std::uint64_t frames_ = 0;
    std::uint64_t bytes_ = 0;
    bool muted_ = false;
    std::uint64_t muted_frames_ = 0;
};

struct host_params {
    /// The host's interface and TCP settings; mac_ and addr_ are filled in by add_host when left zero
    /// (02:00:00:00:00:i+1 and 10.0.0.i+1/24).
    net::host_config cfg_;
    phy::link_params link_;
    /// Faults on frames this host transmits / receives; none when both are default.
    std::optional<phy::fault_params> tx_faults_;
    std::optional<phy::fault_params> rx_faults_;
    /// A capture of everything this host sends and receives, if non-empty.
    std::string pcap_path_;
    /// False: no static ARP entries between this host and the others (addresses are resolved by ARP).
    bool static_arp_ = true;
};

struct run_limits {
    std::uint64_t max_steps_ = 50'000'000;
    duration max_time_ = std::chrono::hours(1); // simulated, from the start of run_until
};

class simulator {
public:
    explicit simulator(std::uint64_t seed);
    simulator(const simulator &) = delete;
    simulator &operator=(const simulator &) = delete;
    ~simulator();

    /// Adds a host; its index is the return value. Static ARP entries for every other host are added
    /// both ways, so no ARP traffic is needed (it would work without them too: host_params::static_arp_).
    result<std::size_t> add_host(host_params p);

    [[nodiscard]] net::host &at(std::size_t i) noexcept { return *nodes_[i]->host_; }
    [[nodiscard]] net::ipv4_address addr(std::size_t i) const noexcept { return nodes_[i]->addr_; }
    [[nodiscard]] std::size_t size() const noexcept { return nodes_.size(); }
    [[nodiscard]] time_point now() const noexcept { return clock_.now(); }
    [[nodiscard]] const manual_clock &clock() const noexcept { return clock_; }
    [[nodiscard]] std::uint64_t seed() const noexcept { return seed_; }

    /// A host that is down is cut off: frames for it are taken off its port and dropped, and frames it
    /// sends are dropped before the wire (its timers still run). The peer-disappearance scenario.
    void set_down(std::size_t i, bool down) noexcept {
        nodes_[i]->down_ = down;
        nodes_[i]->tap_->set_muted(down);
    }

    /// One step at the current time: every host receives and polls. Returns the next deadline.
    std::optional<time_point> step();
    /// Steps and jumps the clock until `pred()` is true (true), or nothing is left to do, or a limit
    /// is reached (false). pred() is called after every step and may act on the hosts (it is where a
    /// scenario's application code runs).
    bool run_until(const std::function<bool()> &pred, const run_limits &lim = {});
    /// Runs for `d` of simulated time (or until nothing is left to do).
    void run_for(duration d);

    /// The hash of every frame every host put on the wire, in host order.
    [[nodiscard]] std::uint64_t frame_hash() const noexcept;
    [[nodiscard]] std::uint64_t frames() const noexcept;
    [[nodiscard]] std::uint64_t steps() const noexcept { return steps_; }
    [[nodiscard]] const phy::sim_port &port(std::size_t i) const noexcept { return *nodes_[i]->port_; }
    [[nodiscard]] const phy::fault_injector *faults(std::size_t i) const noexcept { return nodes_[i]->faults_.get(); }
    /// Flushes and closes every capture; the first error.
    result<void> close_captures();

private:
    struct node {
        phy::sim_port *port_ = nullptr;
        std::unique_ptr<frame_tap> tap_;
        std::unique_ptr<phy::pcap_writer> pcap_;
        std::unique_ptr<phy::fault_injector> faults_;
        std::unique_ptr<rng> rng_;
        std::unique_ptr<net::host> host_;
        net::ipv4_address addr_;
        net::ethernet_address mac_;
        bool down_ = false;
        bool static_arp_ = true;
    };

    std::uint64_t seed_;
    rng seeder_;
    manual_clock clock_;
    phy::sim_network net_;
    std::vector<std::unique_ptr<node>> nodes_;
    std::vector<buffer> drain_;
    std::uint64_t steps_ = 0;
};

} // namespace demi::sim
