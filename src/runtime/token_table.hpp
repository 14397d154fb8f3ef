// Queue tokens: one slot per operation in flight or completed-but-not-waited-on.
//
// A token is (sequence << 24) | slot: the sequence comes from a per-runtime counter that only
// grows, so a token is never issued twice by one runtime (2^40 operations); the slot part makes
// the lookup an array index. Completed slots are also linked in completion order, so
// wait_next_n finds them without a scan.
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

    /// Marks slot `idx` done with `c` (appended to the done list).
    void complete(uint32_t idx, completion c) noexcept;

    /// Takes the result of a done slot and frees it.
    completion consume(uint32_t idx) noexcept;

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
    uint64_t seq_ = 1;
};

} // namespace demi::rt
