// A network interface of Demi's user-space stack: one Ethernet port with one IPv4 address. It answers
// ARP and ICMP echo, resolves next hops (directly on the subnet, else via the default gateway),
// reassembles IPv4 fragments, runs UDP sockets, pings, and hands TCP segments to a tcp_hook.
//
// Driven by the caller and pure (DESIGN.md §2-3): receive(frame, now) takes a frame from the device;
// poll(now, emit) runs the timers due at `now` and hands every frame built since the last poll to
// `emit`; poll_at() says when poll next has work. No clock is read and no OS header is included;
// randomness (ephemeral ports, IPv4 identification) comes from the rng given at construction.
//
// Local delivery (like Linux's loopback device): an IPv4 datagram to our own address or to 127.0.0.0/8
// never reaches the device. send_ipv4 queues it, whole (the loopback link takes datagrams up to 65535
// bytes, so nothing is fragmented), and the next poll() hands it to receive's IPv4 path: no recursion,
// and a reply built while it is delivered waits for the poll after. Datagrams to 127.0.0.0/8 carry
// their destination as source address; 127.0.0.0/8 from the wire is dropped (RFC 1122 §3.2.1.3).
//
// Outgoing frames: headers are prepended into the payload buffer's headroom when it has room and the
// stack holds the buffer's only reference (no copy, and no other view of the block can see the headers
// being written); otherwise the payload is copied into a new buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "net/stack/arp_cache.hpp"
#include "net/stack/config.hpp"
#include "net/stack/reassembly.hpp"
#include "net/stack/tcp_hook.hpp"
#include "net/stack/udp.hpp"
#include "net/wire/arp.hpp"
#include "net/wire/ethernet.hpp"
#include "net/wire/icmpv4.hpp"
#include "net/wire/ipv4.hpp"
#include "memory/pool.hpp"

#include <demi/buffer.hpp>

namespace demi::net {

/// Headroom an outgoing payload needs for Ethernet + IPv4 (20-byte header) + UDP headers.
inline constexpr size_t udp_headroom = 14 + 20 + 8;

/// The answer to one of our pings.
struct echo_reply {
    ipv4_address from_;
    uint16_t ident_ = 0;
    uint16_t seq_no_ = 0;
    time_point sent_;
    time_point received_;
    size_t data_len_ = 0;
};

class interface {
public:
    /// `random` must outlive the interface (it may be shared with the TCP core).
    interface(interface_config cfg, rng &random);
    interface(const interface &) = delete;
    interface &operator=(const interface &) = delete;

    [[nodiscard]] const interface_config &config() const noexcept { return cfg_; }
    [[nodiscard]] const interface_stats &stats() const noexcept { return stats_; }
    [[nodiscard]] ethernet_address mac() const noexcept { return cfg_.mac_; }
    [[nodiscard]] ipv4_address addr() const noexcept { return cfg_.addr_; }
    /// A buffer for something to transmit: from the configured allocator (a NIC's DMA pool), else from
    /// this interface's pool of 2 KiB blocks (larger ones from the heap). Counted as a failure when
    /// refused.
    result<buffer> allocate(size_t size, size_t headroom);
    /// Whether datagrams to `a` are delivered locally: our address or 127.0.0.0/8.
    [[nodiscard]] bool is_local(ipv4_address a) const noexcept { return a == cfg_.addr_ || a.is_loopback(); }
    /// The source address of datagrams to `dst`: `dst` itself for 127.0.0.0/8, else our address.
    [[nodiscard]] ipv4_address source_for(ipv4_address dst) const noexcept { return dst.is_loopback() ? dst : cfg_.addr_; }
    /// Local datagrams waiting for the next poll().
    [[nodiscard]] size_t local_queued() const noexcept { return local_.size(); }
    /// Frames waiting in the transmit queue for the next poll().
    [[nodiscard]] size_t tx_queued() const noexcept { return tx_.size(); }
    [[nodiscard]] bool tx_idle() const noexcept { return tx_.empty(); }

    // ---- driving ----

    /// Takes one received Ethernet frame (without FCS). Replies are queued for the next poll().
    void receive(buffer frame, time_point now);
    /// Runs the timers due at `now` (ARP retries and give-ups, reassembly timeouts), then calls
    /// `emit(buffer &&frame)` for each queued frame, in order.
    template <class Emit>
    void poll(time_point now, Emit &&emit) {
        // The timers only exist while an address is being resolved or a datagram reassembled.
        if (arp_.resolving_any() || reasm_.datagrams() != 0) run_timers(now);
        if (!local_.empty()) deliver_local(now);
        take_queued(emit);
    }
    /// Calls `emit(buffer &&frame)` for each queued frame, in order (poll() without its timers and
    /// local deliveries).
    template <class Emit>
    void take_queued(Emit &&emit) {
        while (!tx_.empty()) {
            buffer f = std::move(tx_.front());
            tx_.pop_front();
            ++stats_.tx_frames_;
            emit(std::move(f));
        }
    }
    /// When poll() next has work: time_point::min() if frames (or local datagrams) are queued, else the earliest timer,
    /// else nothing.
    [[nodiscard]] std::optional<time_point> poll_at() const noexcept;

    // ---- IPv4 output (for the TCP core) ----

    /// Sends `payload` (a transport header and data) to `dst` as one IPv4 datagram from our address.
    /// ENETUNREACH off-subnet without a gateway, EMSGSIZE above the MTU (no fragmentation on send),
    /// ENOBUFS when queues are full, ENOMEM when no buffer could be had. A datagram waiting for ARP
    /// counts as sent; if resolution fails it is dropped and counted (arp_unresolved_drops_).
    result<void> send_ipv4(time_point now, ipv4_address dst, wire::ip_protocol protocol, buffer payload) {
        return send_ipv4(now, dst, protocol, std::move(payload), nullptr);
    }
    /// As above, but when the frame can go at once (the next hop is resolved and no frame is queued for
    /// poll()) it is not queued: it is moved to `*direct` for the caller to hand to the device before
    /// the frames of the next poll(). Counted in tx_frames_ like the frames poll() emits. With `direct`
    /// null, the same as above.
    result<void> send_ipv4(time_point now, ipv4_address dst, wire::ip_protocol protocol, buffer payload,
                           buffer *direct);
    // ---- prebuilt frames (the host's ACK template) ----
    // A caller that keeps a copy of a frame send_ipv4 handed back through `direct` may send the same
    // frame again with only its IPv4 ident (take_ipv4_ident) and transport fields changed, bypassing
    // send_ipv4, as long as: direct_ready() now, arp_generation() is what it was when the frame was
    // built and `now` is before next_hop_valid_until(dst, built_at). It then calls count_direct().

    /// Until when send_ipv4(dst) sends to the next hop it resolves at `now` (the ARP entry's expiry,
    /// time_point::max() for a static one); nothing for broadcast, unroutable or unresolved addresses.
    [[nodiscard]] std::optional<time_point> next_hop_valid_until(ipv4_address dst, time_point now) const noexcept;
    [[nodiscard]] std::uint64_t arp_generation() const noexcept { return arp_.generation(); }
    /// No frame queued for poll(): a frame may go to the device at once.
    [[nodiscard]] bool direct_ready() const noexcept { return tx_.empty(); }
    /// The ident send_ipv4 would give the next datagram (and consumes it).
    [[nodiscard]] uint16_t take_ipv4_ident() noexcept { return next_ident_++; }
    /// Counts a prebuilt frame sent directly (tx_frames_).
    void count_direct() noexcept { ++stats_.tx_frames_; }

    /// Receives TCP segments from now on (nullptr: none; segments are then dropped and counted).
    void set_tcp_hook(tcp_hook *hook) noexcept { tcp_ = hook; }

    // ---- UDP sockets ----

    udp_socket_id udp_open() { return udp_.open(); }
    /// Binds to our address or INADDR_ANY; port 0 picks a random free ephemeral port (RFC 6056 §3.3.1).
    result<udp_endpoint> udp_bind(udp_socket_id id, ipv4_address addr, uint16_t port) {
        return udp_.bind(id, addr, port, cfg_.addr_, *rng_);
    }
    result<void> udp_close(udp_socket_id id) { return udp_.close(id); }
    [[nodiscard]] result<udp_endpoint> udp_local(udp_socket_id id) const { return udp_.local(id); }
    /// Sends `payload` to `dst` (an unbound socket is first bound to INADDR_ANY and an ephemeral port).
    result<void> udp_sendto(time_point now, udp_socket_id id, udp_endpoint dst, buffer payload);
    /// As above for a caller whose exact time costs a clock read: when the socket's header template
    /// for `dst` holds at `recent` (a time that may lag the clock; it only decides whether the next
    /// hop's ARP entry is still fresh) the datagram goes with it, else `now()` is asked for the time
    /// of the generic path (ARP timers).
    template <class Now>
    result<void> udp_sendto(time_point recent, Now &&now, udp_socket_id id, udp_endpoint dst, buffer payload) {
        if (udp_header_template *t = udp_template_for(recent, id, dst, payload.size()))
            return send_from_udp_template(*t, std::move(payload));
        return udp_sendto(now(), id, dst, std::move(payload));
    }
    /// As above, copying `data` into a new buffer.
    result<void> udp_sendto(time_point now, udp_socket_id id, udp_endpoint dst, std::span<const std::byte> data);
    /// The oldest received datagram; EAGAIN when none.
    result<udp_datagram> udp_recv(udp_socket_id id) { return udp_.recv(id); }
    [[nodiscard]] uint64_t udp_drops(udp_socket_id id) const { return udp_.drops(id); }
    /// Received datagrams no socket's owner has taken yet (all sockets).
    [[nodiscard]] size_t udp_queued() const noexcept { return udp_.queued_total(); }

    // ---- ping ----

    /// Sends an ICMP echo request (RFC 792) with `data`; the matching reply (same source, identifier,
    /// sequence number and data) shows up in take_echo_reply().
    result<void> ping(time_point now, ipv4_address dst, uint16_t ident, uint16_t seq_no,
                      std::span<const std::byte> data);
    /// The oldest matched echo reply not taken yet.
    std::optional<echo_reply> take_echo_reply();

    // ---- ARP and reassembly state ----

    void add_static_arp(ipv4_address ip, ethernet_address mac) { arp_.add_static(ip, mac); }
    [[nodiscard]] std::optional<ethernet_address> arp_lookup(ipv4_address ip, time_point now) const noexcept {
        return arp_.lookup(ip, now);
    }
    [[nodiscard]] const arp_cache &arp() const noexcept { return arp_; }
    [[nodiscard]] const reassembler &reassembly() const noexcept { return reasm_; }

private:
    struct outstanding_ping {
        ipv4_address dst_;
        uint16_t ident_;
        uint16_t seq_no_;
        time_point sent_;
        std::vector<std::byte> data_;
    };

    void run_timers(time_point now);
    void receive_arp(std::span<const std::byte> packet, time_point now);
    /// `local`: a datagram of our own (local delivery), not from the device.
    void receive_ipv4(const buffer &frame, size_t offset, time_point now, bool local = false);
    /// Hands the datagrams queued for local delivery before this call to receive_ipv4.
    void deliver_local(time_point now);
    /// The largest IPv4 datagram to `dst`: the MTU, or 65535 on the loopback path.
    [[nodiscard]] size_t mtu_for(ipv4_address dst) const noexcept { return is_local(dst) ? 65535 : cfg_.mtu_; }
    /// Hands a complete datagram (its header bytes `header` when known, for ICMP errors) to its protocol.
    void dispatch(time_point now, const wire::ipv4_repr &ip, std::span<const std::byte> header, buffer payload);
    void receive_icmp(time_point now, const wire::ipv4_repr &ip, const buffer &payload);
    void receive_udp(time_point now, const wire::ipv4_repr &ip, std::span<const std::byte> header,
                     const buffer &payload);
    /// ICMP destination unreachable quoting the datagram's header and data (RFC 792; RFC 1812 §4.3.2.3).
    void send_unreachable(time_point now, const wire::ipv4_repr &ip, std::span<const std::byte> header,
                          std::span<const std::byte> data, wire::icmpv4_unreachable code);

    [[nodiscard]] bool is_broadcast(ipv4_address a) const noexcept;
    /// The next hop send_ipv4 takes to a unicast destination on the wire (itself on our subnet, else
    /// the gateway); nothing for local, broadcast, multicast or unroutable destinations.
    [[nodiscard]] std::optional<ipv4_address> unicast_next_hop(ipv4_address dst) const noexcept;
    /// A buffer holding `payload`'s bytes with at least `headroom` bytes before them: `payload` itself
    /// when that is safe (see the file comment), else a copy.
    result<buffer> with_headroom(buffer payload, size_t headroom);
    /// Computes the IPv4, TCP and UDP checksums a transmit offload left to the device, in place.
    void fill_offloaded_checksums(const buffer &packet) const noexcept;
    /// The header of an unfragmented datagram of ours (TTL from the configuration).
    [[nodiscard]] wire::ipv4_repr ipv4_header(ipv4_address src, ipv4_address dst, wire::ip_protocol protocol,
                                              size_t payload_len, uint16_t ident) const noexcept;
    /// Sends `payload` (larger than the MTU) in IPv4 fragments (RFC 791 §3.2); EMSGSIZE for TCP.
    result<void> send_fragments(time_point now, ipv4_address dst, wire::ip_protocol protocol, const buffer &payload,
                                ipv4_address next_hop, bool resolved, ethernet_address dst_mac);
    /// Hands a built IPv4 packet to the link: to `dst_mac` when `resolved`, else through the ARP cache
    /// (held while `next_hop` resolves, RFC 1122 §2.3.2.2).
    result<void> to_next_hop(time_point now, buffer packet, ipv4_address next_hop, bool resolved,
                             ethernet_address dst_mac, buffer *direct);
    /// The socket's header template when it holds for `dst` at `now` and a payload of `size` bytes
    /// fits one frame; nullptr otherwise.
    udp_header_template *udp_template_for(time_point now, udp_socket_id id, udp_endpoint dst, size_t size) noexcept;
    /// Fills `t` with the headers of a datagram from `src_port` to `dst` when `dst` is routed through a
    /// resolved next hop (not local, not broadcast); false (and `t` empty) otherwise.
    bool build_udp_template(udp_header_template &t, uint16_t src_port, udp_endpoint dst, time_point now);
    /// Sends `payload` (at most the MTU with its headers) with `t`'s headers: queued for poll().
    result<void> send_from_udp_template(const udp_header_template &t, buffer payload);
    /// Builds the IPv4 header and queues the datagram for local delivery.
    result<void> send_local(ipv4_address dst, wire::ip_protocol protocol, buffer payload);
    /// A frame dropped because poll()'s queue is full: counted and logged; ENOBUFS.
    demi::error drop_tx_queue_full() noexcept;
    /// Prepends the Ethernet header and queues the frame.
    result<void> transmit(buffer packet, ethernet_address dst, wire::ethertype type, buffer *direct = nullptr);
    void send_arp(wire::arp_operation op, ethernet_address dst_mac, ethernet_address target_mac,
                  ipv4_address target_ip);

    interface_config cfg_;
    mem::block_pool pool_; // frames and packets built here, unless cfg_.allocate_ is set
    rng *rng_;
    interface_stats stats_;
    arp_cache arp_;
    reassembler reasm_;
    udp_table udp_;
    tcp_hook *tcp_ = nullptr;
    std::deque<buffer> tx_;
    std::deque<buffer> local_; // IPv4 datagrams to ourselves (local delivery)
    std::deque<outstanding_ping> pings_;
    std::deque<echo_reply> echo_replies_;
    uint16_t next_ident_;
    arp_cache::poll_result arp_work_; // reused by run_timers
    std::deque<buffer> released_;     // reused: packets released by ARP resolution
};

} // namespace demi::net
