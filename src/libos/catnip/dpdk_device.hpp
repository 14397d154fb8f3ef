// catnip: a phy::device over one DPDK ethdev port (one RX and one TX queue, bursts of 32).
//
// Frames are mbufs of an mbuf_pool seen as demi::buffers (mbuf_pool.hpp):
// - receive() wraps each received mbuf in a buffer, no copy. A frame spread over several segments
//   (which the configuration avoids: the pool's data room holds one MTU-sized frame and scatter is
//   not enabled) is dropped and counted (rx_multiseg_drops), not linearised.
// - transmit() of an mbuf-backed buffer sends that mbuf, no copy: its data_off/data_len/pkt_len are set
//   from the buffer's offset and length. When the buffer is the block's only reference and the mbuf is
//   not in flight elsewhere, the mbuf itself goes to the TX ring (its refcnt takes over the buffer's
//   reference); when the block is shared (the stack or the application still holds another view, e.g.
//   for retransmission), an indirect mbuf attached to it goes, so every frame in flight keeps its own
//   offset and length (tx_indirect). Any other buffer (heap) is copied into a fresh mbuf (tx_copies).
//   Frames the TX ring does not take are left with the caller, untouched (device.hpp's contract).
// - Checksum offloads: enabled on the port and reported by caps() only for what the port reports in
//   rx/tx_offload_capa (IPv4 header, TCP, UDP); the rest is left to the stack. With a TX L4 offload the
//   stack writes the pseudo-header sum into the checksum field (wire::checksum_caps::
//   tx_pseudo_header_seed_), which is what RTE_MBUF_F_TX_TCP_CKSUM / _UDP_CKSUM expect, and the device
//   sets ol_flags and l2_len/l3_len on each IPv4 frame.
//
// Keys: dpdk.port_id (default 0), demikernel.local_link_addr (set on the port; EINVAL if the PMD
// refuses), inetstack_config.mtu (set on the port; EINVAL if refused; a PMD without an MTU setting of
// its own, such as net_memif or net_ring, takes it as is: the MTU is then the stack's alone), dpdk.link_wait_ms (how long
// open() waits for the link to come up, default 2000; a link still down is logged, not an error),
// dpdk.rx_descriptors / dpdk.tx_descriptors (default 1024). Over net_memif a frame of the MTU must fit
// one memif buffer (the vdev's bsize=, default 2048), else EINVAL: DPDK 22.11's memif chaining several
// buffers per frame delivered frames twice and crashed in its receive burst.
//
// Leaving a memif link. When one end of a memif pair goes away, the other end's EAL interrupt thread
// runs memif's disconnect, which unmaps the shared rings with no synchronisation with the lcore: an
// rte_eth_rx_burst (or tx) already past memif's "connected" check then reads unmapped memory
// (SIGSEGV; seen here in 2 of 70 exits of a peer). So a Demi end of a memif link says goodbye:
// - depart(), at process exit (the port is never closed: catnip.cpp) and in the destructor, sends a
//   departure frame (EtherType 0x88B6, IEEE 802 local experimental 2: "DEMI", kind 1, a nonce) and
//   waits up to depart_wait for the peer's acknowledgment (kind 2, the same nonce), polling RX (which
//   gives a memif server's TX its slots back) and retrying a send the TX ring refused. When both ends
//   leave at once, each acknowledges the other's departure (only after its own departure frame went,
//   retried until the ring takes it) and still waits for its own. A departed device stays parked.
//   The exit handler leaves alone a port a libOS instance still holds (its thread may be polling).
// - A device that receives a departure acknowledges it, then parks: receive() and transmit() return
//   0 without a burst (only the link state is read) until the link has been seen down and then up
//   again (a new peer, fresh rings), or park_limit passes without the link going down (logged; also
//   the bound when a reconnect falls between two polls). Departure frames never reach the stack.
//   Peers that are not Demi (testpmd) ignore or echo the frame (an echo carries this end's own nonce
//   and is ignored); the leaving end then waits depart_wait and goes anyway.
// A peer that dies without exiting (SIGKILL) still disconnects unannounced: that race is memif's. The
// frame is broadcast: a forwarder between two memif links (testpmd io mode) would carry one end's
// departure to the far link, whose Demi end would park for park_limit.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "common/result.hpp"
#include "libos/catnip/mbuf_pool.hpp"
#include "net/phy/device.hpp"
#include "runtime/config.hpp"

namespace demi::catnip {

struct dpdk_device_stats {
    std::uint64_t rx_frames = 0;
    std::uint64_t rx_polls = 0;          ///< rte_eth_rx_burst calls
    std::uint64_t rx_bursts = 0;         ///< of those, calls that returned frames (rx_frames / rx_bursts per burst)
    std::uint64_t rx_multiseg_drops = 0; ///< frames in more than one mbuf, dropped
    std::uint64_t rx_bad_checksum_drops = 0; ///< frames the NIC flagged with a bad IPv4 or L4 checksum (RX offload)
    std::uint64_t tx_frames = 0;         ///< frames the TX ring took
    std::uint64_t tx_bursts = 0;         ///< rte_eth_tx_burst calls
    std::uint64_t tx_zero_copy = 0;      ///< of those, mbuf-backed frames sent without a copy (direct or indirect)
    std::uint64_t tx_indirect = 0;       ///< of those, sent through an indirect mbuf (shared block)
    std::uint64_t tx_copies = 0;         ///< non-mbuf frames copied into an mbuf
    std::uint64_t tx_full = 0;           ///< transmit() calls the TX ring did not take every frame of
    std::uint64_t tx_oversize_drops = 0; ///< frames larger than an mbuf's room or the MTU, taken and dropped
    std::uint64_t tx_pool_exhausted = 0; ///< no mbuf for a copy or an indirect mbuf: the frame was left with the caller
    std::uint64_t tx_offloaded = 0;      ///< frames sent with checksum offload flags
    std::uint64_t peer_departures = 0;   ///< departures announced by the memif peer (each parked the port)
};

namespace detail {
/// The parking of a memif port whose peer announced its departure (above), apart from the port so
/// that it is tested without a link: paused until the link has been seen down and then up again,
/// or until a limit passes without the link ever seen down; a port that departed itself stays paused.
class park_tracker {
public:
    using time_point = std::chrono::steady_clock::time_point;
    enum class outcome : std::uint8_t { parked, resumed_link_back, resumed_at_limit };

    /// The peer announced its departure at `now` (again while parked: the wait starts over).
    void peer_leaving(time_point now) noexcept {
        state_ = state::until_down;
        since_ = now;
    }
    /// This end announced its own departure: paused for good.
    void departed() noexcept { state_ = state::departed; }
    [[nodiscard]] bool parked() const noexcept { return state_ != state::none; }
    [[nodiscard]] bool has_departed() const noexcept { return state_ == state::departed; }
    /// For a parked port, the link's state now: whether it stays parked, or how it resumed.
    outcome check(bool link_up, time_point now, std::chrono::steady_clock::duration limit) noexcept {
        switch (state_) {
        case state::none:
            return outcome::resumed_link_back; // not parked (callers check parked() first)
        case state::departed:
            return outcome::parked;
        case state::until_down:
            if (!link_up) {
                state_ = state::until_up; // the disconnect has begun: wait for fresh rings
                return outcome::parked;
            }
            if (now - since_ < limit) return outcome::parked;
            state_ = state::none;
            return outcome::resumed_at_limit;
        case state::until_up:
            if (!link_up) return outcome::parked;
            state_ = state::none;
            return outcome::resumed_link_back;
        }
        return outcome::parked;
    }

private:
    enum class state : std::uint8_t { none, until_down, until_up, departed };
    state state_ = state::none;
    time_point since_{};
};
} // namespace detail

class dpdk_device final : public phy::device {
public:
    /// Configures and starts port dpdk.port_id (the EAL must run: eal_start) with `pool` for its receive
    /// buffers; `pool` must outlive the device. ENODEV for a port that does not exist; EINVAL when the
    /// port refuses the MTU or the MAC; the errno of the failing rte_eth_* call otherwise (logged).
    static result<std::unique_ptr<dpdk_device>> open(const rt::config &cfg, mbuf_pool &pool);
    /// Says goodbye to a memif peer (depart()), then stops and closes the port.
    ~dpdk_device() override;

    /// Over net_memif: announces this end's departure to the peer and waits (at most depart_wait) for
    /// its acknowledgment, after which the peer no longer touches the shared rings. Once per device;
    /// nothing on other PMDs, on a link that is down, or when the peer left first.
    void depart() noexcept;
    /// RX and TX paused: the memif peer announced its departure and its link has not come back, or
    /// this end departed.
    [[nodiscard]] bool parked() const noexcept { return park_.parked(); }
    /// A libOS instance holds the port (catnip's port lease); the exit handler then leaves it alone.
    void set_leased(bool on) noexcept { leased_.store(on, std::memory_order_relaxed); }
    [[nodiscard]] bool leased() const noexcept { return leased_.load(std::memory_order_relaxed); }

    size_t transmit(std::span<buffer> frames) noexcept override;
    size_t receive(std::span<buffer> out) noexcept override;
    [[nodiscard]] wire::ethernet_address mac() const noexcept override { return mac_; }
    [[nodiscard]] size_t mtu() const noexcept override { return mtu_; }
    [[nodiscard]] phy::checksum_caps caps() const noexcept override { return caps_; }

    /// The link state now (rte_eth_link_get_nowait).
    [[nodiscard]] bool link_up() const noexcept;
    [[nodiscard]] std::uint16_t port_id() const noexcept { return port_; }
    /// The PMD's name (e.g. "net_memif").
    [[nodiscard]] const char *driver_name() const noexcept;
    [[nodiscard]] const dpdk_device_stats &stats() const noexcept { return stats_; }
    [[nodiscard]] mbuf_pool &pool() const noexcept { return *pool_; }

    /// Bursts of at most this many frames per rte_eth_rx_burst / rte_eth_tx_burst call.
    static constexpr std::size_t burst = 32;
    /// How long depart() waits for the peer's acknowledgment.
    static constexpr std::chrono::milliseconds depart_wait{200};
    /// A parked port whose link has not gone down after this long resumes (the peer did not leave).
    static constexpr std::chrono::seconds park_limit{30};

private:
    dpdk_device(std::uint16_t port, mbuf_pool &pool, wire::ethernet_address mac, std::size_t mtu,
                phy::checksum_caps caps, bool memif) noexcept
        : port_(port), pool_(&pool), mac_(mac), mtu_(mtu), caps_(caps), memif_(memif) {}

    /// Parked: advances the state from the link's; true while RX and TX stay paused.
    bool still_parked() noexcept;
    bool send_link_frame(std::uint8_t kind, std::uint32_t nonce) noexcept;
    /// receive() met a departure-protocol frame: acknowledges a peer's departure and parks.
    void on_link_frame(std::uint8_t kind, std::uint32_t nonce) noexcept;

    std::uint16_t port_;
    mbuf_pool *pool_;
    wire::ethernet_address mac_;
    std::size_t mtu_;
    phy::checksum_caps caps_;
    bool memif_;
    std::atomic<bool> leased_{false};
    detail::park_tracker park_; // departed: this end announced its own departure (depart())
    std::uint32_t nonce_ = 0; // of this end's departure (0: none sent)
    dpdk_device_stats stats_;
};

namespace detail {
/// DPDK's side of the L4 checksum offload contract, for tests (values are host-order integers whose
/// big-endian encoding is on the wire, as in net/wire/checksum.hpp). For an untagged IPv4 frame carrying
/// TCP or UDP: what the checksum field holds, the pseudo-header sum DPDK wants there with
/// RTE_MBUF_F_TX_TCP_CKSUM / _UDP_CKSUM (rte_ipv4_phdr_cksum), and the full checksum DPDK computes in
/// software (rte_ipv4_udptcp_cksum, the field taken as zero).
struct l4_checksums {
    std::uint16_t field = 0;
    std::uint16_t pseudo_seed = 0;
    std::uint16_t full = 0;
};
[[nodiscard]] result<l4_checksums> dpdk_l4_checksums(std::span<const std::byte> frame) noexcept;
/// The buffer size net_memif uses for a vdev's arguments ("role=server,socket=...,bsize=9216"): the
/// last decimal bsize=, else memif's default 2048. open() refuses an MTU whose frame does not fit it.
[[nodiscard]] std::uint32_t memif_buffer_size(std::string_view devargs) noexcept;
/// The departure frame format (see above), for tests: a 60-byte frame of `kind` and `nonce` from `src`,
/// and the reading of one (nullopt: not a departure-protocol frame).
constexpr std::uint8_t depart_kind_leaving = 1, depart_kind_ack = 2;
void make_depart_frame(std::span<std::byte, 60> out, wire::ethernet_address src, std::uint8_t kind,
                       std::uint32_t nonce) noexcept;
struct depart_frame {
    std::uint8_t kind;
    std::uint32_t nonce;
};
[[nodiscard]] std::optional<depart_frame> read_depart_frame(std::span<const std::byte> frame) noexcept;
} // namespace detail

} // namespace demi::catnip
