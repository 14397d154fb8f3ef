// A TAP backend: a phy::device over a Linux TAP interface (/dev/net/tun,
// IFF_TAP | IFF_NO_PI), so Demi's stack can exchange real Ethernet frames with
// the kernel's. The TAP interface is the kernel's end of a virtual wire and the
// fd is ours: the interface's MAC belongs to the kernel, and Demi needs a
// different one (two hosts with one MAC would confuse ARP and any bridge the
// interface joins). One read(2) or write(2) per frame on a non-blocking fd; the
// fd closes (and a non-persistent interface disappears) with the object. Needs
// CAP_NET_ADMIN. The interface is created in the calling thread's network
// namespace.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/result.hpp"
#include "net/phy/device.hpp"

namespace demi::phy {

struct tap_config {
    /// Interface name (at most 15 characters); empty lets the kernel pick "tapN"
    /// (see name()).
    std::string name;
    /// Demi's MAC: the address of the host on the fd's end of the wire, the
    /// source of the frames it sends. When unset, the kernel interface's MAC with
    /// the lowest bit of its last octet flipped.
    std::optional<wire::ethernet_address> mac;
    /// The kernel interface's MAC (its end of the wire), set on the new
    /// interface; when unset, the kernel's own random, locally administered one.
    std::optional<wire::ethernet_address> kernel_mac;
    /// The MTU to set; when unset, the interface's own (1500) is read back.
    std::optional<size_t> mtu;
};

struct tap_stats {
    uint64_t tx_frames = 0;
    uint64_t tx_errors = 0; ///< write(2) failed other than EAGAIN; the frame was taken and dropped
    uint64_t rx_frames = 0;
    uint64_t rx_errors = 0;    ///< read(2) failed other than EAGAIN
    uint64_t rx_truncated = 0; ///< frames longer than mtu + 14 (cut by the read, dropped)
};

class tap_device final : public device {
public:
    /// Opens /dev/net/tun and attaches a TAP interface. The errno of the failing
    /// call: ENOENT without /dev/net/tun, EPERM without CAP_NET_ADMIN, EBUSY if
    /// the name is taken by another device, EINVAL for a bad name or MAC (or
    /// equal MACs on both ends).
    [[nodiscard]] static result<std::unique_ptr<tap_device>> open(const tap_config &config) noexcept;
    ~tap_device() override;

    /// Writes frames until the kernel pushes back (EAGAIN); other write errors
    /// drop that frame.
    size_t transmit(std::span<buffer> frames) noexcept override;
    /// Reads frames until none is left or `out` is full.
    size_t receive(std::span<buffer> out) noexcept override;
    [[nodiscard]] wire::ethernet_address mac() const noexcept override { return mac_; }
    [[nodiscard]] size_t mtu() const noexcept override { return mtu_; }
    /// No offloads (no IFF_VNET_HDR): the stack computes and verifies every
    /// checksum.
    [[nodiscard]] checksum_caps caps() const noexcept override { return {}; }

    /// The interface's name as the kernel reports it.
    [[nodiscard]] const std::string &name() const noexcept { return name_; }
    /// The kernel interface's MAC (the peer's address on this wire).
    [[nodiscard]] wire::ethernet_address kernel_mac() const noexcept { return kernel_mac_; }
    /// The non-blocking fd, for a runtime to poll or epoll on.
    [[nodiscard]] int fd() const noexcept { return fd_; }
    [[nodiscard]] const tap_stats &stats() const noexcept { return stats_; }

private:
    tap_device(int fd, std::string name, wire::ethernet_address mac, wire::ethernet_address kernel_mac,
               size_t mtu) noexcept
        : fd_(fd), name_(std::move(name)), mac_(mac), kernel_mac_(kernel_mac), mtu_(mtu) {}

    int fd_;
    std::string name_;
    wire::ethernet_address mac_;
    wire::ethernet_address kernel_mac_;
    size_t mtu_;
    buffer spare_; // a receive buffer left over from a read that found nothing
    tap_stats stats_;
};

} // namespace demi::phy
