#include "net/sim/simulator.hpp"

#include <algorithm>
#include <cerrno>
#include <utility>

namespace demi::sim {

namespace {

constexpr std::uint64_t fnv_prime = 0x100000001b3ULL;

std::uint64_t fnv(std::uint64_t h, std::span<const std::byte> bytes) noexcept {
    for (const std::byte b : bytes) {
        h ^= std::to_integer<std::uint64_t>(b);
        h *= fnv_prime;
    }
    return h;
}

std::uint64_t fnv_u64(std::uint64_t h, std::uint64_t v) noexcept {
    for (int i = 0; i < 8; ++i) {
        h ^= (v >> (8 * i)) & 0xff;
        h *= fnv_prime;
    }
    return h;
}

void take_min(std::optional<time_point> &at, std::optional<time_point> t) noexcept {
    if (t && (!at || *t < *at)) at = t;
}

} // namespace

size_t frame_tap::transmit(std::span<buffer> frames) noexcept {
    // Hash before handing over: the inner device moves the frames it takes out of the span. Frames
    // are hashed one by one as they are taken, so a frame left with the caller is hashed when it goes.
    const auto t = static_cast<std::uint64_t>(clock_.now().time_since_epoch().count());
    if (muted_) {
        for (auto &f : frames) f.reset();
        muted_frames_ += frames.size();
        return frames.size();
    }
    size_t taken = 0;
    while (taken < frames.size()) {
        const std::uint64_t h = fnv(fnv_u64(fnv_u64(hash_, t), frames[taken].size()), frames[taken].bytes());
        const size_t len = frames[taken].size();
        if (inner_.transmit(frames.subspan(taken, 1)) == 0) break;
        hash_ = h;
        bytes_ += len;
        ++frames_;
        ++taken;
    }
    return taken;
}

simulator::simulator(std::uint64_t seed) : seed_(seed), seeder_(seed), net_(clock_) {
    drain_.resize(64);
}

simulator::~simulator() {
    // Hosts first (they refer to their devices), then the devices top to bottom.
    for (auto &n : nodes_) {
        n->host_.reset();
        n->faults_.reset();
        n->pcap_.reset();
        n->tap_.reset();
    }
}

result<std::size_t> simulator::add_host(host_params p) {
    const std::size_t i = nodes_.size();
    if (i >= 250) return demi::error(ENOSPC);
    auto n = std::make_unique<node>();
    net::interface_config &ic = p.cfg_.iface_;
    if (ic.mac_ == net::ethernet_address{}) {
        ic.mac_ = net::ethernet_address(0x02, 0, 0, 0, 0, static_cast<std::uint8_t>(i + 1));
    }
    if (ic.addr_.is_unspecified()) ic.addr_ = net::ipv4_address(10, 0, 0, static_cast<std::uint8_t>(i + 1));
    n->mac_ = ic.mac_;
    n->addr_ = ic.addr_;
    p.link_.mtu = ic.mtu_;
    auto port = net_.attach(ic.mac_, p.link_);
    if (!port) return demi::error(port.code());
    n->port_ = *port;
    n->tap_ = std::make_unique<frame_tap>(*n->port_, clock_);
    phy::device *dev = n->tap_.get();
    if (!p.pcap_path_.empty()) {
        auto w = phy::pcap_writer::open(*dev, clock_, p.pcap_path_.c_str());
        if (!w) return demi::error(w.code());
        n->pcap_ = std::move(*w);
        dev = n->pcap_.get();
    }
    // Each host and injector gets its own generator derived from the seed, in a fixed order.
    const std::uint64_t host_seed = seeder_.next();
    const std::uint64_t fault_seed = seeder_.next();
    if (p.tx_faults_ || p.rx_faults_) {
        n->faults_ =
            std::make_unique<phy::fault_injector>(*dev, clock_, fault_seed, p.tx_faults_.value_or(phy::fault_params{}),
                                                  p.rx_faults_.value_or(phy::fault_params{}));
        dev = n->faults_.get();
    }
    n->static_arp_ = p.static_arp_;
    for (const auto &o : nodes_)
        if (n->static_arp_ && o->static_arp_) ic.static_arp_.emplace_back(o->addr_, o->mac_);
    n->rng_ = std::make_unique<rng>(host_seed);
    n->host_ = std::make_unique<net::host>(std::move(p.cfg_), *dev, *n->rng_);
    for (auto &o : nodes_)
        if (n->static_arp_ && o->static_arp_) o->host_->iface().add_static_arp(n->addr_, n->mac_);
    nodes_.push_back(std::move(n));
    return i;
}

std::optional<time_point> simulator::step() {
    ++steps_;
    const time_point now = clock_.now();
    std::optional<time_point> next;
    for (auto &n : nodes_) {
        if (n->down_) {
            while (n->port_->receive(drain_) > 0) {
            }
            for (auto &b : drain_) b.reset();
        } else {
            if (n->faults_) n->faults_->flush();
            n->host_->receive(now);
        }
        n->host_->poll(now);
        if (n->faults_) n->faults_->flush();
    }
    for (auto &n : nodes_) {
        take_min(next, n->host_->poll_at());
        if (n->faults_) take_min(next, n->faults_->next_event());
    }
    take_min(next, net_.next_event());
    return next;
}

bool simulator::run_until(const std::function<bool()> &pred, const run_limits &lim) {
    const time_point end = clock_.now() + lim.max_time_;
    for (std::uint64_t s = 0; s < lim.max_steps_; ++s) {
        const std::optional<time_point> next = step();
        if (pred()) return true;
        if (!next) {
            // Nothing scheduled: pred() may have queued work (a send, a connect); one more step sees it.
            const std::optional<time_point> again = step();
            if (pred()) return true;
            if (!again) return false;
            if (*again > clock_.now()) clock_.set(*again);
            continue;
        }
        if (*next > clock_.now()) {
            if (*next > end) return false;
            clock_.set(*next);
        }
    }
    return false;
}

void simulator::run_for(duration d) {
    const time_point end = clock_.now() + d;
    run_until([&] { return clock_.now() >= end; }, run_limits{.max_steps_ = 50'000'000, .max_time_ = d});
    if (clock_.now() < end) clock_.set(end);
}

std::uint64_t simulator::frame_hash() const noexcept {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (const auto &n : nodes_) h = fnv_u64(h, n->tap_->hash());
    return h;
}

std::uint64_t simulator::frames() const noexcept {
    std::uint64_t f = 0;
    for (const auto &n : nodes_) f += n->tap_->frames();
    return f;
}

result<void> simulator::close_captures() {
    result<void> first = ok();
    for (auto &n : nodes_) {
        if (!n->pcap_) continue;
        auto r = n->pcap_->close();
        if (!r && first) first = r;
    }
    return first;
}

} // namespace demi::sim
