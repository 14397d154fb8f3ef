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
// Lives in bench/ rather than src/libos/catnip/ because it is a measuring tool for a baseline and
// links nothing of Demi's.
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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
        else {
            std::fprintf(stderr, "dpdk_rawping: unknown option '%s'\n", a.c_str());
            std::exit(2);
        }
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

    // A frame to the broadcast address (macswap returns it to us), an experimental EtherType, and
    // the send time in the payload.
    auto make = [&](clock_type::time_point t) -> rte_mbuf * {
        rte_mbuf *m = rte_pktmbuf_alloc(pool);
        if (m == nullptr) fail("rte_pktmbuf_alloc", ENOBUFS);
        auto *p = static_cast<std::uint8_t *>(static_cast<void *>(rte_pktmbuf_append(m, static_cast<std::uint16_t>(o.size_))));
        std::memset(p, 0, o.size_);
        std::memset(p, 0xff, 6);
        std::memcpy(p + 6, mac.addr_bytes, 6);
        p[12] = 0x88;
        p[13] = 0xb5;
        std::int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
        std::memcpy(p + 14, &ns, sizeof ns);
        return m;
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
            // An echo of a frame already counted as lost (it came back after the 50 ms below) is
            // counted as late and otherwise ignored: nothing of it is outstanding any more.
            if (received >= sent) {
                ++late;
            } else if (rte_pktmbuf_data_len(rx[i]) >= 22 && p[12] == 0x88 && p[13] == 0xb5) {
                std::int64_t ns;
                std::memcpy(&ns, p + 14, sizeof ns);
                if (received == o.warmup_) measure_start = now;
                if (received >= o.warmup_) {
                    auto t = clock_type::time_point(std::chrono::nanoseconds(ns));
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
    std::printf("rawping size=%zu window=%u count=%llu: p50 %.2f us  p99 %.2f us  p99.9 %.2f us  %.0f msg/s"
                "  (%llu lost, %llu late)\n",
                o.size_, o.window_, static_cast<unsigned long long>(o.count_), p50, p99, p999, rate,
                static_cast<unsigned long long>(lost), static_cast<unsigned long long>(late));
    rte_eth_dev_stop(port);
    rte_eth_dev_close(port);
    rte_eal_cleanup();
    return 0;
}
