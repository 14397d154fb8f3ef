// catnip: the EAL's argv from configuration and environment (eal_arguments, a pure function; no EAL),
// and the memif buffer size read from a vdev's arguments (memif_buffer_size).
#include <gtest/gtest.h>

#include <algorithm>

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

} // namespace
