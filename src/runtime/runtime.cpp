#include "runtime/runtime.hpp"

#include "common/log.hpp"
#include "memory/heap.hpp"

#include <algorithm>
#include <utility>

namespace demi::rt {

// Largest descriptor table (like RLIMIT_NOFILE for a process).
static constexpr size_t max_qds = size_t{1} << 20;

void op_task::promise_type::final_awaiter::await_suspend(std::coroutine_handle<promise_type> h) noexcept {
    promise_type &p = h.promise();
    p.rt->task_done(p.slot, std::move(p.result));
    h.destroy();
}

namespace {
// Recycled op_task frames, per thread, in size classes of 64 bytes up to 1 KiB, at most `keep` per
// class; larger frames and any beyond that go to the global allocator.
struct frame_cache {
    static constexpr size_t granule = 64, classes = 16, keep = 256;
    struct node {
        node *next;
    };
    node *free[classes] = {};
    uint32_t count[classes] = {};
    bool gone = false; // destroyed (thread exit): frames freed later go to the global allocator

    frame_cache() = default;
    frame_cache(const frame_cache &) = delete;
    frame_cache &operator=(const frame_cache &) = delete;
    ~frame_cache() {
        for (node *&head : free)
            while (head != nullptr) ::operator delete(std::exchange(head, head->next));
        gone = true;
    }
    static size_t class_of(size_t n) noexcept { return (n + granule - 1) / granule - 1; }
};
// Initial-exec: a general-dynamic thread_local in a shared library costs a __tls_get_addr call.
__attribute__((tls_model("initial-exec"))) thread_local frame_cache frames;
} // namespace

#if defined(__SANITIZE_ADDRESS__)
constexpr bool recycle_frames = false; // AddressSanitizer sees a use of a freed frame only if it is freed
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool recycle_frames = false;
#else
constexpr bool recycle_frames = true;
#endif
#else
constexpr bool recycle_frames = true;
#endif

void *op_task::frame_alloc(size_t n) {
    const size_t c = frame_cache::class_of(n);
    if (!recycle_frames || c >= frame_cache::classes) return ::operator new(n);
    frame_cache &fc = frames;
    if (fc.gone) return ::operator new((c + 1) * frame_cache::granule);
    if (frame_cache::node *f = fc.free[c]) {
        fc.free[c] = f->next;
        --fc.count[c];
        return f;
    }
    return ::operator new((c + 1) * frame_cache::granule);
}

void op_task::frame_free(void *p, size_t n) noexcept {
    const size_t c = frame_cache::class_of(n);
    if (!recycle_frames || c >= frame_cache::classes) {
        ::operator delete(p);
        return;
    }
    frame_cache &fc = frames;
    if (fc.gone || fc.count[c] >= frame_cache::keep) {
        ::operator delete(p);
        return;
    }
    auto *f = static_cast<frame_cache::node *>(p);
    f->next = fc.free[c];
    fc.free[c] = f;
    ++fc.count[c];
}

result<buffer> backend::alloc(size_t size) { return mem::heap_allocate(size); }

runtime::runtime(std::unique_ptr<backend> dev, config cfg, const clock_source &clock)
    : dev_(std::move(dev)), cfg_(std::move(cfg)), sched_(clock),
      spin_(std::chrono::microseconds(cfg_.poll_spin_us)) {}

runtime::~runtime() {
    // Close every queue so pending operations finish (ECANCELED) and devices let go of their
    // buffers, let the woken coroutines run, then destroy whatever is still suspended.
    for (size_t qd = 0; qd < qds_.size(); ++qd)
        if (qds_[qd]) (void)close(static_cast<int>(qd));
    for (int round = 0; round < 16 && sched_.run_ready() > 0; ++round) {
    }
    for (auto h : roots_) h.destroy();
    roots_.clear();
    for (auto &s : tokens_.slots())
        if (s.task) {
            auto h = s.task;
            s.task = nullptr;
            h.destroy();
        }
    sched_.clear();
}

result<int> runtime::insert(std::shared_ptr<queue> q) {
    size_t qd;
    if (!free_qds_.empty()) {
        qd = static_cast<size_t>(free_qds_.front());
        free_qds_.pop_front();
        qds_[qd] = std::move(q);
    } else {
        if (qds_.size() >= max_qds) return error(EMFILE);
        qd = qds_.size();
        qds_.push_back(std::move(q));
    }
    return static_cast<int>(qd);
}

result<void> runtime::close(int qd) {
    if (find(qd) == nullptr) return error(EBADF);
    // Keep the queue alive through close(): its coroutines hold their own references.
    std::shared_ptr<queue> q = std::move(qds_[static_cast<size_t>(qd)]);
    free_qds_.push_back(qd);
    q->close(*this);
    return ok();
}

void runtime::launch(uint32_t idx, op_task t) {
    op_task::handle h = t.release();
    if (!h) { // a queue that neither completed nor gave a coroutine: a bug, reported as one
        tokens_.complete(idx, failed(opcode::invalid, EFAULT));
        DEMI_LOG(error, "runtime", "an operation started with neither a result nor a coroutine");
        return;
    }
    h.promise().rt = this;
    h.promise().slot = idx;
    tokens_.at(idx).task = h;
    h.resume(); // eager: runs until it first waits (or finishes)
}

void runtime::task_done(uint32_t slot, completion &&c) noexcept {
    tokens_.complete(slot, std::move(c));
    auto &s = tokens_.at(slot);
    if (s.waiter) sched_.schedule(std::exchange(s.waiter, nullptr));
}

bool runtime::await_token(qtoken qt, std::coroutine_handle<> h) noexcept {
    auto *s = tokens_.find(qt);
    if (s == nullptr || s->done) return false;
    s->waiter = h;
    return true;
}

bool runtime::poll_once(duration block) {
    bool worked = sched_.run_ready() > 0;
    if (sched_.fire_timers() > 0) worked = true;
    if (worked || sched_.has_ready()) block = duration::zero();
    if (dev_->poll(*this, block)) worked = true;
    if (sched_.run_ready() > 0) worked = true;
    return worked;
}

result<completion> runtime::wait(qtoken qt, timeout limit) {
    completion out;
    auto r = wait_with(qt, limit, [&](completion &c) { out = std::move(c); });
    if (!r) return r.err();
    return out;
}

result<completion> runtime::wait_any(std::span<const qtoken> qts, size_t *index, timeout limit) {
    if (qts.empty() || index == nullptr) return error(EINVAL);
    // One pass checks every token and notes the first done one (the common case in a burst: no poll).
    size_t found = qts.size();
    for (size_t i = 0; i < qts.size(); ++i) {
        auto *s = tokens_.find(qts[i]);
        if (s == nullptr || s->waiter) return error(EINVAL);
        if (found == qts.size() && s->done) found = i;
    }
    if (found == qts.size()) {
        auto done = [&] {
            for (size_t i = 0; i < qts.size(); ++i)
                if (tokens_.at(token_table::index_of(qts[i])).done) {
                    found = i;
                    return true;
                }
            return false;
        };
        auto r = drive(limit, done);
        if (!r) return r.err();
    }
    *index = found;
    return tokens_.consume(token_table::index_of(qts[found]));
}

result<size_t> runtime::wait_next_n(std::span<completion> out, timeout limit) {
    if (out.empty()) return error(EINVAL);
    // Results awaited by coroutines of the C++ API are theirs, not wait_next_n's.
    auto first_free = [&] {
        for (uint32_t i = tokens_.first_done(); i != token_table::none; i = tokens_.at(i).next)
            if (!tokens_.at(i).waiter) return i;
        return token_table::none;
    };
    auto r = drive(limit, [&] { return first_free() != token_table::none; });
    if (!r) return r.err();
    size_t n = 0;
    while (n < out.size()) {
        uint32_t i = first_free();
        if (i == token_table::none) break;
        out[n++] = tokens_.consume(i);
    }
    return n;
}

// ---- coroutines of the C++ API ----

struct runtime::root_task {
    struct promise_type {
        root_task get_return_object() noexcept {
            return root_task{std::coroutine_handle<promise_type>::from_promise(*this)};
        }
        std::suspend_always initial_suspend() const noexcept { return {}; }
        std::suspend_never final_suspend() const noexcept { return {}; }
        void return_void() const noexcept {}
        void unhandled_exception() const noexcept { std::terminate(); }
    };
    std::coroutine_handle<promise_type> h;
};

namespace {
// Yields the awaiting coroutine's own handle without suspending it.
struct own_handle {
    std::coroutine_handle<> h;
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> me) noexcept {
        h = me;
        return false;
    }
    std::coroutine_handle<> await_resume() const noexcept { return h; }
};
} // namespace

runtime::root_task runtime::run_root(runtime *rt, task<void> t) {
    const std::coroutine_handle<> self = co_await own_handle{};
    co_await std::move(t);
    // Forget this root: it destroys itself when it returns.
    auto &roots = rt->roots_;
    roots.erase(std::find(roots.begin(), roots.end(), self));
}

void runtime::spawn(task<void> t) {
    root_task r = run_root(this, std::move(t));
    roots_.push_back(r.h);
    sched_.schedule(r.h);
}

} // namespace demi::rt
