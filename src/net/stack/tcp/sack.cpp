#include "net/stack/tcp/sack.hpp"

#include <algorithm>

namespace demi::net::tcp {

namespace {
// The index of the reassembly range holding s, or ooo.size().
std::size_t range_of(const reassembly &ooo, seq32 s) noexcept {
    for (std::size_t i = 0; i < ooo.size(); ++i)
        if (ooo[i].start_ <= s && s < ooo[i].end_) return i;
    return ooo.size();
}
} // namespace

void sack_history::note(seq32 s, const reassembly &ooo) noexcept {
    const std::size_t block = range_of(ooo, s);
    // Keep one entry per block: entries in the same (possibly just merged) block, or in none any
    // more, are dropped; the new one goes first.
    std::array<seq32, wire::tcp_max_sack_blocks> kept{};
    std::size_t n = 0;
    kept[n++] = s;
    for (std::size_t i = 0; i < count_ && n < kept.size(); ++i) {
        const std::size_t b = range_of(ooo, recent_[i]);
        if (b != block && b != ooo.size()) kept[n++] = recent_[i];
    }
    recent_ = kept;
    count_ = n;
}

std::size_t sack_history::fill(const reassembly &ooo, std::span<wire::tcp_sack_block> out) const noexcept {
    std::array<bool, reassembly::max_ranges> used{};
    std::size_t n = 0;
    auto put = [&](std::size_t b) {
        used[b] = true;
        out[n++] = {ooo[b].start_.value(), ooo[b].end_.value()};
    };
    for (std::size_t i = 0; i < count_ && n < out.size(); ++i) {
        const std::size_t b = range_of(ooo, recent_[i]);
        if (b != ooo.size() && !used[b]) put(b);
    }
    for (std::size_t b = 0; b < ooo.size() && n < out.size(); ++b)
        if (!used[b]) put(b);
    return n;
}

void sack_scoreboard::add(seq32 start, seq32 end) noexcept {
    std::size_t i = 0;
    while (i < count_ && ranges_[i].end_ < start) ++i;
    std::size_t j = i;
    while (j < count_ && ranges_[j].start_ <= end) ++j;
    if (i == j) {
        if (count_ == max_ranges) {
            if (i == count_) return; // the new run is the highest: it is the one dropped
            --count_;                // the highest run gives way
        }
        for (std::size_t k = count_; k > i; --k) ranges_[k] = ranges_[k - 1];
        ranges_[i] = {start, end};
        ++count_;
        return;
    }
    ranges_[i] = {seq_min(start, ranges_[i].start_), seq_max(end, ranges_[j - 1].end_)};
    const std::size_t removed = j - i - 1;
    for (std::size_t k = i + 1; k + removed < count_; ++k) ranges_[k] = ranges_[k + removed];
    count_ -= removed;
}

std::uint32_t sack_scoreboard::update(seq32 una, seq32 high, std::span<const wire::tcp_sack_block> blocks) noexcept {
    // What the cumulative ACK covers is no longer the scoreboard's business.
    std::size_t drop = 0;
    while (drop < count_ && ranges_[drop].end_ <= una) ++drop;
    for (std::size_t k = 0; k + drop < count_; ++k) ranges_[k] = ranges_[k + drop];
    count_ -= drop;
    if (count_ > 0 && ranges_[0].start_ < una) ranges_[0].start_ = una;

    const std::uint32_t before = sacked_bytes();
    for (const auto &b : blocks) {
        const seq32 left(b.left_);
        const seq32 right(b.right_);
        // RFC 2018 §3: a block is [left, right); RFC 2883: one at or below the cumulative ACK reports
        // a duplicate and SACKs nothing. Nothing beyond what was sent can have been received.
        if (right <= left || right <= una || left >= high) continue;
        add(seq_max(left, una), seq_min(right, high));
    }
    const std::uint32_t after = sacked_bytes();
    return after > before ? after - before : 0;
}

std::uint32_t sack_scoreboard::sacked_bytes() const noexcept {
    std::uint32_t n = 0;
    for (std::size_t i = 0; i < count_; ++i) n += static_cast<std::uint32_t>(ranges_[i].end_ - ranges_[i].start_);
    return n;
}

bool sack_scoreboard::is_sacked(seq32 s) const noexcept {
    for (std::size_t i = 0; i < count_; ++i)
        if (ranges_[i].start_ <= s && s < ranges_[i].end_) return true;
    return false;
}

bool sack_scoreboard::is_lost(seq32 s, std::uint32_t smss) const noexcept {
    std::size_t runs = 0;
    std::uint32_t above = 0;
    for (std::size_t i = 0; i < count_; ++i) {
        if (ranges_[i].end_ <= s) continue;
        const seq32 from = seq_max(ranges_[i].start_, s + 1);
        if (ranges_[i].start_ > s) ++runs;
        above += seq_distance(from, ranges_[i].end_);
    }
    return runs >= dup_thresh || above > (dup_thresh - 1) * smss;
}

std::uint32_t sack_scoreboard::pipe(seq32 una, seq32 high, seq32 high_rxt, std::uint32_t smss) const noexcept {
    std::uint32_t p = 0;
    seq32 at = una;
    for (std::size_t i = 0; i <= count_; ++i) {
        // The hole [at, to): up to the next SACKed run, or to `high` after the last one.
        const seq32 to = i < count_ ? seq_min(ranges_[i].start_, high) : high;
        if (to > at) {
            if (!is_lost(at, smss)) p += seq_distance(at, to);
            p += seq_distance(at, seq_min(to, high_rxt));
        }
        if (i < count_) at = seq_max(at, ranges_[i].end_);
    }
    return p;
}

std::optional<sack_scoreboard::hole> sack_scoreboard::next_hole(seq32 una, seq32 high_rxt,
                                                                std::uint32_t smss) const noexcept {
    seq32 at = seq_max(una, high_rxt);
    for (std::size_t i = 0; i < count_; ++i) {
        if (ranges_[i].end_ <= at) continue;
        if (ranges_[i].start_ <= at) {
            at = ranges_[i].end_; // inside a SACKed run: the hole starts after it
            continue;
        }
        const std::uint32_t len = std::min(seq_distance(at, ranges_[i].start_), smss);
        return hole{at, len, is_lost(at, smss)};
    }
    return std::nullopt;
}

} // namespace demi::net::tcp
