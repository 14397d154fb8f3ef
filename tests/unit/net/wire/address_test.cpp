#include "net/wire/address.hpp"

#include <gtest/gtest.h>

#include <unordered_map>

namespace demi::wire {
namespace {

TEST(EthernetAddress, FormatsAndParses) {
    const ethernet_address a{0xe2, 0x1f, 0xf5, 0x19, 0x8a, 0x09};
    EXPECT_EQ(a.to_string(), "e2:1f:f5:19:8a:09");
    auto p = ethernet_address::from_string("E2:1F:f5:19:8a:09");
    ASSERT_TRUE(p);
    EXPECT_EQ(*p, a);
    auto dashed = ethernet_address::from_string("e2-1f-f5-19-8a-09");
    ASSERT_TRUE(dashed);
    EXPECT_EQ(*dashed, a);
    std::array<char, ethernet_address::max_text_len> buf;
    EXPECT_EQ(a.to_chars(buf), 17u);
    EXPECT_STREQ(buf.data(), "e2:1f:f5:19:8a:09");
}

TEST(EthernetAddress, RejectsBadText) {
    for (const char *bad : {"", "e2:1f:f5:19:8a", "e2:1f:f5:19:8a:09:00", "e2:1f:f5:19:8a:0g", "e2-1f:f5:19:8a:09",
                            "e21f.f519.8a09", "e2:1f:f5:19:8a:9", " e2:1f:f5:19:8a:09"}) {
        EXPECT_FALSE(ethernet_address::from_string(bad)) << bad;
        EXPECT_EQ(ethernet_address::from_string(bad).code(), EINVAL);
    }
}

TEST(EthernetAddress, Classifies) {
    EXPECT_TRUE(ethernet_address::broadcast().is_broadcast());
    EXPECT_TRUE(ethernet_address::broadcast().is_multicast());
    const ethernet_address mcast{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}; // IPv4 multicast MAC (RFC 1112)
    EXPECT_TRUE(mcast.is_multicast());
    EXPECT_FALSE(mcast.is_broadcast());
    const ethernet_address local{0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
    EXPECT_TRUE(local.is_unicast());
    EXPECT_TRUE(local.is_local());
    EXPECT_TRUE(ethernet_address{}.is_zero());
    EXPECT_LT(ethernet_address{}, local);
}

TEST(EthernetAddress, BytesRoundTrip) {
    const ethernet_address a{1, 2, 3, 4, 5, 6};
    std::byte buf[6];
    a.write(buf);
    EXPECT_EQ(std::to_integer<int>(buf[5]), 6);
    EXPECT_EQ(ethernet_address::from_bytes(buf), a);
}

TEST(Ipv4Address, FormatsAndParses) {
    EXPECT_EQ(ipv4_address(10, 0, 0, 1).to_string(), "10.0.0.1");
    EXPECT_EQ(ipv4_address(255, 255, 255, 255).to_string(), "255.255.255.255");
    EXPECT_EQ(ipv4_address().to_string(), "0.0.0.0");
    EXPECT_EQ(ipv4_address(192, 168, 100, 9).to_string(), "192.168.100.9");
    auto p = ipv4_address::from_string("172.16.254.3");
    ASSERT_TRUE(p);
    EXPECT_EQ(*p, ipv4_address(172, 16, 254, 3));
    ASSERT_TRUE(ipv4_address::from_string("0.0.0.0"));
}

TEST(Ipv4Address, RejectsBadText) {
    for (const char *bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.04", "01.2.3.4", "1..2.3", "1.2.3.4 ",
                            "a.b.c.d", "1.2.3.-4", "1234.1.1.1", "0x1.2.3.4", "1.2.3."}) {
        EXPECT_FALSE(ipv4_address::from_string(bad)) << bad;
    }
}

TEST(Ipv4Address, HostAndNetworkOrder) {
    const ipv4_address a{10, 0, 0, 1};
    EXPECT_EQ(a.to_host(), 0x0a000001u);
    EXPECT_EQ(ipv4_address::from_host(0x0a000001u), a);
    // The network-order integer has the octets in memory order, as in struct in_addr.
    const std::uint32_t n = a.to_network();
    const auto *p = reinterpret_cast<const unsigned char *>(&n);
    EXPECT_EQ(p[0], 10);
    EXPECT_EQ(p[3], 1);
    EXPECT_EQ(ipv4_address::from_network(n), a);
}

TEST(Ipv4Address, Classifies) {
    EXPECT_TRUE(ipv4_address::unspecified().is_unspecified());
    EXPECT_TRUE(ipv4_address::broadcast().is_broadcast());
    EXPECT_TRUE(ipv4_address(224, 0, 0, 251).is_multicast());
    EXPECT_FALSE(ipv4_address(240, 0, 0, 1).is_multicast());
    EXPECT_TRUE(ipv4_address(127, 1, 2, 3).is_loopback());
    EXPECT_TRUE(ipv4_address(169, 254, 1, 1).is_link_local());
    EXPECT_TRUE(ipv4_address(10, 9, 8, 7).is_private());
    EXPECT_TRUE(ipv4_address(172, 31, 0, 1).is_private());
    EXPECT_FALSE(ipv4_address(172, 32, 0, 1).is_private());
    EXPECT_TRUE(ipv4_address(192, 168, 0, 1).is_private());
    EXPECT_TRUE(ipv4_address(10, 0, 0, 1).is_unicast());
    EXPECT_FALSE(ipv4_address(224, 0, 0, 1).is_unicast());
    EXPECT_FALSE(ipv4_address().is_unicast());
}

TEST(Ipv4Address, Subnets) {
    EXPECT_EQ(ipv4_address::netmask(24), ipv4_address(255, 255, 255, 0));
    EXPECT_EQ(ipv4_address::netmask(0), ipv4_address());
    EXPECT_EQ(ipv4_address::netmask(32), ipv4_address::broadcast());
    EXPECT_EQ(ipv4_address::netmask(40), ipv4_address::broadcast());
    EXPECT_EQ(ipv4_address::netmask(12), ipv4_address(255, 240, 0, 0));
    EXPECT_TRUE(ipv4_address(10, 0, 0, 1).same_subnet(ipv4_address(10, 0, 0, 254), 24));
    EXPECT_FALSE(ipv4_address(10, 0, 0, 1).same_subnet(ipv4_address(10, 0, 1, 1), 24));
    EXPECT_TRUE(ipv4_address(10, 0, 0, 1).same_subnet(ipv4_address(99, 1, 1, 1), 0));
}

TEST(Addresses, Hashable) {
    std::unordered_map<ipv4_address, ethernet_address> arp;
    arp[ipv4_address(10, 0, 0, 2)] = ethernet_address(0x9a, 0xeb, 0x7c, 0x4b, 0x07, 0x1a);
    EXPECT_EQ(arp.count(ipv4_address(10, 0, 0, 2)), 1u);
    EXPECT_EQ(arp.count(ipv4_address(10, 0, 0, 3)), 0u);
    std::unordered_map<ethernet_address, int> by_mac;
    by_mac[ethernet_address::broadcast()] = 1;
    EXPECT_EQ(by_mac.at(ethernet_address::broadcast()), 1);
}

} // namespace
} // namespace demi::wire
