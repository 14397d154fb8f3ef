// Selective acknowledgment (RFC 2018) and the SACK-based loss recovery it enables (RFC 6675).
//
// Receiver side, sack_history: which out-of-order runs held in the reassembly to report, most
// recent first (RFC 2018 §4). Sender side, sack_scoreboard: the runs above SND.UNA the peer has
// reported, with RFC 6675 §4's IsLost(), SetPipe() and the hole part of NextSeg(). Both are fixed
// size, so a peer cannot make them grow. Sequence numbers here are first octets and exclusive
// ends: RFC 6675's HighACK + 1 is SND.UNA, HighData + 1 is SND.MAX, HighRxt + 1 is high_rxt.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "net/stack/tcp/reassembly.hpp"
#include "net/stack/tcp/seq.hpp"
#include "net/wire/tcp.hpp"

namespace demi::net::tcp {

/// RFC 6675 §2 DupThresh.
inline constexpr unsigned dup_thresh = 3;

/// Receiver: the order in which to report out-of-order blocks.
class sack_history {
public:
    /// A segment starting at `s` was just added to `ooo`: its block becomes the most recent.
    void note(seq32 s, const reassembly &ooo) noexcept;
    /// Writes up to out.size() blocks describing `ooo`: the block holding the most recently received
    /// segment first, then the other recently reported ones (RFC 2018 §4), then any others in
    /// sequence order. Returns the number written.
    std::size_t fill(const reassembly &ooo, std::span<wire::tcp_sack_block> out) const noexcept;
    void clear() noexcept { count_ = 0; }

private:
    std::array<seq32, wire::tcp_max_sack_blocks> recent_{}; // a sequence number in each block
    std::size_t count_ = 0;
};

/// Sender: the SACK scoreboard (RFC 6675 §3).
class sack_scoreboard {
public:
    static constexpr std::size_t max_ranges = 16;

    struct range {
        seq32 start_;
        seq32 end_;
    };
    /// A segment NextSeg() would retransmit: [start_, start_ + len_), and whether IsLost() holds.
    struct hole {
        seq32 start_;
        std::uint32_t len_ = 0;
        bool lost_ = false;
    };

    /// RFC 6675 §4 Update(): drops what `una` acknowledges and records `blocks`, each clipped to
    /// [una, high). Blocks at or below `una` (D-SACK, RFC 2883) and empty or inverted blocks are
    /// ignored (RFC 2018 §3). Returns the octets newly SACKed. When all slots are taken, the highest
    /// range gives way: losing SACK information only makes the sender more conservative.
    std::uint32_t update(seq32 una, seq32 high, std::span<const wire::tcp_sack_block> blocks) noexcept;
    void clear() noexcept { count_ = 0; }

    [[nodiscard]] bool empty() const noexcept { return count_ == 0; }
    [[nodiscard]] std::size_t size() const noexcept { return count_; }
    [[nodiscard]] const range &operator[](std::size_t i) const noexcept { return ranges_[i]; }
    [[nodiscard]] std::uint32_t sacked_bytes() const noexcept;
    [[nodiscard]] bool is_sacked(seq32 s) const noexcept;

    /// RFC 6675 §4 IsLost(s): DupThresh discontiguous SACKed runs lie above s, or more than
    /// (DupThresh - 1) * SMSS octets above it are SACKed.
    [[nodiscard]] bool is_lost(seq32 s, std::uint32_t smss) const noexcept;
    /// RFC 6675 §4 SetPipe(): octets from `una` to `high` not SACKed count once unless lost, and once
    /// more if retransmitted (below `high_rxt`).
    [[nodiscard]] std::uint32_t pipe(seq32 una, seq32 high, seq32 high_rxt, std::uint32_t smss) const noexcept;
    /// RFC 6675 §4 NextSeg() rules (1) and (3): the first unSACKed octet at or after max(una,
    /// high_rxt) that lies below some SACKed run, with up to SMSS octets up to that run. IsLost is
    /// the same for every octet of a hole and only weakens going up, so only the first hole matters.
    [[nodiscard]] std::optional<hole> next_hole(seq32 una, seq32 high_rxt, std::uint32_t smss) const noexcept;

private:
    void add(seq32 start, seq32 end) noexcept;

    std::array<range, max_ranges> ranges_{}; // sorted, disjoint, not touching
    std::size_t count_ = 0;
};

} // namespace demi::net::tcp
