// UDP sockets (RFC 768, RFC 1122 §4.1): a table of sockets bound to the interface's address or to
// INADDR_ANY, ephemeral ports picked at random from an injected rng (RFC 6056 §3.3.1), and a bounded
// queue of received datagrams per socket. Sending is the interface's job (interface::udp_sendto).
#pragma once

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
    };
    socket *find(udp_socket_id id);
    [[nodiscard]] const socket *find(udp_socket_id id) const;

    udp_config cfg_;
    std::vector<std::optional<socket>> sockets_; // id = index
    std::unordered_map<uint16_t, udp_socket_id> ports_;
    size_t queued_total_ = 0;
};

} // namespace demi::net
