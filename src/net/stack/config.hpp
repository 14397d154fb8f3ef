// Configuration and counters of a network interface (ARP, IPv4, ICMP, UDP). Plain values; durations
// are demi::duration so the caller's clock (real or simulated) drives every timer.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "net/wire/address.hpp"
#include "net/wire/checksum.hpp"

#include <demi/buffer.hpp>

namespace demi::net {

using wire::ethernet_address;
using wire::ipv4_address;

/// Makes a buffer of `size` bytes with `headroom` bytes before it (heap, mbuf pool, umem, ...).
using buffer_allocator = result<buffer> (*)(size_t size, size_t headroom) noexcept;

struct arp_config {
    /// How long a learned entry is used before it is resolved again. RFC 1122 §2.3.2.1 asks for a
    /// timeout on cache entries without fixing a value; 60 s is in the usual range.
    duration entry_ttl_ = std::chrono::seconds(60);
    /// Requests sent after the first when no reply comes (RFC 1122 §2.3.2.1: retransmissions are
    /// rate-limited, here to one per retry_interval_).
    uint32_t request_retries_ = 3;
    duration retry_interval_ = std::chrono::seconds(1);
    /// Packets held per unresolved address (RFC 1122 §2.3.2.2: "SHOULD save at least one"); one more
    /// pushes the oldest out (dropped and counted). 64 lets a burst of connections or datagrams to a new
    /// peer through its first resolution (Linux holds about 100).
    size_t max_pending_per_address_ = 64;
    /// Addresses being resolved at once; a send to one more fails with ENOBUFS.
    size_t max_pending_addresses_ = 64;
    /// Learned entries; when full, the entry closest to expiry is replaced.
    size_t max_entries_ = 1024;
};

struct reassembly_config {
    /// Bytes of fragment data held across all datagrams being reassembled.
    size_t max_bytes_ = 256 * 1024;
    /// Datagrams being reassembled at once.
    size_t max_datagrams_ = 32;
    /// RFC 1122 §3.3.2: a fixed reassembly timeout, recommended between 60 and 120 s; 30 s (Linux's
    /// ipfrag_time) keeps memory held by lost fragments shorter. Configurable.
    duration timeout_ = std::chrono::seconds(30);
};

struct udp_config {
    /// Datagrams queued per socket until the application takes them; more are dropped and counted.
    size_t recv_queue_limit_ = 256;
    /// The ephemeral range (RFC 6335 §6: 49152-65535; RFC 6056 §3.2 recommends using the whole
    /// 1024-65535 range where possible, configurable here).
    uint16_t ephemeral_first_ = 49152;
    uint16_t ephemeral_last_ = 65535;
};

struct interface_config {
    ethernet_address mac_;
    ipv4_address addr_;
    unsigned prefix_len_ = 24;
    /// Next hop for destinations outside addr_/prefix_len_; unspecified means none (EHOSTUNREACH).
    ipv4_address gateway_;
    /// Largest IPv4 datagram sent in one frame (the Ethernet payload), RFC 894.
    uint16_t mtu_ = 1500;
    uint8_t ttl_ = 64;
    wire::checksum_caps caps_;
    /// Entries that never expire and are never overwritten by received ARP packets.
    std::vector<std::pair<ipv4_address, ethernet_address>> static_arp_;
    arp_config arp_;
    reassembly_config reassembly_;
    udp_config udp_;
    /// Frames waiting for the next poll(); more are dropped and counted.
    size_t max_tx_queue_ = 4096;
    /// Outstanding pings remembered for matching replies; the oldest is forgotten beyond this.
    size_t max_outstanding_pings_ = 64;
    /// Where frames built by the stack get their memory.
    buffer_allocator allocate_ = nullptr; // nullptr: heap (mem::heap_allocate)
};

/// Counters, each only ever increasing. Every dropped packet increments exactly one *_drops_ counter.
struct interface_stats {
    uint64_t rx_frames_ = 0;
    uint64_t tx_frames_ = 0;
    uint64_t rx_malformed_drops_ = 0;     // a header that does not parse
    uint64_t rx_not_for_us_drops_ = 0;    // another MAC or IPv4 destination
    uint64_t rx_unsupported_drops_ = 0;   // EtherType, protocol or message type not handled
    uint64_t rx_bad_checksum_drops_ = 0;
    uint64_t arp_requests_sent_ = 0;
    uint64_t arp_replies_sent_ = 0;
    uint64_t arp_resolution_failures_ = 0;  // addresses given up on after the last retry
    uint64_t arp_unresolved_drops_ = 0;     // packets dropped with them, or for a full pending queue
    uint64_t frag_sent_ = 0;                // fragments sent (datagrams larger than the MTU)
    uint64_t frag_received_ = 0;
    uint64_t frag_reassembled_ = 0;
    uint64_t frag_drops_ = 0;               // fragments dropped (overlap, bounds, malformed)
    uint64_t frag_timeouts_ = 0;            // datagrams given up on after the timeout
    uint64_t icmp_echo_replies_sent_ = 0;
    uint64_t icmp_unreachable_sent_ = 0;
    uint64_t icmp_unreachable_received_ = 0;
    uint64_t udp_delivered_ = 0;
    uint64_t udp_no_port_drops_ = 0;
    uint64_t udp_queue_full_drops_ = 0;
    uint64_t udp_template_sends_ = 0;       // datagrams sent with a socket's header template
    uint64_t tcp_delivered_ = 0;
    uint64_t tcp_no_handler_drops_ = 0;
    uint64_t tx_queue_full_drops_ = 0;
    uint64_t tx_alloc_failures_ = 0;
    uint64_t local_delivered_ = 0;          // datagrams to ourselves, delivered without the device
};

} // namespace demi::net
