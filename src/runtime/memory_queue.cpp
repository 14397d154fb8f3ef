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

result<void> memory_queue::push(runtime &rt, op_start &op, const buffer &data) {
    if (closed()) return error(EBADF);
    if (!pending_.empty()) {
        pending_pop *p = pending_.front();
        pending_.pop_front();
        p->item = data;
        p->filled = true;
        rt.sched().schedule(p->h);
    } else {
        items_.push_back(data);
    }
    op.complete();
    return ok();
}

result<void> memory_queue::pop(runtime &, op_start &op) {
    if (closed()) return error(EBADF);
    if (!items_.empty()) { // then no pop is pending: pushes serve pending pops first
        op.result().data = std::move(items_.front());
        items_.pop_front();
        op.complete();
    } else {
        op.run(pop_later(std::static_pointer_cast<memory_queue>(shared_from_this())));
    }
    return ok();
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
