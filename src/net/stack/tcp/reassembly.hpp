// Out-of-order receive bookkeeping: which runs of sequence space beyond RCV.NXT have arrived. The
// bytes themselves sit in the receive ring at their final place; this only tracks the ranges, in a
// fixed number of slots, so a peer cannot make it grow (RFC 9293 §3.10.7.4, "seventh": segments
// beyond RCV.NXT may be held for later delivery; how many is the receiver's choice).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "net/stack/tcp/seq.hpp"

namespace demi::net::tcp {

class reassembly {
public:
    static constexpr std::size_t max_ranges = 8;

    /// Records [start, end) as received, merging with neighbours. False (and nothing recorded) when
    /// the range would need a slot beyond max_ranges: the caller drops that segment.
    bool add(seq32 start, seq32 end) noexcept;
    /// With RCV.NXT at `next`: if the first range reaches it, removes that range and returns its end
    /// (the new RCV.NXT); otherwise returns `next`. Ranges wholly before `next` are discarded.
    [[nodiscard]] seq32 advance(seq32 next) noexcept;
    [[nodiscard]] std::size_t size() const noexcept { return count_; }
    [[nodiscard]] bool empty() const noexcept { return count_ == 0; }
    /// Octets held out of order.
    [[nodiscard]] std::uint32_t bytes() const noexcept;
    void clear() noexcept { count_ = 0; }

    struct range {
        seq32 start_;
        seq32 end_;
    };
    [[nodiscard]] const range &operator[](std::size_t i) const noexcept { return ranges_[i]; }

private:
    std::array<range, max_ranges> ranges_{}; // sorted, disjoint, not touching
    std::size_t count_ = 0;
};

} // namespace demi::net::tcp
