// libFuzzer target: the stack's receive path. A net::host with an open listener (port 80), an
// established TCP connection (with unacknowledged data in flight) and a bound UDP socket (port 7) takes
// a stream of arbitrary frames, with a manual clock advancing between them and a poll after each.
//
// Input format (make_seeds() writes seeds in it):
//   byte 0            flags: bit 0 = received checksums offloaded (mutated frames get past the checksum)
//   then records      [dt: u8][len: u16 big-endian][len bytes of frame] (len clamped to what is left)
//   dt advances the clock before the frame: dt < 128 is dt ms, otherwise (dt - 127) s.
// After the last frame the host's timers run: the clock jumps to poll_at() a bounded number of times.
//
// Seeds: DEMI_FUZZ_STACK_SEEDS=DIR fuzz_stack  writes real frames from the peer host (a SYN to the
// listener, data and a FIN on the connection, a UDP datagram, a ping, an ARP request) into DIR and exits.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "memory/heap.hpp"
#include "net/phy/queue_device.hpp"
#include "net/stack/host.hpp"

using namespace std::chrono_literals;
using demi::buffer;
using demi::duration;
using demi::time_point;
namespace net = demi::net;
namespace wire = demi::wire;

namespace {

using demi::phy::queue_device;

constexpr wire::ethernet_address mac_a{0x02, 0, 0, 0, 0, 0x01};
constexpr wire::ethernet_address mac_b{0x02, 0, 0, 0, 0, 0x02};
constexpr wire::ethernet_address mac_c{0x02, 0, 0, 0, 0, 0x03};
constexpr wire::ipv4_address addr_a{10, 0, 0, 1};
constexpr wire::ipv4_address addr_b{10, 0, 0, 2};
constexpr wire::ipv4_address addr_c{10, 0, 0, 3};
constexpr std::uint16_t tcp_port = 80;
constexpr std::uint16_t udp_port = 7;

net::host_config config_for(wire::ethernet_address mac, wire::ipv4_address addr, bool offload) {
    net::host_config c;
    c.iface_.mac_ = mac;
    c.iface_.addr_ = addr;
    if (offload) c.iface_.caps_ = wire::checksum_caps::offloaded();
    // Small buffers and queues keep memory per input bounded.
    c.iface_.reassembly_.max_bytes_ = 64 * 1024;
    c.iface_.udp_.recv_queue_limit_ = 16;
    c.iface_.max_tx_queue_ = 256;
    c.tcp_.send_buffer_ = 64 * 1024;
    c.tcp_.recv_buffer_ = 64 * 1024;
    c.max_tx_backlog_ = 256;
    return c;
}

/// Host A (under test) with a listener, a UDP socket and an established connection to host B, whose
/// data in flight A's output was cut off from (so A has retransmissions pending).
struct world {
    demi::rng rng_a_{1};
    demi::rng rng_b_{2};
    queue_device dev_a_{mac_a};
    queue_device dev_b_{mac_b};
    std::unique_ptr<net::host> a_;
    std::unique_ptr<net::host> b_;
    time_point now_ = time_point{} + 1s;
    net::listener_id listener_{};
    net::udp_socket_id udp_ = 0;
    net::udp_socket_id udp_b_ = 0;
    std::optional<net::conn_id> conn_a_;
    std::optional<net::conn_id> conn_b_;
    std::vector<net::conn_id> accepted_;
    std::vector<std::byte> scratch_ = std::vector<std::byte>(4096);

    explicit world(bool offload) {
        auto ca = config_for(mac_a, addr_a, offload);
        ca.iface_.static_arp_.emplace_back(addr_b, mac_b);
        auto cb = config_for(mac_b, addr_b, false);
        cb.iface_.static_arp_.emplace_back(addr_a, mac_a);
        a_ = std::make_unique<net::host>(ca, dev_a_, rng_a_);
        b_ = std::make_unique<net::host>(cb, dev_b_, rng_b_);
        dev_a_.peer_ = &dev_b_;
        dev_b_.peer_ = &dev_a_;

        if (auto l = a_->tcp_listen(tcp_port, 4)) listener_ = *l;
        udp_ = a_->iface().udp_open();
        (void)a_->iface().udp_bind(udp_, wire::ipv4_address{}, udp_port);
        udp_b_ = b_->iface().udp_open();
        (void)b_->iface().udp_bind(udp_b_, wire::ipv4_address{}, 5000);

        if (auto c = b_->tcp_connect(now_, addr_a, tcp_port, 40000)) conn_b_ = *c;
        for (int i = 0; i < 32 && !conn_a_; ++i) {
            shuttle();
            if (auto c = a_->tcp_accept(listener_)) conn_a_ = *c;
        }
        for (int i = 0; i < 8; ++i) shuttle();
        // Data in flight from A that B never sees (A's output is cut off from here on).
        dev_a_.peer_ = nullptr;
        dev_b_.peer_ = nullptr;
        if (conn_a_) {
            std::vector<std::byte> d(3000, std::byte{0x61});
            if (auto b = demi::mem::heap_allocate(d.size(), 128)) {
                std::memcpy(b->bytes().data(), d.data(), d.size());
                (void)a_->send(*conn_a_, std::move(*b));
            }
        }
        a_->poll(now_);
    }

    void shuttle() {
        now_ += 1ms;
        a_->receive(now_);
        a_->poll(now_);
        b_->receive(now_);
        b_->poll(now_);
    }

    /// The application on A: accepts, reads every connection, drains the UDP socket.
    void app() {
        while (accepted_.size() < 8) {
            auto c = a_->tcp_accept(listener_);
            if (!c) break;
            accepted_.push_back(*c);
        }
        auto drain = [&](net::conn_id c) {
            for (int i = 0; i < 64; ++i) {
                auto r = a_->recv(c, scratch_);
                if (!r || *r == 0) break;
            }
        };
        if (conn_a_) drain(*conn_a_);
        for (net::conn_id c : accepted_) drain(c);
        for (int i = 0; i < 32; ++i) {
            if (!a_->iface().udp_recv(udp_)) break;
        }
    }

    void feed(std::span<const std::uint8_t> frame, duration dt) {
        now_ += dt;
        if (auto b = demi::mem::heap_allocate(frame.size(), 0)) {
            if (!frame.empty()) std::memcpy(b->bytes().data(), frame.data(), frame.size());
            dev_a_.rx_.push_back(std::move(*b));
        }
        a_->receive(now_);
        app();
        a_->poll(now_);
    }

    /// Runs A's timers: a bounded number of jumps to its next deadline.
    void run_timers() {
        for (int i = 0; i < 16; ++i) {
            auto at = a_->poll_at();
            if (!at) break;
            if (*at > now_) now_ = *at;
            a_->poll(now_);
            app();
        }
    }
};

duration decode_dt(std::uint8_t dt) {
    if (dt < 128) return std::chrono::milliseconds(dt);
    return std::chrono::seconds(dt - 127);
}

// ---- seeds ----

void put_record(std::vector<std::uint8_t> &out, std::uint8_t dt, const buffer &f) {
    out.push_back(dt);
    out.push_back(static_cast<std::uint8_t>(f.size() >> 8));
    out.push_back(static_cast<std::uint8_t>(f.size()));
    for (std::byte x : f.bytes()) out.push_back(static_cast<std::uint8_t>(x));
}

void write_seed(const std::string &dir, const char *name, const std::vector<buffer> &frames, std::uint8_t dt = 1) {
    std::vector<std::uint8_t> out{0};
    for (const buffer &f : frames) put_record(out, dt, f);
    const std::string path = dir + "/" + name;
    std::FILE *fp = std::fopen(path.c_str(), "wb");
    if (fp == nullptr || std::fwrite(out.data(), 1, out.size(), fp) != out.size()) {
        std::fprintf(stderr, "cannot write %s\n", path.c_str());
        std::exit(1);
    }
    std::fclose(fp);
    std::printf("%s: %zu frames, %zu bytes\n", path.c_str(), frames.size(), out.size());
}

buffer bytes_buffer(std::size_t n, std::uint8_t fill) {
    auto b = demi::mem::heap_allocate(n, 128);
    if (!b) std::abort();
    std::memset(b->bytes().data(), fill, n);
    return std::move(*b);
}

/// Frames host B (and a third host C, for ARP) sends A after the same setup the fuzzer starts from.
void make_seeds(const std::string &dir) {
    std::vector<buffer> cap;
    auto take = [&](world &w) {
        w.b_->poll(w.now_);
        std::vector<buffer> got = std::move(cap);
        cap.clear();
        return got;
    };
    {
        world w(false);
        w.dev_b_.capture_ = &cap;
        if (!w.conn_b_ || !w.conn_a_) {
            std::fprintf(stderr, "setup failed: no connection\n");
            std::exit(1);
        }
        (void)w.b_->send(*w.conn_b_, bytes_buffer(1000, 0x62));
        write_seed(dir, "data", take(w));
        (void)w.b_->send(*w.conn_b_, bytes_buffer(2920, 0x63));
        write_seed(dir, "data_multi", take(w));
        (void)w.b_->close(*w.conn_b_);
        write_seed(dir, "fin", take(w));
        (void)w.b_->tcp_connect(w.now_, addr_a, tcp_port, 40001);
        write_seed(dir, "syn", take(w));
        std::vector<std::byte> d(100, std::byte{0x64});
        (void)w.b_->iface().udp_sendto(w.now_, w.udp_b_, net::udp_endpoint{addr_a, udp_port}, d);
        write_seed(dir, "udp", take(w));
        (void)w.b_->iface().ping(w.now_, addr_a, 1, 1, d);
        write_seed(dir, "ping", take(w));
        (void)w.b_->tcp_connect(w.now_, addr_a, 81, 40002);
        write_seed(dir, "syn_closed_port", take(w));
    }
    {
        // C has no ARP entry for A, so its first datagram to A starts with an ARP request.
        demi::rng r{3};
        queue_device dev{mac_c};
        dev.capture_ = &cap;
        net::host c(config_for(mac_c, addr_c, false), dev, r);
        const auto s = c.iface().udp_open();
        std::vector<std::byte> d(10, std::byte{0x65});
        (void)c.iface().udp_sendto(time_point{} + 1s, s, net::udp_endpoint{addr_a, udp_port}, d);
        c.poll(time_point{} + 1s);
        std::vector<buffer> got = std::move(cap);
        cap.clear();
        write_seed(dir, "arp_request", got);
    }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
    if (const char *dir = std::getenv("DEMI_FUZZ_STACK_SEEDS")) {
        make_seeds(dir);
        std::exit(0);
    }
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    if (size == 0) return 0;
    world w((data[0] & 1) != 0);
    std::size_t i = 1;
    // At most 64 frames per input, so the time per input stays bounded.
    for (int n = 0; n < 64 && i + 3 <= size; ++n) {
        const duration dt = decode_dt(data[i]);
        std::size_t len = (std::size_t{data[i + 1]} << 8) | data[i + 2];
        i += 3;
        if (len > size - i) len = size - i;
        // Copied to a buffer of exactly that size, so ASan sees any read past the frame.
        w.feed(std::span<const std::uint8_t>(data + i, len), dt);
        i += len;
    }
    w.run_timers();
    return 0;
}
