// A back-to-back in-memory device for benches and fuzzers: what one transmits lands in its peer's
// receive queue (or in a capture list, or nowhere), with no time, bandwidth or loss. The simulator's
// sim_network is the device for tests that need those.
#pragma once

#include "net/phy/device.hpp"

#include <cstdint>
#include <deque>
#include <vector>

namespace demi::phy {

class queue_device final : public device {
public:
    explicit queue_device(wire::ethernet_address mac) noexcept : mac_(mac) {}

    size_t transmit(std::span<buffer> frames) noexcept override {
        ++transmit_calls_;
        for (buffer &f : frames) {
            if (peer_ != nullptr) {
                peer_->rx_.push_back(std::move(f));
            } else if (capture_ != nullptr) {
                capture_->push_back(std::move(f));
            } else {
                f = buffer{};
                ++dropped_;
            }
        }
        return frames.size();
    }
    size_t receive(std::span<buffer> out) noexcept override {
        if (next_ != nullptr && !out.empty()) { // one frame handed over by pointer (timed paths)
            out[0] = std::move(*next_);
            next_ = nullptr;
            return 1;
        }
        size_t n = 0;
        while (n < out.size() && !rx_.empty()) {
            out[n++] = std::move(rx_.front());
            rx_.pop_front();
        }
        return n;
    }
    [[nodiscard]] wire::ethernet_address mac() const noexcept override { return mac_; }
    [[nodiscard]] size_t mtu() const noexcept override { return 1500; }
    [[nodiscard]] checksum_caps caps() const noexcept override { return caps_; }
    [[nodiscard]] bool peer_gone() const noexcept override { return peer_gone_; }

    std::deque<buffer> rx_;                 ///< frames waiting to be received
    buffer *next_ = nullptr;                ///< if set, the next receive returns this frame alone
    queue_device *peer_ = nullptr;          ///< where transmitted frames go
    std::vector<buffer> *capture_ = nullptr; ///< else: where transmitted frames are kept
    std::uint64_t dropped_ = 0;             ///< else: frames dropped
    std::uint64_t transmit_calls_ = 0;      ///< transmit() calls (bursts handed over)
    checksum_caps caps_{};                  ///< offloads it claims (none by default)
    bool peer_gone_ = false;                ///< what peer_gone() says

private:
    wire::ethernet_address mac_;
};

} // namespace demi::phy
