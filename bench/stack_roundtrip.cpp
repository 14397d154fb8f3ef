// A 64-byte echo round trip through everything catnip runs except the device: two runtimes in one
// thread, each an inetstack backend over an in-memory device (phy::queue_device), driven through the
// queue API as demi-perf drives it (client push + pop + wait, server pop + wait + push of the popped
// buffer). What a round trip costs the libOS on both sides, with no wire and no cross-core transfer.
//
//   stack_roundtrip [--count N] [--size N] [--udp] [--offload] [--runs R] [--idle] [--idle-conns N]
//
// --idle: instead of round trips, N busy-poll rounds of the server while it waits for a request (a
// pop pending and, for TCP, an accept pending on its listener, as demi-perf's server has): what a
// libOS spends per round doing nothing, which delays the discovery of the next frame.
// --idle-conns N (TCP): N more connections, open and idle, each with a pop pending on the server
// (as a server's other clients between requests): what they cost the round trips of the busy one.
// --offload: the devices claim every checksum offload (as a NIC with DPDK's offloads), else the
// stack computes and verifies checksums in software (as over memif). Prints ns per round trip
// (median of the runs). bench/stack-roundtrip-instructions.sh counts instructions per round trip.
#include "libos/inetstack/backend.hpp"
#include "memory/heap.hpp"
#include "net/phy/queue_device.hpp"
#include "runtime/runtime.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace {

using namespace demi;

const machine_clock_source &clock_source() {
    static const machine_clock_source c; // the clock the libOSes read
    return c;
}

sockaddr_in address(const char *ip, uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = inet_addr(ip);
    return a;
}

[[noreturn]] void die(const char *what, int err) {
    std::fprintf(stderr, "stack_roundtrip: %s: %s\n", what, std::strerror(err));
    std::exit(1);
}

template <class T> T must(result<T> r, const char *what) {
    if (!r) die(what, r.code());
    return std::move(*r);
}
void must(result<void> r, const char *what) {
    if (!r) die(what, r.code());
}

struct node {
    std::unique_ptr<rt::runtime> rt;

    node(const char *ip, std::unique_ptr<phy::device> dev) {
        rt::config cfg;
        cfg.local_ipv4_addr = rt::parse_ipv4(ip);
        cfg.raw.emplace("inetstack_config.drain_ms", "0"); // one thread: nobody polls the peer at exit
        auto b = must(inetstack::make_backend(cfg, std::move(dev)), "make_backend");
        rt = std::make_unique<rt::runtime>(std::move(b), cfg, clock_source());
    }
    int socket(int type) {
        auto q = must(rt->dev().socket(*rt, AF_INET, type, 0), "socket");
        return must(rt->insert(std::move(q)), "insert");
    }
    rt::queue &q(int qd) { return *rt->find(qd); }
    qtoken pop(int qd) {
        return must(rt->start(qd, opcode::pop, [&](rt::op_start &op) { return q(qd).pop(*rt, op); }), "pop");
    }
    qtoken push(int qd, const buffer &b) {
        return must(rt->start(qd, opcode::push, [&](rt::op_start &op) { return q(qd).push(*rt, op, b); }), "push");
    }
    qtoken pushto(int qd, const buffer &b, const sockaddr_in &to) {
        return must(rt->start(qd, opcode::push, [&](rt::op_start &op) { return q(qd).pushto(*rt, op, b, to); }),
                    "pushto");
    }
    completion wait(qtoken qt) {
        // Everything a round trip needs is already queued on the in-memory device: a bounded wait.
        auto c = must(rt->wait(qt, std::chrono::seconds(5)), "wait");
        if (c.error != 0) die("completion", c.error);
        return c;
    }
};

struct bench_options {
    long count = 200000;
    size_t size = 64;
    bool udp = false;
    bool offload = false;
    bool idle = false;
    int runs = 5;
    long idle_conns = 0;
};

bench_options parse(int argc, char **argv) {
    bench_options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        auto next = [&]() -> const char * {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "stack_roundtrip: %s needs a value\n", argv[i]);
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--count") o.count = std::atol(next());
        else if (a == "--size") o.size = std::strtoul(next(), nullptr, 10);
        else if (a == "--runs") o.runs = std::atoi(next());
        else if (a == "--udp") o.udp = true;
        else if (a == "--offload") o.offload = true;
        else if (a == "--idle") o.idle = true;
        else if (a == "--idle-conns") o.idle_conns = std::atol(next());
        else {
            std::fprintf(stderr, "usage: stack_roundtrip [--count N] [--size N] [--udp] [--offload] [--runs R] [--idle] "
                                 "[--idle-conns N]\n");
            std::exit(2);
        }
    }
    if (o.count <= 0 || o.size == 0 || o.size > 1400 || o.runs <= 0 || o.idle_conns < 0 || o.idle_conns > 10000 ||
        (o.udp && o.idle_conns != 0)) {
        std::fprintf(stderr, "stack_roundtrip: --count and --runs must be positive, --size in [1, 1400], --idle-conns "
                             "in [0, 10000] and TCP only\n");
        std::exit(2);
    }
    return o;
}

bool done(node &n, qtoken qt) {
    const auto *s = n.rt->tokens().find(qt);
    return s != nullptr && s->done;
}

/// Polls both nodes until `until()` (exits after 5 s).
template <class Until> void pump(node &a, node &b, Until &&until) {
    const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!until()) {
        if (std::chrono::steady_clock::now() > limit) die("set-up", ETIMEDOUT);
        (void)a.rt->drive(std::chrono::nanoseconds(0), [] { return false; });
        (void)b.rt->drive(std::chrono::nanoseconds(0), [] { return false; });
    }
}

/// One echo round trip; the server's next pop is already pending.
struct echo {
    node &client, &server;
    int cq, sq;
    bool udp;
    sockaddr_in client_addr, server_addr;
    qtoken server_pop;

    void round(const buffer &msg) {
        const qtoken cp = client.pop(cq);
        const qtoken pt = udp ? client.pushto(cq, msg, server_addr) : client.push(cq, msg);
        (void)client.wait(pt);
        completion got = server.wait(server_pop);
        server_pop = server.pop(sq);
        const qtoken back = udp ? server.pushto(sq, got.data, client_addr) : server.push(sq, got.data);
        (void)server.wait(back);
        completion reply = client.wait(cp);
        if (reply.data.size() != msg.size()) {
            std::fprintf(stderr, "stack_roundtrip: echo of %zu bytes came back as %zu\n", msg.size(), reply.data.size());
            std::exit(1);
        }
    }
};

} // namespace

int main(int argc, char **argv) {
    const bench_options o = parse(argc, argv);
    auto da = std::make_unique<phy::queue_device>(wire::ethernet_address{0x02, 0, 0, 0, 0, 0x0a});
    auto db = std::make_unique<phy::queue_device>(wire::ethernet_address{0x02, 0, 0, 0, 0, 0x0b});
    da->peer_ = db.get();
    db->peer_ = da.get();
    if (o.offload) da->caps_ = db->caps_ = phy::checksum_caps{true, true, true, true, true, true};
    phy::queue_device *wire_a = da.get(), *wire_b = db.get();
    {
        node client("10.0.0.1", std::move(da));
        node server("10.0.0.2", std::move(db));
        echo e{client, server, -1, -1, o.udp, address("10.0.0.1", 7001), address("10.0.0.2", 7000), 0};
        int ls = -1; // TCP: the server's listener
        if (o.udp) {
            e.sq = server.socket(SOCK_DGRAM);
            e.cq = client.socket(SOCK_DGRAM);
            must(server.q(e.sq).bind(*server.rt, e.server_addr), "bind");
            must(client.q(e.cq).bind(*client.rt, e.client_addr), "bind");
        } else {
            ls = server.socket(SOCK_STREAM);
            must(server.q(ls).bind(*server.rt, address("0.0.0.0", 7000)), "bind");
            must(server.q(ls).listen(*server.rt, 4), "listen");
            e.cq = client.socket(SOCK_STREAM);
            const qtoken at = must(server.rt->start(ls, opcode::accept,
                                                    [&](rt::op_start &op) { return server.q(ls).accept(*server.rt, op); }),
                                   "accept");
            const qtoken ct = must(client.rt->start(e.cq, opcode::connect,
                                                    [&](rt::op_start &op) {
                                                        return client.q(e.cq).connect(*client.rt, op, e.server_addr);
                                                    }),
                                   "connect");
            pump(client, server, [&] { return done(client, ct) && done(server, at); });
            (void)client.wait(ct);
            e.sq = server.wait(at).new_qd;
        }
        e.server_pop = server.pop(e.sq);
        // The first message waits for ARP: both sides polled until it is back.
        auto first = must(mem::heap_allocate(o.size), "allocate");
        const qtoken fp = o.udp ? client.pushto(e.cq, first, e.server_addr) : client.push(e.cq, first);
        pump(client, server, [&] { return done(server, e.server_pop); });
        completion c = server.wait(e.server_pop);
        e.server_pop = server.pop(e.sq);
        const qtoken cp = client.pop(e.cq);
        const qtoken back = o.udp ? server.pushto(e.sq, c.data, e.client_addr) : server.push(e.sq, c.data);
        (void)server.wait(back);
        pump(client, server, [&] { return done(client, cp); });
        (void)client.wait(fp);
        (void)client.wait(cp);
        for (long i = 0; i < o.idle_conns; ++i) {
            const int c = client.socket(SOCK_STREAM);
            const qtoken at = must(server.rt->start(ls, opcode::accept,
                                                    [&](rt::op_start &op) { return server.q(ls).accept(*server.rt, op); }),
                                   "accept");
            const qtoken ct = must(client.rt->start(c, opcode::connect,
                                                    [&](rt::op_start &op) {
                                                        return client.q(c).connect(*client.rt, op, e.server_addr);
                                                    }),
                                   "connect");
            pump(client, server, [&] { return done(client, ct) && done(server, at); });
            (void)client.wait(ct);
            (void)server.pop(server.wait(at).new_qd); // stays pending: the client never sends
        }
        if (o.idle) {
            if (!o.udp) // a listener with its accept pending, as a server that takes more connections
                (void)must(server.rt->start(ls, opcode::accept,
                                            [&](rt::op_start &op) { return server.q(ls).accept(*server.rt, op); }),
                           "accept");
            std::vector<double> ns;
            for (int r = 0; r < o.runs; ++r) {
                const auto t0 = std::chrono::steady_clock::now();
                for (long i = 0; i < o.count; ++i) (void)server.rt->drive(std::chrono::nanoseconds(0), [] { return false; });
                const auto t1 = std::chrono::steady_clock::now();
                ns.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(o.count));
            }
            std::sort(ns.begin(), ns.end());
            std::printf("stack_roundtrip %s idle server: median %.1f ns per poll round (min %.1f, max %.1f)\n",
                        o.udp ? "udp" : "tcp", ns[ns.size() / 2], ns.front(), ns.back());
            // The same rounds inside waits that nothing ends (drive's own loop, its clock readings
            // included): 40 us each (shorter than the 50 us after which an idle wait starts to yield
            // the CPU, as between the requests of a closed loop), 500 of them a run; the rounds are
            // counted by the done check drive makes after each.
            ns.clear();
            for (int r = 0; r < o.runs; ++r) {
                long rounds = 0;
                const auto t0 = std::chrono::steady_clock::now();
                for (int w = 0; w < 500; ++w)
                    (void)server.rt->drive(std::chrono::microseconds(40), [&] {
                        ++rounds;
                        return false;
                    });
                const auto t1 = std::chrono::steady_clock::now();
                ns.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(rounds));
            }
            std::sort(ns.begin(), ns.end());
            std::printf("stack_roundtrip %s idle server in a wait: median %.1f ns per poll round (min %.1f, max %.1f)\n",
                        o.udp ? "udp" : "tcp", ns[ns.size() / 2], ns.front(), ns.back());
            wire_a->peer_ = wire_b->peer_ = nullptr;
            return 0;
        }
        auto msg = must(mem::heap_allocate(o.size), "allocate");
        std::memset(msg.data(), 'x', o.size);
        for (int i = 0; i < 1000; ++i) e.round(msg); // warm-up: pools, ARP, caches
        std::vector<double> ns;
        for (int r = 0; r < o.runs; ++r) {
            const auto t0 = std::chrono::steady_clock::now();
            for (long i = 0; i < o.count; ++i) e.round(msg);
            const auto t1 = std::chrono::steady_clock::now();
            ns.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(o.count));
        }
        std::sort(ns.begin(), ns.end());
        std::printf("stack_roundtrip %s size=%zu checksums=%s count=%ld runs=%d: median %.0f ns per round trip (min %.0f, max %.0f)\n",
                    o.udp ? "udp" : "tcp", o.size, o.offload ? "offloaded" : "software", o.count, o.runs,
                    ns[ns.size() / 2], ns.front(), ns.back());
        // The wire goes first: closing sockets still sends.
        wire_a->peer_ = wire_b->peer_ = nullptr;
    }
    return 0;
}
