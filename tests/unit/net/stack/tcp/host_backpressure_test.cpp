// net::host over a device that pushes back (a full TX ring): TCP waits for the device instead of
// making frames that the backlog or the interface's queue would drop (host_config::tx_backlog_pause_).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <vector>

#include "common/clock.hpp"
#include "memory/heap.hpp"
#include "net/phy/queue_device.hpp"
#include "net/stack/host.hpp"

namespace {

using namespace demi;
using namespace std::chrono_literals;

/// A TX ring with `room_` free slots (the test refills it each round): frames past it are refused.
class narrow_device final : public phy::device {
public:
    explicit narrow_device(net::ethernet_address mac) : q_(mac) {}
    size_t transmit(std::span<buffer> frames) noexcept override {
        const size_t n = std::min(frames.size(), room_);
        room_ -= n;
        return q_.transmit(frames.first(n));
    }
    size_t receive(std::span<buffer> out) noexcept override { return q_.receive(out); }
    [[nodiscard]] net::ethernet_address mac() const noexcept override { return q_.mac(); }
    [[nodiscard]] size_t mtu() const noexcept override { return q_.mtu(); }
    [[nodiscard]] phy::checksum_caps caps() const noexcept override { return q_.caps(); }

    phy::queue_device q_;
    size_t room_ = SIZE_MAX;
};

/// The device's room each round: always `n`.
std::function<std::size_t(int)> every(std::size_t n) {
    return [n](int) { return n; };
}

std::byte pattern(std::size_t conn, std::uint64_t off) {
    return static_cast<std::byte>((off * 7 + conn * 31 + (off >> 9)) & 0xff);
}

struct outcome {
    bool complete = false; // every byte of every connection arrived
    bool exact = true;     // and each was the one sent
    net::host_stats sender;
    std::uint64_t sender_queue_drops = 0; // the interface's transmit queue was full
    std::uint64_t retransmits = 0;
    std::uint64_t timeouts = 0; // retransmission timeouts of the sender
    double least_share = 0;     // when the first connection had all its bytes: the least any other had
};

/// 16 connections from a to b, 192 KiB each, while a's device takes room(r) frames in round r, the
/// sender's backlog holds `backlog` frames and its interface queue 64. (A pause comes between
/// connections: the backlog must hold one's burst.)
outcome run(std::size_t pause, const std::function<std::size_t(int)> &room, std::size_t backlog = 64,
            int max_rounds = 400000, duration step = 10us) {
    constexpr std::size_t conns = 16, bytes = 192 * 1024;
    net::host_config ca, cb;
    ca.iface_.addr_ = net::ipv4_address{10, 0, 0, 1};
    cb.iface_.addr_ = net::ipv4_address{10, 0, 0, 2};
    ca.iface_.prefix_len_ = cb.iface_.prefix_len_ = 24;
    ca.max_tx_backlog_ = backlog;
    ca.iface_.max_tx_queue_ = 64;
    ca.tx_backlog_pause_ = pause;
    narrow_device da(net::ethernet_address{0x02, 0, 0, 0, 0, 0x0a});
    narrow_device db(net::ethernet_address{0x02, 0, 0, 0, 0, 0x0b});
    da.q_.peer_ = &db.q_;
    db.q_.peer_ = &da.q_;
    rng ra(1), rb(2);
    net::host a(ca, da, ra), b(cb, db, rb);
    time_point now{};
    auto round = [&] {
        a.receive(now);
        b.receive(now);
        a.poll(now);
        b.poll(now);
        now += step;
    };

    auto l = b.tcp_listen(7300, 64);
    EXPECT_TRUE(l.has_value());
    std::vector<net::conn_id> out, in;
    for (std::size_t i = 0; i < conns; ++i) {
        auto c = a.tcp_connect(now, net::ipv4_address{10, 0, 0, 2}, 7300);
        EXPECT_TRUE(c.has_value());
        out.push_back(*c);
    }
    for (int r = 0; r < 10000 && in.size() < conns; ++r) {
        round();
        while (auto c = b.tcp_accept(*l)) in.push_back(*c);
    }
    EXPECT_EQ(in.size(), conns);
    if (in.size() != conns) return {};
    // Accepted in connect order (one listener, one peer): in[i] is out[i]'s far end.

    outcome o;
    std::vector<std::uint64_t> sent(conns, 0), got(conns, 0);
    std::vector<std::byte> rx(64 * 1024);
    std::size_t done = 0;
    for (int r = 0; r < max_rounds && done < conns; ++r) {
        da.room_ = room(r);
        for (std::size_t i = 0; i < conns; ++i) {
            while (sent[i] < bytes) { // fill the send buffer
                const std::size_t n = std::min<std::size_t>(16 * 1024, bytes - sent[i]);
                auto buf = mem::heap_allocate(n);
                EXPECT_TRUE(buf.has_value());
                for (std::size_t k = 0; k < n; ++k) buf->data()[k] = pattern(i, sent[i] + k);
                if (!a.send(out[i], std::move(*buf))) break; // EAGAIN: full
                sent[i] += n;
            }
        }
        round();
        for (std::size_t i = 0; i < conns; ++i) {
            for (;;) {
                auto n = b.recv(in[i], rx);
                if (!n || *n == 0) break;
                for (std::size_t k = 0; k < *n; ++k) o.exact &= rx[k] == pattern(i, got[i] + k);
                got[i] += *n;
                if (got[i] == bytes && ++done == 1)
                    o.least_share = static_cast<double>(*std::min_element(got.begin(), got.end())) / bytes;
            }
        }
    }
    o.complete = done == conns;
    o.sender = a.stats();
    o.sender_queue_drops = a.iface().stats().tx_queue_full_drops_;
    o.retransmits = a.tcp_totals().retransmits_;
    o.timeouts = a.tcp_totals().timeouts_;
    return o;
}

TEST(host_backpressure, a_device_that_pushes_back_slows_tcp_without_dropping_its_frames) {
    const outcome o = run(16, every(8));
    EXPECT_TRUE(o.complete);
    EXPECT_TRUE(o.exact);
    EXPECT_EQ(o.sender.tx_backlog_drops_, 0u);
    EXPECT_EQ(o.sender_queue_drops, 0u);
    EXPECT_EQ(o.sender.tcp_send_failures_, 0u);
    EXPECT_EQ(o.retransmits, 0u);
    EXPECT_GT(o.sender.tcp_dispatches_paused_, 0u); // the pause did the work
    // Each round starts where the last one paused, so all progress together: when the first
    // connection has its 192 KiB, every other has more than half of its own (0.99 here; in id order
    // every round, the last ones starve: 0.02).
    EXPECT_GT(o.least_share, 0.5);
}

TEST(host_backpressure, without_the_pause_the_same_load_drops_frames_and_retransmits) {
    // What the pause prevents (tx_backlog_pause_ 0): the data still arrives, through loss recovery.
    const outcome o = run(0, every(8));
    EXPECT_TRUE(o.complete);
    EXPECT_TRUE(o.exact);
    EXPECT_GT(o.sender.tx_backlog_drops_ + o.sender_queue_drops, 0u);
    EXPECT_GT(o.retransmits, 0u);
    EXPECT_EQ(o.sender.tcp_dispatches_paused_, 0u);
}

TEST(host_backpressure, frames_made_on_input_do_not_make_the_next_round_overflow_the_interface_queue) {
    // The device takes 5 frames in even rounds and everything in odd ones. Segments made on input
    // while a small backlog waits (below the pause of 48) queue in the interface; the next poll's
    // flush empties the backlog, yet every new frame still queues behind them (order), and the
    // round's dispatches would pass the queue's 64 places. The queue goes to the device whenever it
    // reaches the pause threshold, so nothing is dropped; without any pause, frames are.
    const auto room = [](int r) -> std::size_t { return r % 2 == 0 ? 5 : SIZE_MAX; };
    const outcome o = run(48, room, 1024);
    EXPECT_TRUE(o.complete);
    EXPECT_TRUE(o.exact);
    EXPECT_EQ(o.sender_queue_drops, 0u);
    EXPECT_EQ(o.sender.tx_backlog_drops_, 0u);
    EXPECT_EQ(o.retransmits, 0u);
    const outcome without = run(0, room, 1024);
    EXPECT_TRUE(without.complete);
    EXPECT_TRUE(without.exact);
    EXPECT_GT(without.sender_queue_drops, 0u);
}

TEST(host_backpressure, a_device_that_takes_nothing_does_not_stop_the_timers) {
    // Once the connections are up the device takes nothing (a link down): the backlog stays full,
    // but after tx_stall_limit the pause no longer holds, so the connections' retransmission timers
    // run (3 s at 1 ms a round). Held back for good, no connection would ever time out or close.
    const outcome o = run(16, [](int) -> std::size_t { return 0; }, 64, 3000, 1ms);
    EXPECT_FALSE(o.complete);
    EXPECT_GT(o.timeouts, 0u);
    EXPECT_GT(o.sender.tcp_dispatches_paused_, 0u); // paused first, for the stall limit
}

} // namespace
