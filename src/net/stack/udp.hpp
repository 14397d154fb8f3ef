// UDP sockets (RFC 768, RFC 1122 §4.1): a table of sockets bound to the interface's address or to
// INADDR_ANY, ephemeral ports picked at random from an injected rng (RFC 6056 §3.3.1), and a bounded
// queue of received datagrams per socket. Sending is the interface's job (interface::udp_sendto).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <unordered_map>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "net/stack/config.hpp"

#include <demi/buffer.hpp>

namespace demi::net {

/// Names a UDP socket of one interface. Ids of closed sockets may be reused.
using udp_socket_id = uint32_t;

struct udp_endpoint {
    ipv4_address addr_;
    uint16_t port_ = 0;
    friend bool operator==(const udp_endpoint &, const udp_endpoint &) noexcept = default;
};

/// A received datagram: who sent it, to which of our addresses, and its data (sharing the received
/// frame's memory when it was not reassembled).
struct udp_datagram {
    udp_endpoint src_;
    udp_endpoint dst_;
    buffer payload_;
};

/// The Ethernet, IPv4 and UDP headers of a socket's datagrams to one destination, built by the
/// interface (interface::udp_sendto) and valid while the next hop's ARP entry is: later datagrams to
/// that destination copy it and patch the lengths, the IPv4 ident and the checksums, instead of
/// routing, resolving and emitting each header again. `len_` 0: none.
struct udp_header_template {
    static constexpr std::size_t max_len = 14 + 20 + 8;
    std::array<std::byte, max_len> frame_{};
    std::uint8_t len_ = 0;
    udp_endpoint dst_;          // the destination it was built for
    time_point until_{};        // the next hop's ARP entry expires
    std::uint64_t arp_gen_ = 0; // the ARP cache's generation when built
    std::uint32_t ip_base_ = 0; // IPv4 header words but total length, ident and checksum
    std::uint32_t pseudo_ = 0;  // pseudo header but the UDP length (RFC 768)
    std::uint32_t udp_base_ = 0; // pseudo_ and the ports
};

/// A socket's header templates, one for each of the `max_entries` destinations it sent to most
/// recently (a server answering several clients in turn keeps one for each). A destination gets an
/// entry, without headers, on its first datagram and headers on its second while it still has the
/// entry, so a socket sending to ever new destinations builds none; the entry used longest ago makes
/// room for a new one.
class udp_template_cache {
public:
    static constexpr std::size_t max_entries = 16;
    static_assert(max_entries >= 2 && max_entries <= 256);

    /// The entry of `dst` (its headers may be unbuilt, len_ 0), or nullptr. Counts as a use.
    udp_header_template *find(udp_endpoint dst) noexcept {
        const std::uint64_t k = key(dst);
        if (mru_ < keys_.size() && keys_[mru_] == k) return &entries_[mru_];
        for (std::size_t i = 0; i < keys_.size(); ++i) {
            if (keys_[i] == k) {
                used_[mru_] = ++uses_; // the entry leaving the front was used until now
                mru_ = static_cast<std::uint8_t>(i);
                return &entries_[i];
            }
        }
        return nullptr;
    }
    /// A new entry for `dst` (not in the cache), without headers: a free one, else the one used
    /// longest ago.
    udp_header_template &add(udp_endpoint dst) {
        std::size_t i = keys_.size();
        if (i < max_entries) {
            keys_.push_back(0);
            used_.push_back(0);
            entries_.emplace_back();
        } else {
            // The smallest stamp, the front entry (the most recently used, not stamped) left out.
            i = mru_ == 0 ? 1 : 0;
            for (std::size_t j = 0; j < max_entries; ++j)
                if (j != mru_ && used_[j] < used_[i]) i = j;
        }
        if (i != mru_ && mru_ < used_.size()) used_[mru_] = ++uses_; // the front entry leaves the front
        keys_[i] = key(dst);
        entries_[i] = udp_header_template{};
        entries_[i].dst_ = dst;
        mru_ = static_cast<std::uint8_t>(i);
        return entries_[i];
    }
    [[nodiscard]] std::size_t size() const noexcept { return keys_.size(); }

private:
    // Address and port in one word (bit 48 set: never 0, the value of no entry).
    static std::uint64_t key(udp_endpoint e) noexcept {
        return (std::uint64_t{1} << 48) | (std::uint64_t{e.addr_.to_host()} << 16) | e.port_;
    }
    std::vector<std::uint64_t> keys_; // compact, for the scan
    std::vector<std::uint64_t> used_; // when each entry was last left as the front one (uses_)
    std::vector<udp_header_template> entries_;
    std::uint64_t uses_ = 0;
    std::uint8_t mru_ = 0; // the entry found last: checked first, the most recently used
};

class udp_table {
public:
    explicit udp_table(const udp_config &cfg) noexcept : cfg_(cfg) {}

    /// A new unbound socket.
    udp_socket_id open();
    /// Binds `id` to `addr` (the interface's `local` address or INADDR_ANY; otherwise EADDRNOTAVAIL)
    /// and `port`; port 0 picks a free ephemeral port from `random`. EINVAL if already bound, EBADF for
    /// an unknown id, EADDRINUSE if the port (or, for port 0, every ephemeral port) is taken.
    result<udp_endpoint> bind(udp_socket_id id, ipv4_address addr, uint16_t port, ipv4_address local, rng &random);
    /// Releases the socket and its port; queued datagrams are dropped.
    result<void> close(udp_socket_id id);
    /// The bound address (port 0 if unbound), EBADF for an unknown id.
    [[nodiscard]] result<udp_endpoint> local(udp_socket_id id) const;
    /// The oldest queued datagram: EAGAIN when none, EBADF for an unknown id.
    result<udp_datagram> recv(udp_socket_id id);
    /// Datagrams dropped because this socket's queue was full.
    [[nodiscard]] uint64_t drops(udp_socket_id id) const;
    [[nodiscard]] size_t queued(udp_socket_id id) const;
    /// The socket's header templates (see udp_template_cache); nullptr for an unknown id.
    udp_template_cache *header_templates(udp_socket_id id) {
        socket *s = find(id);
        return s ? &s->templates_ : nullptr;
    }
    /// Datagrams queued on all sockets together (received, not yet taken by recv).
    [[nodiscard]] size_t queued_total() const noexcept { return queued_total_; }

    enum class deliver_status : uint8_t { delivered, no_socket, queue_full };
    /// Queues a datagram on the socket bound to its destination port (and address, unless bound to
    /// INADDR_ANY).
    deliver_status deliver(udp_datagram &&d);

private:
    struct socket {
        udp_endpoint local_;
        bool bound_ = false;
        std::deque<udp_datagram> queue_;
        uint64_t drops_ = 0;
        udp_template_cache templates_;
    };
    socket *find(udp_socket_id id);
    [[nodiscard]] const socket *find(udp_socket_id id) const;

    udp_config cfg_;
    std::vector<std::optional<socket>> sockets_; // id = index
    std::unordered_map<uint16_t, udp_socket_id> ports_;
    size_t queued_total_ = 0;
};

} // namespace demi::net
