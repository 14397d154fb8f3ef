#include "net/phy/sim_network.hpp"

#include <algorithm>
#include <new>

#include "memory/heap.hpp"

namespace demi::phy {

// Test device: its queues are std containers, so an allocation failure inside them terminates (the
// functions are noexcept). Buffer copies, the only per-frame allocation of I/O memory, fail softly.

duration sim_port::serialization(size_t bytes) const noexcept {
    if (params_.bits_per_second == 0) return duration{0};
    // bits * 1e9 / rate, rounded up so a frame never leaves early. Frames are at most mtu + 14 bytes
    // (mtu checked <= 65535 + overhead), so bits * 1e9 stays far below 2^64.
    const uint64_t bits = (static_cast<uint64_t>(bytes) + params_.overhead_bytes) * 8;
    const uint64_t ns = (bits * 1'000'000'000ULL + params_.bits_per_second - 1) / params_.bits_per_second;
    return duration{static_cast<duration::rep>(ns)};
}

size_t sim_port::transmit(std::span<buffer> frames) noexcept {
    const time_point now = net_.now();
    // Frames whose last bit has left by now no longer occupy the queue.
    while (!departures_.empty() && departures_.front() <= now) departures_.pop_front();

    for (buffer &slot : frames) {
        buffer frame = std::move(slot); // every offered frame is taken (a drop is a loss on the wire)
        if (frame.size() < ethernet_header_len || frame.size() > params_.mtu + ethernet_header_len) {
            ++stats_.tx_invalid_drops;
            continue;
        }
        if (departures_.size() >= params_.queue_frames) {
            ++stats_.tx_queue_drops; // tail drop
            continue;
        }
        // The transmitter sends one frame at a time: this one starts when the previous one is done.
        const time_point start = std::max(now, busy_until_);
        const time_point departure = start + serialization(frame.size());
        busy_until_ = departure;
        if (departure > now) departures_.push_back(departure);
        ++stats_.tx_frames;
        stats_.tx_bytes += frame.size();
        net_.deliver(*this, std::move(frame), departure + params_.latency);
    }
    return frames.size();
}

size_t sim_port::receive(std::span<buffer> out) noexcept {
    const time_point now = net_.now();
    size_t n = 0;
    while (n < out.size() && !rx_.empty() && rx_.front().at <= now) {
        std::pop_heap(rx_.begin(), rx_.end(), &sim_port::later);
        out[n] = std::move(rx_.back().frame);
        rx_.pop_back();
        ++stats_.rx_frames;
        stats_.rx_bytes += out[n].size();
        ++n;
    }
    return n;
}

std::optional<time_point> sim_port::next_arrival() const noexcept {
    if (rx_.empty()) return std::nullopt;
    return rx_.front().at;
}

void sim_port::enqueue_arrival(buffer frame, time_point at, uint64_t seq) noexcept {
    if (rx_.size() >= params_.rx_queue_frames) {
        ++stats_.rx_queue_drops;
        return;
    }
    rx_.push_back(arrival{at, seq, std::move(frame)});
    std::push_heap(rx_.begin(), rx_.end(), &sim_port::later);
}

result<sim_port *> sim_network::attach(wire::ethernet_address mac, const link_params &params) noexcept {
    if (mac.is_multicast() || mac.is_zero() || params.mtu == 0 || params.mtu > 65535) return error(EINVAL);
    for (const auto &p : ports_)
        if (p->mac() == mac) return error(EADDRINUSE);
    std::unique_ptr<sim_port> port(new (std::nothrow) sim_port(*this, mac, params));
    if (!port) return error(ENOMEM);
    ports_.push_back(std::move(port));
    return ports_.back().get();
}

std::optional<time_point> sim_network::next_event() const noexcept {
    std::optional<time_point> next;
    for (const auto &p : ports_)
        if (auto t = p->next_arrival(); t && (!next || *t < *next)) next = t;
    return next;
}

void sim_network::deliver(sim_port &from, buffer frame, time_point at) noexcept {
    const uint64_t seq = seq_++;
    const auto dst = wire::ethernet_address::from_bytes(frame.data());

    // Receivers, in attach order (deterministic).
    sim_port *targets[64];
    std::vector<sim_port *> many; // only for hubs with more than 64 ports
    std::span<sim_port *> receivers;
    if (dst.is_multicast()) {
        if (ports_.size() - 1 <= std::size(targets)) {
            size_t n = 0;
            for (const auto &p : ports_)
                if (p.get() != &from) targets[n++] = p.get();
            receivers = std::span(targets, n);
        } else {
            for (const auto &p : ports_)
                if (p.get() != &from) many.push_back(p.get());
            receivers = many;
        }
    } else {
        for (const auto &p : ports_)
            if (p->mac() == dst && p.get() != &from) {
                targets[0] = p.get();
                receivers = std::span(targets, 1);
                break;
            }
        if (receivers.empty()) {
            ++from.stats_.no_destination_drops;
            return;
        }
    }

    for (size_t i = 0; i < receivers.size(); ++i) {
        const bool last = i + 1 == receivers.size();
        // Hand over the sender's block only when nobody else holds it (see the header): otherwise a
        // receiver rewriting it in place would change bytes the sender or another receiver still sees.
        if (last && frame.use_count() == 1) {
            receivers[i]->enqueue_arrival(std::move(frame), at, seq);
            break;
        }
        auto copy = mem::heap_copy(frame.bytes());
        if (!copy) {
            ++from.stats_.copy_failures;
            continue;
        }
        receivers[i]->enqueue_arrival(std::move(*copy), at, seq);
    }
}

sim_link::sim_link(const clock_source &clock, wire::ethernet_address a, wire::ethernet_address b,
                   const link_params &params) noexcept
    : net_(clock) {
    auto pa = net_.attach(a, params);
    auto pb = net_.attach(b, params);
    if (pa && pb) {
        a_ = *pa;
        b_ = *pb;
    }
}

} // namespace demi::phy
