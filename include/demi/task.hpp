// Demi — a minimal lazy coroutine type for applications written with C++20 coroutines.
//
// A demi::task<T> starts when awaited (or when handed to libos::spawn) and resumes its awaiter
// when it finishes. Exceptions thrown inside a task terminate the program (Demi's API reports
// errors as values).
#pragma once

#include <coroutine>
#include <exception>
#include <optional>
#include <utility>

namespace demi {

template <class T = void>
class task;

namespace detail {
template <class T>
struct task_promise_base {
    std::coroutine_handle<> continuation = std::noop_coroutine();
    struct final_awaiter {
        bool await_ready() const noexcept { return false; }
        template <class P>
        std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
            return h.promise().continuation;
        }
        void await_resume() const noexcept {}
    };
    std::suspend_always initial_suspend() const noexcept { return {}; }
    final_awaiter final_suspend() const noexcept { return {}; }
    void unhandled_exception() const noexcept { std::terminate(); }
};
} // namespace detail

template <class T>
class [[nodiscard]] task {
public:
    struct promise_type : detail::task_promise_base<T> {
        std::optional<T> value;
        task get_return_object() noexcept { return task(std::coroutine_handle<promise_type>::from_promise(*this)); }
        template <class U>
        void return_value(U &&v) {
            value.emplace(std::forward<U>(v));
        }
    };

    task(task &&o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    task &operator=(task &&o) noexcept {
        if (this != &o) {
            if (h_) h_.destroy();
            h_ = std::exchange(o.h_, nullptr);
        }
        return *this;
    }
    ~task() {
        if (h_) h_.destroy();
    }

    bool await_ready() const noexcept { return false; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiter) noexcept {
        h_.promise().continuation = awaiter;
        return h_;
    }
    T await_resume() { return std::move(*h_.promise().value); }

    /// Gives up ownership of the coroutine (used by libos::spawn).
    std::coroutine_handle<promise_type> release() noexcept { return std::exchange(h_, nullptr); }

private:
    explicit task(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
    std::coroutine_handle<promise_type> h_;
};

template <>
class [[nodiscard]] task<void> {
public:
    struct promise_type : detail::task_promise_base<void> {
        task get_return_object() noexcept { return task(std::coroutine_handle<promise_type>::from_promise(*this)); }
        void return_void() const noexcept {}
    };

    task(task &&o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    task &operator=(task &&o) noexcept {
        if (this != &o) {
            if (h_) h_.destroy();
            h_ = std::exchange(o.h_, nullptr);
        }
        return *this;
    }
    ~task() {
        if (h_) h_.destroy();
    }

    bool await_ready() const noexcept { return false; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiter) noexcept {
        h_.promise().continuation = awaiter;
        return h_;
    }
    void await_resume() const noexcept {}

    std::coroutine_handle<promise_type> release() noexcept { return std::exchange(h_, nullptr); }

private:
    explicit task(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
    std::coroutine_handle<promise_type> h_;
};

} // namespace demi
