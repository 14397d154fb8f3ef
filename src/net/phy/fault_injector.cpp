#include "net/phy/fault_injector.hpp"

#include <algorithm>

#include "memory/heap.hpp"

namespace demi::phy {

namespace {
// The receive lane's seed, derived from the transmit lane's so one seed fixes both (splitmix64 step).
uint64_t derive_seed(uint64_t seed) noexcept {
    uint64_t z = seed + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
} // namespace

fault_injector::fault_injector(device &inner, const clock_source &clock, uint64_t seed, const fault_params &tx,
                               const fault_params &rx) noexcept
    : inner_(inner), clock_(clock), tx_(tx, seed), rx_(rx, derive_seed(seed)) {}

bool fault_injector::lane::chance(double p) noexcept {
    // 53 random bits compared with p scaled to 2^53: exact for p = 0 (never) and p = 1 (always).
    const uint64_t u = rng.next() >> 11;
    return static_cast<double>(u) < p * 9007199254740992.0;
}

void fault_injector::lane::pass(buffer frame) noexcept {
    ready.push_back(std::move(frame));
    // A frame has passed: the frames held back for reordering go right after it.
    while (!reorder.empty()) {
        ready.push_back(std::move(reorder.front().frame));
        reorder.pop_front();
    }
}

void fault_injector::lane::admit(buffer frame, time_point now) noexcept {
    ++stats.frames;
    // Always seven draws, whatever the outcome, so frame k's decisions depend only on the seed and k.
    const bool drop = chance(params.drop);
    const bool corrupt = chance(params.corrupt);
    const bool duplicate = chance(params.duplicate);
    const bool delay = chance(params.delay);
    const bool reorder_it = chance(params.reorder);
    const uint64_t bit_draw = rng.next();
    const uint64_t delay_draw = rng.next();

    if (drop) {
        ++stats.dropped;
        return;
    }
    if (corrupt && !frame.empty()) {
        // Flip one bit in a private copy; the original block may be held by the sender (retransmission)
        // or shared with other receivers, and must not change.
        auto copy = mem::heap_copy(frame.bytes());
        if (!copy) {
            ++stats.copy_failures;
            return;
        }
        const size_t off = frame.size() > params.corrupt_offset ? params.corrupt_offset : 0;
        const uint64_t bit = bit_draw % ((frame.size() - off) * 8);
        std::byte *p = copy->data() + off + bit / 8;
        *p ^= static_cast<std::byte>(1u << (bit % 8));
        frame = std::move(*copy);
        ++stats.corrupted;
    }
    buffer dup;
    if (duplicate) {
        // A private copy too: a receiver may rewrite the first in place before it sees the second.
        if (auto copy = mem::heap_copy(frame.bytes())) {
            dup = std::move(*copy);
            ++stats.duplicated;
        } else {
            ++stats.copy_failures;
        }
    }

    auto hold = [&](std::vector<held_frame> &q, time_point release, buffer f) {
        held_frame h{release, seq++, std::move(f)};
        auto pos = std::upper_bound(q.begin(), q.end(), h, [](const held_frame &a, const held_frame &b) {
            return a.release != b.release ? a.release < b.release : a.seq < b.seq;
        });
        q.insert(pos, std::move(h));
    };
    if (delay) {
        const auto span = static_cast<uint64_t>(std::max(params.delay_max - params.delay_min, duration{0}).count());
        const time_point release =
            now + params.delay_min + duration{static_cast<duration::rep>(delay_draw % (span + 1))};
        ++stats.delayed;
        hold(delayed, release, std::move(frame));
        if (dup) hold(delayed, release, std::move(dup));
    } else if (reorder_it) {
        ++stats.reordered;
        reorder.push_back(held_frame{now + params.reorder_timeout, seq++, std::move(frame)});
        if (dup) reorder.push_back(held_frame{now + params.reorder_timeout, seq++, std::move(dup)});
    } else {
        pass(std::move(frame));
        if (dup) pass(std::move(dup));
    }
}

void fault_injector::lane::release_due(time_point now) noexcept {
    // Reorder deadlines ascend (FIFO of now + a fixed timeout, and now never goes back).
    while (!reorder.empty() && reorder.front().release <= now) {
        ready.push_back(std::move(reorder.front().frame));
        reorder.pop_front();
    }
    size_t n = 0;
    while (n < delayed.size() && delayed[n].release <= now) ready.push_back(std::move(delayed[n++].frame));
    delayed.erase(delayed.begin(), delayed.begin() + static_cast<std::ptrdiff_t>(n));
}

void fault_injector::push_tx() noexcept {
    if (tx_.ready.empty()) return;
    // The inner device takes a contiguous batch: stage the backlog, give back what it did not take.
    scratch_.clear();
    for (auto &f : tx_.ready) scratch_.push_back(std::move(f));
    tx_.ready.clear();
    const size_t sent = inner_.transmit(scratch_);
    for (size_t i = sent; i < scratch_.size(); ++i) tx_.ready.push_back(std::move(scratch_[i]));
    scratch_.clear();
}

size_t fault_injector::transmit(std::span<buffer> frames) noexcept {
    const time_point now = clock_.now();
    tx_.release_due(now);
    size_t taken = 0;
    for (; taken < frames.size() && tx_.occupancy() < tx_.params.queue_limit; ++taken)
        tx_.admit(std::move(frames[taken]), now);
    push_tx();
    return taken;
}

size_t fault_injector::receive(std::span<buffer> out) noexcept {
    const time_point now = clock_.now();
    rx_.release_due(now);
    // Pull from the inner device as much as the lane has room for, and at most what was asked.
    const size_t room = rx_.params.queue_limit > rx_.occupancy() ? rx_.params.queue_limit - rx_.occupancy() : 0;
    scratch_.resize(std::min(room, out.size()));
    const size_t got = inner_.receive(scratch_);
    for (size_t i = 0; i < got; ++i) rx_.admit(std::move(scratch_[i]), now);
    scratch_.clear();

    size_t n = 0;
    for (; n < out.size() && !rx_.ready.empty(); ++n) {
        out[n] = std::move(rx_.ready.front());
        rx_.ready.pop_front();
    }
    return n;
}

void fault_injector::flush() noexcept {
    const time_point now = clock_.now();
    tx_.release_due(now);
    rx_.release_due(now);
    push_tx();
}

std::optional<time_point> fault_injector::next_event() const noexcept {
    std::optional<time_point> next;
    auto consider = [&](time_point t) {
        if (!next || t < *next) next = t;
    };
    for (const lane *l : {&tx_, &rx_}) {
        if (!l->delayed.empty()) consider(l->delayed.front().release);
        if (!l->reorder.empty()) consider(l->reorder.front().release);
    }
    return next;
}

} // namespace demi::phy
