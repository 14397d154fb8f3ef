// Helpers for the phy tests: frames built with src/net/wire and a scripted fake
// device.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include <gtest/gtest.h>

#include "memory/heap.hpp"
#include "net/phy/device.hpp"
#include "net/wire/ethernet.hpp"

namespace demi::phy::test {

inline constexpr wire::ethernet_address mac_a{0x02, 0, 0, 0, 0, 0x0a};
inline constexpr wire::ethernet_address mac_b{0x02, 0, 0, 0, 0, 0x0b};
inline constexpr wire::ethernet_address mac_c{0x02, 0, 0, 0, 0, 0x0c};

/// An Ethernet II frame of `len` bytes (header included) from src to dst;
/// payload byte i is fill + i.
inline buffer make_frame(wire::ethernet_address dst, wire::ethernet_address src, size_t len, uint8_t fill = 0) {
    auto b = mem::heap_allocate(len);
    EXPECT_TRUE(b.has_value());
    wire::ethernet_repr{src, dst, wire::ethertype::ipv4}.emit(b->bytes());
    for (size_t i = ethernet_header_len; i < len; ++i) b->data()[i] = static_cast<std::byte>(fill + i);
    return std::move(*b);
}

inline std::vector<std::byte> bytes_of(const buffer &b) { return {b.data(), b.data() + b.size()}; }

/// A device that keeps what it is given and hands out what a test queued; it
/// takes at most `accept_limit` frames per transmit call.
class fake_device final : public device {
public:
    size_t transmit(std::span<buffer> frames) noexcept override {
        size_t n = 0;
        for (; n < frames.size() && n < accept_limit; ++n) sent.push_back(std::move(frames[n]));
        ++transmit_calls;
        return n;
    }
    size_t receive(std::span<buffer> out) noexcept override {
        size_t n = 0;
        for (; n < out.size() && !inbox.empty(); ++n) {
            out[n] = std::move(inbox.front());
            inbox.pop_front();
        }
        return n;
    }
    [[nodiscard]] wire::ethernet_address mac() const noexcept override { return mac_a; }
    [[nodiscard]] size_t mtu() const noexcept override { return 1500; }
    [[nodiscard]] checksum_caps caps() const noexcept override { return {}; }
    [[nodiscard]] bool peer_gone() const noexcept override { return gone; }

    bool gone = false; // what peer_gone() says
    size_t accept_limit = SIZE_MAX;
    size_t transmit_calls = 0;
    std::vector<buffer> sent;
    std::deque<buffer> inbox;
};

} // namespace demi::phy::test
