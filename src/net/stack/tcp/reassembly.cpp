#include "net/stack/tcp/reassembly.hpp"

namespace demi::net::tcp {

bool reassembly::add(seq32 start, seq32 end) noexcept {
    if (end <= start) return true;
    // First range whose end reaches start (it may overlap or touch the new one).
    std::size_t i = 0;
    while (i < count_ && ranges_[i].end_ < start) ++i;
    // Ranges from i up to j overlap or touch [start, end) and merge into one.
    std::size_t j = i;
    while (j < count_ && ranges_[j].start_ <= end) ++j;
    if (i == j) {
        if (count_ == max_ranges) return false;
        for (std::size_t k = count_; k > i; --k) ranges_[k] = ranges_[k - 1];
        ranges_[i] = {start, end};
        ++count_;
        return true;
    }
    range merged{seq_min(start, ranges_[i].start_), seq_max(end, ranges_[j - 1].end_)};
    ranges_[i] = merged;
    const std::size_t removed = j - i - 1;
    for (std::size_t k = i + 1; k + removed < count_; ++k) ranges_[k] = ranges_[k + removed];
    count_ -= removed;
    return true;
}

seq32 reassembly::advance(seq32 next) noexcept {
    std::size_t drop = 0;
    while (drop < count_ && ranges_[drop].start_ <= next) {
        next = seq_max(next, ranges_[drop].end_);
        ++drop;
    }
    for (std::size_t k = 0; k + drop < count_; ++k) ranges_[k] = ranges_[k + drop];
    count_ -= drop;
    return next;
}

std::uint32_t reassembly::bytes() const noexcept {
    std::uint32_t n = 0;
    for (std::size_t i = 0; i < count_; ++i) n += static_cast<std::uint32_t>(ranges_[i].end_ - ranges_[i].start_);
    return n;
}

} // namespace demi::net::tcp
