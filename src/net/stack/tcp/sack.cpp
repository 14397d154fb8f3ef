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

std::uint32_t sack_scoreboard::sacked_in(seq32 from, seq32 to) const noexcept {
    std::uint32_t n = 0;
    for (std::size_t i = 0; i < count_; ++i)
        n += seq_distance(seq_max(from, ranges_[i].start_), seq_min(to, ranges_[i].end_));
    return n;
}

std::uint32_t sack_scoreboard::pipe(seq32 una, seq32 high, seq32 high_rxt, std::uint32_t smss,
                                    seq32 lost_below) const noexcept {
    std::uint32_t p = 0;
    seq32 at = una;
    for (std::size_t i = 0; i <= count_; ++i) {
        // The hole [at, to): up to the next SACKed run, or to `high` after the last one.
        const seq32 to = i < count_ ? seq_min(ranges_[i].start_, high) : high;
        if (to > at) {
            // Octets below lost_below are lost whatever IsLost() says (RFC 6675 §5.1, after an RTO).
            const seq32 from = seq_max(at, lost_below);
            if (to > from && !is_lost(from, smss)) p += seq_distance(from, to);
            p += seq_distance(at, seq_min(to, high_rxt));
        }
        if (i < count_) at = seq_max(at, ranges_[i].end_);
    }
    return p;
}

std::optional<sack_scoreboard::hole> sack_scoreboard::next_hole(seq32 una, seq32 high_rxt, std::uint32_t smss,
                                                                seq32 lost_below) const noexcept {
    seq32 at = seq_max(una, high_rxt);
    for (std::size_t i = 0; i < count_; ++i) {
        if (ranges_[i].end_ <= at) continue;
        if (ranges_[i].start_ <= at) {
            at = ranges_[i].end_; // inside a SACKed run: the hole starts after it
            continue;
        }
        const std::uint32_t len = std::min(seq_distance(at, ranges_[i].start_), smss);
        return hole{at, len, at < lost_below || is_lost(at, smss)};
    }
    // Above every SACKed run: only after a timeout, up to the point all data counts as lost.
    if (at < lost_below) return hole{at, std::min(seq_distance(at, lost_below), smss), true};
    return std::nullopt;
}

std::optional<sack_scoreboard::hole> sack_scoreboard::last_hole(seq32 una, seq32 high,
                                                                std::uint32_t smss) const noexcept {
    // The highest unSACKed octet lies below `high` and above the last run that ends below it.
    seq32 top = high;
    std::size_t i = count_;
    while (i > 0 && ranges_[i - 1].start_ >= top) --i;                  // runs wholly at or above `high`
    if (i > 0 && ranges_[i - 1].end_ >= top) top = ranges_[--i].start_; // a run reaching `high`
    if (top <= una) return std::nullopt;
    const seq32 floor = i > 0 ? seq_max(una, ranges_[i - 1].end_) : una;
    const std::uint32_t len = std::min(seq_distance(floor, top), smss);
    return hole{top - len, len, false};
}

// ---- retransmit_log ----

void retransmit_log::erase(std::size_t i) noexcept {
    for (std::size_t k = i; k + 1 < count_; ++k) entries_[k] = entries_[k + 1];
    --count_;
}

void retransmit_log::sent(seq32 start, seq32 end, seq32 high) noexcept {
    if (count_ > 0) {
        entry &last = entries_[count_ - 1];
        // Contiguous with the last one and as old or newer: one entry, the later SND.MAX.
        if (!last.lost_ && last.end_ == start && last.after_ <= high) {
            last.end_ = end;
            last.after_ = high;
            return;
        }
        if (count_ == max_entries) {
            // Full: the newest entry stretches to cover this one too. It stays conservative: its
            // SND.MAX is the later one, so it is judged lost no sooner than either would be.
            last.start_ = seq_min(last.start_, start);
            last.end_ = seq_max(last.end_, end);
            last.after_ = seq_max(last.after_, high);
            last.lost_ = false;
            return;
        }
    }
    entries_[count_++] = {start, end, high, false};
}

void retransmit_log::acked(seq32 una, const sack_scoreboard &sb) noexcept {
    for (std::size_t i = 0; i < count_;) {
        entry &e = entries_[i];
        if (e.start_ < una) e.start_ = una;
        if (e.end_ <= e.start_ || sb.sacked_in(e.start_, e.end_) == seq_distance(e.start_, e.end_))
            erase(i);
        else
            ++i;
    }
}

unsigned retransmit_log::detect(const sack_scoreboard &sb) noexcept {
    const auto top = sb.high_sacked();
    if (!top) return 0;
    unsigned n = 0;
    for (std::size_t i = 0; i < count_; ++i) {
        entry &e = entries_[i];
        if (!e.lost_ && *top > e.after_) {
            e.lost_ = true;
            ++n;
        }
    }
    return n;
}

std::optional<sack_scoreboard::hole> retransmit_log::next_lost(const sack_scoreboard &sb, seq32 una,
                                                               std::uint32_t smss) const noexcept {
    for (std::size_t i = 0; i < count_; ++i) {
        const entry &e = entries_[i];
        if (!e.lost_) continue;
        // The first unSACKed octet of the entry, and the segment from it to the next SACKed run.
        seq32 at = seq_max(e.start_, una);
        seq32 to = e.end_;
        for (std::size_t r = 0; r < sb.size(); ++r) {
            if (sb[r].end_ <= at) continue;
            if (sb[r].start_ <= at) {
                at = sb[r].end_;
                continue;
            }
            to = seq_min(to, sb[r].start_);
            break;
        }
        if (at < to) return sack_scoreboard::hole{at, std::min(seq_distance(at, to), smss), true};
    }
    return std::nullopt;
}

void retransmit_log::resent(seq32 start, seq32 end) noexcept {
    for (std::size_t i = 0; i < count_; ++i) {
        entry &e = entries_[i];
        if (!e.lost_ || end <= e.start_ || start >= e.end_) continue;
        // Segments are resent from the front of a lost entry: what is before `start` was SACKed.
        e.start_ = end;
        if (e.end_ <= e.start_) erase(i);
        return;
    }
}

std::uint32_t retransmit_log::lost_octets(const sack_scoreboard &sb, seq32 una) const noexcept {
    std::uint32_t n = 0;
    for (std::size_t i = 0; i < count_; ++i) {
        const entry &e = entries_[i];
        if (!e.lost_) continue;
        const seq32 from = seq_max(e.start_, una);
        if (e.end_ <= from) continue;
        n += seq_distance(from, e.end_) - sb.sacked_in(from, e.end_);
    }
    return n;
}

} // namespace demi::net::tcp
