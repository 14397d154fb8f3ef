#include "runtime/token_table.hpp"

namespace demi::rt {

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
    s.token = (seq_++ << slot_bits) | idx;
    s.done = false;
    s.result.op = op;
    s.result.qd = qd;
    s.result.qt = s.token;
    s.prev = s.next = none;
    ++live_;
    *qt = s.token;
    return idx;
}

void token_table::complete(uint32_t idx, completion c) noexcept {
    slot &s = slots_[idx];
    c.op = s.result.op; // what was issued, whatever the queue wrote
    c.qd = s.result.qd;
    c.qt = s.token;
    s.result = std::move(c);
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
    --live_;
    completion c = std::move(s.result);
    s.result = completion{};
    s.token = 0;
    s.done = false;
    s.waiter = nullptr;
    s.prev = none;
    s.next = free_head_;
    free_head_ = idx;
    return c;
}

} // namespace demi::rt
