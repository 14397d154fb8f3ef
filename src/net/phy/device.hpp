// The layer-1 interface (DESIGN.md §2-3): one small contract shared by every packet device — DPDK,
// AF_XDP, TAP and the test devices (simulated network, fault injector, pcap writer) — so every
// packet-level libOS gets the same stack and the same tests. A frame is a demi::buffer holding one
// whole Ethernet frame (destination MAC first, no FCS).
#pragma once

#include <cstddef>
#include <span>

#include <demi/buffer.hpp>

#include "net/wire/address.hpp"
#include "net/wire/checksum.hpp"

namespace demi::phy {

using demi::buffer;

/// Checksum offloads a device performs. rx_*: the device verified the checksum of received frames and
/// drops (or marks) bad ones, so the stack may skip verifying. tx_*: the device fills the checksum on
/// transmit, so the stack may leave it out. Test devices offload nothing unless configured to.
struct checksum_caps {
    bool rx_ipv4 = false;
    bool rx_tcp = false;
    bool rx_udp = false;
    bool tx_ipv4 = false;
    bool tx_tcp = false;
    bool tx_udp = false;

    friend bool operator==(const checksum_caps &, const checksum_caps &) noexcept = default;
};

/// What the stack does given the device's offloads: verify what the device does not verify on receive,
/// compute what it does not fill on transmit (leaving the pseudo-header seed DPDK's L4 offload and
/// virtio-net expect where it does).
[[nodiscard]] constexpr wire::checksum_caps stack_checksums(const checksum_caps &c) noexcept {
    const auto mode = [](bool rx_offloaded, bool tx_offloaded) {
        return static_cast<wire::checksum_mode>((rx_offloaded ? 0u : 1u) | (tx_offloaded ? 0u : 2u));
    };
    wire::checksum_caps w;
    w.ipv4_ = mode(c.rx_ipv4, c.tx_ipv4);
    w.tcp_ = mode(c.rx_tcp, c.tx_tcp);
    w.udp_ = mode(c.rx_udp, c.tx_udp);
    return w;
}

/// A device that sends and receives Ethernet frames in batches. Non-blocking; one thread.
class device {
public:
    device() = default;
    device(const device &) = delete;
    device &operator=(const device &) = delete;
    virtual ~device() = default;

    /// Offers `frames` for transmission, in order. Returns n: the device took frames[0, n) (they are
    /// moved out and left empty; the device drops its reference when done with the bytes) and left
    /// frames[n, end) untouched with the caller, who may offer them again later (back-pressure: a full
    /// ring). "Taken" is not "delivered": a taken frame may still be lost on the way, as on a wire.
    virtual size_t transmit(std::span<buffer> frames) noexcept = 0;

    /// Fills out[0, n) with received frames (at most out.size()) and returns n; 0 when none is ready.
    /// The caller owns the returned buffers. Entries of `out` past n are left as they were.
    virtual size_t receive(std::span<buffer> out) noexcept = 0;

    /// The device's own link-layer address (the source of the frames it sends).
    [[nodiscard]] virtual wire::ethernet_address mac() const noexcept = 0;
    /// The largest IP packet a frame may carry (payload after the 14-byte Ethernet header), 1500 typically.
    [[nodiscard]] virtual size_t mtu() const noexcept = 0;
    [[nodiscard]] virtual checksum_caps caps() const noexcept = 0;

    /// True when the far end of the link is known to have left for good (a memif peer that announced
    /// its departure): nothing sent now can be delivered or acknowledged, so the exit drain stops.
    [[nodiscard]] virtual bool peer_gone() const noexcept { return false; }
};

/// Ethernet II header length: a frame for a device of MTU m is at most m + ethernet_header_len bytes.
inline constexpr size_t ethernet_header_len = 14;

} // namespace demi::phy
