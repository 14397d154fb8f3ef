#include "net/stack/udp.hpp"

#include "common/log.hpp"

namespace demi::net {

udp_socket_id udp_table::open() {
    for (size_t i = 0; i < sockets_.size(); ++i) {
        if (!sockets_[i]) {
            sockets_[i].emplace();
            return static_cast<udp_socket_id>(i);
        }
    }
    sockets_.emplace_back(socket{});
    return static_cast<udp_socket_id>(sockets_.size() - 1);
}

udp_table::socket *udp_table::find(udp_socket_id id) {
    return id < sockets_.size() && sockets_[id] ? &*sockets_[id] : nullptr;
}

const udp_table::socket *udp_table::find(udp_socket_id id) const {
    return id < sockets_.size() && sockets_[id] ? &*sockets_[id] : nullptr;
}

result<udp_endpoint> udp_table::bind(udp_socket_id id, ipv4_address addr, uint16_t port, ipv4_address local,
                                     rng &random) {
    socket *s = find(id);
    if (s == nullptr) return error(EBADF);
    if (s->bound_) return error(EINVAL);
    if (!addr.is_unspecified() && addr != local) return error(EADDRNOTAVAIL);
    if (port == 0) {
        // RFC 6056 §3.3.1 (Algorithm 1, simple port randomization): start at a random point of the
        // ephemeral range and take the first free port from there, wrapping around.
        const uint32_t lo = cfg_.ephemeral_first_;
        const uint32_t hi = cfg_.ephemeral_last_ < lo ? lo : cfg_.ephemeral_last_;
        const uint32_t count = hi - lo + 1;
        uint32_t next = lo + static_cast<uint32_t>(random.below(count));
        for (uint32_t i = 0; i < count; ++i) {
            if (next != 0 && !ports_.contains(static_cast<uint16_t>(next))) {
                port = static_cast<uint16_t>(next);
                break;
            }
            next = next == hi ? lo : next + 1;
        }
        if (port == 0) return error(EADDRINUSE);
    } else if (ports_.contains(port)) {
        // One interface address: a port bound to it and one bound to INADDR_ANY would both receive
        // the same datagrams, so either excludes the other.
        return error(EADDRINUSE);
    }
    s->local_ = udp_endpoint{addr, port};
    s->bound_ = true;
    ports_.emplace(port, id);
    return s->local_;
}

result<void> udp_table::close(udp_socket_id id) {
    socket *s = find(id);
    if (s == nullptr) return error(EBADF);
    if (s->bound_) ports_.erase(s->local_.port_);
    queued_total_ -= s->queue_.size();
    sockets_[id].reset();
    return ok();
}

result<udp_endpoint> udp_table::local(udp_socket_id id) const {
    const socket *s = find(id);
    if (s == nullptr) return error(EBADF);
    return s->local_;
}

result<udp_datagram> udp_table::recv(udp_socket_id id) {
    socket *s = find(id);
    if (s == nullptr) return error(EBADF);
    if (s->queue_.empty()) return error(EAGAIN);
    udp_datagram d = std::move(s->queue_.front());
    s->queue_.pop_front();
    --queued_total_;
    return d;
}

uint64_t udp_table::drops(udp_socket_id id) const {
    const socket *s = find(id);
    return s ? s->drops_ : 0;
}

size_t udp_table::queued(udp_socket_id id) const {
    const socket *s = find(id);
    return s ? s->queue_.size() : 0;
}

udp_table::deliver_status udp_table::deliver(udp_datagram &&d) {
    auto it = ports_.find(d.dst_.port_);
    if (it == ports_.end()) return deliver_status::no_socket;
    socket &s = *sockets_[it->second];
    // A socket bound to a specific address receives only datagrams sent to it (not broadcasts).
    if (!s.local_.addr_.is_unspecified() && s.local_.addr_ != d.dst_.addr_) return deliver_status::no_socket;
    if (s.queue_.size() >= cfg_.recv_queue_limit_) {
        ++s.drops_;
        DEMI_LOG(debug, "udp", "datagram dropped: receive queue of port %u full (%zu)", s.local_.port_,
                 s.queue_.size());
        return deliver_status::queue_full;
    }
    s.queue_.push_back(std::move(d));
    ++queued_total_;
    return deliver_status::delivered;
}

} // namespace demi::net
