// An in-memory network of simulated hosts for tests and the deterministic simulator: each host gets a
// sim_port (a phy::device) attached to one hub. Time is the injected clock's (a manual_clock in
// tests); nothing here reads a real clock, so the same inputs give the same frames at the same times.
//
// Model (decisions):
//  - Each port's link_params describe its *egress* link to the hub: a frame it transmits waits in a
//    bounded FIFO queue, is serialized at the port's bandwidth (one frame at a time), and arrives at
//    every receiver `latency` after its last bit left. A two-host link with equal params on both ports
//    is a symmetric point-to-point link with that one-way latency and rate.
//  - The hub knows every port's MAC (a switch that has learned them all): a unicast frame goes to the
//    port with that MAC only (dropped and counted if none has it); broadcast and multicast frames go
//    to every port but the sender. A frame is never delivered back to its sender.
//  - Arrival times are fixed at transmit; a frame becomes receivable once clock.now() >= its arrival.
//    next_event() gives the earliest pending arrival so a simulator can jump the clock to it.
//  - Receivers may rewrite a frame in place, so a receiver never gets a block another party still
//    holds: the frame is delivered as is when the sender gave up its last reference, and as a private
//    copy otherwise (the sender keeping the block for retransmission, or the 2nd..nth broadcast copy).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>
#include <deque>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "net/phy/device.hpp"

namespace demi::phy {

/// One host's link to the hub.
struct link_params {
    /// One-way propagation delay, from the last bit leaving the sender to the frame being receivable.
    duration latency{0};
    /// Serialization rate; 0 means infinitely fast (no serialization delay, the queue never fills).
    uint64_t bits_per_second = 0;
    /// Bytes counted on the wire per frame beyond the frame itself (24 would model preamble, SFD, FCS
    /// and inter-frame gap); 0 keeps the arithmetic on frame bytes only.
    uint32_t overhead_bytes = 0;
    /// Frames that may be waiting for or on the wire (accepted, last bit not yet sent). A frame
    /// offered when the queue is full is taken and dropped (tail drop), counted in tx_queue_drops.
    size_t queue_frames = 1024;
    /// Frames that may be pending toward this port (in flight or arrived and not yet received); more
    /// are dropped and counted in rx_queue_drops. Bounds the memory a host that never polls can pin.
    size_t rx_queue_frames = 65536;
    size_t mtu = 1500;
    checksum_caps caps{};
};

struct port_stats {
    uint64_t tx_frames = 0; ///< frames put on the wire
    uint64_t tx_bytes = 0;
    uint64_t tx_queue_drops = 0;       ///< tail drops: the egress queue was full
    uint64_t tx_invalid_drops = 0;     ///< shorter than an Ethernet header or longer than mtu + 14
    uint64_t no_destination_drops = 0; ///< unicast to a MAC no port has
    uint64_t rx_frames = 0;            ///< frames handed to receive()
    uint64_t rx_bytes = 0;
    uint64_t rx_queue_drops = 0; ///< arrivals beyond rx_queue_frames
    uint64_t copy_failures = 0;  ///< a private copy could not be allocated; that delivery dropped
};

class sim_network;

/// A simulated host's device, owned by its sim_network.
class sim_port final : public device {
public:
    size_t transmit(std::span<buffer> frames) noexcept override;
    size_t receive(std::span<buffer> out) noexcept override;
    [[nodiscard]] wire::ethernet_address mac() const noexcept override { return mac_; }
    [[nodiscard]] size_t mtu() const noexcept override { return params_.mtu; }
    [[nodiscard]] checksum_caps caps() const noexcept override { return params_.caps; }

    [[nodiscard]] const port_stats &stats() const noexcept { return stats_; }
    [[nodiscard]] const link_params &params() const noexcept { return params_; }
    /// Earliest arrival time among frames pending toward this port, if any.
    [[nodiscard]] std::optional<time_point> next_arrival() const noexcept;
    /// Frames pending toward this port (in flight or arrived).
    [[nodiscard]] size_t pending() const noexcept { return rx_.size(); }

private:
    friend class sim_network;
    sim_port(sim_network &net, wire::ethernet_address mac, const link_params &params) noexcept
        : net_(net), mac_(mac), params_(params) {}

    /// Serialization time of an n-byte frame at this port's rate, rounded up to whole nanoseconds.
    [[nodiscard]] duration serialization(size_t bytes) const noexcept;
    void enqueue_arrival(buffer frame, time_point arrival, uint64_t seq) noexcept;

    struct arrival {
        time_point at;
        uint64_t seq; // network-wide transmit order: equal arrival times keep transmit order
        buffer frame;
    };
    static bool later(const arrival &a, const arrival &b) noexcept {
        return a.at != b.at ? a.at > b.at : a.seq > b.seq;
    }

    sim_network &net_;
    wire::ethernet_address mac_;
    link_params params_;
    std::deque<time_point> departures_; // last-bit times of queued frames, ascending
    time_point busy_until_{};           // when the transmitter finishes the last queued frame
    std::vector<arrival> rx_;           // min-heap on (at, seq)
    port_stats stats_;
};

/// The hub and its ports. Ports live as long as the network; references to them stay valid.
class sim_network {
public:
    explicit sim_network(const clock_source &clock) noexcept : clock_(clock) {}
    sim_network(const sim_network &) = delete;
    sim_network &operator=(const sim_network &) = delete;

    /// Adds a host. EADDRINUSE if a port already has `mac`, EINVAL for a multicast or zero MAC,
    /// ENOMEM if allocation fails.
    [[nodiscard]] result<sim_port *> attach(wire::ethernet_address mac, const link_params &params = {}) noexcept;

    [[nodiscard]] time_point now() const noexcept { return clock_.now(); }
    /// The earliest pending arrival on any port: the next time receive() can return something new.
    [[nodiscard]] std::optional<time_point> next_event() const noexcept;
    [[nodiscard]] size_t port_count() const noexcept { return ports_.size(); }
    [[nodiscard]] sim_port &port(size_t i) noexcept { return *ports_[i]; }

private:
    friend class sim_port;
    /// Hands a frame that left `from` at `arrival - latency` to its receivers.
    void deliver(sim_port &from, buffer frame, time_point arrival) noexcept;

    const clock_source &clock_;
    std::vector<std::unique_ptr<sim_port>> ports_;
    uint64_t seq_ = 0;
};

/// A point-to-point link: a sim_network with exactly two hosts, both with `params`.
class sim_link {
public:
    /// Check ok() before use: attaching fails only for bad or equal MACs or on allocation failure.
    sim_link(const clock_source &clock, wire::ethernet_address a, wire::ethernet_address b,
             const link_params &params = {}) noexcept;
    [[nodiscard]] bool ok() const noexcept { return a_ != nullptr && b_ != nullptr; }
    [[nodiscard]] sim_port &a() noexcept { return *a_; }
    [[nodiscard]] sim_port &b() noexcept { return *b_; }
    [[nodiscard]] sim_network &network() noexcept { return net_; }
    [[nodiscard]] std::optional<time_point> next_event() const noexcept { return net_.next_event(); }

private:
    sim_network net_;
    sim_port *a_ = nullptr;
    sim_port *b_ = nullptr;
};

} // namespace demi::phy
