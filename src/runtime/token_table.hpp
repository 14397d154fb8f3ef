// Queue tokens: one slot per operation in flight or completed-but-not-waited-on.
//
// A token is (sequence << 24) | slot. Sequence numbers are unique in the whole process: every
// token table takes blocks of 2^16 of them from one process-wide atomic counter (the one shared
// mutable object outside src/capi: an identity allocator, like a PID counter, safe from any
// thread), so a token is never issued twice (2^40 operations) and a token of one libOS instance
// is unknown to every other. The slot part makes the lookup an array index. Completed slots are
// also linked in completion order, so wait_next_n finds them without a scan.
#pragma once

#include "runtime/op_task.hpp"

#include <coroutine>
#include <cstdint>
#include <vector>

namespace demi::rt {

class token_table {
public:
    static constexpr unsigned slot_bits = 24;
    static constexpr uint32_t max_slots = uint32_t{1} << slot_bits;
    static constexpr uint32_t none = 0xffffffffu;

    struct slot {
        qtoken token = 0;               ///< 0 when free
        bool done = false;              ///< completion holds the result
        completion result;              ///< valid when done
        op_task::handle task = nullptr; ///< the running coroutine while pending
        std::coroutine_handle<> waiter; ///< a coroutine awaiting this token (C++ API), if any
        uint32_t prev = none, next = none; ///< done list links; next is also the free list link
    };

    /// A new pending slot; returns its index (and the token in *qt). ENOMEM past max_slots.
    result<uint32_t> allocate(int qd, opcode op, qtoken *qt);

    /// The slot for `qt`, or nullptr if `qt` is unknown or already consumed.
    slot *find(qtoken qt) noexcept {
        const uint32_t idx = static_cast<uint32_t>(qt & (max_slots - 1));
        if (idx >= slots_.size()) return nullptr;
        slot &s = slots_[idx];
        return s.token == qt && qt != 0 ? &s : nullptr;
    }
    slot &at(uint32_t idx) noexcept { return slots_[idx]; }

    /// Marks slot `idx` done with `c` (appended to the done list); op, qd and qt stay the slot's.
    void complete(uint32_t idx, completion &&c) noexcept;
    /// Marks slot `idx` done with the result already written into it in place.
    void complete_in_place(uint32_t idx) noexcept;

    /// Takes the result of a done slot and frees it.
    completion consume(uint32_t idx) noexcept;
    /// Frees a done slot whose result the caller has already read (or moved from).
    void release(uint32_t idx) noexcept;
    /// Frees a pending slot whose operation never started (its token was never handed out).
    void discard(uint32_t idx) noexcept;

    /// The oldest done slot, or none.
    [[nodiscard]] uint32_t first_done() const noexcept { return done_head_; }
    [[nodiscard]] size_t pending() const noexcept { return live_ - done_count_; }
    [[nodiscard]] size_t done_count() const noexcept { return done_count_; }

    /// Every slot (for shutdown).
    std::vector<slot> &slots() noexcept { return slots_; }

    [[nodiscard]] static uint32_t index_of(qtoken qt) noexcept { return static_cast<uint32_t>(qt & (max_slots - 1)); }

private:
    std::vector<slot> slots_;
    uint32_t free_head_ = none;
    uint32_t done_head_ = none, done_tail_ = none;
    size_t live_ = 0, done_count_ = 0;
    uint64_t seq_ = 0, seq_end_ = 0; // the block of sequence numbers this table is using
};

} // namespace demi::rt
