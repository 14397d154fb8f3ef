// catnip: the EAL's argv from configuration and environment (eal_arguments, a pure function; no EAL),
// the memif buffer size read from a vdev's arguments (memif_buffer_size), and the memif departure
// frame's format (make_depart_frame / read_depart_frame).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>

#include "libos/catnip/dpdk_device.hpp"
#include "libos/catnip/eal.hpp"

namespace {

using demi::catnip::eal_arguments;
using demi::catnip::eal_environment;
using strings = std::vector<std::string>;

eal_environment env(long free_pages = 0, std::optional<std::string> eal_init = {}) {
    eal_environment e;
    e.free_hugepages_2m = free_pages;
    e.pid = 4242;
    e.eal_init_env = std::move(eal_init);
    return e;
}

bool has(const strings &v, const std::string &s) { return std::find(v.begin(), v.end(), s) != v.end(); }

TEST(CatnipEalArgs, DefaultsWithoutHugepages) {
    demi::rt::config cfg;
    EXPECT_EQ(eal_arguments(cfg, env(0)),
              (strings{"--no-pci", "--no-huge", "-m", "1024", "--no-shconf", "--file-prefix=demi-4242", "--log-level=4"}));
}

TEST(CatnipEalArgs, DefaultsWithFreeHugepages) {
    demi::rt::config cfg;
    EXPECT_EQ(eal_arguments(cfg, env(512)), (strings{"--no-pci", "--in-memory", "--file-prefix=demi-4242", "--log-level=4"}));
    // Too few free pages for a pool: no hugepages.
    EXPECT_TRUE(has(eal_arguments(cfg, env(demi::catnip::min_free_hugepages - 1)), "--no-huge"));
}

TEST(CatnipEalArgs, ConfigListIsKeptAndCompleted) {
    demi::rt::config cfg;
    cfg.eal_init = {"--vdev=net_ring0", "-m", "256", "--no-huge"};
    EXPECT_EQ(eal_arguments(cfg, env(512)),
              (strings{"--vdev=net_ring0", "-m", "256", "--no-huge", "--no-pci", "--file-prefix=demi-4242", "--log-level=4"}));
}

TEST(CatnipEalArgs, EnvironmentOverridesConfig) {
    demi::rt::config cfg;
    cfg.eal_init = {"--vdev=net_ring0"};
    auto a = eal_arguments(cfg, env(0, "  --vdev=net_memif0,role=server,socket=/tmp/x.sock   --lcores 0@1 "
                                       "--file-prefix=p1 --in-memory -a 0000:01:00.0 --log-level=8"));
    EXPECT_EQ(a, (strings{"--vdev=net_memif0,role=server,socket=/tmp/x.sock", "--lcores", "0@1", "--file-prefix=p1",
                          "--in-memory", "-a", "0000:01:00.0", "--log-level=8"}));
}

TEST(CatnipEalArgs, EmptyEnvironmentFallsBackToConfig) {
    demi::rt::config cfg;
    cfg.eal_init = {"--vdev=net_null0", ""};
    auto a = eal_arguments(cfg, env(0, "   "));
    EXPECT_EQ(a.front(), "--vdev=net_null0");
    EXPECT_FALSE(has(a, ""));
}

TEST(CatnipEalArgs, GroupsRecognisedInEveryForm) {
    demi::rt::config cfg;
    cfg.eal_init = {"-m1024", "--file-prefix", "x", "-b", "0000:00:01.0"};
    auto a = eal_arguments(cfg, env(512));
    EXPECT_FALSE(has(a, "--no-pci"));
    EXPECT_FALSE(has(a, "--in-memory"));
    EXPECT_FALSE(has(a, "--no-huge"));
    EXPECT_EQ(std::count_if(a.begin(), a.end(), [](const std::string &s) { return s.rfind("--file-prefix", 0) == 0; }), 1);
    // --main-lcore is not -m.
    cfg.eal_init = {"--main-lcore=0"};
    EXPECT_TRUE(has(eal_arguments(cfg, env(0)), "--no-huge"));
}

TEST(CatnipEalArgs, LogLevelFollowsDemiLog) {
    demi::rt::config cfg;
    auto e = env();
    e.log_level = demi::log::level::debug;
    EXPECT_TRUE(has(eal_arguments(cfg, e), "--log-level=7"));
    e.log_level = demi::log::level::trace;
    EXPECT_TRUE(has(eal_arguments(cfg, e), "--log-level=8"));
    e.log_level = demi::log::level::info;
    EXPECT_TRUE(has(eal_arguments(cfg, e), "--log-level=6"));
    e.log_level = demi::log::level::off;
    EXPECT_TRUE(has(eal_arguments(cfg, e), "--log-level=4"));
}

TEST(CatnipMemif, BufferSizeFromTheVdevArguments) {
    using demi::catnip::detail::memif_buffer_size;
    EXPECT_EQ(memif_buffer_size(""), 2048u); // memif's default
    EXPECT_EQ(memif_buffer_size("role=server,socket=/tmp/m.sock,socket-abstract=no"), 2048u);
    EXPECT_EQ(memif_buffer_size("role=client,bsize=9216,socket=/tmp/m.sock"), 9216u);
    EXPECT_EQ(memif_buffer_size("bsize=4096"), 4096u);
    EXPECT_EQ(memif_buffer_size("bsize=1024,bsize=16384"), 16384u); // the last one counts
    EXPECT_EQ(memif_buffer_size("xbsize=9216,rbsize=1"), 2048u);      // other keys
    EXPECT_EQ(memif_buffer_size("bsize=,bsize=12ab"), 2048u);         // not numbers: ignored
}

TEST(CatnipMemif, DepartureFrameOnTheWire) {
    using namespace demi::catnip::detail;
    const demi::wire::ethernet_address src(0x02, 0x00, 0x00, 0xe2, 0xe0, 0x01);
    std::array<std::byte, 60> f{};
    make_depart_frame(f, src, depart_kind_leaving, 0x81020304u);
    const unsigned char want[23] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0xe2, 0xe0, 0x01,
                                    0x88, 0xb6, 'D', 'E', 'M', 'I', 1, 0x81, 0x02, 0x03, 0x04};
    for (std::size_t i = 0; i < f.size(); ++i)
        EXPECT_EQ(std::to_integer<unsigned>(f[i]), i < sizeof want ? want[i] : 0u) << "byte " << i;
    auto r = read_depart_frame(f);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->kind, depart_kind_leaving);
    EXPECT_EQ(r->nonce, 0x81020304u);
    make_depart_frame(f, src, depart_kind_ack, 7);
    r = read_depart_frame(f);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->kind, depart_kind_ack);
    EXPECT_EQ(r->nonce, 7u);
    // Not ours: another EtherType (the raw test frames use 0x88B5), another magic, an unknown kind,
    // a frame too short to hold the nonce.
    auto g = f;
    g[13] = std::byte{0xb5};
    EXPECT_FALSE(read_depart_frame(g).has_value());
    g = f;
    g[17] = std::byte{'X'};
    EXPECT_FALSE(read_depart_frame(g).has_value());
    g = f;
    g[18] = std::byte{3};
    EXPECT_FALSE(read_depart_frame(g).has_value());
    EXPECT_FALSE(read_depart_frame(std::span<const std::byte>(f).first(22)).has_value());
}

// The parking of a port whose memif peer announced its departure: the rings are left alone until
// the link has gone down and come up again (fresh rings), or the limit passes with the link never
// seen down; a port that departed itself stays parked.
class CatnipPark : public ::testing::Test {
protected:
    using park_tracker = demi::catnip::detail::park_tracker;
    using outcome = park_tracker::outcome;
    const std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
    static constexpr auto limit = demi::catnip::dpdk_device::park_limit;
    park_tracker p;
};
using namespace std::chrono_literals;

TEST_F(CatnipPark, ParkedUntilTheLinkGoesDownAndComesBack) {
    EXPECT_FALSE(p.parked());
    p.peer_leaving(t0);
    EXPECT_TRUE(p.parked());
    EXPECT_EQ(p.check(true, t0 + 1s, limit), outcome::parked); // the peer is still disconnecting
    EXPECT_EQ(p.check(false, t0 + 2s, limit), outcome::parked); // down: its rings are going away
    // Once seen down, only the link coming back ends it, however long that takes.
    EXPECT_EQ(p.check(false, t0 + 2 * limit, limit), outcome::parked);
    EXPECT_TRUE(p.parked());
    EXPECT_EQ(p.check(true, t0 + 2 * limit + 1s, limit), outcome::resumed_link_back);
    EXPECT_FALSE(p.parked());
    // Parked again by a new peer's departure.
    p.peer_leaving(t0 + 3 * limit);
    EXPECT_TRUE(p.parked());
    EXPECT_FALSE(p.has_departed());
}

TEST_F(CatnipPark, ParkedPortResumesAtTheLimitWhenTheLinkNeverWentDown) {
    p.peer_leaving(t0);
    EXPECT_EQ(p.check(true, t0 + limit - 1ms, limit), outcome::parked);
    EXPECT_EQ(p.check(true, t0 + limit, limit), outcome::resumed_at_limit);
    EXPECT_FALSE(p.parked());
    // A second departure while parked starts the wait over.
    p.peer_leaving(t0 + 2 * limit);
    p.peer_leaving(t0 + 2 * limit + 10s);
    EXPECT_EQ(p.check(true, t0 + 3 * limit, limit), outcome::parked);
    EXPECT_EQ(p.check(true, t0 + 3 * limit + 10s, limit), outcome::resumed_at_limit);
}

TEST_F(CatnipPark, DepartedPortStaysParked) {
    p.peer_leaving(t0); // the peer announced first, then this end went too
    p.departed();
    EXPECT_TRUE(p.has_departed());
    for (bool up : {false, true, false, true}) EXPECT_EQ(p.check(up, t0 + 10 * limit, limit), outcome::parked);
    EXPECT_TRUE(p.parked());
}

} // namespace
