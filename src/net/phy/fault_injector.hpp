// A device over a device that injects faults, each with a probability, drawn from a seeded
// demi::rng: drop, duplicate, reorder, delay and corrupt. The same seed and the same frames give the
// same decisions: every frame consumes the same number of random draws whatever is decided for it,
// and transmit and receive draw from separate generators (both derived from the seed), so how a
// caller interleaves the two directions does not change either one's decisions.
//
// Per frame, in this order: drop (nothing else happens); corrupt (one bit flipped in a private copy:
// a buffer someone else holds is never written); duplicate (a private copy follows the frame); then
// the frame (and its duplicate) is either delayed (held for a time in [delay_min, delay_max]),
// reordered (held until the next frame has passed, or reorder_timeout at the latest), or passed on.
// Held frames are released by later transmit()/receive() calls or by flush(); next_event() says
// when the next one is due, for a simulator that jumps its clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "common/clock.hpp"
#include "net/phy/device.hpp"

namespace demi::phy {

struct fault_params {
    // Probabilities in [0, 1].
    double drop = 0;
    double duplicate = 0;
    double reorder = 0;
    double delay = 0;
    double corrupt = 0;

    /// A delayed frame is held for a uniform time in [delay_min, delay_max].
    duration delay_min = std::chrono::milliseconds(1);
    duration delay_max = std::chrono::milliseconds(1);
    /// A reordered frame goes out right after the next frame passes, or after this long without one.
    duration reorder_timeout = std::chrono::milliseconds(1);
    /// Bits are flipped at or after this byte offset when the frame is longer (14 keeps the Ethernet
    /// header intact, so the frame still reaches its host and the corruption tests the checksums, as a
    /// corruption that slipped past the link's FCS would).
    size_t corrupt_offset = ethernet_header_len;
    /// Frames the injector may hold in one direction (held plus waiting for the inner device). When
    /// full, transmit() takes fewer frames (back-pressure) and receive() pulls fewer from the inner
    /// device; nothing is dropped for lack of room.
    size_t queue_limit = 4096;
};

struct fault_stats {
    uint64_t frames = 0; ///< frames that entered the injector in this direction
    uint64_t dropped = 0;
    uint64_t duplicated = 0;
    uint64_t reordered = 0;
    uint64_t delayed = 0;
    uint64_t corrupted = 0;
    uint64_t copy_failures =
        0; ///< a copy for corrupt/duplicate could not be allocated (frame dropped / not duplicated)
};

class fault_injector final : public device {
public:
    /// `inner` and `clock` must outlive the injector. `tx` applies to transmitted frames, `rx` to
    /// received ones (default: no faults).
    fault_injector(device &inner, const clock_source &clock, uint64_t seed, const fault_params &tx,
                   const fault_params &rx = {}) noexcept;

    size_t transmit(std::span<buffer> frames) noexcept override;
    size_t receive(std::span<buffer> out) noexcept override;
    [[nodiscard]] wire::ethernet_address mac() const noexcept override { return inner_.mac(); }
    [[nodiscard]] size_t mtu() const noexcept override { return inner_.mtu(); }
    [[nodiscard]] checksum_caps caps() const noexcept override { return inner_.caps(); }
    [[nodiscard]] bool peer_gone() const noexcept override { return inner_.peer_gone(); }

    /// Releases held frames that are due and offers the transmit backlog to the inner device.
    void flush() noexcept;
    /// When the next held frame (either direction) is due, if any is held.
    [[nodiscard]] std::optional<time_point> next_event() const noexcept;

    [[nodiscard]] const fault_stats &tx_stats() const noexcept { return tx_.stats; }
    [[nodiscard]] const fault_stats &rx_stats() const noexcept { return rx_.stats; }
    /// Frames held or waiting in each direction.
    [[nodiscard]] size_t tx_backlog() const noexcept { return tx_.occupancy(); }
    [[nodiscard]] size_t rx_backlog() const noexcept { return rx_.occupancy(); }

private:
    struct held_frame {
        time_point release;
        uint64_t seq;
        buffer frame;
    };
    /// One direction's decisions and queues.
    struct lane {
        lane(const fault_params &p, uint64_t seed) noexcept : params(p), rng(seed) {}
        fault_params params;
        demi::rng rng;
        fault_stats stats;
        std::deque<buffer> ready;        // passed on, in order, waiting to go further
        std::vector<held_frame> delayed; // sorted by (release, seq)
        std::deque<held_frame> reorder;  // release = timeout deadline; FIFO (deadlines ascend)
        uint64_t seq = 0;

        [[nodiscard]] size_t occupancy() const noexcept { return ready.size() + delayed.size() + reorder.size(); }
        /// Draws this frame's decisions and routes it (and any duplicate) into the queues.
        void admit(buffer frame, time_point now) noexcept;
        /// Moves held frames that are due by `now` into `ready`.
        void release_due(time_point now) noexcept;
        void pass(buffer frame) noexcept;
        [[nodiscard]] bool chance(double p) noexcept;
    };

    void push_tx() noexcept;

    device &inner_;
    const clock_source &clock_;
    lane tx_;
    lane rx_;
    std::vector<buffer> scratch_;
};

} // namespace demi::phy
