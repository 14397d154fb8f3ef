// The ethdev device (see dpdk_device.hpp).
#include "libos/catnip/dpdk_device.hpp"

#include <rte_dev.h>
#include <rte_devargs.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_random.h>

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

// The departure frame (dpdk_device.hpp): broadcast destination, the sender's MAC, EtherType 0x88B6,
// "DEMI", the kind, the nonce (big-endian), zeros to the minimum frame.
constexpr std::size_t depart_len = 60;
constexpr std::byte depart_magic[4] = {std::byte{'D'}, std::byte{'E'}, std::byte{'M'}, std::byte{'I'}};

// The memif ports never destroyed (catnip's), said goodbye for at process exit.
dpdk_device *memif_ports[RTE_MAX_ETHPORTS] = {};

void depart_all() noexcept {
    for (dpdk_device *d : memif_ports) {
        if (d == nullptr) continue;
        if (d->leased()) {
            // A libOS instance still holds the port (its thread may be polling it: one queue, one
            // thread), so this exit does not touch it; the peer is not told.
            DEMI_LOG(info, "catnip", "port %u: still in use by a libOS instance at exit: its memif peer is not told",
                     d->port_id());
            continue;
        }
        d->depart();
    }
}

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
    const bool memif = std::strcmp(drv, "net_memif") == 0;
    std::unique_ptr<dpdk_device> dev(new dpdk_device(port, pool, mac, mtu, caps, memif));
    if (memif) {
        static const bool registered = std::atexit(depart_all) == 0;
        if (!registered)
            DEMI_LOG(warn, "catnip", "port %u (%s): no exit handler: the peer will not hear of this end's exit", port, drv);
        memif_ports[port] = dev.get();
    }

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
    depart();
    if (memif_ports[port_] == this) memif_ports[port_] = nullptr;
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
    if (park_.parked() && still_parked()) return 0;
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
            if (memif_) {
                const auto *b = rte_pktmbuf_mtod(m, const std::byte *);
                if (m->data_len >= 14 && b[12] == std::byte{0x88} && b[13] == std::byte{0xb6}) {
                    if (auto f = detail::read_depart_frame({b, m->data_len})) on_link_frame(f->kind, f->nonce);
                    rte_pktmbuf_free(m);
                    continue;
                }
            }
            out[n++] = mbuf_pool::wrap(m);
            ++stats_.rx_frames;
        }
        // Parked by a departure in this burst: what was received is ours (memif copies), but no
        // further burst may touch the rings.
        if (got < want || park_.parked()) break;
    }
    return n;
}

bool dpdk_device::send_link_frame(std::uint8_t kind, std::uint32_t nonce) noexcept {
    rte_mbuf *m = rte_pktmbuf_alloc(pool_->mempool());
    if (m == nullptr) return false;
    auto *p = reinterpret_cast<std::byte *>(rte_pktmbuf_append(m, depart_len));
    if (p == nullptr) {
        rte_pktmbuf_free(m);
        return false;
    }
    detail::make_depart_frame(std::span<std::byte, depart_len>(p, depart_len), mac_, kind, nonce);
    if (rte_eth_tx_burst(port_, 0, &m, 1) == 1) return true;
    rte_pktmbuf_free(m);
    return false;
}

void dpdk_device::on_link_frame(std::uint8_t kind, std::uint32_t nonce) noexcept {
    // An acknowledgment outside depart() is late (it gave up waiting): nothing to do. A departure with
    // this end's own nonce is its echo (a forwarding peer such as testpmd).
    if (kind != detail::depart_kind_leaving || (nonce_ != 0 && nonce == nonce_)) return;
    const bool acked = send_link_frame(detail::depart_kind_ack, nonce);
    park_.peer_leaving(std::chrono::steady_clock::now());
    ++stats_.peer_departures;
    DEMI_LOG(info, "catnip", "port %u: the memif peer is leaving (%s): RX and TX paused until its link comes back",
             port_, acked ? "acknowledged" : "acknowledgment not sent: TX ring full or no mbuf");
}

bool dpdk_device::still_parked() noexcept {
    if (park_.has_departed()) return true; // the link state is not even read
    switch (park_.check(link_up(), std::chrono::steady_clock::now(), park_limit)) {
    case detail::park_tracker::outcome::parked:
        return true;
    case detail::park_tracker::outcome::resumed_at_limit:
        DEMI_LOG(warn, "catnip", "port %u: the memif peer announced its departure %lld s ago and is still connected: "
                 "RX and TX resume", port_, static_cast<long long>(park_limit.count()));
        return false;
    case detail::park_tracker::outcome::resumed_link_back:
        DEMI_LOG(info, "catnip", "port %u: memif link up again: RX and TX resumed", port_);
        return false;
    }
    return true;
}

void dpdk_device::depart() noexcept {
    if (!memif_ || park_.has_departed()) return;
    // The peer left first (its link has not come back), or there is none: nobody to tell.
    const bool nobody = (park_.parked() && still_parked()) || !link_up();
    park_.departed(); // from here on this end touches the rings only below
    if (nobody) return;
    nonce_ = static_cast<std::uint32_t>(rte_rand()) | 1u;
    const auto t0 = std::chrono::steady_clock::now();
    const auto ms = [&t0] {
        return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    };
    // The departure may not go at once: a memif server can send only into slots its client gave back,
    // which a client that never received has not. Polling here gives them back on this end, and the
    // send is retried. Whatever else arrives goes: the stack is gone or no longer polled.
    bool sent = false, acked = false, peer_leaving = false;
    bool owe_ack = false;       // the peer's departure (owed_nonce) is not acknowledged yet
    std::uint32_t owed_nonce = 0;
    while (std::chrono::steady_clock::now() - t0 < depart_wait) {
        if (!sent) sent = send_link_frame(detail::depart_kind_leaving, nonce_);
        rte_mbuf *pkts[burst];
        const std::uint16_t got = rte_eth_rx_burst(port_, 0, pkts, burst);
        for (std::uint16_t i = 0; i < got; ++i) {
            const auto *b = rte_pktmbuf_mtod(pkts[i], const std::byte *);
            if (auto f = detail::read_depart_frame({b, pkts[i]->data_len})) {
                if (f->kind == detail::depart_kind_ack && f->nonce == nonce_) {
                    acked = true;
                } else if (f->kind == detail::depart_kind_leaving && f->nonce != nonce_ && !peer_leaving) {
                    owe_ack = true; // both ends leave at once
                    owed_nonce = f->nonce;
                    peer_leaving = true;
                }
            }
            rte_pktmbuf_free(pkts[i]);
        }
        // The peer's acknowledgment goes only after this end's departure (one ring, in order): whoever
        // has its acknowledgment first has then seen the other's departure, and sent or owes its
        // acknowledgment, so neither leaves while the other still waits on the rings. Retried until
        // the ring takes it.
        if (sent && owe_ack && send_link_frame(detail::depart_kind_ack, owed_nonce)) owe_ack = false;
        if (acked && !owe_ack) {
            DEMI_LOG(info, "catnip", "port %u: the memif peer acknowledged this end's departure in %.2f ms%s", port_, ms(),
                     peer_leaving ? " (it is leaving too)" : "");
            return;
        }
        if (!link_up()) {
            DEMI_LOG(info, "catnip", "port %u: the memif link went down %.2f ms into this end's departure (the peer left)",
                     port_, ms());
            return;
        }
        if (got == 0) std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
    DEMI_LOG(info, "catnip", "port %u: %s in %lld ms: leaving anyway", port_,
             !sent    ? "the departure frame found no room in the TX ring or no mbuf"
             : !acked ? "no acknowledgment of this end's departure from the memif peer (not a Demi process?)"
                      : "the peer's departure could not be acknowledged (TX ring full or no mbuf)",
             static_cast<long long>(depart_wait.count()));
}

size_t dpdk_device::transmit(std::span<buffer> frames) noexcept {
    if (park_.parked() && still_parked()) return 0; // left with the caller, as on a link down
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

void make_depart_frame(std::span<std::byte, 60> out, wire::ethernet_address src, std::uint8_t kind,
                       std::uint32_t nonce) noexcept {
    std::memset(out.data(), 0, out.size());
    std::memset(out.data(), 0xff, 6);
    src.write(out.data() + 6);
    out[12] = std::byte{0x88};
    out[13] = std::byte{0xb6};
    std::memcpy(out.data() + 14, depart_magic, 4);
    out[18] = static_cast<std::byte>(kind);
    for (int i = 0; i < 4; ++i) out[19 + i] = static_cast<std::byte>(nonce >> (24 - 8 * i));
}

std::optional<depart_frame> read_depart_frame(std::span<const std::byte> frame) noexcept {
    if (frame.size() < 23 || frame[12] != std::byte{0x88} || frame[13] != std::byte{0xb6} ||
        std::memcmp(frame.data() + 14, depart_magic, 4) != 0)
        return std::nullopt;
    const auto kind = static_cast<std::uint8_t>(frame[18]);
    if (kind != depart_kind_leaving && kind != depart_kind_ack) return std::nullopt;
    std::uint32_t nonce = 0;
    for (int i = 0; i < 4; ++i) nonce = nonce << 8 | static_cast<std::uint32_t>(frame[19 + i]);
    return depart_frame{kind, nonce};
}

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
