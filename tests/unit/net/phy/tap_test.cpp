// The TAP backend against the Linux kernel: in a network namespace made for the
// test, a TAP interface whose kernel side has 10.77.0.1/24; we broadcast an ARP
// request for that address (built with src/net/wire) and expect the kernel's
// ARP reply. Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN for setns) and
// /dev/net/tun; fails without them unless DEMI_SKIP_ROOT_TESTS=1.
#include "net/phy/tap_device.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>

#include "memory/heap.hpp"
#include "net/wire/arp.hpp"
#include "net/wire/ethernet.hpp"

namespace demi::phy {
namespace {

bool skip_root_tests() {
    const char *v = std::getenv("DEMI_SKIP_ROOT_TESTS");
    return v != nullptr && std::strcmp(v, "1") == 0;
}

/// Runs a shell command; true on exit status 0.
bool sh(const std::string &cmd) {
    const int st = std::system(cmd.c_str());
    return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/// A network namespace that exists while this object does.
class netns_guard {
public:
    explicit netns_guard(std::string name) : name_(std::move(name)) {
        (void)sh("ip netns del " + name_ + " 2>/dev/null"); // a stale one of our own name only
        ok_ = sh("ip netns add " + name_);
    }
    ~netns_guard() {
        if (ok_) (void)sh("ip netns del " + name_);
    }
    netns_guard(const netns_guard &) = delete;
    netns_guard &operator=(const netns_guard &) = delete;
    [[nodiscard]] bool ok() const { return ok_; }
    [[nodiscard]] const std::string &name() const { return name_; }
    /// Runs `cmd` inside the namespace.
    [[nodiscard]] bool exec(const std::string &cmd) const { return sh("ip netns exec " + name_ + " " + cmd); }

private:
    std::string name_;
    bool ok_ = false;
};

/// Moves this thread into a namespace until destroyed, then back into the one
/// it was in.
class netns_enter {
public:
    explicit netns_enter(const std::string &name) {
        self_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        const int target = ::open(("/var/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
        if (self_ >= 0 && target >= 0 && ::setns(target, CLONE_NEWNET) == 0)
            entered_ = true;
        else
            error_ = errno;
        if (target >= 0) ::close(target);
    }
    ~netns_enter() {
        if (entered_ && ::setns(self_, CLONE_NEWNET) != 0) std::abort(); // never run on in the wrong namespace
        if (self_ >= 0) ::close(self_);
    }
    netns_enter(const netns_enter &) = delete;
    netns_enter &operator=(const netns_enter &) = delete;
    [[nodiscard]] bool entered() const { return entered_; }
    [[nodiscard]] int error() const { return error_; }

private:
    int self_ = -1;
    bool entered_ = false;
    int error_ = 0;
};

TEST(TapDevice, KernelAnswersOurArpRequest) {
    std::string missing;
    if (::geteuid() != 0)
        missing = "root (CAP_NET_ADMIN and a network namespace)";
    else if (::access("/dev/net/tun", R_OK | W_OK) != 0)
        missing = "/dev/net/tun";
    if (!missing.empty()) {
        if (skip_root_tests()) GTEST_SKIP() << "needs " << missing << "; skipped because DEMI_SKIP_ROOT_TESTS=1";
        FAIL() << "this test needs " << missing << "; run it as root, or set DEMI_SKIP_ROOT_TESTS=1 to skip it";
    }

    const char *ns_env = std::getenv("DEMI_TAP_NETNS");
    const std::string ns_name = ns_env && *ns_env ? ns_env : "demi-tap-" + std::to_string(::getpid());
    netns_guard ns(ns_name); // declared first: destroyed last, after the TAP fd is closed
    ASSERT_TRUE(ns.ok()) << "ip netns add " << ns_name << " failed";

    const wire::ethernet_address our_mac{0x02, 0x00, 0x00, 0x77, 0x00, 0x02};
    const wire::ethernet_address kernel_mac{0x02, 0x00, 0x00, 0x77, 0x00, 0x01};
    const wire::ipv4_address our_ip{10, 77, 0, 2};
    const wire::ipv4_address kernel_ip{10, 77, 0, 1};
    const std::string ifname = "demitap0";

    std::unique_ptr<tap_device> tap, other;
    {
        // The interface is created in the calling thread's namespace; the fd keeps
        // working afterwards.
        netns_enter in(ns.name());
        ASSERT_TRUE(in.entered()) << "setns: " << std::strerror(in.error());
        tap_config cfg;
        cfg.name = ifname;
        cfg.mac = our_mac;
        cfg.kernel_mac = kernel_mac;
        auto t = tap_device::open(cfg);
        ASSERT_TRUE(t) << "tap_device::open: " << std::strerror(t.code());
        tap = std::move(*t);
        // Nothing configured: the kernel names it and picks its MAC; ours is
        // derived from it.
        auto o = tap_device::open(tap_config{});
        ASSERT_TRUE(o) << "tap_device::open: " << std::strerror(o.code());
        other = std::move(*o);
        // The name is taken while our fd is open.
        tap_config same;
        same.name = ifname;
        EXPECT_FALSE(tap_device::open(same));
    }
    EXPECT_FALSE(other->name().empty());
    EXPECT_NE(other->name(), ifname);
    EXPECT_NE(other->mac(), other->kernel_mac());
    EXPECT_TRUE(other->mac().is_unicast());
    EXPECT_TRUE(other->kernel_mac().is_unicast());
    other.reset();
    EXPECT_EQ(tap->name(), ifname);
    EXPECT_EQ(tap->mac(), our_mac);
    EXPECT_EQ(tap->kernel_mac(), kernel_mac);
    EXPECT_EQ(tap->mtu(), 1500u);
    EXPECT_GE(tap->fd(), 0);
    EXPECT_EQ(tap->caps(), checksum_caps{});

    ASSERT_TRUE(ns.exec("ip addr add 10.77.0.1/24 dev " + ifname));
    ASSERT_TRUE(ns.exec("ip link set " + ifname + " up"));

    // Who has 10.77.0.1? Tell 10.77.0.2 — broadcast, padded to the 60-byte
    // minimum.
    auto make_request = [&] {
        auto b = mem::heap_allocate(wire::ethernet_min_frame_len);
        EXPECT_TRUE(b.has_value());
        std::memset(b->data(), 0, b->size());
        wire::ethernet_repr{our_mac, wire::ethernet_address::broadcast(), wire::ethertype::arp}.emit(b->bytes());
        wire::arp_repr{wire::arp_operation::request, our_mac, our_ip, wire::ethernet_address{}, kernel_ip}.emit(
            b->bytes().subspan(ethernet_header_len));
        return std::move(*b);
    };

    using clock = std::chrono::steady_clock; // the test bounds itself in real
                                             // time; the device reads no clock
    const auto deadline = clock::now() + std::chrono::seconds(5);
    auto next_request = clock::now();
    bool answered = false;
    size_t other_frames = 0;
    while (!answered && clock::now() < deadline) {
        if (clock::now() >= next_request) { // resend every 500 ms in case the link
                                            // was not ready yet
            buffer req = make_request();
            ASSERT_EQ(tap->transmit(std::span(&req, 1)), 1u);
            next_request = clock::now() + std::chrono::milliseconds(500);
        }
        pollfd pfd{tap->fd(), POLLIN, 0};
        (void)::poll(&pfd, 1, 100);
        buffer frames[8];
        const size_t n = tap->receive(frames);
        for (size_t i = 0; i < n; ++i) {
            auto eth_v = wire::ethernet_view::check(frames[i].bytes());
            ASSERT_TRUE(eth_v);
            auto eth = wire::ethernet_repr::parse(*eth_v);
            if (!eth || eth->ethertype_ != wire::ethertype::arp) { // IPv6 router solicitations and the like
                ++other_frames;
                continue;
            }
            auto arp_v = wire::arp_view::check(eth_v->payload());
            ASSERT_TRUE(arp_v);
            auto arp = wire::arp_repr::parse(*arp_v);
            ASSERT_TRUE(arp);
            if (arp->operation_ != wire::arp_operation::reply) {
                ++other_frames;
                continue;
            }
            // RFC 826: the reply swaps the roles; the kernel's MAC is the sender's
            // hardware address.
            EXPECT_EQ(eth->dst_, our_mac);
            EXPECT_EQ(arp->sender_protocol_addr_, kernel_ip);
            EXPECT_EQ(arp->target_hardware_addr_, our_mac);
            EXPECT_EQ(arp->target_protocol_addr_, our_ip);
            EXPECT_EQ(arp->sender_hardware_addr_, kernel_mac);
            EXPECT_EQ(eth->src_, kernel_mac);
            answered = true;
        }
    }
    EXPECT_TRUE(answered) << "no ARP reply from the kernel within 5 s (" << other_frames << " other frames)";
    EXPECT_GE(tap->stats().tx_frames, 1u);
    EXPECT_EQ(tap->stats().tx_errors, 0u);
    EXPECT_GE(tap->stats().rx_frames, 1u);
}

TEST(TapDevice, OpenRejectsBadConfiguration) {
    tap_config long_name;
    long_name.name = "a-name-longer-than-15";
    EXPECT_EQ(tap_device::open(long_name).code(), EINVAL);
    tap_config bad_mac;
    bad_mac.mac = wire::ethernet_address::broadcast();
    EXPECT_EQ(tap_device::open(bad_mac).code(), EINVAL);
    tap_config same_macs;
    same_macs.mac = same_macs.kernel_mac = wire::ethernet_address{0x02, 0, 0, 0, 0, 1};
    EXPECT_EQ(tap_device::open(same_macs).code(), EINVAL);
}

} // namespace
} // namespace demi::phy
