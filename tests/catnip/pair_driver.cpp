// demi-catnip-pair: one end of the two-process catnip test over net_memif (run_catnip_test.sh memif).
// The EAL arguments (the memif vdev, --lcores, --file-prefix, memory) come from DEMI_DPDK_EAL_INIT.
//
//   demi-catnip-pair server|client [--frames N] [--rtt N] [--bytes N] [--seconds N]
//     1. raw: the client sends N frames of sizes 60..1514 (even ones from the mbuf pool, odd ones from
//        the heap), each with a pattern the server checks byte for byte and sends back unchanged (the
//        received mbuf itself); the client checks the echo byte for byte. Then --rtt 64-byte ping-pongs,
//        timed (p50/p99 printed), then END / END-ACK.
//     2. net::host on each device (server 10.88.0.1, client 10.88.0.2, /24): each pings the other 3
//        times (ARP first; the ARP entry must be the MAC seen in phase 1), then the client connects to
//        the server's port 7000, sends --bytes of a pattern and reads them back (the server echoes),
//        compares byte for byte, and both print the SHA-256 of what they received.
//   demi-catnip-pair eal-check ERRNO [--eal-only]
//     starts the EAL, makes the pool and opens port 0 (with --eal-only, only starts the EAL); succeeds
//     when the first failure is ERRNO (a number, 0 for none). Environment overrides of the
//     configuration apply (DEMI_MTU, ...).
//   demi-catnip-pair kernel-echo [--seconds N] [--stop-file PATH]
//     net::host at 10.89.0.2/24 echoing TCP port 7000 and answering ping, for the kernel on the other
//     side of a net_tap port (run_catnip_test.sh tap-offload): checks the checksum offload path.
// Exit: 0 success, 1 failure, 2 usage. Progress and counters on stderr; results on stdout.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "../interop/sha256.hpp"
#include "common/clock.hpp"
#include "libos/catnip/dpdk_device.hpp"
#include "libos/catnip/eal.hpp"
#include "libos/catnip/mbuf_pool.hpp"
#include "memory/heap.hpp"
#include "net/stack/host.hpp"

namespace {

using namespace std::chrono_literals;
using demi::buffer;
using demi::time_point;
using namespace demi::catnip;

constexpr unsigned char raw_type[2] = {0x88, 0xb5}; // IEEE local experimental EtherType
enum : unsigned char { t_data = 1, t_end = 3, t_end_ack = 4, t_ping = 5 };
constexpr size_t hdr = 14 + 5; // Ethernet + type + seq

struct options {
    std::string role;
    int frames = 200;
    int rtt = 2000;
    size_t bytes = 1 << 20;
    int seconds = 60;
    int expect = 0;
};

mbuf_pool *g_pool = nullptr; // for the stack's allocator (a plain function pointer)
demi::result<buffer> pool_alloc(size_t n, size_t headroom) noexcept { return g_pool->alloc(n, headroom); }

unsigned char pattern(uint32_t seq, size_t i) { return static_cast<unsigned char>(seq * 131 + i * 7); }

void make_frame(buffer &b, const demi::wire::ethernet_address &src, unsigned char type, uint32_t seq) {
    auto *p = reinterpret_cast<unsigned char *>(b.data());
    std::memset(p, 0xff, 6);
    src.write(b.data() + 6);
    p[12] = raw_type[0];
    p[13] = raw_type[1];
    p[14] = type;
    p[15] = static_cast<unsigned char>(seq >> 24);
    p[16] = static_cast<unsigned char>(seq >> 16);
    p[17] = static_cast<unsigned char>(seq >> 8);
    p[18] = static_cast<unsigned char>(seq);
    for (size_t i = hdr; i < b.size(); ++i) p[i] = pattern(seq, i);
}

bool is_raw(const buffer &f) {
    auto *p = reinterpret_cast<const unsigned char *>(f.data());
    return f.size() >= hdr && p[12] == raw_type[0] && p[13] == raw_type[1];
}
unsigned char type_of(const buffer &f) { return reinterpret_cast<const unsigned char *>(f.data())[14]; }
uint32_t seq_of(const buffer &f) {
    auto *p = reinterpret_cast<const unsigned char *>(f.data());
    return (uint32_t{p[15]} << 24) | (uint32_t{p[16]} << 16) | (uint32_t{p[17]} << 8) | p[18];
}
demi::wire::ethernet_address src_of(const buffer &f) {
    return demi::wire::ethernet_address::from_bytes(f.data() + 6);
}

bool send_all(dpdk_device &dev, buffer f, time_point deadline) {
    buffer one[1] = {std::move(f)};
    const demi::steady_clock_source clock;
    while (dev.transmit(one) == 0)
        if (clock.now() > deadline) return false;
    return true;
}

struct raw_result {
    bool ok = false;
    demi::wire::ethernet_address peer;
};

raw_result raw_client(dpdk_device &dev, mbuf_pool &pool, const options &o, time_point deadline) {
    const demi::steady_clock_source clock;
    raw_result res;
    std::vector<buffer> rx(32);
    // Waits for a raw frame of `type` and `seq`; resends `resend` every 200 ms.
    auto await = [&](unsigned char type, uint32_t seq, const std::vector<unsigned char> *want,
                     const std::function<buffer()> &resend) -> bool {
        time_point next = clock.now() + 200ms;
        while (clock.now() < deadline) {
            const size_t n = dev.receive(rx);
            for (size_t i = 0; i < n; ++i) {
                buffer f = std::move(rx[i]);
                if (!is_raw(f) || type_of(f) != type || seq_of(f) != seq) continue;
                res.peer = src_of(f);
                if (want != nullptr &&
                    (f.size() != want->size() || std::memcmp(f.data(), want->data(), want->size()) != 0)) {
                    std::fprintf(stderr, "client: echo of frame %u (%zu bytes) differs (got %zu bytes)\n", seq,
                                 want->size(), f.size());
                    return false;
                }
                return true;
            }
            if (clock.now() > next) {
                std::fprintf(stderr, "client: resending frame type %u seq %u\n", type, seq);
                if (!send_all(dev, resend(), deadline)) return false;
                next = clock.now() + 200ms;
            }
        }
        std::fprintf(stderr, "client: no answer to frame type %u seq %u\n", type, seq);
        return false;
    };

    for (int s = 0; s < o.frames; ++s) {
        const auto seq = static_cast<uint32_t>(s);
        const size_t size = 60 + (static_cast<size_t>(s) * 97) % (1514 - 60 + 1);
        auto build = [&]() -> buffer {
            auto b = (s % 2 == 0) ? pool.alloc(size) : demi::mem::heap_allocate(size);
            if (!b) return buffer();
            make_frame(*b, dev.mac(), t_data, seq);
            return std::move(*b);
        };
        buffer f = build();
        if (!f) {
            std::fprintf(stderr, "client: no buffer\n");
            return res;
        }
        std::vector<unsigned char> want(f.size());
        std::memcpy(want.data(), f.data(), f.size());
        if (!send_all(dev, std::move(f), deadline)) return res;
        if (!await(t_data, seq, &want, build)) return res;
    }
    std::printf("raw_frames=%d byte_exact=both_ways\n", o.frames);

    std::vector<double> us;
    us.reserve(static_cast<size_t>(o.rtt));
    for (int s = 0; s < o.rtt; ++s) {
        const auto seq = static_cast<uint32_t>(s);
        auto build = [&]() -> buffer {
            auto b = pool.alloc(64);
            if (!b) return buffer();
            make_frame(*b, dev.mac(), t_ping, seq);
            return std::move(*b);
        };
        const time_point t0 = clock.now();
        if (!send_all(dev, build(), deadline)) return res;
        if (!await(t_ping, seq, nullptr, build)) return res;
        us.push_back(std::chrono::duration<double, std::micro>(clock.now() - t0).count());
    }
    if (!us.empty()) {
        std::sort(us.begin(), us.end());
        std::printf("raw_rtt_64B_us p50=%.2f p99=%.2f min=%.2f n=%zu\n", us[us.size() / 2], us[us.size() * 99 / 100],
                    us.front(), us.size());
    }
    auto end = [&]() -> buffer {
        auto b = pool.alloc(60);
        if (!b) return buffer();
        make_frame(*b, dev.mac(), t_end, 0);
        return std::move(*b);
    };
    if (!send_all(dev, end(), deadline)) return res;
    if (!await(t_end_ack, 0, nullptr, end)) return res;
    res.ok = true;
    return res;
}

raw_result raw_server(dpdk_device &dev, mbuf_pool &pool, time_point deadline) {
    const demi::steady_clock_source clock;
    raw_result res;
    std::vector<buffer> rx(32);
    uint32_t next_data = 0;
    while (clock.now() < deadline) {
        const size_t n = dev.receive(rx);
        for (size_t i = 0; i < n; ++i) {
            buffer f = std::move(rx[i]);
            if (!is_raw(f)) continue;
            res.peer = src_of(f);
            const auto seq = seq_of(f);
            if (type_of(f) == t_data) {
                auto *p = reinterpret_cast<const unsigned char *>(f.data());
                for (size_t k = hdr; k < f.size(); ++k)
                    if (p[k] != pattern(seq, k)) {
                        std::fprintf(stderr, "server: frame %u byte %zu is %02x, want %02x\n", seq, k, p[k],
                                     pattern(seq, k));
                        return res;
                    }
                if (seq == next_data) ++next_data;
            }
            if (type_of(f) == t_data || type_of(f) == t_ping) {
                if (!send_all(dev, std::move(f), deadline)) return res; // the received mbuf goes back as is
            } else if (type_of(f) == t_end) {
                auto b = pool.alloc(60);
                if (!b) return res;
                make_frame(*b, dev.mac(), t_end_ack, 0);
                if (!send_all(dev, std::move(*b), deadline)) return res;
                std::printf("raw_frames_checked=%u\n", next_data);
                res.ok = true;
                return res;
            }
        }
    }
    std::fprintf(stderr, "server: timed out in the raw phase (%u frames checked)\n", next_data);
    return res;
}

int run_host(dpdk_device &dev, const options &o, const demi::wire::ethernet_address &peer_mac, time_point deadline) {
    const bool server = o.role == "server";
    const auto me = server ? demi::net::ipv4_address(10, 88, 0, 1) : demi::net::ipv4_address(10, 88, 0, 2);
    const auto peer = server ? demi::net::ipv4_address(10, 88, 0, 2) : demi::net::ipv4_address(10, 88, 0, 1);
    constexpr uint16_t port = 7000;
    demi::net::host_config cfg;
    cfg.iface_.addr_ = me;
    cfg.iface_.prefix_len_ = 24;
    cfg.iface_.mtu_ = static_cast<uint16_t>(dev.mtu());
    cfg.iface_.caps_ = demi::phy::stack_checksums(dev.caps());
    cfg.iface_.allocate_ = &pool_alloc;
    demi::rng random(server ? 1 : 2);
    demi::net::host h(cfg, dev, random);
    const demi::steady_clock_source clock;

    std::optional<demi::net::listener_id> lst;
    if (server) {
        auto l = h.tcp_listen(port, 4);
        if (!l) {
            std::fprintf(stderr, "server: listen: %s\n", std::strerror(l.code()));
            return 1;
        }
        lst = *l;
    }
    int pings = 0, replies = 0;
    time_point next_ping = clock.now();
    std::optional<demi::net::conn_id> conn;
    std::deque<buffer> pending; // server: data to echo the send buffer has no room for yet
    std::vector<std::byte> rbuf(64 * 1024);
    std::vector<std::byte> got; // client: what came back
    demi::interop::sha256 digest;
    size_t sent = 0, received = 0;
    bool eof = false, closed = false, done = false;
    std::optional<time_point> linger;

    while (clock.now() < deadline) {
        const time_point now = clock.now();
        h.receive(now);
        // Ping the peer 3 times.
        if (replies < 3 && now >= next_ping && pings < 30) {
            static constexpr std::byte data[56] = {};
            ++pings;
            if (auto r = h.iface().ping(now, peer, 0x4443, static_cast<uint16_t>(pings), data); !r)
                std::fprintf(stderr, "%s: ping: %s\n", o.role.c_str(), std::strerror(r.code()));
            next_ping = now + 300ms;
        }
        while (auto rep = h.iface().take_echo_reply()) {
            if (++replies == 3) {
                auto mac = h.iface().arp_lookup(peer, now);
                std::printf("%s: ping %s: 3 replies, last rtt %.1f us; arp %s -> %s (%s)\n", o.role.c_str(),
                            peer.to_string().c_str(),
                            std::chrono::duration<double, std::micro>(rep->received_ - rep->sent_).count(),
                            peer.to_string().c_str(), mac ? mac->to_string().c_str() : "none",
                            mac && *mac == peer_mac ? "the peer's MAC" : "WRONG");
                if (!mac || *mac != peer_mac) return 1;
            }
        }
        if (pings >= 30 && replies < 3) {
            std::fprintf(stderr, "%s: %d pings, %d replies\n", o.role.c_str(), pings, replies);
            return 1;
        }
        // TCP.
        if (server) {
            if (!conn)
                if (auto a = h.tcp_accept(*lst)) conn = *a;
            while (conn && !eof) {
                auto r = h.recv(*conn, rbuf);
                if (!r) {
                    if (r.code() == EAGAIN) break;
                    std::fprintf(stderr, "server: recv: %s\n", std::strerror(r.code()));
                    return 1;
                }
                if (*r == 0) {
                    eof = true;
                    break;
                }
                digest.update(std::span(rbuf).first(*r));
                received += *r;
                auto b = g_pool->alloc(*r, 128);
                if (!b) {
                    std::fprintf(stderr, "server: alloc: %s\n", std::strerror(b.code()));
                    return 1;
                }
                std::memcpy(b->data(), rbuf.data(), *r);
                pending.push_back(std::move(*b));
            }
            while (conn && !pending.empty()) {
                auto r = h.send(*conn, pending.front());
                if (!r) {
                    if (r.code() == EAGAIN) break;
                    std::fprintf(stderr, "server: send: %s\n", std::strerror(r.code()));
                    return 1;
                }
                sent += pending.front().size();
                pending.pop_front();
            }
            if (eof && pending.empty() && !closed) {
                (void)h.close(*conn);
                closed = true;
                std::printf("server: echoed %zu bytes, sha256=%s\n", received, digest.hex().c_str());
            }
            if (closed && replies >= 3 && !linger) linger = now + 1s;
        } else if (replies >= 3) {
            if (!conn) {
                auto c = h.tcp_connect(now, peer, port);
                if (!c) {
                    std::fprintf(stderr, "client: connect: %s\n", std::strerror(c.code()));
                    return 1;
                }
                conn = *c;
            }
            const auto *k = h.connection(*conn);
            if (k == nullptr || h.error(*conn) != 0) {
                std::fprintf(stderr, "client: connection failed: %s\n", std::strerror(h.error(*conn)));
                return 1;
            }
            const bool open = k->current_state() != demi::net::tcp::state::syn_sent;
            while (open && sent < o.bytes) {
                const size_t n = std::min<size_t>(16 * 1024, o.bytes - sent);
                if (!k->can_take(n)) break;
                auto b = g_pool->alloc(n, 128);
                if (!b) break;
                auto *p = reinterpret_cast<unsigned char *>(b->data());
                for (size_t i = 0; i < n; ++i) p[i] = pattern(7, sent + i);
                if (auto r = h.send(*conn, std::move(*b)); !r) {
                    if (r.code() == EAGAIN) break;
                    std::fprintf(stderr, "client: send: %s\n", std::strerror(r.code()));
                    return 1;
                }
                sent += n;
            }
            while (!eof && !closed) { // once closed, the handle goes when the TCB reaches CLOSED
                auto r = h.recv(*conn, rbuf);
                if (!r) {
                    if (r.code() == EAGAIN) break;
                    std::fprintf(stderr, "client: recv: %s\n", std::strerror(r.code()));
                    return 1;
                }
                if (*r == 0) {
                    eof = true;
                    break;
                }
                digest.update(std::span(rbuf).first(*r));
                got.insert(got.end(), rbuf.begin(), rbuf.begin() + static_cast<std::ptrdiff_t>(*r));
                received += *r;
            }
            if (sent == o.bytes && received == o.bytes && !closed) {
                for (size_t i = 0; i < got.size(); ++i)
                    if (static_cast<unsigned char>(got[i]) != pattern(7, i)) {
                        std::fprintf(stderr, "client: echoed byte %zu differs\n", i);
                        return 1;
                    }
                std::printf("client: %zu bytes sent and echoed back byte-exact, sha256=%s\n", received,
                            digest.hex().c_str());
                (void)h.close(*conn);
                closed = true;
            }
            if (closed && !linger) linger = now + 1s;
        }
        h.poll(now);
        if (linger && now >= *linger) {
            done = true;
            break;
        }
    }
    const auto &is = h.iface().stats();
    const auto &ds = dev.stats();
    std::fprintf(stderr,
                 "%s: iface rx %llu tx %llu; device rx %llu tx %llu (zero-copy %llu, indirect %llu, copies %llu), "
                 "pool exhausted %llu, heap allocs %llu\n",
                 o.role.c_str(), static_cast<unsigned long long>(is.rx_frames_),
                 static_cast<unsigned long long>(is.tx_frames_), static_cast<unsigned long long>(ds.rx_frames),
                 static_cast<unsigned long long>(ds.tx_frames), static_cast<unsigned long long>(ds.tx_zero_copy),
                 static_cast<unsigned long long>(ds.tx_indirect), static_cast<unsigned long long>(ds.tx_copies),
                 static_cast<unsigned long long>(g_pool->stats().exhausted),
                 static_cast<unsigned long long>(g_pool->stats().heap_allocs));
    if (!done) {
        std::fprintf(stderr, "%s: timed out (sent %zu, received %zu, replies %d)\n", o.role.c_str(), sent, received,
                     replies);
        return 1;
    }
    if (received != o.bytes) return 1;
    return 0;
}

// kernel-echo: net::host on the device (10.89.0.2/24), echoing every TCP connection on port 7000 and
// answering ping, until `stop_file` exists or the deadline. Succeeds when at least one connection was
// echoed to its end and the device sent frames with checksum offload flags (the point of this mode:
// net_tap fills the checksums the stack left to it, and the kernel on the other side verifies them).
int run_kernel_echo(dpdk_device &dev, const std::string &stop_file, time_point deadline) {
    demi::net::host_config cfg;
    cfg.iface_.addr_ = demi::net::ipv4_address(10, 89, 0, 2);
    cfg.iface_.prefix_len_ = 24;
    cfg.iface_.mtu_ = static_cast<uint16_t>(dev.mtu());
    cfg.iface_.caps_ = demi::phy::stack_checksums(dev.caps());
    cfg.iface_.allocate_ = &pool_alloc;
    demi::rng random(3);
    demi::net::host h(cfg, dev, random);
    const auto c = dev.caps();
    std::fprintf(stderr, "kernel-echo: caps tx ipv4 %d tcp %d udp %d, rx ipv4 %d tcp %d udp %d\n", c.tx_ipv4, c.tx_tcp,
                 c.tx_udp, c.rx_ipv4, c.rx_tcp, c.rx_udp);
    auto l = h.tcp_listen(7000, 4);
    if (!l) return 1;
    const demi::steady_clock_source clock;
    struct echo_conn {
        demi::net::conn_id id;
        std::deque<buffer> pending;
        bool eof = false, closed = false;
    };
    std::vector<echo_conn> conns;
    std::vector<std::byte> rbuf(64 * 1024);
    int finished = 0;
    size_t echoed = 0;
    time_point next_stop_check = clock.now();
    while (clock.now() < deadline) {
        const time_point now = clock.now();
        h.receive(now);
        while (auto a = h.tcp_accept(*l)) conns.push_back({*a, {}, false, false});
        for (auto &e : conns) {
            while (!e.eof && !e.closed) {
                auto r = h.recv(e.id, rbuf);
                if (!r) {
                    if (r.code() != EAGAIN) {
                        std::fprintf(stderr, "kernel-echo: recv: %s\n", std::strerror(r.code()));
                        return 1;
                    }
                    break;
                }
                if (*r == 0) {
                    e.eof = true;
                    break;
                }
                auto b = g_pool->alloc(*r, 128);
                if (!b) return 1;
                std::memcpy(b->data(), rbuf.data(), *r);
                e.pending.push_back(std::move(*b));
                echoed += *r;
            }
            while (!e.closed && !e.pending.empty()) {
                auto r = h.send(e.id, e.pending.front());
                if (!r) break;
                e.pending.pop_front();
            }
            if (e.eof && e.pending.empty() && !e.closed) {
                (void)h.close(e.id);
                e.closed = true;
                ++finished;
                std::fprintf(stderr, "kernel-echo: a connection echoed to its end\n");
            }
        }
        h.poll(now);
        if (now >= next_stop_check) {
            if (!stop_file.empty() && ::access(stop_file.c_str(), F_OK) == 0) break;
            next_stop_check = now + 20ms;
        }
    }
    const auto &ds = dev.stats();
    std::fprintf(stderr, "kernel-echo: %d connection(s) echoed, %zu bytes; device tx %llu (offload flags on %llu), rx %llu, "
                 "rx bad-checksum drops %llu\n", finished, echoed, static_cast<unsigned long long>(ds.tx_frames),
                 static_cast<unsigned long long>(ds.tx_offloaded), static_cast<unsigned long long>(ds.rx_frames),
                 static_cast<unsigned long long>(ds.rx_bad_checksum_drops));
    if (finished == 0) return 1;
    if (!(c.tx_tcp && ds.tx_offloaded > 0)) {
        std::fprintf(stderr, "kernel-echo: no TX checksum offload was exercised\n");
        return 1;
    }
    return 0;
}

[[noreturn]] void usage() {
    std::fprintf(stderr, "usage: demi-catnip-pair server|client [--frames N] [--rtt N] [--bytes N] [--seconds N]\n"
                         "       demi-catnip-pair kernel-echo [--seconds N] [--stop-file PATH]\n"
                         "       demi-catnip-pair eal-check ERRNO [--eal-only]\n");
    std::exit(2);
}

int eal_check(int expect, bool eal_only) {
    auto loaded = demi::rt::load_config("", true); // DEMI_MTU, DEMI_LOCAL_LINK_ADDR apply
    if (!loaded) return 1;
    demi::rt::config cfg = *loaded;
    int code = 0;
    if (auto r = eal_start(cfg); !r) {
        code = r.code();
    } else if (eal_only) {
        // done: the EAL and its port are there
    } else if (auto p = mbuf_pool::create(cfg); !p) {
        code = p.code();
    } else if (auto d = dpdk_device::open(cfg, **p); !d) {
        code = d.code();
    }
    std::printf("eal-check: first failure %d (%s), want %d\n", code, code ? std::strerror(code) : "none", expect);
    return code == expect ? 0 : 1;
}

} // namespace

int main(int argc, char **argv) {
    if (argc < 2) usage();
    options o;
    o.role = argv[1];
    if (o.role == "eal-check") {
        if (argc != 3 && !(argc == 4 && std::strcmp(argv[3], "--eal-only") == 0)) usage();
        return eal_check(std::atoi(argv[2]), argc == 4);
    }
    if (o.role != "server" && o.role != "client" && o.role != "kernel-echo") usage();
    std::string stop_file;
    for (int i = 2; i < argc; ++i) {
        const std::string a = argv[i];
        if (i + 1 >= argc) usage();
        if (a == "--stop-file") {
            stop_file = argv[++i];
            continue;
        }
        const long v = std::atol(argv[++i]);
        if (a == "--frames") o.frames = static_cast<int>(v);
        else if (a == "--rtt") o.rtt = static_cast<int>(v);
        else if (a == "--bytes") o.bytes = static_cast<size_t>(v);
        else if (a == "--seconds") o.seconds = static_cast<int>(v);
        else usage();
    }
    demi::rt::config cfg;
    cfg.raw["dpdk.link_wait_ms"] = "10000";
    if (auto r = eal_start(cfg); !r) return 1;
    auto pool = mbuf_pool::create(cfg);
    if (!pool) return 1;
    g_pool = pool->get();
    auto dev = dpdk_device::open(cfg, **pool);
    if (!dev) return 1;
    dpdk_device &d = **dev;
    std::fprintf(stderr, "%s: port %u %s mac %s mtu %zu link %s\n", o.role.c_str(), d.port_id(), d.driver_name(),
                 d.mac().to_string().c_str(), d.mtu(), d.link_up() ? "up" : "down");
    if (!d.link_up()) {
        std::fprintf(stderr, "%s: link down\n", o.role.c_str());
        return 1;
    }
    const demi::steady_clock_source clock;
    const time_point deadline = clock.now() + std::chrono::seconds(o.seconds);
    if (o.role == "kernel-echo") return run_kernel_echo(d, stop_file, deadline);
    raw_result raw = o.role == "server" ? raw_server(d, **pool, deadline) : raw_client(d, **pool, o, deadline);
    if (!raw.ok) return 1;
    std::fprintf(stderr, "%s: raw phase done; peer mac %s\n", o.role.c_str(), raw.peer.to_string().c_str());
    std::fflush(stdout);
    const int rc = run_host(d, o, raw.peer, deadline);
    std::fflush(stdout);
    return rc;
}
