// CPU cost of Demi's stack per TCP segment in steady state: a full-size data segment arrives on an
// established connection (net::host: Ethernet, IPv4, TCP parse and checks, TCP input), the
// application reads it (host::recv), and the ACK is built and handed to the device (host::poll; the
// receiver ACKs every segment: delayed ACK off). No device cost: the frames are built beforehand, in
// batches outside the timed region, from a real segment of the peer, and the device only hands them
// over and drops what is sent.
//
//   tcp_segment_cost [SEGMENTS] [--runs R] [--mode software|offload|both] [--read copy|buffer]
//
// SEGMENTS per run (default 200000); the median of R runs (default 7) is printed, in ns per segment
// of wall-clock time and of the thread's CPU time (on a loaded machine the wall clock also counts
// time spent descheduled), for received checksums verified in software and/or offloaded to the NIC
// (rx_ipv4/rx_tcp). The application reads with host::recv (a copy into its own memory, the default)
// or host::recv_buffer (--read buffer: the payload handed over in the received frame, no copy; it
// drops the buffer at once). The timed work is in feed_batch(), which bench/tcp-segment-instructions.sh
// counts with callgrind.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "common/clock.hpp"
#include "memory/heap.hpp"
#include "memory/pool.hpp"
#include "net/phy/queue_device.hpp"
#include "net/stack/host.hpp"
#include "net/wire/checksum.hpp"

using namespace std::chrono_literals;
using demi::buffer;
using demi::time_point;
namespace net = demi::net;
namespace wire = demi::wire;

namespace {

using demi::phy::queue_device;

constexpr wire::ethernet_address mac_a{0x02, 0, 0, 0, 0, 0x01};
constexpr wire::ethernet_address mac_b{0x02, 0, 0, 0, 0, 0x02};
constexpr wire::ipv4_address addr_a{10, 0, 0, 1};
constexpr wire::ipv4_address addr_b{10, 0, 0, 2};
constexpr std::size_t tcp_offset = 14 + 20; // the IPv4 repr emits a 20-byte header
constexpr std::size_t batch = 1024;

net::host_config config_for(wire::ethernet_address mac, wire::ipv4_address addr, wire::ethernet_address peer_mac,
                            wire::ipv4_address peer, bool offload) {
    net::host_config c;
    c.iface_.mac_ = mac;
    c.iface_.addr_ = addr;
    c.iface_.static_arp_.emplace_back(peer, peer_mac);
    if (offload) {
        // The NIC verifies received IPv4 and TCP checksums; transmit checksums stay in software.
        c.iface_.caps_.ipv4_ = wire::checksum_mode::tx;
        c.iface_.caps_.tcp_ = wire::checksum_mode::tx;
    }
    c.tcp_.delayed_ack_ = demi::duration::zero(); // an ACK for every segment
    return c;
}

std::uint32_t get32(const std::byte *p) {
    return (std::uint32_t{std::to_integer<std::uint8_t>(p[0])} << 24) |
           (std::uint32_t{std::to_integer<std::uint8_t>(p[1])} << 16) |
           (std::uint32_t{std::to_integer<std::uint8_t>(p[2])} << 8) | std::to_integer<std::uint8_t>(p[3]);
}
std::uint16_t get16(const std::byte *p) {
    return static_cast<std::uint16_t>((std::to_integer<std::uint8_t>(p[0]) << 8) | std::to_integer<std::uint8_t>(p[1]));
}
void put32(std::byte *p, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<std::byte>(v >> (24 - 8 * i));
}
void put16(std::byte *p, std::uint16_t v) {
    p[0] = static_cast<std::byte>(v >> 8);
    p[1] = static_cast<std::byte>(v);
}

/// Receiver A with an established connection from sender B, and a template full-size data segment
/// from B that A has not seen.
struct world {
    demi::rng rng_a_{1};
    demi::rng rng_b_{2};
    queue_device dev_a_{mac_a};
    queue_device dev_b_{mac_b};
    std::unique_ptr<net::host> a_;
    std::unique_ptr<net::host> b_;
    time_point now_ = time_point{} + 1s;
    net::conn_id conn_a_{};
    std::vector<std::byte> template_;
    std::uint32_t seq_ = 0;       // the sequence number of the next segment to build
    std::uint32_t seg_len_ = 0;   // payload octets per segment
    std::vector<std::byte> sink_; // the application's read buffer
    // Received frames come from a pool of fixed-size blocks, as a NIC's receive buffers do (DPDK mbufs):
    // a frame released after processing goes back to its pool, not to malloc.
    demi::mem::block_pool frame_pool_{2048, 2 * batch};

    bool setup(bool offload) {
        a_ = std::make_unique<net::host>(config_for(mac_a, addr_a, mac_b, addr_b, offload), dev_a_, rng_a_);
        b_ = std::make_unique<net::host>(config_for(mac_b, addr_b, mac_a, addr_a, false), dev_b_, rng_b_);
        dev_a_.peer_ = &dev_b_;
        dev_b_.peer_ = &dev_a_;
        auto l = a_->tcp_listen(80, 4);
        auto cb = b_->tcp_connect(now_, addr_a, 80, 40000);
        if (!l || !cb) return false;
        std::optional<net::conn_id> ca;
        for (int i = 0; i < 64; ++i) {
            now_ += 50us;
            a_->receive(now_);
            a_->poll(now_);
            b_->receive(now_);
            b_->poll(now_);
            if (!ca) {
                if (auto c = a_->tcp_accept(*l)) ca = *c;
            }
        }
        if (!ca) return false;
        conn_a_ = *ca;
        const std::size_t mss = b_->connection(*cb)->send_mss();
        // Capture one full segment from B.
        std::vector<buffer> cap;
        dev_b_.peer_ = nullptr;
        dev_b_.capture_ = &cap;
        dev_a_.peer_ = nullptr; // A's ACKs are dropped from here on
        auto d = demi::mem::heap_allocate(mss, 128);
        if (!d) return false;
        std::memset(d->bytes().data(), 0x5a, mss);
        if (!b_->send(*cb, std::move(*d))) return false;
        b_->poll(now_);
        if (cap.size() != 1) {
            std::fprintf(stderr, "captured %zu frames\n", cap.size());
            return false;
        }
        const auto bytes = cap[0].bytes();
        template_.assign(bytes.begin(), bytes.end());
        seq_ = get32(template_.data() + tcp_offset + 4);
        const std::size_t thl = (std::to_integer<std::uint8_t>(template_[tcp_offset + 12]) >> 4) * 4u;
        seg_len_ = static_cast<std::uint32_t>(template_.size() - tcp_offset - thl);
        sink_.resize(seg_len_ * 4);
        return seg_len_ != 0;
    }

    /// The next `n` segments, as frames (sequence number and TCP checksum patched).
    void build(std::vector<buffer> &out, std::size_t n) {
        out.clear();
        const std::uint32_t seq0 = get32(template_.data() + tcp_offset + 4);
        const std::uint16_t sum0 = get16(template_.data() + tcp_offset + 16);
        for (std::size_t i = 0; i < n; ++i) {
            auto b = frame_pool_.allocate(template_.size(), 0);
            if (!b) std::abort();
            std::byte *p = b->bytes().data();
            std::memcpy(p, template_.data(), template_.size());
            put32(p + tcp_offset + 4, seq_);
            put16(p + tcp_offset + 16, wire::checksum_update32(sum0, seq0, seq_));
            seq_ += seg_len_;
            out.push_back(std::move(*b));
        }
    }
};

/// The timed work: each frame received, read by the application, and ACKed. Returns octets read.
[[gnu::noinline]] std::size_t feed_batch(world &w, std::vector<buffer> &frames, bool zero_copy) {
    std::size_t got = 0;
    for (buffer &f : frames) {
        w.now_ += 12us; // 1460 octets at 1 Gbit/s
        w.dev_a_.next_ = &f;
        w.a_->receive(w.now_);
        if (zero_copy) {
            auto r = w.a_->recv_buffer(w.conn_a_, w.sink_.size());
            if (r) got += r->size();
        } else {
            auto r = w.a_->recv(w.conn_a_, w.sink_);
            if (r) got += *r;
        }
        w.a_->poll(w.now_);
    }
    return got;
}

/// The CPU time this thread has used: unlike the wall clock it does not count time the thread spent
/// descheduled, which dominates on a loaded machine.
std::chrono::nanoseconds thread_cpu_now() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

struct run_result {
    double wall_ns_ = 0; // per segment, wall clock (steady_clock)
    double cpu_ns_ = 0;  // per segment, this thread's CPU time
};

/// ns per segment over `segments` segments (zeros on failure).
run_result run(world &w, std::size_t segments, bool zero_copy) {
    std::vector<buffer> frames;
    frames.reserve(batch);
    std::chrono::nanoseconds wall{0};
    std::chrono::nanoseconds cpu{0};
    std::size_t got = 0;
    for (std::size_t done = 0; done < segments;) {
        const std::size_t n = std::min(batch, segments - done);
        w.build(frames, n);
        const auto c0 = thread_cpu_now();
        const auto t0 = std::chrono::steady_clock::now();
        got += feed_batch(w, frames, zero_copy);
        wall += std::chrono::steady_clock::now() - t0;
        cpu += thread_cpu_now() - c0;
        done += n;
    }
    if (got != segments * w.seg_len_) {
        std::fprintf(stderr, "delivered %zu octets, expected %zu\n", got, segments * std::size_t{w.seg_len_});
        return {};
    }
    return {static_cast<double>(wall.count()) / static_cast<double>(segments),
            static_cast<double>(cpu.count()) / static_cast<double>(segments)};
}

} // namespace

int main(int argc, char **argv) {
    std::size_t segments = 200000;
    int runs = 7;
    bool sw = true;
    bool off = true;
    bool zero_copy = false;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            runs = std::atoi(argv[++i]);
        } else if (std::strcmp(argv[i], "--mode") == 0 && i + 1 < argc) {
            const char *m = argv[++i];
            sw = std::strcmp(m, "software") == 0 || std::strcmp(m, "both") == 0;
            off = std::strcmp(m, "offload") == 0 || std::strcmp(m, "both") == 0;
        } else if (std::strcmp(argv[i], "--read") == 0 && i + 1 < argc) {
            const char *m = argv[++i];
            if (std::strcmp(m, "buffer") == 0) {
                zero_copy = true;
            } else if (std::strcmp(m, "copy") != 0) {
                std::fprintf(stderr, "--read copy|buffer\n");
                return 2;
            }
        } else if (argv[i][0] != '-') {
            segments = std::strtoull(argv[i], nullptr, 0);
        } else {
            std::fprintf(stderr, "usage: %s [SEGMENTS] [--runs R] [--mode software|offload|both] [--read copy|buffer]\n", argv[0]);
            return 2;
        }
    }
    if (segments == 0 || runs < 1 || (!sw && !off)) {
        std::fprintf(stderr, "usage: %s [SEGMENTS] [--runs R] [--mode software|offload|both] [--read copy|buffer]\n", argv[0]);
        return 2;
    }
    int failures = 0;
    for (const bool offload : {false, true}) {
        if ((offload && !off) || (!offload && !sw)) continue;
        world w;
        if (!w.setup(offload)) {
            std::fprintf(stderr, "setup failed\n");
            return 1;
        }
        std::vector<double> ns;
        std::vector<double> cpu;
        for (int r = 0; r < runs; ++r) {
            const run_result rr = run(w, segments, zero_copy);
            ns.push_back(rr.wall_ns_);
            cpu.push_back(rr.cpu_ns_);
        }
        if (std::find(ns.begin(), ns.end(), 0.0) != ns.end()) {
            ++failures;
            continue;
        }
        std::sort(ns.begin(), ns.end());
        std::sort(cpu.begin(), cpu.end());
        const auto *c = w.a_->connection(w.conn_a_);
        std::printf("TCP segment (%u octets) in, read (%s), ACK out; rx checksums %-9s: %7.1f ns/segment "
                    "(median of %d runs of %zu; min %.1f, max %.1f; thread CPU time: median %.1f, min %.1f; "
                    "ACKs sent %llu)\n",
                    w.seg_len_, zero_copy ? "buffer" : "copy", offload ? "offloaded" : "software", ns[ns.size() / 2],
                    runs, segments, ns.front(), ns.back(), cpu[cpu.size() / 2], cpu.front(),
                    static_cast<unsigned long long>(w.dev_a_.dropped_));
        if (c == nullptr || c->current_state() != net::tcp::state::established) ++failures;
    }
    return failures == 0 ? 0 : 1;
}
