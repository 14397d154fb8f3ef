// The inetstack backend between two runtimes in one thread, over two back-to-back in-memory devices
// (phy::queue_device): TCP and UDP echo byte-exact up to 1 MiB, close and cancel paths, refused
// connections, many connections, configuration errors. Driven through the rt layer: socket(), start()
// with the queue's method, and one poll of each runtime per round.
#include "libos/inetstack/backend.hpp"
#include "libos/inetstack/inetstack.hpp"
#include "memory/heap.hpp"
#include "net/phy/queue_device.hpp"
#include "net/wire/ethernet.hpp"
#include "net/wire/ipv4.hpp"
#include "net/wire/tcp.hpp"
#include "runtime/runtime.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/tcp.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

namespace demi::inetstack::test {
namespace {

using namespace std::chrono_literals;

/// The machine's clock, counting its readings.
class counting_clock final : public clock_source {
public:
    [[nodiscard]] time_point now() const noexcept override {
        ++reads_;
        return steady_.now();
    }
    [[nodiscard]] uint64_t reads() const noexcept { return reads_; }

private:
    steady_clock_source steady_;
    mutable uint64_t reads_ = 0; // the tests run on one thread
};

const counting_clock &clock() {
    static const counting_clock c;
    return c;
}

sockaddr_in address(const char *ip, uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = inet_addr(ip);
    return a;
}

buffer patterned(size_t n, uint32_t seed) {
    auto b = mem::heap_allocate(n);
    EXPECT_TRUE(b.has_value());
    for (size_t i = 0; i < n; ++i)
        b->data()[i] = std::byte(static_cast<uint8_t>((i * 131 + seed * 7 + (i >> 8)) & 0xff));
    return std::move(*b);
}

bool matches(std::span<const std::byte> got, size_t offset, uint32_t seed) {
    for (size_t i = 0; i < got.size(); ++i)
        if (got[i] != std::byte(static_cast<uint8_t>(((offset + i) * 131 + seed * 7 + ((offset + i) >> 8)) & 0xff)))
            return false;
    return true;
}

rt::config config_for(const char *ip) {
    rt::config c;
    c.local_ipv4_addr = rt::parse_ipv4(ip);
    // Two nodes of one thread: a node going away cannot wait for its peer's ACKs (nobody polls the
    // peer meanwhile), and the peer's device may already be gone. No drain.
    c.raw["inetstack_config.drain_ms"] = "0";
    return c;
}

/// One libOS instance: a runtime whose backend is inetstack over `dev`.
struct node {
    std::unique_ptr<rt::runtime> rt;

    node(const char *ip, std::unique_ptr<phy::device> dev, const std::function<void(rt::config &)> &tweak = {}) {
        auto cfg = config_for(ip);
        if (tweak) tweak(cfg);
        auto b = make_backend(cfg, std::move(dev));
        EXPECT_TRUE(b.has_value());
        rt = std::make_unique<rt::runtime>(std::move(*b), cfg, clock());
    }
    int socket(int type) {
        auto q = rt->dev().socket(*rt, AF_INET, type, 0);
        EXPECT_TRUE(q.has_value());
        auto qd = rt->insert(std::move(*q));
        EXPECT_TRUE(qd.has_value());
        return *qd;
    }
    rt::queue &q(int qd) { return *rt->find(qd); }
    result<qtoken> accept(int qd) {
        return rt->start(qd, opcode::accept, [&](rt::op_start &op) { return q(qd).accept(*rt, op); });
    }
    result<qtoken> connect(int qd, const sockaddr_in &a) {
        return rt->start(qd, opcode::connect, [&](rt::op_start &op) { return q(qd).connect(*rt, op, a); });
    }
    result<qtoken> push(int qd, const buffer &b) {
        return rt->start(qd, opcode::push, [&](rt::op_start &op) { return q(qd).push(*rt, op, b); });
    }
    result<qtoken> pushto(int qd, const buffer &b, const sockaddr_in &a) {
        return rt->start(qd, opcode::push, [&](rt::op_start &op) { return q(qd).pushto(*rt, op, b, a); });
    }
    result<qtoken> pop(int qd) {
        return rt->start(qd, opcode::pop, [&](rt::op_start &op) { return q(qd).pop(*rt, op); });
    }
    bool done(qtoken qt) {
        auto *s = rt->tokens().find(qt);
        return s != nullptr && s->done;
    }
    void poll() {
        (void)rt->drive(std::chrono::nanoseconds(0), [] { return false; });
    }
};

class inetstack : public ::testing::Test {
protected:
    inetstack() { make_nodes(); }
    /// (Re)makes both nodes and their devices, each configured by config_for() and then `tweak`.
    void make_nodes(const std::function<void(rt::config &)> &tweak = {}) {
        if (a_) {
            dev_a_->peer_ = nullptr;
            dev_b_->peer_ = nullptr;
            a_.reset();
            b_.reset();
        }
        auto da = std::make_unique<phy::queue_device>(net::ethernet_address{0x02, 0, 0, 0, 0, 0x0a});
        auto db = std::make_unique<phy::queue_device>(net::ethernet_address{0x02, 0, 0, 0, 0, 0x0b});
        da->peer_ = db.get();
        db->peer_ = da.get();
        dev_a_ = da.get();
        dev_b_ = db.get();
        a_ = std::make_unique<node>("10.0.0.1", std::move(da), tweak);
        b_ = std::make_unique<node>("10.0.0.2", std::move(db), tweak);
    }
    ~inetstack() override {
        // Closing a node's sockets still sends (FINs, RSTs): cut the wire first, so neither device
        // hands frames to a peer that is already gone. Coroutines of one node hold sockets of that
        // node only; tear down in order. (A test that ends a node itself clears its device pointer.)
        if (dev_a_ != nullptr) dev_a_->peer_ = nullptr;
        if (dev_b_ != nullptr) dev_b_->peer_ = nullptr;
        a_.reset();
        b_.reset();
    }
    phy::queue_device *dev_a_ = nullptr; // owned by a_'s backend
    phy::queue_device *dev_b_ = nullptr; // owned by b_'s backend

    /// Polls both nodes until `done()` (false after 10 s).
    bool pump(const std::function<bool()> &done) {
        const auto until = std::chrono::steady_clock::now() + 10s;
        while (!done()) {
            if (std::chrono::steady_clock::now() > until) return false;
            a_->poll();
            b_->poll();
        }
        return true;
    }
    completion finish(node &n, qtoken qt) {
        EXPECT_TRUE(pump([&] { return n.done(qt); })) << "token never completed";
        auto c = n.rt->wait(qt, std::chrono::nanoseconds(0));
        EXPECT_TRUE(c.has_value());
        return c ? std::move(*c) : completion{};
    }
    /// A connected pair: (client qd on a_, server qd on b_), and the listener on b_.
    struct pair {
        int client, server, listener;
    };
    /// `before_listen`, if given, sets the listening socket's options first.
    pair connect_pair(uint16_t port, const std::function<void(int ls)> &before_listen = {}) {
        int ls = b_->socket(SOCK_STREAM);
        if (before_listen) before_listen(ls);
        auto any = address("0.0.0.0", port);
        EXPECT_TRUE(b_->q(ls).bind(*b_->rt, any).has_value());
        EXPECT_TRUE(b_->q(ls).listen(*b_->rt, 16).has_value());
        int cs = a_->socket(SOCK_STREAM);
        auto at = b_->accept(ls);
        auto ct = a_->connect(cs, address("10.0.0.2", port));
        EXPECT_TRUE(at.has_value() && ct.has_value());
        completion c = finish(*a_, *ct);
        completion a = finish(*b_, *at);
        EXPECT_EQ(c.error, 0);
        EXPECT_EQ(a.error, 0);
        EXPECT_EQ(a.addr.sin_addr.s_addr, inet_addr("10.0.0.1"));
        return {cs, a.new_qd, ls};
    }
    /// connect_pair with the IPPROTO_TCP option `name` set to `value` on the listening socket, and
    /// checked on the accepted one (which inherits it, as on Linux).
    pair connect_pair_inheriting(uint16_t port, int name, int value) {
        const pair p = connect_pair(port, [&](int ls) {
            EXPECT_TRUE(b_->q(ls).setsockopt(*b_->rt, IPPROTO_TCP, name, &value, sizeof value).has_value()) << name;
        });
        int v = -1;
        socklen_t len = sizeof v;
        EXPECT_TRUE(b_->q(p.server).getsockopt(IPPROTO_TCP, name, &v, &len).has_value()) << name;
        EXPECT_EQ(v, value) << "option " << name << " not inherited from the listener";
        return p;
    }
    /// Pops on a_'s socket `qd`, polling only a_, and expects the connection to fail with ETIMEDOUT
    /// within 10 s: how long that took.
    std::chrono::steady_clock::duration time_to_etimedout(int qd) {
        const auto start = std::chrono::steady_clock::now();
        auto pop = a_->pop(qd);
        EXPECT_TRUE(pop.has_value());
        if (!pop) return {};
        while (!a_->done(*pop) && std::chrono::steady_clock::now() < start + 10s) a_->poll();
        const auto took = std::chrono::steady_clock::now() - start;
        EXPECT_TRUE(a_->done(*pop)) << "the pop still waits after 10 s";
        if (!a_->done(*pop)) return took;
        auto c = a_->rt->wait(*pop, std::chrono::nanoseconds(0));
        EXPECT_TRUE(c.has_value());
        if (c) {
            EXPECT_EQ(c->error, ETIMEDOUT);
        }
        return took;
    }
    /// Pops `n` bytes from `qd` on `from` and checks the pattern.
    ::testing::AssertionResult receive(node &from, int qd, size_t n, uint32_t seed) {
        size_t got = 0;
        while (got < n) {
            auto qt = from.pop(qd);
            if (!qt) return ::testing::AssertionFailure() << "pop: " << qt.code();
            completion r = finish(from, *qt);
            if (r.error != 0) return ::testing::AssertionFailure() << "pop failed: " << r.error;
            if (r.data.empty()) return ::testing::AssertionFailure() << "end of stream after " << got;
            if (got + r.data.size() > n) return ::testing::AssertionFailure() << "too many bytes";
            if (!matches(r.data.bytes(), got, seed)) return ::testing::AssertionFailure() << "bytes differ at " << got;
            got += r.data.size();
        }
        return ::testing::AssertionSuccess();
    }

    std::unique_ptr<node> a_, b_;
};

/// The TCP segments among `frames` (Ethernet/IPv4/TCP, as a node put them on its device): flags and
/// payload length of each, in order.
struct segment_seen {
    uint8_t flags;
    size_t len;
    uint16_t dst_port;
};
std::vector<segment_seen> tcp_segments(const std::deque<buffer> &frames) {
    std::vector<segment_seen> out;
    for (const buffer &f : frames) {
        auto eth = wire::ethernet_view::check(std::span<const std::byte>(f.bytes()));
        if (!eth || eth->ethertype_raw() != 0x0800) continue;
        auto ip = wire::ipv4_view::check(eth->payload());
        if (!ip || ip->protocol_raw() != 6) continue;
        auto tcp = wire::tcp_view::check(ip->payload());
        if (!tcp) continue;
        out.push_back({tcp->flags(), tcp->payload().size(), tcp->dst_port()});
    }
    return out;
}

TEST_F(inetstack, exit_drain_ends_when_the_link_peer_has_left) {
    // A node going away keeps its stack running until what it owes is acknowledged (drain_ms), unless
    // its device says the far end has left (a memif peer's announced departure): then nobody can.
    make_nodes([](rt::config &c) { c.raw["inetstack_config.drain_ms"] = "5000"; });
    auto p = connect_pair(7100);
    dev_a_->peer_ = nullptr; // from here a_'s frames go nowhere: its data is never acknowledged
    auto qt = a_->push(p.client, patterned(1000, 3));
    ASSERT_TRUE(qt.has_value());
    for (int i = 0; i < 10; ++i) a_->poll();
    EXPECT_GT(dev_a_->dropped_, 0u);
    dev_a_->peer_gone_ = true;
    dev_b_->peer_gone_ = true; // b_, torn down after, owes a FIN to nobody as well
    dev_b_->peer_ = nullptr;
    const auto t0 = std::chrono::steady_clock::now();
    a_.reset();
    dev_a_ = nullptr;
    const auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_LT(took, 1s) << "the drain ran to its limit";
}

TEST_F(inetstack, tcp_echo_byte_exact_up_to_one_mebibyte) {
    pair p = connect_pair(7000);
    for (size_t n : {size_t{1}, size_t{1460}, size_t{1461}, size_t{65536}, size_t{300000}, size_t{1} << 20}) {
        const auto seed = static_cast<uint32_t>(n);
        auto pt = a_->push(p.client, patterned(n, seed));
        ASSERT_TRUE(pt.has_value());
        // The server echoes what it pops as it arrives.
        size_t echoed = 0;
        std::vector<qtoken> echoes;
        while (echoed < n) {
            auto qt = b_->pop(p.server);
            ASSERT_TRUE(qt.has_value());
            completion r = finish(*b_, *qt);
            ASSERT_EQ(r.error, 0);
            ASSERT_FALSE(r.data.empty());
            ASSERT_TRUE(matches(r.data.bytes(), echoed, seed)) << "size " << n << " at " << echoed;
            echoed += r.data.size();
            auto et = b_->push(p.server, r.data);
            ASSERT_TRUE(et.has_value());
            echoes.push_back(*et);
        }
        EXPECT_EQ(echoed, n);
        EXPECT_TRUE(receive(*a_, p.client, n, seed)) << "size " << n;
        EXPECT_EQ(finish(*a_, *pt).error, 0);
        for (qtoken qt : echoes) EXPECT_EQ(finish(*b_, qt).error, 0);
    }
    // Addresses.
    auto peer = a_->q(p.client).getpeername();
    ASSERT_TRUE(peer.has_value());
    EXPECT_EQ(peer->sin_addr.s_addr, inet_addr("10.0.0.2"));
    EXPECT_EQ(ntohs(peer->sin_port), 7000);
    auto local = a_->q(p.client).getsockname();
    ASSERT_TRUE(local.has_value());
    EXPECT_EQ(local->sin_addr.s_addr, inet_addr("10.0.0.1"));
    auto speer = b_->q(p.server).getpeername();
    ASSERT_TRUE(speer.has_value());
    EXPECT_EQ(speer->sin_port, local->sin_port);
    // Graceful close: the server sees the end of the stream.
    ASSERT_TRUE(a_->rt->close(p.client).has_value());
    auto qt = b_->pop(p.server);
    ASSERT_TRUE(qt.has_value());
    completion eos = finish(*b_, *qt);
    EXPECT_EQ(eos.error, 0);
    EXPECT_TRUE(eos.data.empty());
}

TEST_F(inetstack, udp_echo_with_source_addresses) {
    int sa = a_->socket(SOCK_DGRAM);
    int sb = b_->socket(SOCK_DGRAM);
    ASSERT_TRUE(a_->q(sa).bind(*a_->rt, address("10.0.0.1", 5000)).has_value());
    ASSERT_TRUE(b_->q(sb).bind(*b_->rt, address("0.0.0.0", 5001)).has_value());
    for (size_t n : {size_t{1}, size_t{100}, size_t{1472}}) {
        const auto seed = static_cast<uint32_t>(n);
        auto rt_b = b_->pop(sb);
        ASSERT_TRUE(rt_b.has_value());
        auto pt = a_->pushto(sa, patterned(n, seed), address("10.0.0.2", 5001));
        ASSERT_TRUE(pt.has_value());
        EXPECT_EQ(finish(*a_, *pt).error, 0);
        completion d = finish(*b_, *rt_b);
        ASSERT_EQ(d.error, 0);
        ASSERT_EQ(d.data.size(), n);
        EXPECT_TRUE(matches(d.data.bytes(), 0, seed));
        EXPECT_EQ(d.addr.sin_addr.s_addr, inet_addr("10.0.0.1"));
        EXPECT_EQ(ntohs(d.addr.sin_port), 5000);
        // Echo to the sender.
        auto et = b_->pushto(sb, d.data, d.addr);
        ASSERT_TRUE(et.has_value());
        auto rt_a = a_->pop(sa);
        ASSERT_TRUE(rt_a.has_value());
        completion e = finish(*a_, *rt_a);
        ASSERT_EQ(e.data.size(), n);
        EXPECT_TRUE(matches(e.data.bytes(), 0, seed));
        EXPECT_EQ(ntohs(e.addr.sin_port), 5001);
        EXPECT_EQ(finish(*b_, *et).error, 0);
    }
    // Above the MTU a datagram goes in IPv4 fragments and arrives whole; above 65507 bytes it fails.
    for (size_t n : {size_t{1473}, size_t{65507}}) {
        auto big = a_->pushto(sa, patterned(n, 5), address("10.0.0.2", 5001));
        ASSERT_TRUE(big.has_value());
        EXPECT_EQ(finish(*a_, *big).error, 0);
        auto rb = b_->pop(sb);
        ASSERT_TRUE(rb.has_value());
        completion got = finish(*b_, *rb);
        ASSERT_EQ(got.data.size(), n);
        EXPECT_TRUE(matches(got.data.bytes(), 0, 5));
    }
    auto too_big = a_->pushto(sa, patterned(65508, 0), address("10.0.0.2", 5001));
    EXPECT_EQ(too_big.code(), EMSGSIZE);
    // A connected UDP socket pushes to its default peer.
    int sc = a_->socket(SOCK_DGRAM);
    EXPECT_EQ(a_->push(sc, patterned(8, 1)).code(), EDESTADDRREQ);
    auto ct = a_->connect(sc, address("10.0.0.2", 5001));
    ASSERT_TRUE(ct.has_value());
    EXPECT_EQ(finish(*a_, *ct).error, 0);
    auto pt = a_->push(sc, patterned(8, 1));
    ASSERT_TRUE(pt.has_value());
    auto rt_b = b_->pop(sb);
    ASSERT_TRUE(rt_b.has_value());
    completion d = finish(*b_, *rt_b);
    EXPECT_EQ(d.data.size(), 8u);
    EXPECT_EQ(finish(*a_, *pt).error, 0);
}

// When a push's frames leave (backend::flush_push): a reply with nothing else to take goes out inside
// the push; replies made while the application still has completions or datagrams to take wait for
// the next poll, and leave 8 to a device call at most.
TEST_F(inetstack, udp_push_leaves_at_once_alone_and_in_groups_within_a_burst) {
    int sa = a_->socket(SOCK_DGRAM);
    int sb = b_->socket(SOCK_DGRAM);
    ASSERT_TRUE(a_->q(sa).bind(*a_->rt, address("10.0.0.1", 5000)).has_value());
    ASSERT_TRUE(b_->q(sb).bind(*b_->rt, address("10.0.0.2", 5001)).has_value());
    const sockaddr_in to_a = address("10.0.0.1", 5000), to_b = address("10.0.0.2", 5001);
    auto receive_all = [&](uint32_t n, uint32_t seed0) {
        for (uint32_t i = 0; i < n; ++i) {
            auto t = a_->pop(sa);
            ASSERT_TRUE(t.has_value());
            completion c = finish(*a_, *t);
            ASSERT_EQ(c.data.size(), 32u);
            EXPECT_TRUE(matches(c.data.bytes(), 0, seed0 + i)) << "datagram " << i;
        }
    };

    // One request, one reply (ARP resolved on the way): the reply leaves inside its push.
    auto pop = b_->pop(sb);
    ASSERT_TRUE(pop.has_value());
    auto req = a_->pushto(sa, patterned(20, 1), to_b);
    ASSERT_TRUE(req.has_value());
    EXPECT_EQ(finish(*a_, *req).error, 0);
    completion got = finish(*b_, *pop);
    ASSERT_EQ(got.error, 0);
    ASSERT_EQ(b_->rt->tokens().done_count(), 0u);
    const uint64_t calls0 = dev_b_->transmit_calls_;
    auto reply = b_->pushto(sb, got.data, got.addr);
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(dev_b_->transmit_calls_, calls0 + 1) << "a lone reply waited for a poll";
    ASSERT_EQ(dev_a_->rx_.size(), 1u);
    EXPECT_EQ(finish(*b_, *reply).error, 0);
    auto back = a_->pop(sa);
    ASSERT_TRUE(back.has_value());
    completion echo = finish(*a_, *back);
    ASSERT_EQ(echo.data.size(), 20u);
    EXPECT_TRUE(matches(echo.data.bytes(), 0, 1));

    // Two more exchanges: the second reply makes the socket's header template for a, the third
    // goes with it and leaves inside its push without reading the clock (only a datagram waits:
    // host::send_queued, not a run of the stack's output).
    for (uint32_t k = 2; k <= 3; ++k) {
        SCOPED_TRACE(testing::Message() << "exchange " << k);
        pop = b_->pop(sb);
        ASSERT_TRUE(pop.has_value());
        req = a_->pushto(sa, patterned(20, k), to_b);
        ASSERT_TRUE(req.has_value());
        EXPECT_EQ(finish(*a_, *req).error, 0);
        got = finish(*b_, *pop);
        ASSERT_EQ(got.error, 0);
        ASSERT_EQ(b_->rt->tokens().done_count(), 0u);
        const uint64_t calls = dev_b_->transmit_calls_, reads = clock().reads();
        reply = b_->pushto(sb, got.data, got.addr);
        ASSERT_TRUE(reply.has_value());
        EXPECT_EQ(dev_b_->transmit_calls_, calls + 1) << "a lone reply waited for a poll";
        if (k == 3) {
            EXPECT_EQ(clock().reads(), reads) << "a reply from the template read the clock";
        }
        EXPECT_EQ(finish(*b_, *reply).error, 0);
        back = a_->pop(sa);
        ASSERT_TRUE(back.has_value());
        echo = finish(*a_, *back);
        ASSERT_EQ(echo.data.size(), 20u);
        EXPECT_TRUE(matches(echo.data.bytes(), 0, k));
    }

    // A burst of 37 requests received in one poll, served as an echo server serves them (wait for
    // the pop, push the datagram back, wait for the push, pop again): while datagrams are still
    // queued the replies wait, and go 8 to a device call; the last one finds nothing left and takes
    // its group (5) with it.
    constexpr uint32_t burst = 37;
    for (uint32_t i = 0; i < burst; ++i) {
        auto t = a_->pushto(sa, patterned(32, 100 + i), to_b);
        ASSERT_TRUE(t.has_value());
        EXPECT_EQ(finish(*a_, *t).error, 0);
    }
    a_->poll();
    ASSERT_EQ(dev_b_->rx_.size(), burst);
    const uint64_t calls1 = dev_b_->transmit_calls_;
    pop = b_->pop(sb);
    ASSERT_TRUE(pop.has_value());
    for (uint32_t i = 0; i < burst; ++i) {
        auto c = b_->rt->wait(*pop, 5s);
        ASSERT_TRUE(c.has_value());
        ASSERT_EQ(c->error, 0);
        ASSERT_EQ(c->data.size(), 32u);
        ASSERT_TRUE(matches(c->data.bytes(), 0, 100 + i)) << "datagram " << i;
        auto p = b_->pushto(sb, c->data, c->addr);
        ASSERT_TRUE(p.has_value());
        const bool last = i + 1 == burst;
        EXPECT_EQ(dev_b_->transmit_calls_, calls1 + (i + 1) / 8 + (last ? 1 : 0)) << "after reply " << i;
        EXPECT_EQ(dev_a_->rx_.size(), last ? burst : (i + 1) / 8 * 8) << "after reply " << i;
        auto pc = b_->rt->wait(*p, 5s);
        ASSERT_TRUE(pc.has_value());
        EXPECT_EQ(pc->error, 0);
        pop = b_->pop(sb);
        ASSERT_TRUE(pop.has_value());
    }
    ASSERT_EQ(dev_a_->rx_.size(), burst);
    receive_all(burst, 100);

    // Pushes while the application holds completions it has not taken (the first push's and each
    // later one's): the first leaves at once, then every 8th push sends the group waiting, and the
    // rest goes at the next poll.
    std::vector<qtoken> pushes;
    const uint64_t calls2 = dev_b_->transmit_calls_;
    for (uint32_t i = 0; i < 20; ++i) {
        auto t = b_->pushto(sb, patterned(32, 200 + i), to_a);
        ASSERT_TRUE(t.has_value());
        pushes.push_back(*t);
        EXPECT_EQ(dev_b_->transmit_calls_, calls2 + 1 + i / 8) << "after push " << i;
    }
    EXPECT_EQ(dev_a_->rx_.size(), 17u);
    b_->poll();
    EXPECT_EQ(dev_b_->transmit_calls_, calls2 + 4);
    ASSERT_EQ(dev_a_->rx_.size(), 20u);
    for (qtoken t : pushes) EXPECT_EQ(finish(*b_, t).error, 0);
    receive_all(20, 200);
}

// A wait that nothing ends busy-polls, reading the clock after every fourth empty round only (a
// reading costs about what an empty round does).
TEST_F(inetstack, idle_wait_reads_the_clock_every_fourth_empty_round) {
    // Busy-polling throughout, even if the test is preempted (a wait idle for poll_spin_us would go on
    // in rounds that may block, and those read the clock each time).
    make_nodes([](rt::config &c) { c.poll_spin_us = 60'000'000; });
    int s = a_->socket(SOCK_DGRAM);
    ASSERT_TRUE(a_->q(s).bind(*a_->rt, address("10.0.0.1", 5000)).has_value());
    auto pop = a_->pop(s);
    ASSERT_TRUE(pop.has_value());
    a_->poll(); // whatever the set-up left to do
    constexpr long rounds = 2000;
    long checks = 0;
    const uint64_t reads0 = clock().reads();
    ASSERT_TRUE(a_->rt->drive(10s, [&] { return ++checks == rounds; }).has_value());
    const uint64_t reads = clock().reads() - reads0;
    EXPECT_EQ(checks, rounds);
    // One at the start, then one per four rounds that did nothing, and one after each yield of the
    // CPU (every 64th empty round once idle for 50 us: slow rounds, as under a sanitizer, get there).
    EXPECT_GE(reads, static_cast<uint64_t>(rounds / 4 - 2));
    EXPECT_LE(reads, static_cast<uint64_t>(1 + rounds / 4 + rounds / 64 + 2));
    EXPECT_FALSE(a_->done(*pop));
}

// A poll costs what the busy connections need: with 40 connections open and idle (a pop pending on
// each server end, as a server waits for its clients), echoes on one more dispatch only that one, and
// an idle connection's socket is still woken when its peer finally speaks. (Timers of connections
// nothing touches: the keepalive and connect time-out tests.)
TEST_F(inetstack, idle_connections_cost_a_poll_nothing) {
    constexpr int idle = 40;
    std::vector<pair> quiet;
    std::vector<qtoken> waiting;
    for (int i = 0; i < idle; ++i) {
        quiet.push_back(connect_pair(static_cast<uint16_t>(7100 + i)));
        auto t = b_->pop(quiet.back().server);
        ASSERT_TRUE(t.has_value());
        waiting.push_back(*t);
    }
    pair busy = connect_pair(7099);
    auto &host_b = static_cast<backend &>(b_->rt->dev()).host();
    auto &host_a = static_cast<backend &>(a_->rt->dev()).host();
    a_->poll();
    b_->poll(); // the set-up's last ACKs
    const uint64_t da = host_a.stats().tcp_dispatches_, db = host_b.stats().tcp_dispatches_;
    constexpr int rounds = 50;
    for (int r = 0; r < rounds; ++r) {
        auto p = a_->push(busy.client, patterned(64, static_cast<uint32_t>(r)));
        ASSERT_TRUE(p.has_value());
        ASSERT_TRUE(receive(*b_, busy.server, 64, static_cast<uint32_t>(r)));
        EXPECT_EQ(finish(*a_, *p).error, 0);
        auto back = b_->push(busy.server, patterned(64, static_cast<uint32_t>(r)));
        ASSERT_TRUE(back.has_value());
        ASSERT_TRUE(receive(*a_, busy.client, 64, static_cast<uint32_t>(r)));
        EXPECT_EQ(finish(*b_, *back).error, 0);
    }
    // A pass over every connection would be at least 41 dispatches a poll; the busy one needs a few
    // per round trip.
    EXPECT_LT(host_a.stats().tcp_dispatches_ - da, 10u * rounds);
    EXPECT_LT(host_b.stats().tcp_dispatches_ - db, 10u * rounds);
    for (qtoken t : waiting) EXPECT_FALSE(b_->done(t));
    // The last idle client speaks: its server's pop completes.
    auto p = a_->push(quiet.back().client, patterned(10, 77));
    ASSERT_TRUE(p.has_value());
    completion got = finish(*b_, waiting.back());
    ASSERT_EQ(got.error, 0);
    ASSERT_EQ(got.data.size(), 10u);
    EXPECT_TRUE(matches(got.data.bytes(), 0, 77));
    EXPECT_EQ(finish(*a_, *p).error, 0);
}

// Over the loopback device every segment is a local delivery, made during host::poll after the
// connections' dispatch: the connection it touched is dispatched, and its socket woken, in the
// next round, not only when the quiet rounds' 20 us are over. A connect and an echo of 8 bytes
// take a few rounds each.
TEST(inetstack_loopback, local_segments_are_served_in_the_next_round) {
    rt::config cfg;
    cfg.raw["inetstack_config.drain_ms"] = "0";
    cfg.poll_spin_us = 60'000'000; // busy-polling throughout, preempted or not
    auto b = make_loopback(cfg);
    ASSERT_TRUE(b.has_value());
    rt::runtime r(std::move(*b), cfg, clock());
    auto sock = [&](int type) {
        auto q = r.dev().socket(r, AF_INET, type, 0);
        EXPECT_TRUE(q.has_value());
        auto qd = r.insert(std::move(*q));
        EXPECT_TRUE(qd.has_value());
        return *qd;
    };
    const int ls = sock(SOCK_STREAM), cs = sock(SOCK_STREAM);
    ASSERT_TRUE(r.find(ls)->bind(r, address("127.0.0.1", 7300)).has_value());
    ASSERT_TRUE(r.find(ls)->listen(r, 4).has_value());
    auto at = r.start(ls, opcode::accept, [&](rt::op_start &op) { return r.find(ls)->accept(r, op); });
    auto ct = r.start(cs, opcode::connect,
                      [&](rt::op_start &op) { return r.find(cs)->connect(r, op, address("127.0.0.1", 7300)); });
    ASSERT_TRUE(at.has_value() && ct.has_value());
    // Rounds until `qt` is done (drive checks once before the first round and once after each).
    const auto rounds_until = [&](qtoken qt) {
        long checks = 0;
        EXPECT_TRUE(r.drive(5s, [&] {
                         ++checks;
                         const auto *s = r.tokens().find(qt);
                         return s != nullptr && s->done;
                     }).has_value());
        return checks - 1;
    };
    EXPECT_LE(rounds_until(*ct), 10) << "connect"; // SYN, SYN-ACK, ACK: a hop a round, and the wakeup
    auto c = r.wait(*ct, 1s);
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->error, 0);
    EXPECT_LE(rounds_until(*at), 10) << "accept";
    auto a = r.wait(*at, 1s);
    ASSERT_TRUE(a.has_value());
    ASSERT_EQ(a->error, 0);
    const int ss = a->new_qd;
    for (int k = 0; k < 3; ++k) {
        auto pop = r.start(ss, opcode::pop, [&](rt::op_start &op) { return r.find(ss)->pop(r, op); });
        auto push = r.start(cs, opcode::push,
                            [&](rt::op_start &op) { return r.find(cs)->push(r, op, patterned(8, k)); });
        ASSERT_TRUE(pop.has_value() && push.has_value());
        EXPECT_LE(rounds_until(*pop), 10) << "data " << k;
        auto got = r.wait(*pop, 1s);
        ASSERT_TRUE(got.has_value());
        EXPECT_EQ(got->data.size(), 8u);
        EXPECT_TRUE(matches(got->data.bytes(), 0, static_cast<uint32_t>(k)));
        EXPECT_EQ(r.wait(*push, 1s)->error, 0);
    }
}

TEST_F(inetstack, close_cancels_pending_pop_and_accept) {
    pair p = connect_pair(7001);
    auto pop = b_->pop(p.server);
    ASSERT_TRUE(pop.has_value());
    auto acc = b_->accept(p.listener);
    ASSERT_TRUE(acc.has_value());
    for (int i = 0; i < 10; ++i) {
        a_->poll();
        b_->poll();
    }
    EXPECT_FALSE(b_->done(*pop));
    ASSERT_TRUE(b_->rt->close(p.server).has_value());
    ASSERT_TRUE(b_->rt->close(p.listener).has_value());
    completion c = finish(*b_, *pop);
    EXPECT_EQ(c.error, ECANCELED);
    EXPECT_EQ(c.op, opcode::pop);
    EXPECT_EQ(finish(*b_, *acc).error, ECANCELED);
    // The client sees the server's FIN.
    auto qt = a_->pop(p.client);
    ASSERT_TRUE(qt.has_value());
    completion eos = finish(*a_, *qt);
    EXPECT_EQ(eos.error, 0);
    EXPECT_TRUE(eos.data.empty());
}

TEST_F(inetstack, connect_refused_and_reset) {
    int cs = a_->socket(SOCK_STREAM);
    auto ct = a_->connect(cs, address("10.0.0.2", 9));
    ASSERT_TRUE(ct.has_value());
    completion c = finish(*a_, *ct);
    EXPECT_EQ(c.error, ECONNREFUSED);
    EXPECT_EQ(c.op, opcode::connect);
    EXPECT_EQ(a_->push(cs, patterned(4, 0)).code(), ENOTCONN);
    // A zero linger makes close a reset: the peer's pop fails with ECONNRESET.
    pair p = connect_pair(7002);
    linger l{1, 0};
    ASSERT_TRUE(a_->q(p.client).setsockopt(*a_->rt, SOL_SOCKET, SO_LINGER, &l, sizeof l).has_value());
    auto pop = b_->pop(p.server);
    ASSERT_TRUE(pop.has_value());
    ASSERT_TRUE(a_->rt->close(p.client).has_value());
    EXPECT_EQ(finish(*b_, *pop).error, ECONNRESET);
}

TEST_F(inetstack, tcp_nodelay_set_on_a_connection_decides_whether_a_short_push_waits) {
    pair p = connect_pair(7010);
    int zero = 0, one = 1, v = -1;
    socklen_t len = sizeof v;
    ASSERT_TRUE(a_->q(p.client).getsockopt(IPPROTO_TCP, TCP_NODELAY, &v, &len).has_value());
    EXPECT_EQ(v, 1); // the default (tcp_socket_options.nodelay)
    // Nagle on: the second 1-byte push waits while the first is unacknowledged. The peer is not
    // polled, so what the client sent stays in its receive queue.
    ASSERT_TRUE(a_->q(p.client).setsockopt(*a_->rt, IPPROTO_TCP, TCP_NODELAY, &zero, sizeof zero).has_value());
    const size_t before = dev_b_->rx_.size();
    ASSERT_TRUE(a_->push(p.client, patterned(1, 1)).has_value());
    ASSERT_TRUE(a_->push(p.client, patterned(1, 2)).has_value());
    for (int i = 0; i < 3; ++i) a_->poll();
    auto segs = tcp_segments({dev_b_->rx_.begin() + static_cast<std::ptrdiff_t>(before), dev_b_->rx_.end()});
    ASSERT_EQ(segs.size(), 1u);
    EXPECT_EQ(segs[0].len, 1u);
    // TCP_NODELAY on again: the held byte leaves without waiting for the ACK.
    ASSERT_TRUE(a_->q(p.client).setsockopt(*a_->rt, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one).has_value());
    a_->poll();
    segs = tcp_segments({dev_b_->rx_.begin() + static_cast<std::ptrdiff_t>(before), dev_b_->rx_.end()});
    ASSERT_EQ(segs.size(), 2u);
    EXPECT_EQ(segs[1].len, 1u);
    ASSERT_TRUE(a_->push(p.client, patterned(1, 3)).has_value());
    a_->poll();
    segs = tcp_segments({dev_b_->rx_.begin() + static_cast<std::ptrdiff_t>(before), dev_b_->rx_.end()});
    EXPECT_EQ(segs.size(), 3u); // with two bytes in flight
    // The server receives the three bytes in order.
    std::vector<std::byte> got;
    while (got.size() < 3) {
        auto qt = b_->pop(p.server);
        ASSERT_TRUE(qt.has_value());
        completion r = finish(*b_, *qt);
        ASSERT_EQ(r.error, 0);
        ASSERT_FALSE(r.data.empty());
        got.insert(got.end(), r.data.bytes().begin(), r.data.bytes().end());
    }
    ASSERT_EQ(got.size(), 3u);
    for (uint32_t i = 0; i < 3; ++i) EXPECT_EQ(got[i], patterned(1, i + 1).data()[0]) << i;
}

TEST_F(inetstack, so_keepalive_on_a_listener_is_inherited_and_probes_an_idle_connection) {
    make_nodes([](rt::config &c) {
        c.tcp.keepalive_time_ms = 40;
        c.tcp.keepalive_interval_ms = 20;
    });
    int one = 1, v = -1;
    socklen_t len = sizeof v;
    const pair p = connect_pair(7011, [&](int ls) {
        ASSERT_TRUE(b_->q(ls).setsockopt(*b_->rt, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one).has_value());
    });
    const int cs = p.client;
    ASSERT_TRUE(b_->q(p.server).getsockopt(SOL_SOCKET, SO_KEEPALIVE, &v, &len).has_value());
    EXPECT_EQ(v, 1);
    ASSERT_TRUE(a_->q(cs).getsockopt(SOL_SOCKET, SO_KEEPALIVE, &v, &len).has_value());
    EXPECT_EQ(v, 0);
    // Idle: only the server probes (zero-length ACKs), and the client's answers keep it alive. The
    // client is not polled for the first 100 ms: what the server sent waits in its receive queue.
    const size_t before = dev_a_->rx_.size();
    const auto until = std::chrono::steady_clock::now() + 100ms;
    while (std::chrono::steady_clock::now() < until) b_->poll();
    auto probes = tcp_segments({dev_a_->rx_.begin() + static_cast<std::ptrdiff_t>(before), dev_a_->rx_.end()});
    ASSERT_GE(probes.size(), 1u);
    for (const auto &sg : probes) {
        EXPECT_EQ(sg.flags, wire::tcp_flag::ack);
        EXPECT_EQ(sg.len, 0u);
    }
    EXPECT_TRUE(dev_b_->rx_.empty()); // the client sent nothing
    const auto settle = std::chrono::steady_clock::now() + 100ms;
    while (std::chrono::steady_clock::now() < settle) {
        a_->poll();
        b_->poll();
    }
    // Answered probes: the connection is still up both ways.
    ASSERT_TRUE(a_->push(cs, patterned(10, 9)).has_value());
    EXPECT_TRUE(receive(*b_, p.server, 10, 9));
}

TEST_F(inetstack, tcp_keepidle_keepintvl_keepcnt_time_out_a_connection_whose_peer_went_silent) {
    int v = -1;
    socklen_t len = sizeof v;
    const pair p = connect_pair_inheriting(7012, TCP_KEEPCNT, 3);
    // The stack's defaults (tcp::config): 2 h idle, 75 s between probes, 9 probes, as Linux's.
    for (const auto &[name, want] :
         {std::pair{TCP_KEEPIDLE, 7200}, std::pair{TCP_KEEPINTVL, 75}, std::pair{TCP_KEEPCNT, 9}}) {
        len = sizeof v;
        ASSERT_TRUE(a_->q(p.client).getsockopt(IPPROTO_TCP, name, &v, &len).has_value()) << name;
        EXPECT_EQ(v, want) << name;
    }
    // Keepalive on, armed for 2 h; then one probe after 1 s of silence, failing at the next 1 s tick:
    // shortening TCP_KEEPIDLE on a connection already waiting reschedules its first probe.
    int one = 1;
    for (int name : {TCP_KEEPINTVL, TCP_KEEPCNT}) {
        ASSERT_TRUE(a_->q(p.client).setsockopt(*a_->rt, IPPROTO_TCP, name, &one, sizeof one).has_value()) << name;
    }
    ASSERT_TRUE(a_->q(p.client).setsockopt(*a_->rt, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one).has_value());
    ASSERT_TRUE(a_->q(p.client).setsockopt(*a_->rt, IPPROTO_TCP, TCP_KEEPIDLE, &one, sizeof one).has_value());
    // The server is not polled: the probe stays in its receive queue, unanswered.
    const size_t before = dev_b_->rx_.size();
    const auto took = time_to_etimedout(p.client);
    EXPECT_GE(took, 1500ms); // 2 s from when the server was last heard, a moment before `start`
    EXPECT_LT(took, 3s);
    auto probes = tcp_segments({dev_b_->rx_.begin() + static_cast<std::ptrdiff_t>(before), dev_b_->rx_.end()});
    ASSERT_EQ(probes.size(), 1u);
    EXPECT_EQ(probes[0].flags, wire::tcp_flag::ack);
    EXPECT_EQ(probes[0].len, 0u);
}

TEST_F(inetstack, tcp_keepidle_set_again_while_probing_sends_the_next_probe_at_once) {
    const pair p = connect_pair(7013);
    // Keepalive after 1 s of silence, probes 30 s apart.
    int one = 1, thirty = 30;
    ASSERT_TRUE(a_->q(p.client).setsockopt(*a_->rt, IPPROTO_TCP, TCP_KEEPINTVL, &thirty, sizeof thirty).has_value());
    ASSERT_TRUE(a_->q(p.client).setsockopt(*a_->rt, IPPROTO_TCP, TCP_KEEPIDLE, &one, sizeof one).has_value());
    ASSERT_TRUE(a_->q(p.client).setsockopt(*a_->rt, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one).has_value());
    // The server is not polled: the probes stay in its receive queue, unanswered.
    const size_t before = dev_b_->rx_.size();
    auto probes = [&] {
        return tcp_segments({dev_b_->rx_.begin() + static_cast<std::ptrdiff_t>(before), dev_b_->rx_.end()}).size();
    };
    const auto start = std::chrono::steady_clock::now();
    while (probes() == 0 && std::chrono::steady_clock::now() < start + 5s) a_->poll();
    ASSERT_EQ(probes(), 1u) << "no keepalive probe after 5 s";
    // TCP_KEEPIDLE 1 again, as on Linux: the peer was last heard more than 1 s ago, so the next probe
    // goes at once instead of 30 s later. Without the set, nothing more within the same time.
    ASSERT_TRUE(a_->q(p.client).setsockopt(*a_->rt, IPPROTO_TCP, TCP_KEEPIDLE, &one, sizeof one).has_value());
    const auto set_at = std::chrono::steady_clock::now();
    while (probes() < 2 && std::chrono::steady_clock::now() < set_at + 500ms) a_->poll();
    EXPECT_EQ(probes(), 2u);
    EXPECT_LT(std::chrono::steady_clock::now() - set_at, 100ms);
    // Another option set (TCP_NODELAY) passes the same idle time again, and moves nothing.
    ASSERT_TRUE(a_->q(p.client).setsockopt(*a_->rt, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one).has_value());
    const auto nodelay_at = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() < nodelay_at + 200ms) a_->poll();
    EXPECT_EQ(probes(), 2u);
}

TEST_F(inetstack, tcp_user_timeout_fails_a_connection_whose_data_goes_unacknowledged) {
    int uto = 1500;
    const pair p = connect_pair_inheriting(7014, TCP_USER_TIMEOUT, uto);
    ASSERT_TRUE(a_->q(p.client).setsockopt(*a_->rt, IPPROTO_TCP, TCP_USER_TIMEOUT, &uto, sizeof uto).has_value());
    // The server is not polled: the data and its retransmissions stay in its receive queue, never
    // acknowledged. Sent at once, then as tail loss probes (one segment in flight: PTO = 2 SRTT +
    // 200 ms, doubling) at ~0.2, ~0.6 and ~1.4 s, each restarting the RTO (1 s); the connection
    // fails at 1.5 s, not when the restarted RTO runs out (2.4 s).
    const size_t before = dev_b_->rx_.size();
    ASSERT_TRUE(a_->push(p.client, patterned(100, 4)).has_value());
    const auto took = time_to_etimedout(p.client);
    EXPECT_GE(took, 1400ms);
    EXPECT_LT(took, 2s);
    size_t data = 0;
    for (const auto &sg : tcp_segments({dev_b_->rx_.begin() + static_cast<std::ptrdiff_t>(before), dev_b_->rx_.end()}))
        if (sg.len == 100) ++data;
    EXPECT_EQ(data, 4u); // the data and three probes
}

TEST_F(inetstack, tcp_syncnt_bounds_the_syn_retransmissions_before_connect_times_out) {
    // The listener's TCP_SYNCNT is inherited by what it accepts; the exchange also resolves ARP, so
    // the client's SYNs below reach the server's device.
    int v = -1, two = 2, one = 1, zero = 0, too_many = 128;
    socklen_t len = sizeof v;
    const pair p = connect_pair(7020, [&](int ls) {
        ASSERT_TRUE(b_->q(ls).getsockopt(IPPROTO_TCP, TCP_SYNCNT, &v, &len).has_value());
        EXPECT_EQ(v, 6); // the stack's SYN retries (tcp::config::syn_retries_), as Linux's default
        ASSERT_TRUE(b_->q(ls).setsockopt(*b_->rt, IPPROTO_TCP, TCP_SYNCNT, &two, sizeof two).has_value());
    });
    len = sizeof v;
    ASSERT_TRUE(b_->q(p.server).getsockopt(IPPROTO_TCP, TCP_SYNCNT, &v, &len).has_value());
    EXPECT_EQ(v, 2);
    // Out of Linux's range 1..127: EINVAL, and the value stays.
    int cs = a_->socket(SOCK_STREAM);
    EXPECT_EQ(a_->q(cs).setsockopt(*a_->rt, IPPROTO_TCP, TCP_SYNCNT, &zero, sizeof zero).code(), EINVAL);
    EXPECT_EQ(a_->q(cs).setsockopt(*a_->rt, IPPROTO_TCP, TCP_SYNCNT, &too_many, sizeof too_many).code(), EINVAL);
    len = sizeof v;
    ASSERT_TRUE(a_->q(cs).getsockopt(IPPROTO_TCP, TCP_SYNCNT, &v, &len).has_value());
    EXPECT_EQ(v, 6);
    // One retransmission: the SYN at once, again after the initial RTO (1 s), and the connect fails
    // with ETIMEDOUT when the doubled RTO (2 s) runs out. The server is not polled: nothing answers,
    // and what the client sends stays in the server's receive queue.
    ASSERT_TRUE(a_->q(cs).setsockopt(*a_->rt, IPPROTO_TCP, TCP_SYNCNT, &one, sizeof one).has_value());
    const size_t before = dev_b_->rx_.size();
    const auto start = std::chrono::steady_clock::now();
    auto ct = a_->connect(cs, address("10.0.0.2", 7021));
    ASSERT_TRUE(ct.has_value());
    const auto until = start + 10s;
    while (!a_->done(*ct) && std::chrono::steady_clock::now() < until) a_->poll();
    const auto took = std::chrono::steady_clock::now() - start;
    ASSERT_TRUE(a_->done(*ct)) << "connect still pending after 10 s";
    auto c = a_->rt->wait(*ct, std::chrono::nanoseconds(0));
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->error, ETIMEDOUT);
    EXPECT_EQ(c->op, opcode::connect);
    EXPECT_GE(took, 3s);
    EXPECT_LT(took, 4s);
    auto segs = tcp_segments({dev_b_->rx_.begin() + static_cast<std::ptrdiff_t>(before), dev_b_->rx_.end()});
    ASSERT_EQ(segs.size(), 2u);
    for (const auto &sg : segs) EXPECT_EQ(sg.flags, wire::tcp_flag::syn);
}

TEST_F(inetstack, a_listener_without_tcp_syncnt_keeps_the_stacks_syn_ack_retries) {
    // As on Linux: TCP_SYNCNT reads 6 (the SYN retries) on any socket, but a listener's half-open
    // connections retry their SYN-ACK tcp_synack_retries (5) times unless TCP_SYNCNT is set on it.
    const auto &host = static_cast<backend &>(b_->rt->dev()).host();
    int ls = b_->socket(SOCK_STREAM);
    ASSERT_TRUE(b_->q(ls).bind(*b_->rt, address("10.0.0.2", 7023)).has_value());
    ASSERT_TRUE(b_->q(ls).listen(*b_->rt, 4).has_value());
    const auto l = host.tcp_listener_on(7023);
    ASSERT_TRUE(l);
    EXPECT_EQ(host.tcp_listen_syn_retries(*l).value(), 5u);
    int v = 0;
    socklen_t len = sizeof v;
    ASSERT_TRUE(b_->q(ls).getsockopt(IPPROTO_TCP, TCP_SYNCNT, &v, &len).has_value());
    EXPECT_EQ(v, 6);
    // Another option set on the listener leaves it so; TCP_SYNCNT, even at 6, replaces it.
    int one = 1;
    ASSERT_TRUE(b_->q(ls).setsockopt(*b_->rt, IPPROTO_TCP, TCP_KEEPCNT, &one, sizeof one).has_value());
    EXPECT_EQ(host.tcp_listen_syn_retries(*l).value(), 5u);
    int six = 6;
    ASSERT_TRUE(b_->q(ls).setsockopt(*b_->rt, IPPROTO_TCP, TCP_SYNCNT, &six, sizeof six).has_value());
    EXPECT_EQ(host.tcp_listen_syn_retries(*l).value(), 6u);
    // Set before listen, it is the listener's from the start.
    int early = b_->socket(SOCK_STREAM);
    int three = 3;
    ASSERT_TRUE(b_->q(early).setsockopt(*b_->rt, IPPROTO_TCP, TCP_SYNCNT, &three, sizeof three).has_value());
    ASSERT_TRUE(b_->q(early).bind(*b_->rt, address("10.0.0.2", 7024)).has_value());
    ASSERT_TRUE(b_->q(early).listen(*b_->rt, 4).has_value());
    ASSERT_TRUE(host.tcp_listener_on(7024));
    EXPECT_EQ(host.tcp_listen_syn_retries(*host.tcp_listener_on(7024)).value(), 3u);
    EXPECT_FALSE(host.tcp_listener_on(7025));
}

TEST_F(inetstack, tcp_syncnt_on_a_listener_bounds_its_syn_ack_retransmissions) {
    // As on Linux, a listener's TCP_SYNCNT is the SYN-ACK retransmissions of its half-open
    // connections: set to 1, a SYN-ACK that is never acknowledged goes at once and again after 1 s,
    // and the connection is given up when the doubled RTO (2 s) runs out. Two handshakes: one already
    // half-open when the option is set (5 retries before, the stack's SYN-ACK default), one begun after.
    const pair p = connect_pair(7022); // also resolves ARP both ways
    int one = 1;
    size_t before = 0; // frames b_ sent a_ before the two handshakes
    int early = a_->socket(SOCK_STREAM), late = a_->socket(SOCK_STREAM);
    ASSERT_TRUE(a_->q(early).bind(*a_->rt, address("0.0.0.0", 40001)).has_value());
    ASSERT_TRUE(a_->q(late).bind(*a_->rt, address("0.0.0.0", 40002)).has_value());
    auto syn_acks = [&](uint16_t port) {
        size_t n = 0;
        for (const auto &sg : tcp_segments({dev_a_->rx_.begin() + static_cast<std::ptrdiff_t>(before), dev_a_->rx_.end()}))
            if (sg.dst_port == port && sg.flags == (wire::tcp_flag::syn | wire::tcp_flag::ack)) ++n;
        return n;
    };
    // The client is polled only to send its two SYNs, before anything comes back: the SYN-ACKs stay
    // in its receive queue, unanswered. The second SYN is held back until the option is set.
    const size_t at_b = dev_b_->rx_.size();
    ASSERT_TRUE(a_->connect(early, address("10.0.0.2", 7022)).has_value());
    ASSERT_TRUE(a_->connect(late, address("10.0.0.2", 7022)).has_value());
    a_->poll();
    before = dev_a_->rx_.size(); // a_ is not polled again: from here its receive queue only grows
    ASSERT_EQ(dev_b_->rx_.size(), at_b + 2);
    buffer late_syn = std::move(dev_b_->rx_.back());
    dev_b_->rx_.pop_back();
    b_->poll();
    ASSERT_EQ(syn_acks(40001), 1u);
    ASSERT_TRUE(b_->q(p.listener).setsockopt(*b_->rt, IPPROTO_TCP, TCP_SYNCNT, &one, sizeof one).has_value());
    dev_b_->rx_.push_back(std::move(late_syn));
    b_->poll();
    ASSERT_EQ(syn_acks(40002), 1u);
    const auto start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() < start + 4500ms) b_->poll();
    // Without the listener's value: 3 SYN-ACKs each by 3 s, a fourth at 7 s.
    EXPECT_EQ(syn_acks(40001), 2u);
    EXPECT_EQ(syn_acks(40002), 2u);
}

TEST_F(inetstack, many_connections) {
    constexpr int n = 64;
    int ls = b_->socket(SOCK_STREAM);
    ASSERT_TRUE(b_->q(ls).bind(*b_->rt, address("10.0.0.2", 8000)).has_value());
    ASSERT_TRUE(b_->q(ls).listen(*b_->rt, n).has_value());
    std::vector<int> clients;
    std::vector<qtoken> connects;
    for (int i = 0; i < n; ++i) {
        clients.push_back(a_->socket(SOCK_STREAM));
        auto ct = a_->connect(clients.back(), address("10.0.0.2", 8000));
        ASSERT_TRUE(ct.has_value());
        connects.push_back(*ct);
    }
    std::vector<int> servers;
    for (int i = 0; i < n; ++i) {
        auto at = b_->accept(ls);
        ASSERT_TRUE(at.has_value());
        completion a = finish(*b_, *at);
        ASSERT_EQ(a.error, 0);
        servers.push_back(a.new_qd);
    }
    for (qtoken qt : connects) EXPECT_EQ(finish(*a_, qt).error, 0);
    for (int i = 0; i < n; ++i) ASSERT_TRUE(a_->push(clients[i], patterned(100, static_cast<uint32_t>(i))).has_value());
    for (int s : servers) {
        auto qt = b_->pop(s);
        ASSERT_TRUE(qt.has_value());
        completion r = finish(*b_, *qt);
        ASSERT_EQ(r.error, 0);
        ASSERT_TRUE(b_->push(s, r.data).has_value());
    }
    for (int i = 0; i < n; ++i) EXPECT_TRUE(receive(*a_, clients[i], 100, static_cast<uint32_t>(i))) << i;
    for (int qd : clients) EXPECT_TRUE(a_->rt->close(qd).has_value());
    for (int qd : servers) EXPECT_TRUE(b_->rt->close(qd).has_value());
}

TEST_F(inetstack, bind_rules) {
    int s = a_->socket(SOCK_STREAM);
    EXPECT_EQ(a_->q(s).bind(*a_->rt, address("10.0.0.9", 80)).code(), EADDRNOTAVAIL);
    ASSERT_TRUE(a_->q(s).bind(*a_->rt, address("10.0.0.1", 80)).has_value());
    EXPECT_EQ(a_->q(s).bind(*a_->rt, address("10.0.0.1", 81)).code(), EINVAL);
    int t = a_->socket(SOCK_STREAM);
    EXPECT_EQ(a_->q(t).bind(*a_->rt, address("0.0.0.0", 80)).code(), EADDRINUSE);
    int u = a_->socket(SOCK_DGRAM);
    EXPECT_EQ(a_->q(u).bind(*a_->rt, address("10.0.0.9", 80)).code(), EADDRNOTAVAIL);
    int one = 1;
    EXPECT_EQ(a_->q(u).setsockopt(*a_->rt, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one).code(), ENOTSUP);
}

TEST_F(inetstack, local_delivery_to_our_address_and_loopback_never_reaches_the_device) {
    // A listener on b_ reached from b_ itself, over its own address and over 127.0.0.1.
    int ls = b_->socket(SOCK_STREAM);
    ASSERT_TRUE(b_->q(ls).bind(*b_->rt, address("0.0.0.0", 9000)).has_value());
    ASSERT_TRUE(b_->q(ls).listen(*b_->rt, 4).has_value());
    auto &adev = static_cast<phy::queue_device &>(static_cast<backend &>(a_->rt->dev()).device());
    const size_t before = adev.rx_.size();
    for (const char *ip : {"10.0.0.2", "127.0.0.1"}) {
        int cs = b_->socket(SOCK_STREAM);
        auto at = b_->accept(ls);
        auto ct = b_->connect(cs, address(ip, 9000));
        ASSERT_TRUE(at.has_value() && ct.has_value());
        ASSERT_EQ(finish(*b_, *ct).error, 0) << ip;
        completion a = finish(*b_, *at);
        ASSERT_EQ(a.error, 0) << ip;
        EXPECT_EQ(a.addr.sin_addr.s_addr, inet_addr(ip)); // 127.0.0.1 at both ends
        auto pt = b_->push(cs, patterned(100000, 3));
        ASSERT_TRUE(pt.has_value());
        EXPECT_TRUE(receive(*b_, a.new_qd, 100000, 3)) << ip;
        EXPECT_EQ(finish(*b_, *pt).error, 0);
        EXPECT_TRUE(b_->rt->close(cs).has_value());
        EXPECT_TRUE(b_->rt->close(a.new_qd).has_value());
    }
    // UDP to ourselves over 127.0.0.1 (bound to INADDR_ANY).
    int us = b_->socket(SOCK_DGRAM);
    ASSERT_TRUE(b_->q(us).bind(*b_->rt, address("0.0.0.0", 9001)).has_value());
    auto pt = b_->pushto(us, patterned(20000, 4), address("127.0.0.1", 9001)); // above the MTU: local only
    ASSERT_TRUE(pt.has_value());
    EXPECT_EQ(finish(*b_, *pt).error, 0);
    auto qt = b_->pop(us);
    ASSERT_TRUE(qt.has_value());
    completion d = finish(*b_, *qt);
    ASSERT_EQ(d.data.size(), 20000u);
    EXPECT_TRUE(matches(d.data.bytes(), 0, 4));
    EXPECT_EQ(d.addr.sin_addr.s_addr, inet_addr("127.0.0.1"));
    // Not one frame went to the wire.
    EXPECT_EQ(adev.rx_.size(), before);
    EXPECT_EQ(static_cast<backend &>(b_->rt->dev()).host().iface().stats().tx_frames_, 0u);
}

TEST(inetstack_config, local_address_is_required_and_keys_are_checked) {
    rt::config cfg;
    auto dev = [] { return std::make_unique<phy::queue_device>(net::ethernet_address{0x02, 0, 0, 0, 0, 1}); };
    EXPECT_EQ(make_backend(cfg, dev()).code(), EINVAL);
    cfg.local_ipv4_addr = rt::parse_ipv4("10.0.0.1");
    cfg.arp_table["02:00:00:00:00:02"] = "10.0.0.2";
    auto b = make_backend(cfg, dev());
    ASSERT_TRUE(b.has_value());
    auto &be = static_cast<backend &>(**b);
    EXPECT_EQ(be.name(), "inetstack");
    auto mac = be.host().iface().arp_lookup(net::ipv4_address{10, 0, 0, 2}, time_point{});
    ASSERT_TRUE(mac.has_value());
    EXPECT_EQ(*mac, (net::ethernet_address{0x02, 0, 0, 0, 0, 2}));
    cfg.arp_table["nonsense"] = "10.0.0.3";
    EXPECT_EQ(make_backend(cfg, dev()).code(), EINVAL);
    cfg.arp_table.erase("nonsense");
    // inetstack_config.drain_ms: milliseconds, 0 to an hour; anything else is refused, not defaulted.
    for (const char *bad : {"soon", "-1", "3600001", "2s", ""}) {
        cfg.raw["inetstack_config.drain_ms"] = bad;
        EXPECT_EQ(make_backend(cfg, dev()).code(), EINVAL) << "'" << bad << "'";
    }
    for (const char *good : {"0", "3600000"}) {
        cfg.raw["inetstack_config.drain_ms"] = good;
        EXPECT_TRUE(make_backend(cfg, dev()).has_value()) << good;
    }
    cfg.raw.erase("inetstack_config.drain_ms");
    cfg.mss = 1480; // does not fit a 1500-byte MTU with 40 bytes of headers
    EXPECT_EQ(make_backend(cfg, dev()).code(), EINVAL);
    // Not given, the MSS follows the MTU (IPv4 and TCP headers without options: 40 bytes).
    cfg.mss = 0;
    std::string why;
    auto d = dev();
    for (uint32_t mtu : {1500u, 1000u}) {
        cfg.mtu = mtu;
        auto hc = host_config_from(cfg, *d, nullptr, &why);
        ASSERT_TRUE(hc.has_value()) << why;
        EXPECT_EQ(hc->tcp_.mss_, mtu - 40);
    }
    cfg.mss = 600; // given: as given
    auto hc = host_config_from(cfg, *d, nullptr, &why);
    ASSERT_TRUE(hc.has_value()) << why;
    EXPECT_EQ(hc->tcp_.mss_, 600u);
    cfg.mtu = 1500;
    cfg.mss = 0;
    // Without a NIC the address defaults to 127.0.0.1.
    auto lo = make_loopback(rt::config{});
    ASSERT_TRUE(lo.has_value());
    EXPECT_EQ(static_cast<backend &>(**lo).host().iface().addr(), (net::ipv4_address{127, 0, 0, 1}));
}

} // namespace
} // namespace demi::inetstack::test
