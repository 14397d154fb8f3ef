// The runtime of one libOS instance: the queue-descriptor table, the queue-token table, the
// coroutine scheduler, the wait loop and the device backend. No globals: everything hangs off
// this object, and several may coexist in one process.
#pragma once

#include "common/clock.hpp"
#include "common/result.hpp"
#include "runtime/backend.hpp"
#include "runtime/config.hpp"
#include "runtime/queue.hpp"
#include "runtime/scheduler.hpp"
#include "runtime/token_table.hpp"

#include <algorithm>
#include <deque>
#include <thread>
#include <memory>
#include <vector>

namespace demi::rt {

class runtime {
public:
    /// A runtime over `dev`, configured by `cfg`, reading time from `clock` (which must outlive it).
    runtime(std::unique_ptr<backend> dev, config cfg, const clock_source &clock);
    ~runtime();
    runtime(const runtime &) = delete;
    runtime &operator=(const runtime &) = delete;

    [[nodiscard]] backend &dev() noexcept { return *dev_; }
    [[nodiscard]] scheduler &sched() noexcept { return sched_; }
    [[nodiscard]] const config &cfg() const noexcept { return cfg_; }
    [[nodiscard]] token_table &tokens() noexcept { return tokens_; }

    // ---- descriptors ----
    /// Installs a queue and returns its descriptor (EMFILE past the table's limit).
    result<int> insert(std::shared_ptr<queue> q);
    /// The queue named by `qd`, or nullptr.
    queue *find(int qd) const noexcept {
        return qd >= 0 && static_cast<size_t>(qd) < qds_.size() ? qds_[static_cast<size_t>(qd)].get() : nullptr;
    }
    /// Closes `qd`: the descriptor is freed at once, pending operations finish with ECANCELED.
    result<void> close(int qd);

    // ---- operations ----
    /// Starts an operation on `qd`: `begin(op_start&) -> result<void>` is the queue's method. On
    /// success the operation has a token (its coroutine, if any, ran until it first suspended).
    template <class Begin>
    result<qtoken> start(int qd, opcode op, Begin &&begin);

    // ---- waiting ----
    /// Waits for `qt`, then hands its completion to `take(completion&)` in place and frees the token.
    template <class Take>
    result<void> wait_with(qtoken qt, timeout limit, Take &&take);
    result<completion> wait(qtoken qt, timeout limit);
    result<completion> wait_any(std::span<const qtoken> qts, size_t *index, timeout limit);
    result<size_t> wait_next_n(std::span<completion> out, timeout limit);

    /// Drives the libOS (coroutines, timers, device) until done() or the limit passes (ETIMEDOUT).
    /// A zero limit polls once.
    template <class Done>
    result<void> drive(timeout limit, Done &&done);

    // ---- coroutines of the C++ API ----
    void spawn(task<void> t);
    [[nodiscard]] size_t spawned() const noexcept { return roots_.size(); }
    /// Registers `h` to be resumed when token `qt` completes. False if `qt` is not pending.
    bool await_token(qtoken qt, std::coroutine_handle<> h) noexcept;

    /// Called by an op_task's final awaiter (and usable for a deferred operation).
    void task_done(uint32_t slot, completion &&c) noexcept;
    /// A deferred operation's result, to fill in place (op, qd and qt are set) before finish_in_place.
    completion &pending_result(uint32_t slot) noexcept { return tokens_.at(slot).result; }
    /// Finishes a deferred operation whose result was written in place; wakes a coroutine awaiting it.
    void finish_in_place(uint32_t slot) noexcept {
        tokens_.complete_in_place(slot);
        auto &s = tokens_.at(slot);
        if (s.waiter) sched_.schedule(std::exchange(s.waiter, nullptr));
    }

private:
    void launch(uint32_t idx, op_task t);
    /// One round: ready coroutines, timers, the device (blocking up to `block` if nothing is ready).
    bool poll_once(duration block);

    struct root_task;
    static root_task run_root(runtime *rt, task<void> t);

    // Declared first: destroyed last (queues and coroutines refer to it).
    std::unique_ptr<backend> dev_;
    config cfg_;
    scheduler sched_;
    token_table tokens_;
    std::vector<std::shared_ptr<queue>> qds_;
    std::deque<int> free_qds_;
    std::vector<std::coroutine_handle<>> roots_;
    duration spin_;
    /// Idle time after which the wait loop starts yielding the CPU (every 64 empty polls).
    static constexpr duration yield_after = std::chrono::microseconds(50);
    /// Empty busy-poll rounds per clock reading in drive().
    static constexpr unsigned idle_rounds_per_read = 4;
};

template <class Begin>
result<qtoken> runtime::start(int qd, opcode op, Begin &&begin) {
    qtoken qt = 0;
    auto idx = tokens_.allocate(qd, op, &qt);
    if (!idx) return idx.err();
    op_start s(tokens_.at(*idx).result, *idx);
    if (auto r = begin(s); !r) {
        tokens_.discard(*idx);
        return r.err();
    }
    if (s.ready())
        tokens_.complete_in_place(*idx);
    else if (!s.deferred())
        launch(*idx, s.take_task());
    return qt;
}

template <class Take>
result<void> runtime::wait_with(qtoken qt, timeout limit, Take &&take) {
    auto *s = tokens_.find(qt);
    if (s == nullptr || s->waiter) return error(EINVAL);
    const uint32_t idx = token_table::index_of(qt);
    if (!s->done) {
        auto r = drive(limit, [&] { return tokens_.at(idx).done; });
        if (!r) return r.err();
    }
    take(tokens_.at(idx).result);
    tokens_.release(idx);
    return ok();
}

template <class Done>
result<void> runtime::drive(timeout limit, Done &&done) {
    if (done()) return ok();
    const bool forever = !limit.has_value();
    if (!forever && limit->count() <= 0) {
        poll_once(duration::zero());
        return done() ? ok() : result<void>(error(ETIMEDOUT));
    }
    // The loop reads the clock itself (not a time pinned by an outer round: a wait nested in a
    // coroutine must see time pass).
    time_point now = sched_.read_clock();
    const time_point deadline = forever ? time_point::max() : now + *limit;
    time_point idle_since = now;
    unsigned empty_polls = 0;
    unsigned unread = 0; // empty busy-poll rounds since the clock was last read
    for (;;) {
        // Busy-poll while there was work in the last spin_; then let the device block until its
        // next event, the next timer or the deadline (at most 100 ms, to re-check everything).
        duration block = duration::zero();
        if (now - idle_since >= spin_) {
            const time_point wake = std::min(deadline, sched_.next_deadline());
            block = std::min<duration>(wake > now ? wake - now : duration::zero(), std::chrono::milliseconds(100));
        }
        bool worked;
        if (block == duration::zero()) {
            // A busy-poll round: everything in it reads the time taken at the end of the last one
            // (or, after empty rounds, up to three rounds before: see below).
            const time_point outer = sched_.pin(now);
            worked = poll_once(block);
            sched_.pin(outer);
        } else {
            worked = poll_once(block);
        }
        if (done()) return ok();
        // After a round that did nothing, the next may go on the same time: a reading costs about
        // what such a round does (~25 ns in a VM), and this way the device is polled twice as often
        // while idle. Every fourth idle round reads, so the time lags by three empty rounds at most
        // (well under a microsecond: TCP's timers and samples are in milliseconds); a round that
        // worked, or blocked, always reads.
        if (worked || block != duration::zero() || ++unread == idle_rounds_per_read) {
            now = sched_.read_clock();
            unread = 0;
        }
        if (now >= deadline) return error(ETIMEDOUT);
        if (worked) {
            idle_since = now;
            empty_polls = 0;
        } else if (++empty_polls % 64 == 0 && now - idle_since >= yield_after) {
            // Spinning with nothing to do for a while: offer the CPU to whoever shares it (often
            // the peer this wait is for). Not sooner: a yield is a system call (~2 us in a VM),
            // and a reply landing during one waits for it; a closed loop's gaps are shorter.
            std::this_thread::yield();
            now = sched_.read_clock(); // the yield may have taken long (the CPU given away)
            unread = 0;
        }
    }
}

} // namespace demi::rt
