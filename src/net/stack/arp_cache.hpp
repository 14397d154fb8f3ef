// The ARP cache of one interface (RFC 826, RFC 1122 §2.3.2): static entries, learned entries with a
// time to live, and addresses being resolved, each with its retry timer and a bounded queue of the
// IPv4 packets waiting for the answer. Pure: time is a parameter; the interface sends the requests
// and the released packets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "net/stack/config.hpp"

#include <demi/buffer.hpp>

namespace demi::net {

class arp_cache {
public:
    explicit arp_cache(const arp_config &cfg) noexcept : cfg_(cfg) {}

    /// A permanent entry (never expires, never overwritten by received ARP packets).
    void add_static(ipv4_address ip, ethernet_address mac);
    /// The hardware address of `ip` if a static entry or an unexpired learned one holds it.
    [[nodiscard]] std::optional<ethernet_address> lookup(ipv4_address ip, time_point now) const noexcept;

    /// Until when lookup(ip, ·) keeps returning what it returns at `now` (time_point::max() for a static
    /// entry), provided generation() does not change; nothing if lookup(ip, now) finds nothing.
    [[nodiscard]] std::optional<time_point> valid_until(ipv4_address ip, time_point now) const noexcept;
    /// Changes whenever an entry is added, changed, refreshed or removed.
    [[nodiscard]] std::uint64_t generation() const noexcept { return generation_; }

    /// RFC 826 "Packet Reception": if `ip` is already in the table (an entry or an address being
    /// resolved), its hardware address is updated (static entries excepted) and the result is true
    /// (the merge flag). With `create` (the packet was addressed to us) a missing entry is added.
    /// Packets that were waiting for `ip` are appended to `released`, oldest first.
    bool learn(ipv4_address ip, ethernet_address mac, time_point now, bool create, std::deque<buffer> &released);

    enum class enqueue_status : uint8_t {
        queued_request_now, ///< first packet for the address: the caller sends a request now
        queued,             ///< a request is already outstanding
        queued_dropped_oldest, ///< queued; the per-address queue was full, so its oldest packet was dropped
        too_many_pending,   ///< too many addresses being resolved: the packet was dropped
    };
    /// Holds `packet` (an IPv4 datagram) until `ip` resolves or resolution fails (RFC 1122 §2.3.2.2).
    /// A full per-address queue makes room by dropping its oldest packet (as Linux's neighbour queue
    /// does): the newest data is the most useful once the address resolves, and a sender is not
    /// failed for a queue it cannot see.
    enqueue_status enqueue(ipv4_address ip, buffer packet, time_point now);

    /// Timer work due at `now`: addresses to send another request for, and addresses given up on
    /// after request_retries_ retransmissions, each with the number of packets dropped with it.
    struct poll_result {
        std::vector<ipv4_address> requests_;
        std::vector<std::pair<ipv4_address, size_t>> failed_;
        void clear() noexcept {
            requests_.clear();
            failed_.clear();
        }
    };
    void poll(time_point now, poll_result &out);
    /// The next retry or give-up deadline, if any address is being resolved.
    [[nodiscard]] std::optional<time_point> poll_at() const noexcept;

    [[nodiscard]] bool resolving(ipv4_address ip) const noexcept { return pending_.contains(ip); }
    /// True while any address is being resolved (poll() has nothing to do otherwise).
    [[nodiscard]] bool resolving_any() const noexcept { return !pending_.empty(); }
    [[nodiscard]] size_t size() const noexcept { return entries_.size(); }

private:
    struct entry {
        ethernet_address mac_;
        time_point expires_;
        bool static_ = false;
    };
    struct pending {
        std::deque<buffer> packets_;
        uint32_t requests_sent_ = 0;
        time_point next_deadline_;
    };

    void insert(ipv4_address ip, ethernet_address mac, time_point now);

    arp_config cfg_;
    std::unordered_map<ipv4_address, entry> entries_;
    std::unordered_map<ipv4_address, pending> pending_;
    std::uint64_t generation_ = 0;
};

} // namespace demi::net
