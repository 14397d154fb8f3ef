// The coroutine type of an asynchronous operation (accept, connect, push, pop, ...).
//
// An operation either completes at once (op_start::now, no coroutine at all: the fast path) or
// runs as an op_task coroutine attached to a queue-token slot. The runtime starts it eagerly; when
// it finishes, its final awaiter hands the completion to the runtime, which stores it in the slot
// until a wait takes it, and destroys the frame.
#pragma once

#include "common/result.hpp"

#include <demi/demi.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <utility>

namespace demi::rt {

class runtime;

class [[nodiscard]] op_task {
public:
    struct promise_type {
        completion result;
        runtime *rt = nullptr;
        uint32_t slot = 0;

        op_task get_return_object() noexcept {
            return op_task(std::coroutine_handle<promise_type>::from_promise(*this));
        }
        std::suspend_always initial_suspend() const noexcept { return {}; }
        struct final_awaiter {
            bool await_ready() const noexcept { return false; }
            void await_suspend(std::coroutine_handle<promise_type> h) noexcept;
            void await_resume() const noexcept {}
        };
        final_awaiter final_suspend() const noexcept { return {}; }
        void return_value(completion c) noexcept { result = std::move(c); }
        void unhandled_exception() const noexcept { std::terminate(); }
        // Frames come from a per-thread cache (runtime.cpp): an operation that has to wait (a pop
        // before its data arrives) would otherwise cost a malloc and a free each time.
        static void *operator new(std::size_t n) { return frame_alloc(n); }
        static void operator delete(void *p, std::size_t n) noexcept { frame_free(p, n); }
    };
    using handle = std::coroutine_handle<promise_type>;

    /// The frame allocator behind promise_type (recycles frames of up to 1 KiB per thread).
    static void *frame_alloc(std::size_t n);
    static void frame_free(void *p, std::size_t n) noexcept;

    op_task() noexcept = default;
    op_task(op_task &&o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    op_task &operator=(op_task &&o) noexcept {
        if (this != &o) {
            if (h_) h_.destroy();
            h_ = std::exchange(o.h_, nullptr);
        }
        return *this;
    }
    ~op_task() {
        if (h_) h_.destroy();
    }
    handle release() noexcept { return std::exchange(h_, nullptr); }
    explicit operator bool() const noexcept { return static_cast<bool>(h_); }

private:
    explicit op_task(handle h) noexcept : h_(h) {}
    handle h_ = nullptr;
};

/// An operation being started, handed by the runtime to a queue. The queue either finishes it at
/// once — fills result() in place (op, qd and qt are already set) and calls complete(): the fast
/// path, no coroutine and no copy of the completion — or hands it a coroutine with run(), which the
/// runtime starts as soon as the queue returns, or defer()s it and finishes it itself later. A
/// queue that returns an error does none of these, and the operation never gets a token.
class op_start {
public:
    op_start(completion &slot, uint32_t index) noexcept : result_(&slot), index_(index) {}
    [[nodiscard]] completion &result() noexcept { return *result_; }
    void complete() noexcept { ready_ = true; }
    /// Finishes at once with `c` (its op/qd/qt are replaced by the operation's own).
    void complete(completion &&c) noexcept {
        c.op = result_->op;
        c.qd = result_->qd;
        c.qt = result_->qt;
        *result_ = std::move(c);
        ready_ = true;
    }
    void run(op_task t) noexcept { task_ = std::move(t); }
    /// Leaves the operation pending with no coroutine: the queue finishes it later itself, by
    /// writing runtime::pending_result(slot) and calling runtime::finish_in_place(slot) (or
    /// runtime::task_done). Returns the slot. The cheapest way to wait: no frame, no resume.
    uint32_t defer() noexcept {
        deferred_ = true;
        return index_;
    }

    [[nodiscard]] bool ready() const noexcept { return ready_; }
    [[nodiscard]] bool deferred() const noexcept { return deferred_; }
    op_task take_task() noexcept { return std::move(task_); }

private:
    completion *result_;
    uint32_t index_;
    op_task task_;
    bool ready_ = false;
    bool deferred_ = false;
};

/// Shorthands for completions.
inline completion failed(opcode op, int err) {
    completion c;
    c.op = op;
    c.error = err;
    return c;
}
inline completion succeeded(opcode op) {
    completion c;
    c.op = op;
    return c;
}

} // namespace demi::rt
