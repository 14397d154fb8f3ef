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

    /// Octets SACKed in [from, to).
    [[nodiscard]] std::uint32_t sacked_in(seq32 from, seq32 to) const noexcept;
    /// The end of the highest SACKed run (RFC 6675 (1.b): "the highest octet covered by any SACK" + 1).
    [[nodiscard]] std::optional<seq32> high_sacked() const noexcept {
        if (count_ == 0) return std::nullopt;
        return ranges_[count_ - 1].end_;
    }

    /// RFC 6675 §4 IsLost(s): DupThresh discontiguous SACKed runs lie above s, or more than
    /// (DupThresh - 1) * SMSS octets above it are SACKed.
    [[nodiscard]] bool is_lost(seq32 s, std::uint32_t smss) const noexcept;
    /// RFC 6675 §4 SetPipe(): octets from `una` to `high` not SACKed count once unless lost, and once
    /// more if retransmitted (below `high_rxt`). Every octet below `lost_below` counts as lost: after
    /// a timeout all data outstanding then is (RFC 6675 §5.1); pass `una` for IsLost() alone.
    [[nodiscard]] std::uint32_t pipe(seq32 una, seq32 high, seq32 high_rxt, std::uint32_t smss,
                                     seq32 lost_below) const noexcept;
    [[nodiscard]] std::uint32_t pipe(seq32 una, seq32 high, seq32 high_rxt, std::uint32_t smss) const noexcept {
        return pipe(una, high, high_rxt, smss, una);
    }
    /// RFC 6675 §4 NextSeg() rules (1) and (3): the first unSACKed octet at or after max(una,
    /// high_rxt) that lies below some SACKed run, with up to SMSS octets up to that run. IsLost is
    /// the same for every octet of a hole and only weakens going up, so only the first hole matters.
    /// Below `lost_below` (after a timeout, RFC 6675 §5.1) a hole need not lie below a SACKed run:
    /// everything unSACKed there is lost and is filled in order.
    [[nodiscard]] std::optional<hole> next_hole(seq32 una, seq32 high_rxt, std::uint32_t smss,
                                                seq32 lost_below) const noexcept;
    [[nodiscard]] std::optional<hole> next_hole(seq32 una, seq32 high_rxt, std::uint32_t smss) const noexcept {
        return next_hole(una, high_rxt, smss, una);
    }
    /// RFC 6675 §4 NextSeg() rule (4), the rescue retransmission: the last up-to-SMSS octets of the
    /// hole holding the highest unSACKed octet below `high` (none when all of [una, high) is SACKed).
    [[nodiscard]] std::optional<hole> last_hole(seq32 una, seq32 high, std::uint32_t smss) const noexcept;

private:
    void add(seq32 start, seq32 end) noexcept;

    std::array<range, max_ranges> ranges_{}; // sorted, disjoint, not touching
    std::size_t count_ = 0;
};

/// Sender: the retransmissions sent in this recovery that are not yet known to have arrived, to
/// find one that was lost too before the retransmission timer does. The rule is deterministic, and
/// Linux's lost-retransmission check before RACK: a retransmission sent when SND.MAX was M is lost
/// once any octet at or above M — first sent after it, on the same path — is SACKed while it is
/// not. Its unSACKed octets are then sent again. A reordered retransmission costs one needless
/// resend at most. Fixed size: when full, the newest entry grows to cover the next one (its M the
/// larger, which only delays detection).
class retransmit_log {
public:
    static constexpr std::size_t max_entries = 32;

    struct entry {
        seq32 start_;
        seq32 end_;
        seq32 after_; // SND.MAX when sent: octets from here on were first sent after it
        bool lost_ = false;
    };

    /// [start, end) was retransmitted while SND.MAX was `high`.
    void sent(seq32 start, seq32 end, seq32 high) noexcept;
    /// Forgets what `una` acknowledges and entries wholly SACKed.
    void acked(seq32 una, const sack_scoreboard &sb) noexcept;
    /// Marks entries lost by the rule above; returns how many were newly marked.
    unsigned detect(const sack_scoreboard &sb) noexcept;
    /// The first unSACKed segment (up to SMSS octets) of the oldest lost entry, at or after `una`.
    [[nodiscard]] std::optional<sack_scoreboard::hole> next_lost(const sack_scoreboard &sb, seq32 una,
                                                                 std::uint32_t smss) const noexcept;
    /// [start, end) of a lost entry was sent again: it leaves the lost entry (the caller logs it anew).
    void resent(seq32 start, seq32 end) noexcept;
    /// UnSACKed octets of lost entries: retransmissions no longer in the network (RFC 6675 SetPipe()
    /// counts every retransmission below HighRxt, so these are taken off again).
    [[nodiscard]] std::uint32_t lost_octets(const sack_scoreboard &sb, seq32 una) const noexcept;
    void clear() noexcept { count_ = 0; }
    [[nodiscard]] std::size_t size() const noexcept { return count_; }
    [[nodiscard]] const entry &operator[](std::size_t i) const noexcept { return entries_[i]; }

private:
    void erase(std::size_t i) noexcept;

    std::array<entry, max_entries> entries_{}; // in the order sent
    std::size_t count_ = 0;
};

} // namespace demi::net::tcp
