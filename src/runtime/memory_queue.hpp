// An in-process FIFO of buffers: the queue behind demi_queue(), available under every libOS.
// Push completes at once (the buffer is enqueued by reference, no copy). Pop completes at once
// when a buffer is waiting; otherwise it suspends, and pushes hand buffers to suspended pops in
// the order the pops were issued. Closing the queue fails suspended pops with ECANCELED and drops
// the buffers still queued.
#pragma once

#include "runtime/queue.hpp"
#include "runtime/scheduler.hpp"

#include <deque>

namespace demi::rt {

class memory_queue final : public queue {
public:
    memory_queue() noexcept : queue(queue_type::memory) {}

    result<void> push(runtime &rt, op_start &op, const buffer &data) override;
    result<void> pop(runtime &rt, op_start &op) override;
    void close(runtime &rt) override;

private:
    /// A suspended pop, living in its coroutine's frame.
    struct pending_pop {
        std::coroutine_handle<> h;
        buffer item;
        bool filled = false;
    };
    struct pop_awaiter;
    static op_task pop_later(std::shared_ptr<memory_queue> self);

    std::deque<buffer> items_;
    std::deque<pending_pop *> pending_;
};

} // namespace demi::rt
