// The one point where the interface hands TCP segments to the TCP core (src/net/stack/tcp), kept
// narrow so either side can change without the other: the interface checks the IPv4 header (checksum,
// destination, reassembly) and passes the segment; the TCP core parses and verifies it (tcp_repr::parse
// with the interface's checksum_caps, which does the pseudo-header checksum) and sends through
// interface::send_ipv4.
#pragma once

#include "common/clock.hpp"
#include "net/wire/ipv4.hpp"

#include <demi/buffer.hpp>

namespace demi::net {

class tcp_hook {
public:
    virtual ~tcp_hook() = default;
    /// A segment for one of our addresses. `ip` is the (reassembled) header; `segment` is the IP
    /// payload, TCP header first, sharing the received frame's memory when it was not reassembled (slice
    /// it to keep data without a copy).
    virtual void on_tcp(time_point now, const wire::ipv4_repr &ip, const buffer &segment) = 0;
};

} // namespace demi::net
