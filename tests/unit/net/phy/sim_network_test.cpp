#include "net/phy/sim_network.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include "test_util.hpp"

namespace demi::phy {
namespace {

using namespace std::chrono_literals;
using test::bytes_of;
using test::mac_a;
using test::mac_b;
using test::mac_c;
using test::make_frame;

time_point at(duration d) { return time_point{} + d; }

size_t receive_all(sim_port &p, std::vector<buffer> &out) {
    buffer batch[16];
    size_t total = 0;
    for (size_t n; (n = p.receive(batch)) > 0; total += n)
        for (size_t i = 0; i < n; ++i) out.push_back(std::move(batch[i]));
    return total;
}

// 8 Mbit/s: one byte takes exactly 1 µs on the wire.
link_params slow_link() {
    link_params p;
    p.latency = 10us;
    p.bits_per_second = 8'000'000;
    return p;
}

TEST(SimNetwork, LatencyAndSerializationAreExact) {
    manual_clock clock;
    sim_link link(clock, mac_a, mac_b, slow_link());
    ASSERT_TRUE(link.ok());

    buffer frames[3] = {make_frame(mac_b, mac_a, 100, 1), make_frame(mac_b, mac_a, 100, 2),
                        make_frame(mac_b, mac_a, 200, 3)};
    ASSERT_EQ(link.a().transmit(frames), 3u);
    // Back to back: last bits leave at 100, 200 and 400 µs; each arrives 10 µs
    // later.
    const time_point expected[3] = {at(110us), at(210us), at(410us)};
    std::vector<buffer> got;
    for (size_t k = 0; k < 3; ++k) {
        ASSERT_EQ(link.next_event(), expected[k]);
        clock.set(expected[k] - 1ns);
        EXPECT_EQ(receive_all(link.b(), got), 0u) << "frame " << k << " early";
        clock.set(expected[k]);
        EXPECT_EQ(receive_all(link.b(), got), 1u) << "frame " << k << " not there on time";
        EXPECT_EQ(std::to_integer<int>(got.back().data()[14]), static_cast<int>(k + 1 + 14));
    }
    EXPECT_FALSE(link.next_event().has_value());
    EXPECT_EQ(link.a().stats().tx_frames, 3u);
    EXPECT_EQ(link.a().stats().tx_bytes, 400u);
    EXPECT_EQ(link.b().stats().rx_frames, 3u);
    EXPECT_EQ(link.b().stats().rx_bytes, 400u);
}

TEST(SimNetwork, TransmitterBusyDelaysTheNextFrameAndIdleDoesNot) {
    manual_clock clock;
    sim_link link(clock, mac_a, mac_b, slow_link());
    buffer f1 = make_frame(mac_b, mac_a, 100);
    ASSERT_EQ(link.a().transmit(std::span(&f1, 1)), 1u);
    clock.set(at(50us)); // still busy with f1 until 100 µs
    buffer f2 = make_frame(mac_b, mac_a, 60);
    ASSERT_EQ(link.a().transmit(std::span(&f2, 1)), 1u);
    clock.set(at(500us)); // idle: starts at once
    buffer f3 = make_frame(mac_b, mac_a, 60);
    ASSERT_EQ(link.a().transmit(std::span(&f3, 1)), 1u);

    std::vector<time_point> arrivals;
    while (auto t = link.next_event()) {
        clock.set(*t);
        std::vector<buffer> got;
        receive_all(link.b(), got);
        for (size_t i = 0; i < got.size(); ++i) arrivals.push_back(*t);
    }
    ASSERT_EQ(arrivals.size(), 3u);
    EXPECT_EQ(arrivals[0], at(110us));
    EXPECT_EQ(arrivals[1], at(170us)); // 100 + 60 + 10
    EXPECT_EQ(arrivals[2], at(570us)); // 500 + 60 + 10
}

TEST(SimNetwork, SerializationRoundsUpAndCountsOverhead) {
    manual_clock clock;
    link_params p;
    p.bits_per_second = 3'000'000'000; // 60 bytes = 480 bits = 160 ns exactly; 61
                                       // bytes = 162.67 -> 163 ns
    p.overhead_bytes = 0;
    sim_link link(clock, mac_a, mac_b, p);
    buffer f = make_frame(mac_b, mac_a, 61);
    ASSERT_EQ(link.a().transmit(std::span(&f, 1)), 1u);
    EXPECT_EQ(link.next_event(), at(163ns));

    manual_clock clock2;
    p.bits_per_second = 1'000'000'000; // 1 Gbit/s: (60 + 24) bytes = 672 ns
    p.overhead_bytes = 24;
    sim_link link2(clock2, mac_a, mac_b, p);
    buffer g = make_frame(mac_b, mac_a, 60);
    ASSERT_EQ(link2.a().transmit(std::span(&g, 1)), 1u);
    EXPECT_EQ(link2.next_event(), at(672ns));
}

TEST(SimNetwork, InfiniteBandwidthIsLatencyOnly) {
    manual_clock clock(at(1s));
    link_params p;
    p.latency = 25us;
    sim_link link(clock, mac_a, mac_b, p);
    std::vector<buffer> frames;
    for (int i = 0; i < 5; ++i) frames.push_back(make_frame(mac_b, mac_a, 1514));
    ASSERT_EQ(link.a().transmit(frames), 5u);
    EXPECT_EQ(link.next_event(), at(1s + 25us));
    clock.set(at(1s + 25us));
    std::vector<buffer> got;
    EXPECT_EQ(receive_all(link.b(), got), 5u);
}

TEST(SimNetwork, QueueOverflowIsTailDroppedAndCounted) {
    manual_clock clock;
    link_params p = slow_link();
    p.queue_frames = 4;
    sim_link link(clock, mac_a, mac_b, p);
    std::vector<buffer> frames;
    for (int i = 0; i < 10; ++i) frames.push_back(make_frame(mac_b, mac_a, 100, static_cast<uint8_t>(i)));
    // Every frame is taken (a tail drop is a loss on the way, not back-pressure).
    ASSERT_EQ(link.a().transmit(frames), 10u);
    for (auto &f : frames) EXPECT_FALSE(f.valid());
    EXPECT_EQ(link.a().stats().tx_frames, 4u);
    EXPECT_EQ(link.a().stats().tx_queue_drops, 6u);

    // At 100 µs the first frame's last bit has left: one slot is free again.
    clock.set(at(100us));
    std::vector<buffer> more;
    for (int i = 0; i < 2; ++i) more.push_back(make_frame(mac_b, mac_a, 100, 50));
    ASSERT_EQ(link.a().transmit(more), 2u);
    EXPECT_EQ(link.a().stats().tx_frames, 5u);
    EXPECT_EQ(link.a().stats().tx_queue_drops, 7u);

    std::vector<buffer> got;
    while (auto t = link.next_event()) {
        clock.set(*t);
        receive_all(link.b(), got);
    }
    ASSERT_EQ(got.size(), 5u);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(std::to_integer<int>(got[i].data()[14]),
                                          i + 14); // the first four, in order
    EXPECT_EQ(std::to_integer<int>(got[4].data()[14]), 50 + 14);
    EXPECT_EQ(clock.now(),
              at(510us)); // queued behind the fourth (done at 400 µs) + 100 µs + 10 µs
}

TEST(SimNetwork, ReceiveQueueLimitDropsAndCounts) {
    manual_clock clock;
    link_params p;
    p.rx_queue_frames = 3;
    sim_link link(clock, mac_a, mac_b, p);
    std::vector<buffer> frames;
    for (int i = 0; i < 5; ++i) frames.push_back(make_frame(mac_b, mac_a, 60));
    ASSERT_EQ(link.a().transmit(frames), 5u);
    EXPECT_EQ(link.b().stats().rx_queue_drops, 2u);
    std::vector<buffer> got;
    EXPECT_EQ(receive_all(link.b(), got), 3u);
}

TEST(SimNetwork, ReceiveRespectsBatchSize) {
    manual_clock clock;
    sim_link link(clock, mac_a, mac_b);
    std::vector<buffer> frames;
    for (int i = 0; i < 5; ++i) frames.push_back(make_frame(mac_b, mac_a, 60, static_cast<uint8_t>(i)));
    ASSERT_EQ(link.a().transmit(frames), 5u);
    buffer out[2];
    EXPECT_EQ(link.b().receive(out), 2u);
    EXPECT_EQ(std::to_integer<int>(out[1].data()[14]), 1 + 14);
    EXPECT_EQ(link.b().receive(out), 2u);
    EXPECT_EQ(link.b().receive(out), 1u);
    EXPECT_EQ(std::to_integer<int>(out[0].data()[14]), 4 + 14);
    EXPECT_EQ(link.b().receive(out), 0u);
}

TEST(SimNetwork, BroadcastReachesEveryOtherHostOfThree) {
    manual_clock clock;
    sim_network net(clock);
    auto a = net.attach(mac_a);
    auto b = net.attach(mac_b);
    auto c = net.attach(mac_c);
    ASSERT_TRUE(a && b && c);
    buffer f = make_frame(wire::ethernet_address::broadcast(), mac_a, 60, 7);
    const auto expected = bytes_of(f);
    ASSERT_EQ((*a)->transmit(std::span(&f, 1)), 1u);

    std::vector<buffer> at_a, at_b, at_c;
    EXPECT_EQ(receive_all(**a, at_a), 0u); // never back to the sender
    ASSERT_EQ(receive_all(**b, at_b), 1u);
    ASSERT_EQ(receive_all(**c, at_c), 1u);
    EXPECT_EQ(bytes_of(at_b[0]), expected);
    EXPECT_EQ(bytes_of(at_c[0]), expected);
    // Each receiver owns its frame: no block is shared between them.
    EXPECT_NE(at_b[0].block(), at_c[0].block());
    EXPECT_EQ(at_b[0].use_count(), 1u);
    EXPECT_EQ(at_c[0].use_count(), 1u);

    // Multicast (group bit) is flooded the same way.
    buffer m = make_frame(wire::ethernet_address{0x01, 0x00, 0x5e, 0, 0, 1}, mac_b, 60);
    ASSERT_EQ((*b)->transmit(std::span(&m, 1)), 1u);
    EXPECT_EQ(receive_all(**a, at_a), 1u);
    EXPECT_EQ(receive_all(**c, at_c), 1u);
    EXPECT_EQ(receive_all(**b, at_b), 0u);
}

TEST(SimNetwork, UnicastGoesOnlyToItsDestination) {
    manual_clock clock;
    sim_network net(clock);
    auto a = net.attach(mac_a);
    auto b = net.attach(mac_b);
    auto c = net.attach(mac_c);
    ASSERT_TRUE(a && b && c);
    buffer f = make_frame(mac_c, mac_a, 60);
    ASSERT_EQ((*a)->transmit(std::span(&f, 1)), 1u);
    std::vector<buffer> got;
    EXPECT_EQ(receive_all(**b, got), 0u);
    EXPECT_EQ(receive_all(**c, got), 1u);

    buffer lost = make_frame(wire::ethernet_address{0x02, 9, 9, 9, 9, 9}, mac_a, 60);
    ASSERT_EQ((*a)->transmit(std::span(&lost, 1)), 1u);
    EXPECT_EQ((*a)->stats().no_destination_drops, 1u);
    EXPECT_FALSE(net.next_event().has_value());
}

TEST(SimNetwork, ReceiverGetsTheSendersBlockOnlyWhenTheSenderLetGo) {
    manual_clock clock;
    sim_link link(clock, mac_a, mac_b);
    buffer f = make_frame(mac_b, mac_a, 60);
    const std::byte *original = f.data();
    ASSERT_EQ(link.a().transmit(std::span(&f, 1)), 1u);
    std::vector<buffer> got;
    ASSERT_EQ(receive_all(link.b(), got), 1u);
    EXPECT_EQ(got[0].data(), original); // no copy needed

    buffer g = make_frame(mac_b, mac_a, 60, 3);
    buffer kept = g; // the sender keeps a reference (as for a retransmission)
    ASSERT_EQ(link.a().transmit(std::span(&g, 1)), 1u);
    got.clear();
    ASSERT_EQ(receive_all(link.b(), got), 1u);
    EXPECT_NE(got[0].block(), kept.block());
    EXPECT_EQ(bytes_of(got[0]), bytes_of(kept));
    got[0].data()[20] = std::byte{0xee}; // the receiver rewriting it leaves the sender's bytes alone
    EXPECT_EQ(kept.data()[20], static_cast<std::byte>(3 + 20));
}

TEST(SimNetwork, EqualArrivalTimesKeepTransmitOrder) {
    manual_clock clock;
    sim_network net(clock);
    auto a = net.attach(mac_a);
    auto b = net.attach(mac_b);
    auto c = net.attach(mac_c);
    ASSERT_TRUE(a && b && c);
    for (int i = 0; i < 6; ++i) {
        buffer f = make_frame(mac_c, i % 2 ? mac_b : mac_a, 60, static_cast<uint8_t>(i));
        ASSERT_EQ((i % 2 ? *b : *a)->transmit(std::span(&f, 1)), 1u);
    }
    std::vector<buffer> got;
    ASSERT_EQ(receive_all(**c, got), 6u);
    for (int i = 0; i < 6; ++i) EXPECT_EQ(std::to_integer<int>(got[i].data()[14]), i + 14);
}

TEST(SimNetwork, InvalidFramesAreDroppedAndCounted) {
    manual_clock clock;
    sim_link link(clock, mac_a, mac_b);
    buffer frames[2] = {make_frame(mac_b, mac_a, 1515), *mem::heap_allocate(10)};
    ASSERT_EQ(link.a().transmit(frames), 2u);
    EXPECT_EQ(link.a().stats().tx_invalid_drops, 2u);
    EXPECT_EQ(link.a().stats().tx_frames, 0u);
    buffer ok = make_frame(mac_b, mac_a, 1514);
    ASSERT_EQ(link.a().transmit(std::span(&ok, 1)), 1u);
    EXPECT_EQ(link.a().stats().tx_frames, 1u);
}

TEST(SimNetwork, AttachRejectsDuplicateAndBadAddresses) {
    manual_clock clock;
    sim_network net(clock);
    ASSERT_TRUE(net.attach(mac_a));
    EXPECT_EQ(net.attach(mac_a).code(), EADDRINUSE);
    EXPECT_EQ(net.attach(wire::ethernet_address::broadcast()).code(), EINVAL);
    EXPECT_EQ(net.attach(wire::ethernet_address{}).code(), EINVAL);
    link_params p;
    p.mtu = 0;
    EXPECT_EQ(net.attach(mac_b, p).code(), EINVAL);
    EXPECT_EQ(net.port_count(), 1u);
    link_params jumbo;
    jumbo.mtu = 9000;
    jumbo.caps.rx_tcp = true;
    auto c = net.attach(mac_c, jumbo);
    ASSERT_TRUE(c);
    EXPECT_EQ((*c)->mtu(), 9000u);
    EXPECT_TRUE((*c)->caps().rx_tcp);
    EXPECT_EQ((*c)->mac(), mac_c);
}

} // namespace
} // namespace demi::phy
