// Configuration (src/runtime/config.hpp): Demikernel's YAML keys, and errors that name the key.
#include "runtime/config.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <arpa/inet.h>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <unistd.h>

namespace demi::rt {
namespace {

// A configuration in Demikernel's layout (its config.yaml template, filled in), with an eal_init
// list longer than ten entries so that "10" sorting before "2" would show.
const char *const demikernel_yaml = R"(# Demikernel-style configuration
demikernel:
  local_ipv4_addr: 192.168.1.2
  local_link_addr: "12:34:56:78:9a:bc"
raw_socket:
  linux_interface_name: "veth0"
  xdp_interface_index: 0
dpdk:
  eal_init: ["", "-c", "0xff", "-n", "4", "-a", "0000:00:08.0", "--proc-type=auto", "--in-memory",
             "--no-pci", "--lcores", "0@1", "--file-prefix", "demi-test"]
tcp_socket_options:
  keepalive:
    enabled: true
    time_millis: 5000
    interval: 2000
  linger:
    enabled: yes
    time_seconds: 7
  nodelay: false
inetstack_config:
  mtu: 9000
  mss: 8960
  enable_jumbo_frames: false
  udp_checksum_offload: false
  tcp_checksum_offload: false
  arp_table:
    "12:34:56:78:9a:bc": "192.168.1.2"
    "aa:bb:cc:dd:ee:ff": "192.168.1.3"
  arp_request_retries: 2
  arp_request_timeout: 1
  arp_cache_ttl: 15
demi:
  poll_spin_us: 50
)";

// Parses `text`; returns the error message (empty on success) and the config through *out.
std::string parse(const std::string &text, config *out = nullptr) {
    std::string why;
    auto r = parse_config(text, "test.yaml", &why);
    if (r.has_value()) {
        EXPECT_TRUE(why.empty()) << why;
        if (out != nullptr) *out = std::move(*r);
        return {};
    }
    EXPECT_EQ(r.code(), EINVAL);
    EXPECT_FALSE(why.empty());
    return why;
}

// Asserts that `text` is rejected with a message that contains every one of `needles`.
void expect_rejected(const std::string &text, std::initializer_list<std::string> needles) {
    std::string why;
    auto r = parse_config(text, "bad.yaml", &why);
    ASSERT_FALSE(r.has_value()) << "accepted:\n" << text;
    EXPECT_EQ(r.code(), EINVAL);
    EXPECT_NE(why.find("bad.yaml"), std::string::npos) << why; // the file is named
    for (const auto &n : needles) EXPECT_NE(why.find(n), std::string::npos) << "'" << n << "' not in: " << why;
}

TEST(config_test, parses_demikernel_keys) {
    config c;
    ASSERT_EQ(parse(demikernel_yaml, &c), "");
    EXPECT_EQ(c.source, "test.yaml");
    ASSERT_TRUE(c.local_ipv4_addr.has_value());
    EXPECT_EQ(*c.local_ipv4_addr, htonl(0xc0a80102u)); // network byte order
    ASSERT_TRUE(c.local_link_addr.has_value());
    EXPECT_EQ(*c.local_link_addr, (std::array<uint8_t, 6>{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc}));
    EXPECT_EQ(c.linux_interface_name, "veth0");
    EXPECT_EQ(c.eal_init, (std::vector<std::string>{"", "-c", "0xff", "-n", "4", "-a", "0000:00:08.0",
                                                    "--proc-type=auto", "--in-memory", "--no-pci", "--lcores", "0@1",
                                                    "--file-prefix", "demi-test"}));
    EXPECT_TRUE(c.tcp.keepalive);
    EXPECT_EQ(c.tcp.keepalive_time_ms, 5000u);
    EXPECT_EQ(c.tcp.keepalive_interval_ms, 2000u);
    EXPECT_TRUE(c.tcp.linger);
    EXPECT_EQ(c.tcp.linger_seconds, 7u);
    EXPECT_FALSE(c.tcp.nodelay);
    EXPECT_EQ(c.mtu, 9000u);
    EXPECT_EQ(c.mss, 8960u);
    EXPECT_EQ(c.arp_table, (std::map<std::string, std::string>{{"12:34:56:78:9a:bc", "192.168.1.2"},
                                                               {"aa:bb:cc:dd:ee:ff", "192.168.1.3"}}));
    EXPECT_EQ(c.poll_spin_us, 50u);
    // Keys Demi does not interpret are kept for backends, by dotted name.
    EXPECT_EQ(c.raw.at("inetstack_config.arp_cache_ttl"), "15");
    EXPECT_EQ(c.raw.at("raw_socket.xdp_interface_index"), "0");
    EXPECT_EQ(c.raw.at("dpdk.eal_init.13"), "demi-test");
}

TEST(config_test, defaults_for_empty_text) {
    config c;
    ASSERT_EQ(parse("", &c), "");
    EXPECT_FALSE(c.local_ipv4_addr.has_value());
    EXPECT_FALSE(c.local_link_addr.has_value());
    EXPECT_TRUE(c.eal_init.empty());
    EXPECT_TRUE(c.tcp.nodelay);
    EXPECT_FALSE(c.tcp.keepalive);
    EXPECT_FALSE(c.tcp.linger);
    EXPECT_EQ(c.mtu, 1500u);
    EXPECT_EQ(c.mss, 0u); // from the MTU (inetstack: MTU - 40)
    EXPECT_TRUE(c.arp_table.empty());
}

TEST(config_test, eal_init_order_kept_with_many_entries) {
    std::string yaml = "dpdk:\n  eal_init:\n";
    std::vector<std::string> want;
    for (int i = 0; i < 25; ++i) {
        want.push_back("--arg" + std::to_string(i));
        yaml += "    - \"" + want.back() + "\"\n";
    }
    config c;
    ASSERT_EQ(parse(yaml, &c), "");
    EXPECT_EQ(c.eal_init, want);
}

TEST(config_test, eal_init_must_be_a_list) {
    expect_rejected("dpdk:\n  eal_init: \"-c 0xff -n 4\"\n", {"dpdk.eal_init"});
}

TEST(config_test, booleans) {
    for (const char *t : {"true", "True", "TRUE", "yes", "on", "1"}) {
        config c;
        const std::string yaml = std::string("tcp_socket_options:\n  nodelay: false\n  keepalive:\n    enabled: ") + t;
        ASSERT_EQ(parse(yaml + "\n", &c), "") << t;
        EXPECT_TRUE(c.tcp.keepalive) << t;
        EXPECT_FALSE(c.tcp.nodelay);
    }
    for (const char *f : {"false", "False", "FALSE", "no", "off", "0"}) {
        config c;
        ASSERT_EQ(parse(std::string("tcp_socket_options:\n  nodelay: ") + f + "\n", &c), "") << f;
        EXPECT_FALSE(c.tcp.nodelay) << f;
    }
}

TEST(config_test, bad_ipv4_names_key) {
    expect_rejected("demikernel:\n  local_ipv4_addr: 192.168.1.256\n",
                    {"demikernel.local_ipv4_addr", "192.168.1.256"});
    expect_rejected("demikernel:\n  local_ipv4_addr: XX.XX.XX.XX\n", {"demikernel.local_ipv4_addr", "XX.XX.XX.XX"});
    expect_rejected("demikernel:\n  local_ipv4_addr: 10.0.0\n", {"demikernel.local_ipv4_addr"});
}

TEST(config_test, bad_mac_names_key) {
    expect_rejected("demikernel:\n  local_link_addr: \"12:34:56:78:9a\"\n", {"demikernel.local_link_addr"});
    expect_rejected("demikernel:\n  local_link_addr: \"12:34:56:78:9a:bc:de\"\n", {"demikernel.local_link_addr"});
    expect_rejected("demikernel:\n  local_link_addr: \"gg:34:56:78:9a:bc\"\n",
                    {"demikernel.local_link_addr", "gg:34:56:78:9a:bc"});
}

TEST(config_test, bad_bool_names_key) {
    expect_rejected("tcp_socket_options:\n  nodelay: maybe\n", {"tcp_socket_options.nodelay", "maybe"});
    expect_rejected("tcp_socket_options:\n  linger:\n    enabled: 2\n", {"tcp_socket_options.linger.enabled"});
    expect_rejected("tcp_socket_options:\n  keepalive:\n    enabled: yess\n", {"tcp_socket_options.keepalive.enabled"});
}

TEST(config_test, bad_integers_name_key) {
    expect_rejected("tcp_socket_options:\n  keepalive:\n    time_millis: -5\n",
                    {"tcp_socket_options.keepalive.time_millis"});
    expect_rejected("tcp_socket_options:\n  linger:\n    time_seconds: 4294967296\n",
                    {"tcp_socket_options.linger.time_seconds"});
    expect_rejected("inetstack_config:\n  mtu: 1500.5\n", {"inetstack_config.mtu"});
}

// A backend's own integer keys (catnip's dpdk.*): absent leaves the default, else a decimal in range.
TEST(config_test, raw_u32_keys_for_backends) {
    config c;
    ASSERT_EQ(parse("dpdk:\n  a: 64\n  b: 63\n  c: 1025\n  d: -1\n  e: 12x\n  f: ''\n  g: 1024\n", &c), "");
    uint32_t v = 7;
    EXPECT_TRUE(read_raw_u32(c, "dpdk.absent", 0, 10, &v));
    EXPECT_EQ(v, 7u);
    EXPECT_TRUE(read_raw_u32(c, "dpdk.a", 64, 1024, &v));
    EXPECT_EQ(v, 64u);
    EXPECT_TRUE(read_raw_u32(c, "dpdk.g", 64, 1024, &v));
    EXPECT_EQ(v, 1024u);
    for (const char *bad : {"dpdk.b", "dpdk.c", "dpdk.d", "dpdk.e", "dpdk.f"}) {
        v = 7;
        EXPECT_FALSE(read_raw_u32(c, bad, 64, 1024, &v)) << bad;
        EXPECT_EQ(v, 7u) << bad;
    }
}

TEST(config_test, mtu_range) {
    expect_rejected("inetstack_config:\n  mtu: 67\n", {"inetstack_config.mtu", "67"});
    expect_rejected("inetstack_config:\n  mtu: 9217\n", {"inetstack_config.mtu", "9217"});
    expect_rejected("inetstack_config:\n  mtu: 0\n", {"inetstack_config.mtu"});
    config lo, hi;
    ASSERT_EQ(parse("inetstack_config:\n  mtu: 68\n", &lo), "");
    EXPECT_EQ(lo.mtu, 68u);
    ASSERT_EQ(parse("inetstack_config:\n  mtu: 9216\n", &hi), "");
    EXPECT_EQ(hi.mtu, 9216u);
}

TEST(config_test, mss_range) {
    expect_rejected("inetstack_config:\n  mss: 63\n", {"inetstack_config.mss", "63"});
    expect_rejected("inetstack_config:\n  mss: 9177\n", {"inetstack_config.mss"});
    config c;
    ASSERT_EQ(parse("inetstack_config:\n  mss: 536\n", &c), "");
    EXPECT_EQ(c.mss, 536u);
}

TEST(config_test, bad_arp_entries_name_key) {
    expect_rejected("inetstack_config:\n  arp_table:\n    \"not-a-mac\": \"10.0.0.1\"\n",
                    {"inetstack_config.arp_table.not-a-mac", "not-a-mac"});
    expect_rejected("inetstack_config:\n  arp_table:\n    \"aa:bb:cc:dd:ee:ff\": \"10.0.0.300\"\n",
                    {"inetstack_config.arp_table.aa:bb:cc:dd:ee:ff", "10.0.0.300"});
}

TEST(config_test, malformed_yaml_shows_line) {
    // Line 3 is indented inconsistently.
    expect_rejected("demikernel:\n  local_ipv4_addr: 10.0.0.1\n local_link_addr: \"aa:bb:cc:dd:ee:ff\"\n",
                    {"line 3"});
    // An unclosed flow sequence: the parser notices on line 4, where a new key starts.
    expect_rejected("dpdk:\n  eal_init: [\"-c\",\n    \"0xff\"\ninetstack_config: {\n", {"line 4"});
}

TEST(config_test, top_level_must_be_a_mapping) {
    expect_rejected("- a\n- b\n", {"top level"});
    expect_rejected("just a string\n", {"top level"});
}

TEST(config_test, address_parsers) {
    EXPECT_EQ(parse_ipv4("127.0.0.1"), std::optional<uint32_t>(htonl(0x7f000001u)));
    EXPECT_EQ(parse_ipv4("0.0.0.0"), std::optional<uint32_t>(0u));
    EXPECT_FALSE(parse_ipv4("").has_value());
    EXPECT_FALSE(parse_ipv4("1.2.3.4 ").has_value());
    EXPECT_FALSE(parse_ipv4("::1").has_value());
    using mac = std::optional<std::array<uint8_t, 6>>;
    EXPECT_EQ(parse_mac("AA:bb:0C:dd:EE:0f"), (mac{{0xaa, 0xbb, 0x0c, 0xdd, 0xee, 0x0f}}));
    EXPECT_EQ(parse_mac("01-23-45-67-89-ab"), (mac{{0x01, 0x23, 0x45, 0x67, 0x89, 0xab}}));
    EXPECT_FALSE(parse_mac("01:23:45:67:89").has_value());
    EXPECT_FALSE(parse_mac("01:23:45:67:89:ab:").has_value());
    EXPECT_FALSE(parse_mac("001:23:45:67:89:ab").has_value());
    EXPECT_FALSE(parse_mac("").has_value());
}

// ---- load_config ----

class load_config_test : public ::testing::Test {
protected:
    std::string path_;
    void SetUp() override {
        char tmpl[] = "/tmp/demi-config-test-XXXXXX";
        int fd = mkstemp(tmpl);
        ASSERT_GE(fd, 0);
        ::close(fd);
        path_ = tmpl;
        for (const char *v : {"DEMI_MTU", "DEMI_MSS", "DEMI_TCP_NODELAY", "DEMI_LOCAL_IPV4_ADDR",
                              "DEMI_LOCAL_LINK_ADDR", "DEMI_INTERFACE_NAME", "DEMI_POLL_SPIN_US"})
            ::unsetenv(v);
    }
    void TearDown() override {
        std::remove(path_.c_str());
        ::unsetenv("DEMI_MTU");
    }
    void write(const std::string &text) {
        std::ofstream out(path_);
        out << text;
    }
};

TEST_F(load_config_test, missing_file_is_einval_and_named) {
    const std::string missing = path_ + ".does-not-exist";
    ::testing::internal::CaptureStderr();
    auto r = load_config(missing, false);
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(r.code(), EINVAL);
    EXPECT_NE(err.find(missing), std::string::npos) << err;
}

TEST_F(load_config_test, loads_file) {
    write(demikernel_yaml);
    auto r = load_config(path_, false);
    ASSERT_TRUE(r.has_value()) << r.code();
    EXPECT_EQ(r->source, path_);
    EXPECT_EQ(r->mtu, 9000u);
    EXPECT_EQ(r->eal_init.size(), 14u);
}

TEST_F(load_config_test, empty_path_gives_defaults) {
    auto r = load_config("", false);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->mtu, 1500u);
    EXPECT_EQ(r->source, "<defaults>");
}

TEST_F(load_config_test, bad_file_names_file_key_and_problem) {
    write("inetstack_config:\n  mtu: 10\n");
    ::testing::internal::CaptureStderr();
    auto r = load_config(path_, false);
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(r.code(), EINVAL);
    EXPECT_NE(err.find(path_), std::string::npos) << err;
    EXPECT_NE(err.find("inetstack_config.mtu"), std::string::npos) << err;
    EXPECT_NE(err.find("68..9216"), std::string::npos) << err;
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << "one line: " << err;
}

TEST_F(load_config_test, environment_overrides_only_when_asked) {
    write("inetstack_config:\n  mtu: 9000\n");
    ASSERT_EQ(::setenv("DEMI_MTU", "1400", 1), 0);
    auto without = load_config(path_, false);
    ASSERT_TRUE(without.has_value());
    EXPECT_EQ(without->mtu, 9000u);
    auto with = load_config(path_, true);
    ASSERT_TRUE(with.has_value());
    EXPECT_EQ(with->mtu, 1400u);
    EXPECT_EQ(with->raw.at("inetstack_config.mtu"), "1400");
}

TEST_F(load_config_test, bad_environment_override_names_variable_and_key) {
    ASSERT_EQ(::setenv("DEMI_MTU", "jumbo", 1), 0);
    ::testing::internal::CaptureStderr();
    auto r = load_config("", true);
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(r.code(), EINVAL);
    EXPECT_NE(err.find("DEMI_MTU"), std::string::npos) << err;
    EXPECT_NE(err.find("inetstack_config.mtu"), std::string::npos) << err;
    EXPECT_NE(err.find("jumbo"), std::string::npos) << err;
}

} // namespace
} // namespace demi::rt
