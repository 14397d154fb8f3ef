#include "net/stack/tcp/listener.hpp"

#include "common/log.hpp"

namespace demi::net::tcp {

namespace {
std::uint64_t mix(std::uint64_t z) noexcept {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
} // namespace

seq32 isn_generator::operator()(const four_tuple &t, time_point now) const noexcept {
    // F: a keyed mix of the four-tuple (RFC 6528 §3 asks for a cryptographic hash; this keyed
    // mixer makes ISNs unpredictable without the key for off-path attackers in our threat model).
    const std::uint64_t a = (std::uint64_t{t.local_.addr_.to_host()} << 32) | t.remote_.addr_.to_host();
    const std::uint64_t p = (std::uint64_t{t.local_.port_} << 16) | t.remote_.port_;
    const std::uint64_t f = mix(mix(a ^ key_[0]) ^ p ^ key_[1]);
    // M: 4-microsecond ticks.
    const auto m = static_cast<std::uint64_t>(now.time_since_epoch().count() / 4000);
    return seq32(static_cast<std::uint32_t>(f + m));
}

listener::listener(endpoint local, std::size_t backlog, const config &c, isn_fn isn)
    : local_(local), backlog_(backlog), cfg_(c), isn_(std::move(isn)) {
    cfg_.syn_retries_ = c.synack_retries_; // a passive open's SYN-ACKs, as Linux's request sockets
}

listener::outcome listener::process(time_point now, const wire::ipv4_repr &ip, const wire::tcp_repr &seg,
                                    std::span<const std::byte> payload) {
    outcome out;
    // RFC 9293 §3.10.7.2: first RST (ignored), then ACK (reset), then SYN.
    if (seg.has(wire::tcp_flag::rst)) return out;
    if (seg.has(wire::tcp_flag::ack)) {
        out.reply_ = reset_for(seg, payload.size());
        return out;
    }
    if (!seg.has(wire::tcp_flag::syn)) return out;
    if (queued_ >= backlog_) {
        ++dropped_;
        DEMI_LOG(debug, "tcp", "listener %u: SYN dropped, backlog %zu full", unsigned{local_.port_}, backlog_);
        return out;
    }
    const four_tuple t{{ip.dst_, local_.port_}, {ip.src_, seg.src_port_}};
    out.conn_.emplace(connection::accept_syn(t, cfg_, isn_(t, now), now, seg, payload));
    ++queued_;
    return out;
}

} // namespace demi::net::tcp
