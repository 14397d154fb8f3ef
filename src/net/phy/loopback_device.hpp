// A device wired to itself: every frame transmitted comes back as received. The layer-1 device of the
// inetstack libOS when there is no NIC (tests, one-process demos): the interface delivers datagrams to
// its own addresses without a device (local delivery), so nearly nothing reaches this device; what
// does (an ARP request for an address nobody has, a broadcast) comes back to the stack itself.
#pragma once

#include "net/phy/device.hpp"

#include <cstdint>
#include <deque>

namespace demi::phy {

class loopback_device final : public device {
public:
    explicit loopback_device(wire::ethernet_address mac, size_t mtu = 1500) noexcept : mac_(mac), mtu_(mtu) {}

    size_t transmit(std::span<buffer> frames) noexcept override {
        for (buffer &f : frames) {
            if (rx_.size() >= limit_) {
                f = buffer{};
                ++dropped_;
                continue;
            }
            rx_.push_back(std::move(f));
        }
        return frames.size();
    }
    size_t receive(std::span<buffer> out) noexcept override {
        size_t n = 0;
        while (n < out.size() && !rx_.empty()) {
            out[n++] = std::move(rx_.front());
            rx_.pop_front();
        }
        return n;
    }
    [[nodiscard]] wire::ethernet_address mac() const noexcept override { return mac_; }
    [[nodiscard]] size_t mtu() const noexcept override { return mtu_; }
    [[nodiscard]] checksum_caps caps() const noexcept override { return {}; }

    [[nodiscard]] size_t queued() const noexcept { return rx_.size(); }
    [[nodiscard]] std::uint64_t dropped() const noexcept { return dropped_; }

private:
    wire::ethernet_address mac_;
    size_t mtu_;
    std::deque<buffer> rx_;
    size_t limit_ = 4096;
    std::uint64_t dropped_ = 0;
};

} // namespace demi::phy
