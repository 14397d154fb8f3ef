// demi-netd-test: Demi's user-space stack (demi::net::host) on a TAP device, driven in real time, for
// the interop test against the Linux kernel (run_interop_test.sh). The TAP interface is created in the
// caller's network namespace; the script gives its kernel side an address and brings it up.
//
//   demi-netd-test [options] ping-answer             answer ARP and ICMP echo until signalled
//   demi-netd-test [options] ping-kernel IP          ping IP 3 times, succeed on 3 replies
//   demi-netd-test [options] udp-echo PORT           echo every datagram until signalled
//   demi-netd-test [options] tcp-sink PORT           accept one connection, read to EOF, print SHA-256
//   demi-netd-test [options] tcp-source IP PORT BYTES  connect, send a deterministic pattern, close,
//                                                    print its SHA-256
// Options: --tap NAME (default demitap0), --addr A.B.C.D/LEN (default 10.77.1.2/24),
//          --ready-file PATH (active modes start once it exists), --stop-file PATH (stop once it
//          exists: the end of the passive modes), --seconds N (bound, default 120).
// Output: "sha256=<hex>" and "bytes=<n>" on stdout (TCP modes); progress and counters on stderr.
// Exit status: 0 success (and for the passive modes, a signal or the time bound), 1 failure, 2 usage.
//
// The loop: receive(now), the mode's step, poll(now), then ppoll(2) on the TAP fd until poll_at()
// (at most 10 ms, so the ready file and signals are noticed). Time is steady_clock as demi::time_point.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "memory/heap.hpp"
#include "net/phy/tap_device.hpp"
#include "net/stack/host.hpp"
#include "sha256.hpp"

namespace {

using namespace std::chrono_literals;
using demi::time_point;

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

[[noreturn]] void usage() {
    std::fprintf(stderr, "usage: demi-netd-test [--tap NAME] [--addr A.B.C.D/LEN] [--ready-file PATH] "
                         "[--stop-file PATH] [--seconds N]\n"
                         "  ping-answer | ping-kernel IP | udp-echo PORT | tcp-sink PORT | "
                         "tcp-source IP PORT BYTES\n");
    std::exit(2);
}

demi::net::ipv4_address parse_ip(const char *s) {
    auto a = demi::net::ipv4_address::from_string(s);
    if (!a) {
        std::fprintf(stderr, "demi-netd-test: bad IPv4 address '%s'\n", s);
        std::exit(2);
    }
    return *a;
}

unsigned long long parse_num(const char *s, unsigned long long max) {
    char *end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v > max) {
        std::fprintf(stderr, "demi-netd-test: bad number '%s'\n", s);
        std::exit(2);
    }
    return v;
}

/// The deterministic stream tcp-source sends: byte i is byte (i % 8) of splitmix64(i / 8).
std::uint64_t pattern_word(std::uint64_t w) {
    std::uint64_t z = w + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
void fill_pattern(std::uint64_t offset, std::span<std::byte> out) {
    std::uint64_t word = pattern_word(offset / 8);
    for (std::size_t k = 0; k < out.size(); ++k) {
        const std::uint64_t i = offset + k;
        if (i % 8 == 0) word = pattern_word(i / 8);
        out[k] = static_cast<std::byte>(word >> (8 * (i % 8)));
    }
}

struct options {
    std::string tap = "demitap0";
    std::string addr = "10.77.1.2/24";
    std::string ready_file;
    std::string stop_file;
    unsigned seconds = 120;
    std::vector<std::string> args; // mode and its arguments
};

int run(const options &opt) {
    const std::string &mode = opt.args[0];
    auto want = [&](std::size_t n) {
        if (opt.args.size() != n + 1) usage();
    };

    demi::net::host_config cfg;
    {
        const auto slash = opt.addr.find('/');
        cfg.iface_.addr_ = parse_ip(opt.addr.substr(0, slash).c_str());
        if (slash != std::string::npos)
            cfg.iface_.prefix_len_ = static_cast<unsigned>(parse_num(opt.addr.c_str() + slash + 1, 32));
    }
    auto dev = demi::phy::tap_device::open({.name = opt.tap, .mac = {}, .kernel_mac = {}, .mtu = {}});
    if (!dev) {
        std::fprintf(stderr, "demi-netd-test: cannot open TAP '%s': %s\n", opt.tap.c_str(),
                     std::strerror(dev.code()));
        return 1;
    }
    demi::phy::tap_device &tap = **dev;
    cfg.iface_.mtu_ = static_cast<std::uint16_t>(tap.mtu());
    demi::rng random(static_cast<std::uint64_t>(::getpid()) * 0x2545f4914f6cdd1dULL ^
                     static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
    demi::net::host h(cfg, tap, random);
    std::fprintf(stderr, "demi-netd-test: %s on %s, %s mac %s (kernel side %s)\n", mode.c_str(),
                 tap.name().c_str(), opt.addr.c_str(), h.iface().mac().to_string().c_str(),
                 tap.kernel_mac().to_string().c_str());

    const demi::steady_clock_source clock;
    const time_point start = clock.now();
    const time_point deadline = start + std::chrono::seconds(opt.seconds);
    const bool passive = mode == "ping-answer" || mode == "udp-echo";
    bool ready = opt.ready_file.empty();

    // ---- per-mode state ----
    demi::net::ipv4_address peer;
    std::uint16_t port = 0;
    std::uint64_t total = 0; // tcp-source: bytes to send
    if (mode == "ping-answer") {
        want(0);
    } else if (mode == "ping-kernel") {
        want(1);
        peer = parse_ip(opt.args[1].c_str());
    } else if (mode == "udp-echo" || mode == "tcp-sink") {
        want(1);
        port = static_cast<std::uint16_t>(parse_num(opt.args[1].c_str(), 65535));
    } else if (mode == "tcp-source") {
        want(3);
        peer = parse_ip(opt.args[1].c_str());
        port = static_cast<std::uint16_t>(parse_num(opt.args[2].c_str(), 65535));
        total = parse_num(opt.args[3].c_str(), std::uint64_t{1} << 40);
    } else {
        usage();
    }

    int pings_sent = 0, replies = 0;
    time_point next_ping = start;
    std::optional<demi::net::udp_socket_id> usock;
    std::uint64_t echoed = 0;
    std::optional<demi::net::listener_id> lst;
    std::optional<demi::net::conn_id> conn;
    demi::interop::sha256 digest;
    std::uint64_t moved = 0; // bytes received (sink) or queued (source)
    bool eof = false, closed = false;
    std::optional<time_point> linger_until; // after the result: drive the close handshake until then
    std::vector<std::byte> rbuf(64 * 1024);
    int result = -1; // the exit status once known

    if (mode == "udp-echo") {
        usock = h.iface().udp_open();
        if (auto b = h.iface().udp_bind(*usock, demi::net::ipv4_address{}, port); !b) {
            std::fprintf(stderr, "demi-netd-test: udp bind %u: %s\n", port, std::strerror(b.code()));
            return 1;
        }
    }
    if (mode == "tcp-sink") {
        auto l = h.tcp_listen(port, 8);
        if (!l) {
            std::fprintf(stderr, "demi-netd-test: listen %u: %s\n", port, std::strerror(l.code()));
            return 1;
        }
        lst = *l;
    }

    auto finish_tcp = [&](time_point now) {
        std::printf("sha256=%s\nbytes=%llu\n", digest.hex().c_str(), static_cast<unsigned long long>(moved));
        std::fflush(stdout);
        result = 0;
        linger_until = now + 3s;
    };

    // One step of the mode after receive(now); sets `result` when done.
    auto step = [&](time_point now) {
        if (!ready && ::access(opt.ready_file.c_str(), F_OK) == 0) ready = true;
        if (mode == "ping-kernel" && ready) {
            static constexpr std::byte data[56] = {};
            if (pings_sent < 3 && now >= next_ping) {
                ++pings_sent;
                if (auto r = h.iface().ping(now, peer, 0x4d45, static_cast<std::uint16_t>(pings_sent), data); !r)
                    std::fprintf(stderr, "demi-netd-test: ping %d: %s\n", pings_sent, std::strerror(r.code()));
                next_ping = now + 300ms;
            }
            while (auto rep = h.iface().take_echo_reply()) {
                ++replies;
                std::fprintf(stderr, "demi-netd-test: reply from %s seq %u %zu bytes rtt %.3f ms\n",
                             rep->from_.to_string().c_str(), rep->seq_no_, rep->data_len_,
                             std::chrono::duration<double, std::milli>(rep->received_ - rep->sent_).count());
            }
            if (replies >= 3) result = 0;
        } else if (mode == "udp-echo") {
            while (true) {
                auto d = h.iface().udp_recv(*usock);
                if (!d) break;
                if (auto r = h.iface().udp_sendto(now, *usock, d->src_, d->payload_.bytes()); !r)
                    std::fprintf(stderr, "demi-netd-test: udp echo of %zu bytes: %s\n", d->payload_.size(),
                                 std::strerror(r.code()));
                else
                    ++echoed;
            }
        } else if (mode == "tcp-sink") {
            if (!conn) {
                if (auto a = h.tcp_accept(*lst)) {
                    conn = *a;
                    std::fprintf(stderr, "demi-netd-test: accepted a connection\n");
                }
            }
            while (conn && !eof) {
                auto got = h.recv(*conn, rbuf);
                if (!got) {
                    if (got.code() == EAGAIN) break;
                    std::fprintf(stderr, "demi-netd-test: recv after %llu bytes: %s\n",
                                 static_cast<unsigned long long>(moved), std::strerror(got.code()));
                    result = 1;
                    return;
                }
                if (*got == 0) {
                    eof = true;
                    (void)h.close(*conn);
                    finish_tcp(now);
                    break;
                }
                digest.update(std::span(rbuf).first(*got));
                moved += *got;
            }
        } else if (mode == "tcp-source" && ready) {
            if (!conn) {
                auto c = h.tcp_connect(now, peer, port);
                if (!c) {
                    std::fprintf(stderr, "demi-netd-test: connect: %s\n", std::strerror(c.code()));
                    result = 1;
                    return;
                }
                conn = *c;
            }
            const auto *k = h.connection(*conn);
            if (k == nullptr || h.error(*conn) != 0) {
                std::fprintf(stderr, "demi-netd-test: connection failed after %llu bytes queued: %s\n",
                             static_cast<unsigned long long>(moved), std::strerror(h.error(*conn)));
                result = 1;
                return;
            }
            const bool open = k->current_state() != demi::net::tcp::state::syn_sent;
            while (open && moved < total) {
                const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(64 * 1024, total - moved));
                if (!k->can_take(n)) break;
                auto b = demi::mem::heap_allocate(n, 128);
                if (!b) {
                    std::fprintf(stderr, "demi-netd-test: out of memory\n");
                    result = 1;
                    return;
                }
                fill_pattern(moved, b->bytes());
                digest.update(b->bytes());
                if (auto r = h.send(*conn, std::move(*b)); !r) {
                    if (r.code() == EAGAIN) break;
                    std::fprintf(stderr, "demi-netd-test: send: %s\n", std::strerror(r.code()));
                    result = 1;
                    return;
                }
                moved += n;
            }
            if (open && moved == total && !closed) {
                (void)h.close(*conn);
                closed = true;
            }
            // Done when every byte and our FIN are acknowledged: FIN-WAIT-2, TIME-WAIT or CLOSED.
            const auto s = k->current_state();
            if (closed && (s == demi::net::tcp::state::fin_wait_2 || s == demi::net::tcp::state::time_wait ||
                           s == demi::net::tcp::state::closed)) {
                finish_tcp(now);
                linger_until = now; // the kernel has all data; TIME-WAIT need not be waited out
            }
        }
    };

    while (true) {
        const time_point now = clock.now();
        h.receive(now);
        if (result < 0) step(now);
        h.poll(now);
        if (result >= 0 && (!linger_until || now >= *linger_until || h.connection_count() == 0)) break;
        if (g_stop || (!opt.stop_file.empty() && ::access(opt.stop_file.c_str(), F_OK) == 0)) {
            if (result < 0) result = passive ? 0 : 1;
            if (!passive) std::fprintf(stderr, "demi-netd-test: stopped (signal or stop file) before finishing\n");
            break;
        }
        if (now >= deadline) {
            if (result < 0) {
                result = passive ? 0 : 1;
                if (!passive) std::fprintf(stderr, "demi-netd-test: timed out after %u s\n", opt.seconds);
            }
            break;
        }
        demi::duration wait = 10ms;
        if (const auto at = h.poll_at()) wait = std::clamp<demi::duration>(*at - now, demi::duration::zero(), wait);
        const timespec ts{0, static_cast<long>(wait.count())};
        pollfd pfd{tap.fd(), POLLIN, 0};
        (void)::ppoll(&pfd, 1, &ts, nullptr);
    }

    const auto &ts = tap.stats();
    const auto tt = h.tcp_totals();
    std::fprintf(stderr,
                 "demi-netd-test: done (%s) after %.2f s: tap rx %llu tx %llu (errors %llu/%llu, truncated %llu); "
                 "pings %d replies %d; udp echoed %llu; tcp bytes %llu, segments in %llu out %llu, retransmits "
                 "%llu, rejected %llu; iface bad-checksum drops %llu\n",
                 result == 0 ? "ok" : "FAILED",
                 std::chrono::duration<double>(clock.now() - start).count(),
                 static_cast<unsigned long long>(ts.rx_frames), static_cast<unsigned long long>(ts.tx_frames),
                 static_cast<unsigned long long>(ts.rx_errors), static_cast<unsigned long long>(ts.tx_errors),
                 static_cast<unsigned long long>(ts.rx_truncated), pings_sent, replies,
                 static_cast<unsigned long long>(echoed), static_cast<unsigned long long>(moved),
                 static_cast<unsigned long long>(tt.segments_in_), static_cast<unsigned long long>(tt.segments_out_),
                 static_cast<unsigned long long>(tt.retransmits_), static_cast<unsigned long long>(tt.rejected_),
                 static_cast<unsigned long long>(h.iface().stats().rx_bad_checksum_drops_));
    return result;
}

} // namespace

int main(int argc, char **argv) {
    options opt;
    int i = 1;
    for (; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a.substr(0, 2) != "--") break;
        if (i + 1 >= argc) usage();
        if (a == "--tap")
            opt.tap = argv[++i];
        else if (a == "--addr")
            opt.addr = argv[++i];
        else if (a == "--ready-file")
            opt.ready_file = argv[++i];
        else if (a == "--stop-file")
            opt.stop_file = argv[++i];
        else if (a == "--seconds")
            opt.seconds = static_cast<unsigned>(parse_num(argv[++i], 86400));
        else
            usage();
    }
    for (; i < argc; ++i) opt.args.emplace_back(argv[i]);
    if (opt.args.empty()) usage();
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    ::sigaction(SIGTERM, &sa, nullptr);
    ::sigaction(SIGINT, &sa, nullptr);
    return run(opt);
}
