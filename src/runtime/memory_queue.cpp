#include "runtime/memory_queue.hpp"

#include "runtime/runtime.hpp"

namespace demi::rt {

struct memory_queue::pop_awaiter {
    memory_queue *q;
    pending_pop *p;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
        p->h = h;
        q->pending_.push_back(p);
    }
    void await_resume() const noexcept {}
};

result<op_start> memory_queue::push(runtime &rt, buffer data) {
    if (closed()) return error(EBADF);
    if (!pending_.empty()) {
        pending_pop *p = pending_.front();
        pending_.pop_front();
        p->item = std::move(data);
        p->filled = true;
        rt.sched().schedule(p->h);
    } else {
        items_.push_back(std::move(data));
    }
    return op_start::now(succeeded(opcode::push));
}

result<op_start> memory_queue::pop(runtime &) {
    if (closed()) return error(EBADF);
    if (pending_.empty() && !items_.empty()) {
        completion c = succeeded(opcode::pop);
        c.data = std::move(items_.front());
        items_.pop_front();
        return op_start::now(std::move(c));
    }
    return op_start::later(pop_later(std::static_pointer_cast<memory_queue>(shared_from_this())));
}

op_task memory_queue::pop_later(std::shared_ptr<memory_queue> self) {
    pending_pop p;
    co_await pop_awaiter{self.get(), &p};
    if (!p.filled) co_return failed(opcode::pop, ECANCELED);
    completion c = succeeded(opcode::pop);
    c.data = std::move(p.item);
    co_return c;
}

void memory_queue::close(runtime &rt) {
    mark_closed();
    items_.clear();
    for (pending_pop *p : pending_) rt.sched().schedule(p->h);
    pending_.clear();
}

} // namespace demi::rt
