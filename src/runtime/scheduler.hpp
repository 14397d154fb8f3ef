// The cooperative scheduler: a ready queue of coroutines and a timer heap on an injected clock.
// Coroutines never run concurrently; they yield at co_await points and are resumed from here.
#pragma once

#include "common/clock.hpp"

#include <coroutine>
#include <cstdint>
#include <queue>
#include <utility>
#include <vector>

namespace demi::rt {

class scheduler {
public:
    explicit scheduler(const clock_source &clock) noexcept : clock_(&clock) {}

    /// Queues `h` to be resumed by the next run_ready().
    void schedule(std::coroutine_handle<> h) { ready_.push_back(h); }

    /// Resumes every coroutine that is ready (including those made ready meanwhile). Returns how many ran.
    /// (Inline when there is none: the common case of a busy-poll round.)
    size_t run_ready() { return ready_.empty() ? 0 : run_batches(); }

    [[nodiscard]] bool has_ready() const noexcept { return !ready_.empty(); }

    /// Moves timers whose deadline has passed to the ready queue. Returns how many fired.
    size_t fire_timers() { return timers_.empty() ? 0 : fire_due(); }

    /// The earliest timer deadline, or time_point::max() when there is none.
    [[nodiscard]] time_point next_deadline() const noexcept {
        return timers_.empty() ? time_point::max() : timers_.top().deadline;
    }

    /// The clock's time, or the time pinned for the current poll round (see pin()).
    [[nodiscard]] time_point now() const noexcept { return pinned_ != time_point::min() ? pinned_ : read_clock(); }
    /// Reads the clock (whatever is pinned), and remembers the reading for recent().
    time_point read_clock() const noexcept { return last_read_ = clock_->now(); }
    /// The time pinned for the current poll round, else the last reading of the clock through this
    /// scheduler, without reading it: behind the clock by whatever the application did since its last
    /// call into the runtime. Only for decisions that a slightly old time cannot make wrong in a way
    /// that matters (whether a UDP header template's ARP entry is still fresh); never for timers.
    [[nodiscard]] time_point recent() const noexcept {
        if (pinned_ != time_point::min()) return pinned_;
        return last_read_ != time_point::min() ? last_read_ : read_clock();
    }
    /// Makes now() answer `t` until the returned value is passed back to pin(): one reading of the
    /// clock serves a whole busy-poll round (a clock read costs ~25 ns in a VM; a round takes well
    /// under a microsecond). time_point::min() unpins.
    time_point pin(time_point t) noexcept { return std::exchange(pinned_, t); }
    [[nodiscard]] const clock_source &clock() const noexcept { return *clock_; }

    /// `co_await sched.sleep_until(t)` suspends the coroutine until the clock reaches t.
    auto sleep_until(time_point t) noexcept {
        struct awaiter {
            scheduler *s;
            time_point t;
            bool await_ready() const noexcept { return s->now() >= t; }
            void await_suspend(std::coroutine_handle<> h) { s->timers_.push(timer{t, s->timer_seq_++, h}); }
            void await_resume() const noexcept {}
        };
        return awaiter{this, t};
    }
    /// `co_await sched.yield()` lets every other ready coroutine run first.
    auto yield() noexcept {
        struct awaiter {
            scheduler *s;
            bool await_ready() const noexcept { return false; }
            void await_suspend(std::coroutine_handle<> h) { s->schedule(h); }
            void await_resume() const noexcept {}
        };
        return awaiter{this};
    }

    /// Forgets every queued coroutine and timer without resuming them (shutdown).
    void clear() noexcept {
        ready_.clear();
        timers_ = {};
    }

private:
    size_t run_batches();
    size_t fire_due();

    struct timer {
        time_point deadline;
        uint64_t seq; // FIFO among equal deadlines
        std::coroutine_handle<> h;
        bool operator>(const timer &o) const noexcept {
            return deadline != o.deadline ? deadline > o.deadline : seq > o.seq;
        }
    };

    const clock_source *clock_;
    time_point pinned_ = time_point::min();
    mutable time_point last_read_ = time_point::min();
    std::vector<std::coroutine_handle<>> ready_;
    std::vector<std::coroutine_handle<>> spare_; // an empty vector with capacity, for the next batch
    std::priority_queue<timer, std::vector<timer>, std::greater<>> timers_;
    uint64_t timer_seq_ = 0;
};

/// Coroutines waiting for something about a queue (data, space, a connection). Wakeups go through
/// the scheduler; a woken coroutine re-checks its condition (and whether its queue was closed).
class wait_list {
public:
    auto wait() noexcept {
        struct awaiter {
            wait_list *l;
            bool await_ready() const noexcept { return false; }
            void await_suspend(std::coroutine_handle<> h) { l->waiters_.push_back(h); }
            void await_resume() const noexcept {}
        };
        return awaiter{this};
    }
    void notify_all(scheduler &s) {
        for (auto h : waiters_) s.schedule(h);
        waiters_.clear();
    }
    void notify_one(scheduler &s) {
        if (waiters_.empty()) return;
        s.schedule(waiters_.front());
        waiters_.erase(waiters_.begin());
    }
    [[nodiscard]] bool empty() const noexcept { return waiters_.empty(); }

private:
    std::vector<std::coroutine_handle<>> waiters_;
};

} // namespace demi::rt
