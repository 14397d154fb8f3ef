#include "net/phy/tap_device.hpp"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "common/log.hpp"
#include "memory/heap.hpp"

namespace demi::phy {

namespace {
/// Closes an fd on scope exit unless released.
struct fd_guard {
    int fd;
    ~fd_guard() {
        if (fd >= 0) ::close(fd);
    }
    int release() noexcept { return std::exchange(fd, -1); }
};
} // namespace

result<std::unique_ptr<tap_device>> tap_device::open(const tap_config &config) noexcept {
    if (config.name.size() >= IFNAMSIZ) return error(EINVAL);
    for (const auto &m : {config.mac, config.kernel_mac})
        if (m && (m->is_multicast() || m->is_zero())) return error(EINVAL);
    if (config.mac && config.kernel_mac && *config.mac == *config.kernel_mac) return error(EINVAL);
    if (config.mtu && (*config.mtu < 68 || *config.mtu > 65521)) return error(EINVAL);

    fd_guard tun{::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC)};
    if (tun.fd < 0) return error(errno);

    ifreq ifr{};
    // IFF_NO_PI: frames are bare Ethernet, no 4-byte packet-information prefix
    // (Linux tuntap.rst).
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    std::memcpy(ifr.ifr_name, config.name.data(), config.name.size());
    if (::ioctl(tun.fd, TUNSETIFF, &ifr) != 0) return error(errno);
    std::string name(ifr.ifr_name, ::strnlen(ifr.ifr_name, IFNAMSIZ));

    // Link settings go through an ordinary socket's interface ioctls
    // (netdevice(7)); the socket is in this thread's namespace, the same one the
    // interface was created in.
    fd_guard sock{::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
    if (sock.fd < 0) return error(errno);

    if (config.kernel_mac) {
        // The interface is new and down, as SIOCSIFHWADDR wants.
        ifreq req{};
        std::memcpy(req.ifr_name, name.c_str(), name.size());
        req.ifr_hwaddr.sa_family = ARPHRD_ETHER;
        config.kernel_mac->write(reinterpret_cast<std::byte *>(req.ifr_hwaddr.sa_data));
        if (::ioctl(sock.fd, SIOCSIFHWADDR, &req) != 0) return error(errno);
    }
    if (config.mtu) {
        ifreq req{};
        std::memcpy(req.ifr_name, name.c_str(), name.size());
        req.ifr_mtu = static_cast<int>(*config.mtu);
        if (::ioctl(sock.fd, SIOCSIFMTU, &req) != 0) return error(errno);
    }

    ifreq hw{};
    std::memcpy(hw.ifr_name, name.c_str(), name.size());
    if (::ioctl(sock.fd, SIOCGIFHWADDR, &hw) != 0) return error(errno);
    const auto kernel_mac =
        wire::ethernet_address::from_bytes(reinterpret_cast<const std::byte *>(hw.ifr_hwaddr.sa_data));
    // Our default MAC: the kernel's, one bit apart. Distinct from it, stable for
    // the interface, and locally administered and unicast like the kernel's
    // random one (bit 0 of the last octet touches neither the I/G nor the U/L
    // bit). No RNG needed here.
    wire::ethernet_address mac = kernel_mac;
    if (config.mac) {
        mac = *config.mac;
    } else {
        auto o = kernel_mac.octets();
        o[5] ^= 0x01;
        mac = wire::ethernet_address(o);
    }
    if (mac == kernel_mac) return error(EINVAL); // a configured MAC equal to the kernel's own

    ifreq mtu_req{};
    std::memcpy(mtu_req.ifr_name, name.c_str(), name.size());
    if (::ioctl(sock.fd, SIOCGIFMTU, &mtu_req) != 0) return error(errno);

    std::unique_ptr<tap_device> dev(
        new (std::nothrow) tap_device(tun.fd, std::move(name), mac, kernel_mac, static_cast<size_t>(mtu_req.ifr_mtu)));
    if (!dev) return error(ENOMEM);
    tun.release();
    return dev;
}

tap_device::~tap_device() {
    if (fd_ >= 0) ::close(fd_);
}

size_t tap_device::transmit(std::span<buffer> frames) noexcept {
    size_t n = 0;
    for (; n < frames.size(); ++n) {
        const buffer &f = frames[n];
        ssize_t w;
        do {
            w = ::write(fd_, f.data(), f.size());
        } while (w < 0 && errno == EINTR);
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break; // the kernel's queue is full: back-pressure
        if (w < 0) {
            // EIO when the interface is down, EINVAL for a bad frame: this frame is
            // lost, like on a wire.
            ++stats_.tx_errors;
            DEMI_LOG(debug, "tap", "%s: write failed: %s; frame dropped", name_.c_str(), std::strerror(errno));
        } else {
            ++stats_.tx_frames;
        }
        frames[n].reset();
    }
    return n;
}

size_t tap_device::receive(std::span<buffer> out) noexcept {
    // A buffer of mtu + 14 bytes plus one: a read that fills it completely was
    // cut (a bigger frame).
    const size_t room = mtu_ + ethernet_header_len + 1;
    size_t n = 0;
    while (n < out.size()) {
        if (!spare_) {
            auto b = mem::heap_allocate(room);
            if (!b) break; // out of memory: the frames stay in the kernel for a later call
            spare_ = std::move(*b);
        }
        ssize_t r;
        do {
            r = ::read(fd_, spare_.data(), spare_.size());
        } while (r < 0 && errno == EINTR);
        if (r < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                ++stats_.rx_errors;
                DEMI_LOG(debug, "tap", "%s: read failed: %s", name_.c_str(), std::strerror(errno));
            }
            break; // spare_ kept for the next call
        }
        if (static_cast<size_t>(r) == room) {
            ++stats_.rx_truncated;
            continue;
        }
        buffer frame = std::move(spare_);
        frame.trim_back(frame.size() - static_cast<size_t>(r));
        ++stats_.rx_frames;
        out[n++] = std::move(frame);
    }
    return n;
}

} // namespace demi::phy
