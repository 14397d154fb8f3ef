// The floor under catnip's numbers: raw DPDK frames over one port, no stack, no Demi. The client
// sends 64-byte frames through rte_eth_tx_burst and busy-polls rte_eth_rx_burst for the echo that a
// `dpdk-testpmd --forward-mode=macswap` on the other end of the link returns.
//
//   dpdk_rawping [EAL args] -- [--size N] [--count N] [--warmup N] [--window W] [--timeout S]
//
// --window 1 (default): closed-loop ping-pong, one frame in flight; prints round-trip p50/p99/p999.
// --window W > 1: W frames kept in flight; prints messages per second (each echoed frame one message)
// and the round-trip percentiles under that load.
//
// --udp FROM,TO:PORT (e.g. 10.0.0.2,10.0.0.1:9000): the frames are IPv4/UDP datagrams from FROM to
// TO:PORT with valid checksums (--size stays the frame size), so a UDP echo server (a Demi
// application on catnip) can take testpmd's place and be measured by the same client. The client
// answers ARP requests for FROM and resolves TO by ARP (against testpmd, whose macswap only echoes the
// request, give --no-arp: the frames then go to the broadcast address). An echo counts when its UDP
// payload comes back whole.
//
// Lives in bench/ rather than src/libos/catnip/ because it is a measuring tool for a baseline and
// links nothing of Demi's.
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_arp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_random.h>
#include <rte_udp.h>

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

struct options {
    std::size_t size_ = 64;
    std::uint64_t count_ = 100000;
    std::uint64_t warmup_ = 1000;
    std::uint32_t window_ = 1;
    double timeout_s_ = 30;
    bool udp_ = false;
    bool arp_ = true;
    std::uint32_t from_ = 0, to_ = 0; // IPv4 addresses, network order
    std::uint16_t port_ = 0;          // network order
};

[[noreturn]] void fail(const char *what, int err) {
    std::fprintf(stderr, "dpdk_rawping: %s: %s\n", what, rte_strerror(err));
    rte_eal_cleanup();
    std::exit(1);
}

std::uint64_t parse_num(const char *flag, const char *text) {
    char *end = nullptr;
    errno = 0;
    unsigned long long v = std::strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0') {
        std::fprintf(stderr, "dpdk_rawping: %s: not a number: '%s'\n", flag, text);
        std::exit(2);
    }
    return v;
}

options parse(int argc, char **argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> const char * {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "dpdk_rawping: %s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--size") o.size_ = parse_num("--size", value());
        else if (a == "--count") o.count_ = parse_num("--count", value());
        else if (a == "--warmup") o.warmup_ = parse_num("--warmup", value());
        else if (a == "--window") o.window_ = static_cast<std::uint32_t>(parse_num("--window", value()));
        else if (a == "--timeout") o.timeout_s_ = static_cast<double>(parse_num("--timeout", value()));
        else if (a == "--no-arp") o.arp_ = false;
        else if (a == "--udp") {
            const std::string v = value();
            const auto comma = v.find(','), colon = v.rfind(':');
            in_addr from{}, to{};
            if (comma == std::string::npos || colon == std::string::npos || colon < comma ||
                inet_pton(AF_INET, v.substr(0, comma).c_str(), &from) != 1 ||
                inet_pton(AF_INET, v.substr(comma + 1, colon - comma - 1).c_str(), &to) != 1) {
                std::fprintf(stderr, "dpdk_rawping: --udp wants FROM,TO:PORT (IPv4 addresses), not '%s'\n", v.c_str());
                std::exit(2);
            }
            const std::uint64_t port = parse_num("--udp port", v.substr(colon + 1).c_str());
            if (port == 0 || port > 65535) {
                std::fprintf(stderr, "dpdk_rawping: --udp: port must be 1..65535\n");
                std::exit(2);
            }
            o.udp_ = true;
            o.from_ = from.s_addr;
            o.to_ = to.s_addr;
            o.port_ = htons(static_cast<std::uint16_t>(port));
        } else {
            std::fprintf(stderr, "dpdk_rawping: unknown option '%s'\n", a.c_str());
            std::exit(2);
        }
    }
    if (o.udp_ && o.size_ < 42 + 12) {
        std::fprintf(stderr, "dpdk_rawping: --udp needs --size of at least 54 (headers and a 12-byte payload)\n");
        std::exit(2);
    }
    if (o.size_ < 60 || o.size_ > 1514) {
        std::fprintf(stderr, "dpdk_rawping: --size must be 60..1514 (a frame without FCS)\n");
        std::exit(2);
    }
    if (o.window_ == 0 || o.window_ > 512) {
        std::fprintf(stderr, "dpdk_rawping: --window must be 1..512\n");
        std::exit(2);
    }
    return o;
}

double percentile(std::vector<double> &v, double p) {
    if (v.empty()) return 0;
    auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k];
}

} // namespace

int main(int argc, char **argv) {
    int used = rte_eal_init(argc, argv);
    if (used < 0) fail("rte_eal_init", rte_errno);
    argc -= used;
    argv += used;
    options o = parse(argc, argv);

    if (rte_eth_dev_count_avail() == 0) {
        std::fprintf(stderr, "dpdk_rawping: no DPDK port (give one with --vdev)\n");
        rte_eal_cleanup();
        return 1;
    }
    constexpr std::uint16_t port = 0;
    rte_mempool *pool = rte_pktmbuf_pool_create("rawping", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                                static_cast<int>(rte_socket_id()));
    if (pool == nullptr) fail("rte_pktmbuf_pool_create", rte_errno);
    rte_eth_conf conf{};
    if (int rc = rte_eth_dev_configure(port, 1, 1, &conf); rc < 0) fail("rte_eth_dev_configure", -rc);
    if (int rc = rte_eth_rx_queue_setup(port, 0, 1024, rte_eth_dev_socket_id(port), nullptr, pool); rc < 0)
        fail("rte_eth_rx_queue_setup", -rc);
    if (int rc = rte_eth_tx_queue_setup(port, 0, 1024, rte_eth_dev_socket_id(port), nullptr); rc < 0)
        fail("rte_eth_tx_queue_setup", -rc);
    if (int rc = rte_eth_dev_start(port); rc < 0) fail("rte_eth_dev_start", -rc);

    rte_ether_addr mac{};
    rte_eth_macaddr_get(port, &mac);
    const auto deadline = clock_type::now() + std::chrono::duration<double>(o.timeout_s_);

    // Wait for the link (memif: the peer connected).
    for (;;) {
        rte_eth_link link{};
        rte_eth_link_get_nowait(port, &link);
        if (link.link_status == RTE_ETH_LINK_UP) break;
        if (clock_type::now() > deadline) {
            std::fprintf(stderr, "dpdk_rawping: link of port 0 not up within %.0f s\n", o.timeout_s_);
            rte_eal_cleanup();
            return 1;
        }
        rte_delay_ms(10);
    }

    // --udp: answer ARP requests for our address; find the server's MAC by ARP.
    constexpr std::size_t hdr = sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr);
    const std::uint16_t our_port = htons(40000);
    rte_ether_addr peer{};
    std::memset(peer.addr_bytes, 0xff, RTE_ETHER_ADDR_LEN);
    auto send_arp = [&](std::uint16_t op, const rte_ether_addr &dst, std::uint32_t tip) {
        rte_mbuf *m = rte_pktmbuf_alloc(pool);
        if (m == nullptr) fail("rte_pktmbuf_alloc", ENOBUFS);
        auto *eth = reinterpret_cast<rte_ether_hdr *>(rte_pktmbuf_append(m, sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr)));
        eth->dst_addr = dst;
        eth->src_addr = mac;
        eth->ether_type = htons(RTE_ETHER_TYPE_ARP);
        auto *arp = reinterpret_cast<rte_arp_hdr *>(eth + 1);
        arp->arp_hardware = htons(RTE_ARP_HRD_ETHER);
        arp->arp_protocol = htons(RTE_ETHER_TYPE_IPV4);
        arp->arp_hlen = RTE_ETHER_ADDR_LEN;
        arp->arp_plen = 4;
        arp->arp_opcode = htons(op);
        arp->arp_data.arp_sha = mac;
        arp->arp_data.arp_sip = o.from_;
        arp->arp_data.arp_tha = op == RTE_ARP_OP_REPLY ? dst : rte_ether_addr{};
        arp->arp_data.arp_tip = tip;
        if (rte_eth_tx_burst(port, 0, &m, 1) != 1) rte_pktmbuf_free(m);
    };
    // An ARP frame: answers a request for us; returns true for the reply that names the server's MAC.
    auto on_arp = [&](const std::uint8_t *p, std::uint16_t len) {
        if (len < sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr)) return false;
        const auto *eth = reinterpret_cast<const rte_ether_hdr *>(p);
        if (eth->ether_type != htons(RTE_ETHER_TYPE_ARP)) return false;
        const auto *arp = reinterpret_cast<const rte_arp_hdr *>(eth + 1);
        if (arp->arp_opcode == htons(RTE_ARP_OP_REQUEST) && arp->arp_data.arp_tip == o.from_) {
            send_arp(RTE_ARP_OP_REPLY, arp->arp_data.arp_sha, arp->arp_data.arp_sip);
            return false;
        }
        if (arp->arp_opcode == htons(RTE_ARP_OP_REPLY) && arp->arp_data.arp_sip == o.to_) {
            peer = arp->arp_data.arp_sha;
            return true;
        }
        return false;
    };
    if (o.udp_ && o.arp_) {
        rte_mbuf *rx[32];
        bool resolved = false;
        auto next_request = clock_type::now();
        while (!resolved) {
            if (clock_type::now() >= next_request) {
                send_arp(RTE_ARP_OP_REQUEST, peer, o.to_);
                next_request = clock_type::now() + std::chrono::milliseconds(100);
            }
            const std::uint16_t n = rte_eth_rx_burst(port, 0, rx, 32);
            for (std::uint16_t i = 0; i < n; ++i) {
                resolved |= on_arp(rte_pktmbuf_mtod(rx[i], const std::uint8_t *), rte_pktmbuf_data_len(rx[i]));
                rte_pktmbuf_free(rx[i]);
            }
            if (!resolved && clock_type::now() > deadline) {
                std::fprintf(stderr, "dpdk_rawping: no ARP reply for the --udp server within %.0f s\n", o.timeout_s_);
                rte_eal_cleanup();
                return 1;
            }
        }
    }

    // --udp: the frame every datagram starts from (send time 0).
    std::vector<std::uint8_t> udp_template(o.size_, 0);
    std::uint16_t udp_template_cksum = 0;
    if (o.udp_) {
        std::uint8_t *p = udp_template.data();
        auto *eth = reinterpret_cast<rte_ether_hdr *>(p);
        eth->dst_addr = peer;
        eth->src_addr = mac;
        eth->ether_type = htons(RTE_ETHER_TYPE_IPV4);
        auto *ip = reinterpret_cast<rte_ipv4_hdr *>(eth + 1);
        ip->version_ihl = RTE_IPV4_VHL_DEF;
        ip->total_length = htons(static_cast<std::uint16_t>(o.size_ - sizeof(rte_ether_hdr)));
        ip->time_to_live = 64;
        ip->next_proto_id = IPPROTO_UDP;
        ip->src_addr = o.from_;
        ip->dst_addr = o.to_;
        ip->hdr_checksum = rte_ipv4_cksum(ip);
        auto *udp = reinterpret_cast<rte_udp_hdr *>(ip + 1);
        udp->src_port = our_port;
        udp->dst_port = o.port_;
        udp->dgram_len = htons(static_cast<std::uint16_t>(o.size_ - sizeof(rte_ether_hdr) - sizeof(rte_ipv4_hdr)));
        std::memcpy(p + hdr + 8, "demi", 4);
        udp_template_cksum = rte_ipv4_udptcp_cksum(ip, udp);
        // rte_ipv4_udptcp_cksum gives 0xffff for a computed zero; the update below starts from the sum.
        if (udp_template_cksum == 0xffff) udp_template_cksum = 0;
    }

    // Raw: a frame to the broadcast address (macswap returns it to us), an experimental EtherType, and
    // the send time in the payload. --udp: an IPv4/UDP datagram to the server carrying the send time.
    auto make = [&](clock_type::time_point t) -> rte_mbuf * {
        rte_mbuf *m = rte_pktmbuf_alloc(pool);
        if (m == nullptr) fail("rte_pktmbuf_alloc", ENOBUFS);
        auto *p = static_cast<std::uint8_t *>(static_cast<void *>(rte_pktmbuf_append(m, static_cast<std::uint16_t>(o.size_))));
        std::int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
        if (!o.udp_) {
            std::memset(p, 0, o.size_);
            std::memset(p, 0xff, 6);
            std::memcpy(p + 6, mac.addr_bytes, 6);
            p[12] = 0x88;
            p[13] = 0xb5;
            std::memcpy(p + 14, &ns, sizeof ns);
            return m;
        }
        // The headers and checksums of the template (send time 0), then the send time in the payload
        // and the UDP checksum updated for it (RFC 1624): as cheap per frame as the raw mode.
        std::memcpy(p, udp_template.data(), o.size_);
        std::memcpy(p + hdr, &ns, sizeof ns);
        std::uint32_t sum = static_cast<std::uint16_t>(~udp_template_cksum) + rte_raw_cksum(&ns, sizeof ns);
        sum = (sum & 0xffff) + (sum >> 16);
        sum = (sum & 0xffff) + (sum >> 16);
        std::uint16_t ck = static_cast<std::uint16_t>(~sum);
        if (ck == 0) ck = 0xffff; // RFC 768: a computed zero is sent as all ones
        reinterpret_cast<rte_udp_hdr *>(p + sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr))->dgram_cksum = ck;
        return m;
    };
    // The send time of an echo, or nothing for a frame that is not one.
    auto echo_time = [&](const std::uint8_t *p, std::uint16_t len) -> std::optional<std::int64_t> {
        std::int64_t ns;
        if (!o.udp_) {
            if (len < 22 || p[12] != 0x88 || p[13] != 0xb5) return std::nullopt;
            std::memcpy(&ns, p + 14, sizeof ns);
            return ns;
        }
        if (on_arp(p, len) || len != o.size_) return std::nullopt;
        const auto *eth = reinterpret_cast<const rte_ether_hdr *>(p);
        const auto *ip = reinterpret_cast<const rte_ipv4_hdr *>(eth + 1);
        if (eth->ether_type != htons(RTE_ETHER_TYPE_IPV4) || ip->next_proto_id != IPPROTO_UDP ||
            std::memcmp(p + hdr + 8, "demi", 4) != 0)
            return std::nullopt;
        std::memcpy(&ns, p + hdr, sizeof ns);
        return ns;
    };

    const std::uint64_t total = o.warmup_ + o.count_;
    std::vector<double> rtt_us;
    rtt_us.reserve(o.count_);
    std::uint64_t sent = 0, received = 0, lost = 0, late = 0;
    clock_type::time_point measure_start{};
    auto last_progress = clock_type::now();
    rte_mbuf *rx[32];
    while (received < total) {
        while (sent < total && sent - received < o.window_) {
            rte_mbuf *m = make(clock_type::now());
            if (rte_eth_tx_burst(port, 0, &m, 1) != 1) {
                rte_pktmbuf_free(m);
                break;
            }
            ++sent;
        }
        std::uint16_t n = rte_eth_rx_burst(port, 0, rx, 32);
        auto now = clock_type::now();
        for (std::uint16_t i = 0; i < n; ++i) {
            const auto *p = rte_pktmbuf_mtod(rx[i], const std::uint8_t *);
            const auto ns = echo_time(p, rte_pktmbuf_data_len(rx[i]));
            // An echo of a frame already counted as lost (it came back after the 50 ms below) is
            // counted as late and otherwise ignored: nothing of it is outstanding any more.
            if (!ns) {
                // not an echo (ARP, or something else on the link)
            } else if (received >= sent) {
                ++late;
            } else {
                if (received == o.warmup_) measure_start = now;
                if (received >= o.warmup_) {
                    auto t = clock_type::time_point(std::chrono::nanoseconds(*ns));
                    rtt_us.push_back(std::chrono::duration<double, std::micro>(now - t).count());
                }
                ++received;
                last_progress = now;
            }
            rte_pktmbuf_free(rx[i]);
        }
        // Frames sent before the peer's rings were up (or dropped on the way) never come back: after
        // 50 ms without an echo, count what is in flight as lost and send again.
        if (n == 0 && sent > received && now - last_progress > std::chrono::milliseconds(50)) {
            lost += sent - received;
            sent = received;
            last_progress = now;
        }
        if (n == 0 && now > deadline) {
            std::fprintf(stderr, "dpdk_rawping: timed out after %llu of %llu echoes (is the echo side running?)\n",
                         static_cast<unsigned long long>(received), static_cast<unsigned long long>(total));
            rte_eal_cleanup();
            return 1;
        }
    }
    double secs = std::chrono::duration<double>(clock_type::now() - measure_start).count();
    double rate = static_cast<double>(o.count_) / secs;
    double p50 = percentile(rtt_us, 0.50), p99 = percentile(rtt_us, 0.99), p999 = percentile(rtt_us, 0.999);
    std::printf("rawping%s size=%zu window=%u count=%llu: p50 %.2f us  p99 %.2f us  p99.9 %.2f us  %.0f msg/s"
                "  (%llu lost, %llu late)\n",
                o.udp_ ? "-udp" : "", o.size_, o.window_, static_cast<unsigned long long>(o.count_), p50, p99, p999, rate,
                static_cast<unsigned long long>(lost), static_cast<unsigned long long>(late));
    // Against a Demi server (--udp with ARP), leave as a Demi end of a memif link does
    // (src/libos/catnip/dpdk_device.hpp): a departure frame (EtherType 0x88B6, "DEMI", kind 1, a
    // nonce), then up to 200 ms for the acknowledgment (kind 2, the nonce), after which the server no
    // longer touches the shared rings that stopping this port unmaps under it.
    if (o.udp_ && o.arp_) {
        const std::uint32_t nonce_be = htonl(static_cast<std::uint32_t>(rte_rand()) | 1u);
        const auto until = clock_type::now() + std::chrono::milliseconds(200);
        bool sent = false, acked = false;
        while (!acked && clock_type::now() < until) {
            if (!sent) {
                rte_mbuf *m = rte_pktmbuf_alloc(pool);
                if (m == nullptr) fail("rte_pktmbuf_alloc", ENOBUFS);
                auto *f = rte_pktmbuf_mtod(m, std::uint8_t *);
                std::memset(f, 0, 60);
                std::memset(f, 0xff, RTE_ETHER_ADDR_LEN);
                std::memcpy(f + 6, mac.addr_bytes, RTE_ETHER_ADDR_LEN);
                f[12] = 0x88;
                f[13] = 0xb6;
                std::memcpy(f + 14, "DEMI\x01", 5);
                std::memcpy(f + 19, &nonce_be, 4);
                m->data_len = 60;
                m->pkt_len = 60;
                sent = rte_eth_tx_burst(port, 0, &m, 1) == 1;
                if (!sent) rte_pktmbuf_free(m);
            }
            rte_mbuf *rx[32];
            const std::uint16_t n = rte_eth_rx_burst(port, 0, rx, 32);
            for (std::uint16_t i = 0; i < n; ++i) {
                const auto *p = rte_pktmbuf_mtod(rx[i], const std::uint8_t *);
                acked |= rte_pktmbuf_data_len(rx[i]) >= 23 && std::memcmp(p + 12, "\x88\xb6" "DEMI\x02", 7) == 0 &&
                         std::memcmp(p + 19, &nonce_be, 4) == 0;
                rte_pktmbuf_free(rx[i]);
            }
        }
        if (!acked) std::fprintf(stderr, "dpdk_rawping: the server did not acknowledge this end's departure in 200 ms\n");
    }
    rte_eth_dev_stop(port);
    rte_eth_dev_close(port);
    rte_eal_cleanup();
    return 0;
}
