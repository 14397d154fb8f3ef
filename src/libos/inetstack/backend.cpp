#include "libos/inetstack/backend.hpp"

#include "common/log.hpp"
#include "libos/inetstack/socket.hpp"
#include "memory/heap.hpp"
#include "net/phy/loopback_device.hpp"
#include "runtime/runtime.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <thread>

namespace demi::inetstack {

result<net::host_config> host_config_from(const rt::config &cfg, const phy::device &dev, alloc_fn alloc,
                                          std::string *why) {
    net::host_config hc;
    auto &ic = hc.iface_;
    if (!cfg.local_ipv4_addr) {
        *why = cfg.source + ": demikernel.local_ipv4_addr: missing (the inetstack libOS needs its IPv4 address)";
        return error(EINVAL);
    }
    ic.addr_ = net::ipv4_address::from_network(*cfg.local_ipv4_addr);
    if (!ic.addr_.is_unicast()) {
        *why = cfg.source + ": demikernel.local_ipv4_addr: " + ic.addr_.to_string() + " is not a unicast address";
        return error(EINVAL);
    }
    ic.prefix_len_ = ic.addr_.is_loopback() ? 8 : 24;
    ic.mac_ = cfg.local_link_addr ? net::ethernet_address(*cfg.local_link_addr) : dev.mac();
    if (cfg.mtu < 576 || cfg.mtu > 9216) {
        *why = cfg.source + ": inetstack_config.mtu: " + std::to_string(cfg.mtu) + " is outside [576, 9216]";
        return error(EINVAL);
    }
    ic.mtu_ = static_cast<uint16_t>(std::min<size_t>(cfg.mtu, dev.mtu()));
    // Checksums the device offloads are left to it (local deliveries get them in software).
    ic.caps_ = phy::stack_checksums(dev.caps());
    // The MSS: as configured, else what the MTU holds after IPv4 and TCP headers without options (RFC
    // 9293 §3.7.1), so a jumbo MTU alone gives jumbo segments.
    const uint32_t mss = cfg.mss != 0 ? cfg.mss : ic.mtu_ - 40u;
    if (mss < 536 || mss + 40 > ic.mtu_) {
        *why = cfg.source + ": inetstack_config.mss: " + std::to_string(mss) + " does not fit the MTU " +
               std::to_string(ic.mtu_) + " (and must be at least 536)";
        return error(EINVAL);
    }
    for (const auto &[mac_s, ip_s] : cfg.arp_table) {
        auto mac = rt::parse_mac(mac_s);
        auto ip = rt::parse_ipv4(ip_s);
        if (!mac || !ip) {
            *why = cfg.source + ": inetstack_config.arp_table: bad entry '" + mac_s + ": " + ip_s + "'";
            return error(EINVAL);
        }
        ic.static_arp_.emplace_back(net::ipv4_address::from_network(*ip), net::ethernet_address(*mac));
    }
    ic.allocate_ = alloc;
    auto &tc = hc.tcp_;
    tc.mss_ = static_cast<uint16_t>(mss);
    tc.nodelay_ = cfg.tcp.nodelay;
    tc.keepalive_ = cfg.tcp.keepalive;
    if (cfg.tcp.keepalive_time_ms > 0) tc.keepalive_idle_ = std::chrono::milliseconds(cfg.tcp.keepalive_time_ms);
    if (cfg.tcp.keepalive_interval_ms > 0)
        tc.keepalive_interval_ = std::chrono::milliseconds(cfg.tcp.keepalive_interval_ms);
    return hc;
}

namespace {

// inetstack_config.drain_ms: how long a backend going away keeps delivering (at most an hour).
constexpr uint32_t default_drain_ms = 2000, max_drain_ms = 3'600'000;

uint64_t seed_of(const rt::config &cfg) {
    // ISNs and ephemeral ports want unpredictability (RFC 6528, RFC 6056); tests are deterministic
    // through their simulated devices, not through this seed.
    return static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
           (uint64_t{cfg.local_ipv4_addr.value_or(0)} << 16) ^ reinterpret_cast<uintptr_t>(&cfg);
}

result<std::unique_ptr<rt::backend>> make(const rt::config &cfg, std::unique_ptr<phy::device> dev, alloc_fn alloc,
                                          bool may_sleep) {
    if (!dev) return error(EINVAL);
    std::string why;
    auto hc = host_config_from(cfg, *dev, alloc, &why);
    if (!hc) {
        std::fprintf(stderr, "demi: %s\n", why.c_str());
        return hc.err();
    }
    uint32_t drain_ms = default_drain_ms;
    if (!rt::read_raw_u32(cfg, "inetstack_config.drain_ms", 0, max_drain_ms, &drain_ms)) return error(EINVAL);
    return std::unique_ptr<rt::backend>(new backend(cfg, std::move(*hc), std::move(dev), alloc, may_sleep,
                                                    std::chrono::milliseconds(drain_ms)));
}
} // namespace

result<std::unique_ptr<rt::backend>> make_backend(const rt::config &cfg, std::unique_ptr<phy::device> dev,
                                                  alloc_fn alloc) {
    return make(cfg, std::move(dev), alloc, false);
}

result<std::unique_ptr<rt::backend>> make_loopback(const rt::config &cfg) {
    rt::config c = cfg;
    if (!c.local_ipv4_addr) c.local_ipv4_addr = *rt::parse_ipv4("127.0.0.1");
    return make(c, std::make_unique<phy::loopback_device>(net::ethernet_address{0x02, 0, 0, 0, 0, 0x01}), nullptr,
                true);
}

backend::backend(const rt::config &cfg, net::host_config hc, std::unique_ptr<phy::device> dev, alloc_fn alloc,
                 bool may_sleep, duration drain_limit)
    : cfg_(cfg), dev_(std::move(dev)), rng_(seed_of(cfg)), host_(std::move(hc), *dev_, rng_), alloc_(alloc),
      may_sleep_(may_sleep), drain_limit_(drain_limit) {}

backend::~backend() {
    // What the application pushed, and the FINs of what it closed, are the stack's to deliver, as a
    // kernel delivers after a process exits: keep the stack running (receiving the peer's ACKs,
    // retransmitting) until nothing is owed, the limit passes or the link's far end has left.
    const steady_clock_source clock;
    const time_point until = clock.now() + drain_limit_;
    for (time_point now = clock.now(); host_.delivering() && now < until && !dev_->peer_gone(); now = clock.now()) {
        host_.receive(now);
        host_.poll(now);
    }
    if (host_.delivering() && dev_->peer_gone())
        DEMI_LOG(info, "inetstack", "going away with data or a FIN not yet acknowledged: the link's peer has left");
    else if (host_.delivering() && drain_limit_ > duration::zero())
        DEMI_LOG(warn, "inetstack", "going away with data or a FIN not yet acknowledged after %lld ms (inetstack_config.drain_ms)",
                 static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(drain_limit_).count()));
    // The stack's counters, for finding out why a transfer was slow (DEMI_LOG=info).
    const net::tcp::connection_stats t = host_.tcp_totals();
    const net::interface_stats &is = host_.iface().stats();
    const net::host_stats &hs = host_.stats();
    DEMI_LOG(info, "inetstack",
             "tcp: segments in %llu out %llu, rejected %llu, retransmits %llu (fast %llu, sack %llu, lost %llu, rescue "
             "%llu), timeouts %llu, probes %llu, dup acks %llu, out of order %llu (dropped %llu)",
             (unsigned long long)t.segments_in_, (unsigned long long)t.segments_out_, (unsigned long long)t.rejected_,
             (unsigned long long)t.retransmits_, (unsigned long long)t.fast_retransmits_,
             (unsigned long long)t.sack_retransmits_, (unsigned long long)t.lost_retransmits_,
             (unsigned long long)t.rescue_retransmits_, (unsigned long long)t.timeouts_, (unsigned long long)t.probes_,
             (unsigned long long)t.dup_acks_, (unsigned long long)t.ooo_segments_, (unsigned long long)t.ooo_dropped_);
    DEMI_LOG(info, "inetstack",
             "interface: rx %llu tx %llu frames, tx queue full drops %llu, tx alloc failures %llu, tx backlog drops "
             "%llu, tcp send failures %llu, bad checksums %llu, tcp dispatches paused by the device %llu",
             (unsigned long long)is.rx_frames_, (unsigned long long)is.tx_frames_,
             (unsigned long long)is.tx_queue_full_drops_, (unsigned long long)is.tx_alloc_failures_,
             (unsigned long long)hs.tx_backlog_drops_, (unsigned long long)hs.tcp_send_failures_,
             (unsigned long long)is.rx_bad_checksum_drops_, (unsigned long long)hs.tcp_dispatches_paused_);
}

result<std::shared_ptr<rt::queue>> backend::socket(rt::runtime &, int domain, int type, int protocol) {
    if (domain != AF_INET) return error(EAFNOSUPPORT);
    switch (type) {
    case SOCK_STREAM:
        if (protocol != 0 && protocol != IPPROTO_TCP) return error(EPROTONOSUPPORT);
        return std::shared_ptr<rt::queue>(std::make_shared<tcp_socket>(*this));
    case SOCK_DGRAM:
        if (protocol != 0 && protocol != IPPROTO_UDP) return error(EPROTONOSUPPORT);
        return std::shared_ptr<rt::queue>(std::make_shared<udp_socket>(*this));
    default:
        return error(ENOTSUP);
    }
}

void backend::add(inetstack::socket *s) {
    sockets_.push_back(s);
}

void backend::remove(inetstack::socket *s) noexcept {
    auto it = std::find(sockets_.begin(), sockets_.end(), s);
    if (it == sockets_.end()) return;
    *it = sockets_.back();
    sockets_.pop_back();
}

void backend::attach(inetstack::socket *s, net::conn_id c) {
    if (!host_.set_user(c, s)) return; // no such connection: the socket stays woken every round
    remove(s);
}

void backend::detach(inetstack::socket *s, net::conn_id c) noexcept {
    (void)host_.set_user(c, nullptr);
    if (std::find(sockets_.begin(), sockets_.end(), s) == sockets_.end()) sockets_.push_back(s);
}

result<uint16_t> backend::take_tcp_port(uint16_t port) {
    if (port != 0) {
        if (!tcp_ports_.insert(port).second) return error(EADDRINUSE);
        return port;
    }
    // RFC 6056 §3.3.1: a random start in the ephemeral range, then the next free port.
    const uint32_t first = 49152, count = 65536 - first;
    const uint32_t start = static_cast<uint32_t>(rng_.below(count));
    for (uint32_t i = 0; i < count; ++i) {
        const auto p = static_cast<uint16_t>(first + (start + i) % count);
        if (tcp_ports_.insert(p).second) return p;
    }
    return error(EADDRNOTAVAIL);
}

void backend::release_tcp_port(uint16_t port) noexcept {
    tcp_ports_.erase(port);
}

result<buffer> backend::allocate(size_t size, size_t headroom) noexcept {
    return alloc_ != nullptr ? alloc_(size, headroom) : pool_.allocate(size, headroom);
}

result<buffer> backend::alloc(size_t size) {
    return allocate(size, mem::default_headroom);
}

void backend::flush_push(rt::runtime &rt, pushed what) {
    // Nothing else to take: no completion the application has not consumed, no received datagram it
    // has not popped. Otherwise the application is working through a burst, and its replies go together.
    const bool alone = rt.tokens().done_count() == 0 && host_.iface().udp_queued() == 0;
    if (alone || ++deferred_pushes_ >= max_deferred_pushes) {
        if (what == pushed::datagram && !tcp_output_pending_) {
            // Only datagrams wait, their frames built: out they go, without reading the clock for a
            // run of the connections' output (the next poll does that, as for frames held back).
            output_pending_ = false;
            deferred_pushes_ = 0;
            host_.send_queued();
        } else {
            flush(rt.sched().now());
        }
    } else {
        output_pending_ = true;
        if (what == pushed::stream) tcp_output_pending_ = true;
    }
}

bool backend::poll(rt::runtime &rt, duration max_block) {
    const time_point now = rt.sched().now();
    const auto &st = host_.iface().stats();
    const uint64_t before = st.rx_frames_ + st.tx_frames_ + st.local_delivered_;
    if (output_pending_) flush(now); // pushes of the last burst go first
    host_.receive(now);
    // A quiet busy-poll round: nothing arrived (nor was delivered locally or sent), the last round
    // woke no socket, no socket has touched the stack since, and the stack's timers ran less than
    // quiet_span ago. Then the stack's output and every socket's wakeup would find nothing to do.
    if (max_block <= duration::zero() && !stirred_ && now < quiet_until_ && !host_.any_dispatched() &&
        !host_.any_active() && st.rx_frames_ + st.tx_frames_ + st.local_delivered_ == before)
        return false;
    host_.poll(now);
    bool worked = st.rx_frames_ + st.tx_frames_ + st.local_delivered_ != before;
    // Wakeups only schedule coroutines; none runs (and no socket goes away) during these loops.
    bool woke = false;
    for (inetstack::socket *s : sockets_) woke |= s->wake(rt.sched());
    host_.take_dispatched(dispatched_);
    for (void *s : dispatched_) woke |= static_cast<inetstack::socket *>(s)->wake(rt.sched());
    worked |= woke;
    // The sockets' own calls to host() in wake() do not count; what a wakeup served (a pop that opened
    // the window, an accept) does: the next round runs the stack again.
    stirred_ = woke;
    quiet_until_ = now + quiet_span;
    // Busy-polling (no block allowed): the next poll comes at once and runs whatever timer is due, so
    // the stack's next deadline is only worth asking before a block.
    if (max_block <= duration::zero()) return worked;
    const auto at = host_.poll_at();
    if (at && *at <= now) return true; // more to do at once: never block
    if (!worked && may_sleep_ && max_block > duration::zero()) {
        // Nothing can arrive from outside: sleep until the stack's next timer (or the caller's limit).
        duration d = max_block;
        if (at) d = std::min<duration>(d, *at - now);
        if (d > duration::zero()) std::this_thread::sleep_for(d);
    }
    return worked;
}

} // namespace demi::inetstack
