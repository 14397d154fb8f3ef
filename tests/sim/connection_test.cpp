// Connection life cycles between simulated hosts: simultaneous open and close, refusal, peer
// disappearance (ETIMEDOUT), RST in the middle of a transfer (ECONNRESET).
#include <gtest/gtest.h>

#include <cerrno>
#include <vector>

#include "memory/heap.hpp"
#include "net/sim/bulk.hpp"
#include "net/phy/queue_device.hpp"
#include "net/sim/simulator.hpp"
#include "seed.hpp"

namespace demi::sim {
namespace {

using net::tcp::state;

struct two_hosts {
    explicit two_hosts(std::uint64_t seed, net::tcp::config tcp = default_tcp()) : sim_(seed) {
        for (int i = 0; i < 2; ++i) {
            host_params hp;
            hp.cfg_.tcp_ = tcp;
            hp.link_ = default_link();
            EXPECT_TRUE(sim_.add_host(std::move(hp)));
        }
    }
    net::host &a() { return sim_.at(0); }
    net::host &b() { return sim_.at(1); }
    simulator sim_;
};

buffer pattern(std::uint64_t seed, std::uint64_t offset, std::size_t n) {
    auto b = mem::heap_allocate(n, 128);
    EXPECT_TRUE(b);
    fill_pattern(seed, offset, b->bytes());
    return std::move(*b);
}

state state_of(net::host &h, net::conn_id c) {
    const auto *k = h.connection(c);
    return k == nullptr ? state::closed : k->current_state();
}

TEST(frame_tap, says_when_the_links_peer_has_left) {
    // The exit drain ends once the link's far end has gone; a tapped device must still say so.
    manual_clock clock;
    phy::queue_device dev(wire::ethernet_address{0x02, 0, 0, 0, 0, 0x01});
    frame_tap tap(dev, clock);
    EXPECT_FALSE(tap.peer_gone());
    dev.peer_gone_ = true;
    EXPECT_TRUE(tap.peer_gone());
}

TEST(connection, simultaneous_open_and_close) {
    const std::uint64_t seed = test::seed_or(7);
    SCOPED_TRACE(test::seed_text(seed));
    two_hosts t(seed);
    // Both sides connect to each other's fixed port before either polls: the SYNs cross (RFC 9293
    // §3.5, figure 8).
    auto ca = t.a().tcp_connect(t.sim_.now(), t.sim_.addr(1), 7000, 6000);
    auto cb = t.b().tcp_connect(t.sim_.now(), t.sim_.addr(0), 6000, 7000);
    ASSERT_TRUE(ca);
    ASSERT_TRUE(cb);
    ASSERT_TRUE(t.sim_.run_until(
        [&] { return state_of(t.a(), *ca) == state::established && state_of(t.b(), *cb) == state::established; },
        {.max_steps_ = 10000, .max_time_ = std::chrono::seconds(30)}));

    // Data both ways.
    ASSERT_TRUE(t.a().send(*ca, pattern(seed, 0, 1000)));
    ASSERT_TRUE(t.b().send(*cb, pattern(seed, 0, 1000)));
    std::vector<std::byte> ra, rb;
    std::vector<std::byte> tmp(4096);
    ASSERT_TRUE(t.sim_.run_until(
        [&] {
            if (auto n = t.a().recv(*ca, tmp); n && *n > 0) ra.insert(ra.end(), tmp.begin(), tmp.begin() + *n);
            if (auto n = t.b().recv(*cb, tmp); n && *n > 0) rb.insert(rb.end(), tmp.begin(), tmp.begin() + *n);
            return ra.size() == 1000 && rb.size() == 1000;
        },
        {.max_steps_ = 10000, .max_time_ = std::chrono::seconds(30)}));
    EXPECT_EQ(check_pattern(seed, 0, ra), 1000u);
    EXPECT_EQ(check_pattern(seed, 0, rb), 1000u);

    // Simultaneous close (RFC 9293 §3.6, figure 13): both FINs cross; both go through CLOSING to
    // TIME-WAIT and then CLOSED.
    ASSERT_TRUE(t.a().close(*ca));
    ASSERT_TRUE(t.b().close(*cb));
    bool saw_time_wait_a = false, saw_time_wait_b = false;
    ASSERT_TRUE(t.sim_.run_until(
        [&] {
            saw_time_wait_a |= state_of(t.a(), *ca) == state::time_wait;
            saw_time_wait_b |= state_of(t.b(), *cb) == state::time_wait;
            return t.a().connection_count() == 0 && t.b().connection_count() == 0;
        },
        {.max_steps_ = 10000, .max_time_ = std::chrono::seconds(30)}));
    EXPECT_TRUE(saw_time_wait_a);
    EXPECT_TRUE(saw_time_wait_b);
    EXPECT_EQ(t.a().tcp_totals().retransmits_, 0u);
}

TEST(connection, refused_without_listener) {
    const std::uint64_t seed = test::seed_or(8);
    SCOPED_TRACE(test::seed_text(seed));
    two_hosts t(seed);
    auto c = t.a().tcp_connect(t.sim_.now(), t.sim_.addr(1), 9);
    ASSERT_TRUE(c);
    ASSERT_TRUE(t.sim_.run_until([&] { return t.a().error(*c) != 0; },
                                 {.max_steps_ = 1000, .max_time_ = std::chrono::seconds(5)}));
    EXPECT_EQ(t.a().error(*c), ECONNREFUSED);
    std::byte x[8];
    EXPECT_EQ(t.a().recv(*c, x).code(), ECONNREFUSED);
    EXPECT_EQ(t.a().send(*c, pattern(seed, 0, 8)).code(), ECONNREFUSED);
    EXPECT_GE(t.b().stats().tcp_resets_sent_, 1u);
    ASSERT_TRUE(t.a().close(*c));
    t.sim_.run_for(std::chrono::milliseconds(1));
    EXPECT_EQ(t.a().connection_count(), 0u);
}

TEST(connection, peer_disappears_times_out) {
    const std::uint64_t seed = test::seed_or(9);
    SCOPED_TRACE(test::seed_text(seed));
    net::tcp::config tcp = default_tcp();
    tcp.max_retransmits_ = 6;
    two_hosts t(seed, tcp);
    auto l = t.b().tcp_listen(80, 4);
    ASSERT_TRUE(l);
    auto c = t.a().tcp_connect(t.sim_.now(), t.sim_.addr(1), 80);
    ASSERT_TRUE(c);
    std::optional<net::conn_id> s;
    ASSERT_TRUE(t.sim_.run_until(
        [&] {
            if (!s)
                if (auto a = t.b().tcp_accept(*l)) s = *a;
            return s.has_value() && state_of(t.a(), *c) == state::established;
        },
        {.max_steps_ = 1000, .max_time_ = std::chrono::seconds(5)}));
    // The server vanishes: nothing it receives is answered.
    t.sim_.set_down(1, true);
    ASSERT_TRUE(t.a().send(*c, pattern(seed, 0, 20000)));
    const time_point start = t.sim_.now();
    ASSERT_TRUE(t.sim_.run_until([&] { return t.a().error(*c) != 0; },
                                 {.max_steps_ = 100000, .max_time_ = std::chrono::minutes(30)}));
    EXPECT_EQ(t.a().error(*c), ETIMEDOUT);
    std::byte x[8];
    EXPECT_EQ(t.a().recv(*c, x).code(), ETIMEDOUT);
    EXPECT_GT(t.sim_.now() - start, std::chrono::seconds(1)); // after several backed-off retransmissions
    EXPECT_GE(t.a().connection(*c)->stats().retransmits_, 6u);
}

TEST(connection, reset_mid_transfer) {
    const std::uint64_t seed = test::seed_or(10);
    SCOPED_TRACE(test::seed_text(seed));
    two_hosts t(seed);
    auto l = t.b().tcp_listen(80, 4);
    ASSERT_TRUE(l);
    auto c = t.a().tcp_connect(t.sim_.now(), t.sim_.addr(1), 80);
    ASSERT_TRUE(c);
    std::optional<net::conn_id> s;
    std::uint64_t sent = 0, received = 0;
    std::vector<std::byte> tmp(16384);
    bool aborted = false;
    int send_error = 0;
    ASSERT_TRUE(t.sim_.run_until(
        [&] {
            while (send_error == 0) {
                auto r = t.a().send(*c, pattern(seed, sent, 8192));
                if (!r) {
                    if (r.code() != EAGAIN) send_error = r.code();
                    break;
                }
                sent += 8192;
            }
            if (!s)
                if (auto a = t.b().tcp_accept(*l)) s = *a;
            if (s && !aborted) {
                if (auto n = t.b().recv(*s, tmp); n && *n > 0) {
                    EXPECT_EQ(check_pattern(seed, received, std::span(tmp).first(*n)), *n);
                    received += *n;
                }
                // Half a megabyte in, the server resets the connection (RFC 9293 §3.10.5).
                if (received >= 512 * 1024) {
                    EXPECT_TRUE(t.b().abort(*s));
                    aborted = true;
                }
            }
            return t.a().error(*c) != 0;
        },
        {.max_steps_ = 1'000'000, .max_time_ = std::chrono::seconds(60)}));
    EXPECT_TRUE(aborted);
    EXPECT_EQ(t.a().error(*c), ECONNRESET);
    EXPECT_EQ(t.a().send(*c, pattern(seed, 0, 10)).code(), ECONNRESET);
    std::byte x[8];
    // Data already received may still be read; after that, the error.
    for (;;) {
        auto n = t.a().recv(*c, x);
        if (!n) {
            EXPECT_EQ(n.code(), ECONNRESET);
            break;
        }
    }
}

TEST(connection, stray_segment_is_reset) {
    const std::uint64_t seed = test::seed_or(11);
    SCOPED_TRACE(test::seed_text(seed));
    two_hosts t(seed);
    auto l = t.b().tcp_listen(80, 4);
    ASSERT_TRUE(l);
    auto c = t.a().tcp_connect(t.sim_.now(), t.sim_.addr(1), 80);
    ASSERT_TRUE(c);
    std::optional<net::conn_id> s;
    ASSERT_TRUE(t.sim_.run_until(
        [&] {
            if (!s)
                if (auto a = t.b().tcp_accept(*l)) s = *a;
            return s.has_value() && state_of(t.a(), *c) == state::established;
        },
        {.max_steps_ = 1000, .max_time_ = std::chrono::seconds(5)}));
    // The server forgets the connection without a word (as after a reboot); the client's next data
    // segment matches nothing there and is answered with a RST (RFC 9293 §3.10.7.1).
    t.sim_.set_down(1, true);
    ASSERT_TRUE(t.b().abort(*s));
    t.sim_.run_for(std::chrono::milliseconds(1)); // the abort's RST is lost while the host is down
    t.sim_.set_down(1, false);
    ASSERT_EQ(t.b().connection_count(), 0u);
    ASSERT_TRUE(t.a().send(*c, pattern(seed, 0, 100)));
    ASSERT_TRUE(t.sim_.run_until([&] { return t.a().error(*c) != 0; },
                                 {.max_steps_ = 1000, .max_time_ = std::chrono::seconds(5)}));
    EXPECT_EQ(t.a().error(*c), ECONNRESET);
    EXPECT_GE(t.b().stats().tcp_resets_sent_, 1u);
}

TEST(connection, api_errors) {
    const std::uint64_t seed = test::seed_or(12);
    SCOPED_TRACE(test::seed_text(seed));
    two_hosts t(seed);
    EXPECT_EQ(t.b().tcp_listen(0, 4).code(), EINVAL);
    EXPECT_EQ(t.b().tcp_listen(80, 0).code(), EINVAL);
    auto l = t.b().tcp_listen(80, 1);
    ASSERT_TRUE(l);
    EXPECT_EQ(t.b().tcp_listen(80, 4).code(), EADDRINUSE);
    EXPECT_EQ(t.b().tcp_accept(*l).code(), EAGAIN);
    EXPECT_EQ(t.b().tcp_accept(net::listener_id{999}).code(), EBADF);
    EXPECT_EQ(t.a().send(net::conn_id{999}, pattern(seed, 0, 1)).code(), EBADF);
    EXPECT_EQ(t.a().error(net::conn_id{999}), EBADF);

    auto c1 = t.a().tcp_connect(t.sim_.now(), t.sim_.addr(1), 80, 5555);
    ASSERT_TRUE(c1);
    EXPECT_EQ(t.a().tcp_connect(t.sim_.now(), t.sim_.addr(1), 80, 5555).code(), EADDRINUSE);
    std::byte x[4];
    EXPECT_EQ(t.a().recv(*c1, x).code(), EAGAIN);
    // A backlog of one: the second connection's SYN is dropped while the first waits to be accepted.
    auto c2 = t.a().tcp_connect(t.sim_.now(), t.sim_.addr(1), 80);
    ASSERT_TRUE(c2);
    t.sim_.run_for(std::chrono::milliseconds(100));
    EXPECT_EQ(state_of(t.a(), *c1), state::established);
    EXPECT_EQ(state_of(t.a(), *c2), state::syn_sent);
    auto s1 = t.b().tcp_accept(*l);
    ASSERT_TRUE(s1);
    // Now there is room: the retransmitted SYN (after the initial RTO) gets in.
    std::optional<net::conn_id> s2;
    ASSERT_TRUE(t.sim_.run_until(
        [&] {
            if (!s2)
                if (auto a = t.b().tcp_accept(*l)) s2 = *a;
            return s2.has_value();
        },
        {.max_steps_ = 10000, .max_time_ = std::chrono::seconds(10)}));
    EXPECT_EQ(state_of(t.a(), *c2), state::established);
    // Closing the listener leaves accepted connections alone.
    ASSERT_TRUE(t.b().tcp_unlisten(*l));
    EXPECT_EQ(t.b().tcp_unlisten(*l).code(), EBADF);
    EXPECT_EQ(state_of(t.b(), *s1), state::established);
    ASSERT_TRUE(t.a().close(*c1));
    EXPECT_EQ(t.a().close(*c1).code(), EBADF);
}

TEST(connection, ping_through_host) {
    const std::uint64_t seed = test::seed_or(13);
    SCOPED_TRACE(test::seed_text(seed));
    two_hosts t(seed);
    const std::byte data[4] = {std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4}};
    ASSERT_TRUE(t.a().iface().ping(t.sim_.now(), t.sim_.addr(1), 77, 1, data));
    std::optional<net::echo_reply> reply;
    ASSERT_TRUE(t.sim_.run_until([&] { return (reply = t.a().iface().take_echo_reply()).has_value(); },
                                 {.max_steps_ = 100, .max_time_ = std::chrono::seconds(1)}));
    EXPECT_EQ(reply->from_, t.sim_.addr(1));
    // Two one-way latencies of 50 us plus two serializations at 1 Gbit/s.
    EXPECT_GE(reply->received_ - reply->sent_, std::chrono::microseconds(100));
    EXPECT_LT(reply->received_ - reply->sent_, std::chrono::microseconds(101));
}

} // namespace
} // namespace demi::sim
