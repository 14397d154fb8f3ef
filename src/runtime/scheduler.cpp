#include "runtime/scheduler.hpp"

namespace demi::rt {

size_t scheduler::run_batches() {
    // A resumed coroutine may itself drive the runtime (a blocking wait inside a coroutine), and
    // so call run_ready again: each call works on its own batch, and only the outermost keeps the
    // spare vector for reuse.
    size_t n = 0;
    while (!ready_.empty()) {
        std::vector<std::coroutine_handle<>> batch;
        batch.swap(spare_);
        batch.swap(ready_);
        for (size_t i = 0; i < batch.size(); ++i) batch[i].resume();
        n += batch.size();
        batch.clear();
        if (spare_.capacity() < batch.capacity()) spare_.swap(batch);
    }
    return n;
}

size_t scheduler::fire_due() {
    const time_point t = now();
    size_t n = 0;
    while (!timers_.empty() && timers_.top().deadline <= t) {
        ready_.push_back(timers_.top().h);
        timers_.pop();
        ++n;
    }
    return n;
}

} // namespace demi::rt
