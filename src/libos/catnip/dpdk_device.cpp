// The ethdev device (see dpdk_device.hpp).
#include "libos/catnip/dpdk_device.hpp"

#include <rte_dev.h>
#include <rte_devargs.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "common/log.hpp"

namespace demi::catnip {

namespace {

constexpr std::uint64_t tx_cksum_offloads =
    RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
constexpr std::uint64_t rx_cksum_offloads =
    RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM;

enum class tx_kind : std::uint8_t { direct, indirect, copy };

} // namespace

result<std::unique_ptr<dpdk_device>> dpdk_device::open(const rt::config &cfg, mbuf_pool &pool) {
    std::uint32_t port32 = 0, link_wait_ms = 2000, rxd32 = 1024, txd32 = 1024;
    if (!rt::read_raw_u32(cfg, "dpdk.port_id", 0, RTE_MAX_ETHPORTS - 1, &port32) ||
        !rt::read_raw_u32(cfg, "dpdk.link_wait_ms", 0, 600000, &link_wait_ms) ||
        !rt::read_raw_u32(cfg, "dpdk.rx_descriptors", 0, 32768, &rxd32) ||
        !rt::read_raw_u32(cfg, "dpdk.tx_descriptors", 0, 32768, &txd32))
        return error(EINVAL);
    const auto port = static_cast<std::uint16_t>(port32);
    if (!rte_eth_dev_is_valid_port(port)) {
        DEMI_LOG(error, "catnip", "DPDK port %u does not exist (%u port(s); dpdk.port_id picks one)", port,
                 rte_eth_dev_count_avail());
        return error(ENODEV);
    }
    rte_eth_dev_info info{};
    if (int r = rte_eth_dev_info_get(port, &info); r != 0) {
        DEMI_LOG(error, "catnip", "port %u: rte_eth_dev_info_get: %s", port, rte_strerror(-r));
        return error(-r);
    }
    const char *drv = info.driver_name != nullptr ? info.driver_name : "?";

    // Checksum offloads: only what the port can do (RFC 1122 §3.2.1.2 and §4.2.2.7 still hold: whoever
    // does it, the checksums are computed and checked).
    const std::uint64_t txo = info.tx_offload_capa & tx_cksum_offloads;
    const std::uint64_t rxo = info.rx_offload_capa & rx_cksum_offloads;
    rte_eth_conf conf{};
    conf.txmode.offloads = txo;
    conf.rxmode.offloads = rxo;
    if (int r = rte_eth_dev_configure(port, 1, 1, &conf); r != 0) {
        DEMI_LOG(error, "catnip", "port %u (%s): rte_eth_dev_configure: %s", port, drv, rte_strerror(-r));
        return error(-r);
    }

    // MTU: the stack's, on the port; one frame of it must fit one mbuf (no scatter).
    const std::uint32_t mtu = cfg.mtu;
    if (pool.data_room() < RTE_PKTMBUF_HEADROOM + mtu + 14) {
        DEMI_LOG(error, "catnip", "MTU %u does not fit the mbufs' data room %u (dpdk.mbuf_data_room)", mtu,
                 pool.data_room());
        return error(EINVAL);
    }
    std::uint16_t cur_mtu = 0;
    if (rte_eth_dev_get_mtu(port, &cur_mtu) != 0 || cur_mtu != mtu) {
        if (int r = rte_eth_dev_set_mtu(port, static_cast<std::uint16_t>(mtu)); r == -ENOTSUP) {
            // The PMD has no MTU of its own (net_memif, net_ring: frames of any length pass, memif chains
            // its buffers; ethdev's max_rx_pktlen of 1514 for them describes nothing they enforce). The
            // MTU is then the stack's alone; mbufs hold a whole frame (checked above).
            DEMI_LOG(info, "catnip", "port %u (%s) has no MTU setting: MTU %u is the stack's", port, drv, mtu);
        } else if (r != 0) {
            DEMI_LOG(error, "catnip", "port %u (%s) refuses MTU %u (inetstack_config.mtu): %s (port MTU %u..%u)", port,
                     drv, mtu, rte_strerror(-r), info.min_mtu, info.max_mtu);
            return error(EINVAL);
        }
    }

    // net_memif copies a frame into buffers of bsize bytes (default 2048), chaining several for a longer
    // one; DPDK 22.11's memif then delivered some frames twice and crashed in its receive path (seen
    // here at MTU 9000 with the default bsize). So a frame must fit one memif buffer.
    if (std::strcmp(drv, "net_memif") == 0) {
        const rte_devargs *da = info.device != nullptr ? rte_dev_devargs(info.device) : nullptr;
        const std::uint32_t bsize = detail::memif_buffer_size(da != nullptr && da->args != nullptr ? da->args : "");
        if (mtu + 14 > bsize) {
            DEMI_LOG(error, "catnip", "port %u (%s): a frame of MTU %u (%u bytes) does not fit one memif buffer of %u bytes: "
                     "give the vdev bsize=%u or more (memif's chained buffers are not reliable in DPDK 22.11)",
                     port, drv, mtu, mtu + 14, bsize, mtu + 14);
            return error(EINVAL);
        }
    }

    std::uint16_t nb_rxd = static_cast<std::uint16_t>(std::max<std::uint32_t>(rxd32, 32));
    std::uint16_t nb_txd = static_cast<std::uint16_t>(std::max<std::uint32_t>(txd32, 32));
    if (int r = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nb_rxd, &nb_txd); r != 0) {
        DEMI_LOG(error, "catnip", "port %u (%s): rte_eth_dev_adjust_nb_rx_tx_desc: %s", port, drv, rte_strerror(-r));
        return error(-r);
    }
    const int sock = rte_eth_dev_socket_id(port);
    const unsigned socket_id = sock < 0 ? static_cast<unsigned>(SOCKET_ID_ANY) : static_cast<unsigned>(sock);
    rte_eth_rxconf rxconf = info.default_rxconf;
    rxconf.offloads = rxo;
    if (int r = rte_eth_rx_queue_setup(port, 0, nb_rxd, socket_id, &rxconf, pool.mempool()); r != 0) {
        DEMI_LOG(error, "catnip", "port %u (%s): rte_eth_rx_queue_setup: %s", port, drv, rte_strerror(-r));
        return error(-r);
    }
    rte_eth_txconf txconf = info.default_txconf;
    txconf.offloads = txo;
    if (int r = rte_eth_tx_queue_setup(port, 0, nb_txd, socket_id, &txconf); r != 0) {
        DEMI_LOG(error, "catnip", "port %u (%s): rte_eth_tx_queue_setup: %s", port, drv, rte_strerror(-r));
        return error(-r);
    }

    if (cfg.local_link_addr) {
        rte_ether_addr a{};
        std::memcpy(a.addr_bytes, cfg.local_link_addr->data(), 6);
        if (int r = rte_eth_dev_default_mac_addr_set(port, &a); r != 0) {
            DEMI_LOG(error, "catnip", "port %u (%s) refuses MAC %02x:%02x:%02x:%02x:%02x:%02x "
                     "(demikernel.local_link_addr): %s", port, drv, a.addr_bytes[0], a.addr_bytes[1],
                     a.addr_bytes[2], a.addr_bytes[3], a.addr_bytes[4], a.addr_bytes[5], rte_strerror(-r));
            return error(EINVAL);
        }
    }

    if (int r = rte_eth_dev_start(port); r != 0) {
        DEMI_LOG(error, "catnip", "port %u (%s): rte_eth_dev_start: %s", port, drv, rte_strerror(-r));
        return error(-r);
    }
    rte_ether_addr a{};
    if (int r = rte_eth_macaddr_get(port, &a); r != 0) {
        DEMI_LOG(error, "catnip", "port %u (%s): rte_eth_macaddr_get: %s", port, drv, rte_strerror(-r));
        (void)rte_eth_dev_stop(port);
        return error(-r);
    }
    const wire::ethernet_address mac(a.addr_bytes[0], a.addr_bytes[1], a.addr_bytes[2], a.addr_bytes[3],
                                     a.addr_bytes[4], a.addr_bytes[5]);

    phy::checksum_caps caps;
    caps.tx_ipv4 = (txo & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) != 0;
    caps.tx_tcp = (txo & RTE_ETH_TX_OFFLOAD_TCP_CKSUM) != 0;
    caps.tx_udp = (txo & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) != 0;
    caps.rx_ipv4 = (rxo & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM) != 0;
    caps.rx_tcp = (rxo & RTE_ETH_RX_OFFLOAD_TCP_CKSUM) != 0;
    caps.rx_udp = (rxo & RTE_ETH_RX_OFFLOAD_UDP_CKSUM) != 0;
    std::unique_ptr<dpdk_device> dev(new dpdk_device(port, pool, mac, mtu, caps));

    // The link: wait a bounded time (a memif client is up only once its server answers).
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(link_wait_ms);
    while (!dev->link_up() && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    DEMI_LOG(info, "catnip", "port %u (%s) started: mac %s, mtu %u, %u/%u descriptors, offloads tx %#llx rx %#llx, link %s",
             port, drv, mac.to_string().c_str(), mtu, nb_rxd, nb_txd, static_cast<unsigned long long>(txo),
             static_cast<unsigned long long>(rxo), dev->link_up() ? "up" : "down");
    if (!dev->link_up())
        DEMI_LOG(warn, "catnip", "port %u (%s): link still down after %u ms (dpdk.link_wait_ms); frames are dropped until it comes up",
                 port, drv, link_wait_ms);
    return dev;
}

dpdk_device::~dpdk_device() {
    if (int r = rte_eth_dev_stop(port_); r != 0)
        DEMI_LOG(warn, "catnip", "port %u: rte_eth_dev_stop: %s", port_, rte_strerror(-r));
    if (int r = rte_eth_dev_close(port_); r != 0)
        DEMI_LOG(warn, "catnip", "port %u: rte_eth_dev_close: %s", port_, rte_strerror(-r));
}

bool dpdk_device::link_up() const noexcept {
    rte_eth_link link{};
    return rte_eth_link_get_nowait(port_, &link) == 0 && link.link_status == RTE_ETH_LINK_UP;
}

const char *dpdk_device::driver_name() const noexcept {
    rte_eth_dev_info info{};
    if (rte_eth_dev_info_get(port_, &info) != 0 || info.driver_name == nullptr) return "?";
    return info.driver_name;
}

size_t dpdk_device::receive(std::span<buffer> out) noexcept {
    rte_mbuf *pkts[burst];
    std::size_t n = 0;
    while (n < out.size()) {
        const auto want = static_cast<std::uint16_t>(std::min(burst, out.size() - n));
        const std::uint16_t got = rte_eth_rx_burst(port_, 0, pkts, want);
        ++stats_.rx_polls;
        stats_.rx_bursts += got != 0;
        for (std::uint16_t i = 0; i < got; ++i) {
            rte_mbuf *m = pkts[i];
            if (m->nb_segs != 1) { // not linearised: the port is configured so a frame fits one mbuf
                ++stats_.rx_multiseg_drops;
                rte_pktmbuf_free(m);
                continue;
            }
            if ((m->ol_flags & (RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK)) != 0 &&
                ((m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_BAD ||
                 (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_BAD)) {
                // The NIC checked and found it bad; the stack will not check again (caps()).
                ++stats_.rx_bad_checksum_drops;
                rte_pktmbuf_free(m);
                continue;
            }
            out[n++] = mbuf_pool::wrap(m);
            ++stats_.rx_frames;
        }
        if (got < want) break;
    }
    return n;
}

size_t dpdk_device::transmit(std::span<buffer> frames) noexcept {
    const bool offload = caps_.tx_ipv4 || caps_.tx_tcp || caps_.tx_udp;
    const std::size_t max_frame = mtu_ + phy::ethernet_header_len;
    std::size_t i = 0; // frames[0, i) taken
    while (i < frames.size()) {
        rte_mbuf *pkts[burst];
        tx_kind kinds[burst];
        std::uint16_t k = 0;
        bool exhausted = false;
        std::size_t j = i;
        // Prepare mbufs for frames[i, j) without touching the buffers: a frame the ring refuses must be
        // left with the caller as it was.
        for (; j < frames.size() && k < burst; ++j) {
            const buffer &f = frames[j];
            if (f.size() < phy::ethernet_header_len || f.size() > max_frame) break; // dropped below
            rte_mbuf *m = mbuf_pool::mbuf_of(f);
            rte_mbuf *p = nullptr;
            if (m != nullptr && f.use_count() == 1 && RTE_MBUF_DIRECT(m) && rte_mbuf_refcnt_read(m) == 1) {
                // The block's only view and not in flight: send the mbuf itself. The TX ring gets a
                // reference of its own; the buffer's goes when the frame is taken (or stays, if not).
                p = m;
                p->data_off = static_cast<std::uint16_t>(f.offset());
                p->ol_flags = 0;
                rte_mbuf_refcnt_update(p, 1);
                kinds[k] = tx_kind::direct;
            } else if (m != nullptr) {
                // Shared: an indirect mbuf with its own offset and length over the same bytes.
                p = rte_pktmbuf_alloc(pool_->mempool());
                if (p == nullptr) {
                    exhausted = true;
                    break;
                }
                rte_pktmbuf_attach(p, m);
                p->data_off = static_cast<std::uint16_t>(f.data() - static_cast<std::byte *>(p->buf_addr));
                kinds[k] = tx_kind::indirect;
            } else {
                p = rte_pktmbuf_alloc(pool_->mempool());
                if (p == nullptr) {
                    exhausted = true;
                    break;
                }
                std::memcpy(rte_pktmbuf_mtod(p, void *), f.data(), f.size());
                kinds[k] = tx_kind::copy;
            }
            p->data_len = static_cast<std::uint16_t>(f.size());
            p->pkt_len = static_cast<std::uint32_t>(f.size());
            p->nb_segs = 1;
            p->next = nullptr;
            if (offload) {
                const auto *b = rte_pktmbuf_mtod(p, const std::uint8_t *);
                // Untagged IPv4 and not a fragment (the stack does not fragment what it sends).
                if (f.size() >= 34 && b[12] == 0x08 && b[13] == 0x00 && ((b[20] & 0x3f) | b[21]) == 0) {
                    p->l2_len = 14;
                    p->l3_len = static_cast<std::uint16_t>((b[14] & 0x0f) * 4);
                    std::uint64_t fl = RTE_MBUF_F_TX_IPV4;
                    if (caps_.tx_ipv4) fl |= RTE_MBUF_F_TX_IP_CKSUM;
                    if (caps_.tx_tcp && b[23] == 6) fl |= RTE_MBUF_F_TX_TCP_CKSUM;
                    if (caps_.tx_udp && b[23] == 17) fl |= RTE_MBUF_F_TX_UDP_CKSUM;
                    p->ol_flags |= fl;
                }
            }
            pkts[k++] = p;
        }
        const std::uint16_t sent = k != 0 ? rte_eth_tx_burst(port_, 0, pkts, k) : 0;
        stats_.tx_bursts += k != 0;
        for (std::uint16_t s = 0; s < sent; ++s) {
            ++stats_.tx_frames;
            if (kinds[s] == tx_kind::copy) ++stats_.tx_copies;
            else ++stats_.tx_zero_copy;
            if (kinds[s] == tx_kind::indirect) ++stats_.tx_indirect;
            if ((pkts[s]->ol_flags & RTE_MBUF_F_TX_IPV4) != 0) ++stats_.tx_offloaded;
            frames[i + s].reset(); // taken: the ring holds the mbuf now
        }
        // Refused by the ring: undo (a direct mbuf drops the extra reference; copies and indirect
        // mbufs go back to the pool), the buffers are untouched.
        for (std::uint16_t s = sent; s < k; ++s) rte_pktmbuf_free(pkts[s]);
        i += sent;
        if (sent < k) {
            ++stats_.tx_full;
            break;
        }
        if (exhausted) {
            ++stats_.tx_pool_exhausted;
            break;
        }
        if (k < burst && j < frames.size()) { // stopped at a frame of a bad size: taken and dropped
            DEMI_LOG(debug, "catnip", "port %u: dropping a %zu-byte frame (MTU %zu)", port_, frames[j].size(), mtu_);
            ++stats_.tx_oversize_drops;
            frames[j].reset();
            ++i;
        }
    }
    return i;
}

namespace detail {

std::uint32_t memif_buffer_size(std::string_view devargs) noexcept {
    std::uint32_t bsize = 2048; // memif's default (ETH_MEMIF_DEFAULT_PKT_BUFFER_SIZE)
    while (!devargs.empty()) {
        const std::size_t comma = devargs.find(',');
        const std::string_view kv = devargs.substr(0, comma);
        devargs = comma == std::string_view::npos ? std::string_view{} : devargs.substr(comma + 1);
        if (kv.substr(0, 6) != "bsize=") continue;
        std::uint64_t v = 0;
        bool ok = kv.size() > 6;
        for (char c : kv.substr(6)) {
            if (c < '0' || c > '9' || v > 0xffffffffu) {
                ok = false;
                break;
            }
            v = v * 10 + static_cast<std::uint64_t>(c - '0');
        }
        if (ok && v <= 0xffffffffu) bsize = static_cast<std::uint32_t>(v);
    }
    return bsize;
}

result<l4_checksums> dpdk_l4_checksums(std::span<const std::byte> frame) noexcept {
    if (frame.size() < 34 || frame[12] != std::byte{0x08} || frame[13] != std::byte{0x00}) return error(EINVAL);
    // A copy, aligned for DPDK's header structs, with the L4 checksum field zeroed for the full sum.
    alignas(8) std::uint8_t copy[2048];
    if (frame.size() > sizeof(copy)) return error(EMSGSIZE);
    std::memcpy(copy, frame.data(), frame.size());
    auto *ip = reinterpret_cast<rte_ipv4_hdr *>(copy + 14);
    const std::size_t l3 = static_cast<std::size_t>(ip->ihl) * 4;
    const std::size_t off = ip->next_proto_id == 6 ? 16 : ip->next_proto_id == 17 ? 6 : 0;
    if (off == 0 || frame.size() < 14 + l3 + off + 2) return error(EINVAL);
    std::uint8_t *field = copy + 14 + l3 + off;
    l4_checksums c;
    c.field = static_cast<std::uint16_t>((field[0] << 8) | field[1]);
    c.pseudo_seed = rte_be_to_cpu_16(rte_ipv4_phdr_cksum(ip, 0));
    field[0] = field[1] = 0;
    c.full = rte_be_to_cpu_16(rte_ipv4_udptcp_cksum(ip, copy + 14 + l3));
    return c;
}

} // namespace detail

} // namespace demi::catnip
