#include "runtime/token_table.hpp"

#include <atomic>

namespace demi::rt {

namespace {
constexpr uint64_t seq_block = uint64_t{1} << 16;
// Sequence 0 is never used, so no token is 0.
std::atomic<uint64_t> next_seq_block{1};
} // namespace

result<uint32_t> token_table::allocate(int qd, opcode op, qtoken *qt) {
    uint32_t idx;
    if (free_head_ != none) {
        idx = free_head_;
        free_head_ = slots_[idx].next;
    } else {
        if (slots_.size() >= max_slots) return error(ENOMEM);
        idx = static_cast<uint32_t>(slots_.size());
        slots_.emplace_back();
    }
    slot &s = slots_[idx];
    if (seq_ == seq_end_) {
        seq_ = next_seq_block.fetch_add(1, std::memory_order_relaxed) * seq_block;
        seq_end_ = seq_ + seq_block;
        if (seq_ == 0) ++seq_;
    }
    s.token = (seq_++ << slot_bits) | idx;
    s.done = false;
    s.result.op = op;
    s.result.error = 0;
    s.result.qd = qd;
    s.result.qt = s.token;
    s.prev = s.next = none;
    ++live_;
    *qt = s.token;
    return idx;
}

void token_table::complete(uint32_t idx, completion &&c) noexcept {
    slot &s = slots_[idx];
    c.op = s.result.op; // what was issued, whatever the queue wrote
    c.qd = s.result.qd;
    c.qt = s.token;
    s.result = std::move(c);
    complete_in_place(idx);
}

void token_table::complete_in_place(uint32_t idx) noexcept {
    slot &s = slots_[idx];
    s.done = true;
    s.task = nullptr;
    s.prev = done_tail_;
    s.next = none;
    if (done_tail_ != none)
        slots_[done_tail_].next = idx;
    else
        done_head_ = idx;
    done_tail_ = idx;
    ++done_count_;
}

completion token_table::consume(uint32_t idx) noexcept {
    completion c = std::move(slots_[idx].result);
    release(idx);
    return c;
}

void token_table::release(uint32_t idx) noexcept {
    slot &s = slots_[idx];
    // Unlink from the done list.
    if (s.prev != none)
        slots_[s.prev].next = s.next;
    else
        done_head_ = s.next;
    if (s.next != none)
        slots_[s.next].prev = s.prev;
    else
        done_tail_ = s.prev;
    --done_count_;
    discard(idx);
}

void token_table::discard(uint32_t idx) noexcept {
    slot &s = slots_[idx];
    --live_;
    s.result.data.reset();
    s.result.error = 0;
    s.result.new_qd = -1;
    s.result.addr = {};
    s.token = 0;
    s.done = false;
    s.task = nullptr;
    s.waiter = nullptr;
    s.prev = none;
    s.next = free_head_;
    free_head_ = idx;
}

} // namespace demi::rt
