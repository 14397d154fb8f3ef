#include "runtime/scheduler.hpp"

namespace demi::rt {

size_t scheduler::run_ready() {
    size_t n = 0;
    while (!ready_.empty()) {
        running_.swap(ready_);
        for (size_t i = 0; i < running_.size(); ++i) running_[i].resume();
        n += running_.size();
        running_.clear();
    }
    return n;
}

size_t scheduler::fire_timers() {
    if (timers_.empty()) return 0;
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
