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
    };
    using handle = std::coroutine_handle<promise_type>;

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

/// How an operation started: finished already, or running as a coroutine.
struct op_start {
    op_task task;
    completion done;
    bool ready = false;

    static op_start now(completion c) {
        op_start s;
        s.done = std::move(c);
        s.ready = true;
        return s;
    }
    static op_start later(op_task t) {
        op_start s;
        s.task = std::move(t);
        return s;
    }
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
