// C++20 coroutines on a demi::libos: spawn, co_await of operations, run().
#include "libos_helpers.hpp"

#include <string>
#include <vector>

namespace demi {
namespace {

using namespace std::chrono_literals;
using test::make_buffer;
using test::text_of;

struct pop_record {
    std::vector<std::string> texts;
    std::vector<int> errors;
    std::vector<qtoken> tokens;
    bool finished = false;
};

task<void> consumer(libos *lib, int qd, int count, pop_record *rec) {
    for (int i = 0; i < count; ++i) {
        completion c = co_await lib->async_pop(qd);
        rec->errors.push_back(c.error);
        rec->tokens.push_back(c.qt);
        rec->texts.push_back(text_of(c.data));
        if (!c.ok()) break;
    }
    rec->finished = true;
}

struct push_record {
    std::vector<int> errors;
    std::vector<opcode> ops;
    bool finished = false;
};

task<void> producer(libos *lib, int qd, std::vector<std::string> msgs, push_record *rec) {
    for (const auto &m : msgs) {
        buffer b = make_buffer(*lib, m);
        completion c = co_await lib->async_push(qd, b);
        rec->errors.push_back(c.error);
        rec->ops.push_back(c.op);
    }
    rec->finished = true;
}

std::vector<std::string> numbered(const std::string &prefix, int n) {
    std::vector<std::string> v;
    for (int i = 0; i < n; ++i) v.push_back(prefix + std::to_string(i) + std::string(static_cast<size_t>(i), '.'));
    return v;
}

class coroutine_test : public ::testing::Test {
protected:
    void SetUp() override {
        lib_ = test::make_catnap();
        ASSERT_TRUE(lib_.has_value());
        auto qd = lib_->queue();
        ASSERT_TRUE(qd.has_value());
        qd_ = *qd;
    }
    std::optional<libos> lib_;
    int qd_ = -1;
};

TEST_F(coroutine_test, run_with_nothing_spawned_returns_at_once) {
    EXPECT_TRUE(lib_->run(test::poll_once).has_value());
    EXPECT_TRUE(lib_->run().has_value());
}

TEST_F(coroutine_test, consumer_first_then_producer) {
    pop_record pops;
    push_record pushes;
    const auto msgs = numbered("msg", 20);
    lib_->spawn(consumer(&*lib_, qd_, 20, &pops));
    lib_->spawn(producer(&*lib_, qd_, msgs, &pushes));
    EXPECT_FALSE(pops.finished); // spawn does not run anything yet
    auto r = lib_->run(10s);
    ASSERT_TRUE(r.has_value()) << r.code();
    EXPECT_TRUE(pops.finished);
    EXPECT_TRUE(pushes.finished);
    EXPECT_EQ(pops.texts, msgs);
    EXPECT_EQ(pops.errors, std::vector<int>(20, 0));
    EXPECT_EQ(pushes.errors, std::vector<int>(20, 0));
    EXPECT_EQ(pushes.ops, std::vector<opcode>(20, opcode::push));
    // Every awaited token was consumed by its coroutine.
    for (qtoken qt : pops.tokens) EXPECT_EQ(lib_->wait(qt, test::poll_once).code(), EINVAL);
}

TEST_F(coroutine_test, producer_first_then_consumer) {
    pop_record pops;
    push_record pushes;
    const auto msgs = numbered("early", 5);
    lib_->spawn(producer(&*lib_, qd_, msgs, &pushes));
    lib_->spawn(consumer(&*lib_, qd_, 5, &pops));
    auto r = lib_->run(10s);
    ASSERT_TRUE(r.has_value()) << r.code();
    EXPECT_EQ(pops.texts, msgs);
    EXPECT_TRUE(pushes.finished);
}

TEST_F(coroutine_test, several_consumers_share_one_queue_in_await_order) {
    pop_record a, b;
    push_record pushes;
    lib_->spawn(consumer(&*lib_, qd_, 2, &a));
    lib_->spawn(consumer(&*lib_, qd_, 2, &b));
    lib_->spawn(producer(&*lib_, qd_, {"1", "2", "3", "4"}, &pushes));
    ASSERT_TRUE(lib_->run(10s).has_value());
    // a's pop was issued first, then b's; each consumer re-issues after its pop completes.
    EXPECT_EQ(a.texts, (std::vector<std::string>{"1", "3"}));
    EXPECT_EQ(b.texts, (std::vector<std::string>{"2", "4"}));
}

TEST_F(coroutine_test, run_times_out_while_a_coroutine_waits_then_close_cancels_it) {
    pop_record pops;
    lib_->spawn(consumer(&*lib_, qd_, 1, &pops));
    EXPECT_EQ(lib_->run(20ms).code(), ETIMEDOUT);
    EXPECT_FALSE(pops.finished);
    ASSERT_TRUE(lib_->close(qd_).has_value());
    ASSERT_TRUE(lib_->run(10s).has_value());
    EXPECT_TRUE(pops.finished);
    EXPECT_EQ(pops.errors, std::vector<int>{ECANCELED});
    EXPECT_EQ(pops.texts, std::vector<std::string>{""});
}

TEST_F(coroutine_test, awaiting_a_failed_call_reports_its_error) {
    pop_record pops;
    ASSERT_TRUE(lib_->close(qd_).has_value());
    lib_->spawn(consumer(&*lib_, qd_, 1, &pops));
    ASSERT_TRUE(lib_->run(10s).has_value());
    EXPECT_EQ(pops.errors, std::vector<int>{EBADF});
}

TEST_F(coroutine_test, awaited_tokens_are_not_returned_by_wait_next_n) {
    pop_record pops;
    lib_->spawn(consumer(&*lib_, qd_, 1, &pops));
    EXPECT_EQ(lib_->run(test::poll_once).code(), ETIMEDOUT); // the consumer is now awaiting its pop
    auto other = lib_->queue();
    ASSERT_TRUE(other.has_value());
    auto mine = lib_->push(*other, make_buffer(*lib_, "mine"));
    auto theirs = lib_->push(qd_, make_buffer(*lib_, "theirs"));
    ASSERT_TRUE(mine.has_value() && theirs.has_value());
    std::array<completion, 8> out;
    std::vector<qtoken> got;
    for (int i = 0; i < 4; ++i) {
        auto n = lib_->wait_next_n(out, test::poll_once);
        if (!n) break;
        for (size_t k = 0; k < *n; ++k) got.push_back(out[k].qt);
    }
    ASSERT_TRUE(lib_->run(10s).has_value());
    EXPECT_EQ(pops.texts, std::vector<std::string>{"theirs"});
    // The two pushes only; never the pop the coroutine awaits.
    EXPECT_EQ(got, (std::vector<qtoken>{*mine, *theirs}));
    EXPECT_EQ(pops.tokens.size(), 1u);
    EXPECT_EQ(lib_->wait(pops.tokens[0], test::poll_once).code(), EINVAL);
}

task<void> forward(libos *lib, int from, int to, int count) {
    for (int i = 0; i < count; ++i) {
        completion c = co_await lib->async_pop(from);
        if (!c.ok()) co_return;
        (void)co_await lib->async_push(to, c.data); // the popped buffer goes on unchanged
    }
}

TEST_F(coroutine_test, pipeline_of_coroutines_keeps_bytes_and_buffers) {
    auto mid = lib_->queue();
    auto out = lib_->queue();
    ASSERT_TRUE(mid.has_value() && out.has_value());
    pop_record pops;
    push_record pushes;
    const auto msgs = numbered("stage", 50);
    lib_->spawn(consumer(&*lib_, *out, 50, &pops));
    lib_->spawn(forward(&*lib_, *mid, *out, 50));
    lib_->spawn(forward(&*lib_, qd_, *mid, 50));
    lib_->spawn(producer(&*lib_, qd_, msgs, &pushes));
    ASSERT_TRUE(lib_->run(10s).has_value());
    EXPECT_EQ(pops.texts, msgs);
}

task<void> spawn_from_inside(libos *lib, int qd, pop_record *rec) {
    // A coroutine may spawn another; run() waits for both.
    lib->spawn(consumer(lib, qd, 1, rec));
    buffer b = make_buffer(*lib, "inner");
    (void)co_await lib->async_push(qd, b);
}

TEST_F(coroutine_test, spawn_from_a_coroutine) {
    pop_record pops;
    lib_->spawn(spawn_from_inside(&*lib_, qd_, &pops));
    ASSERT_TRUE(lib_->run(10s).has_value());
    EXPECT_TRUE(pops.finished);
    EXPECT_EQ(pops.texts, std::vector<std::string>{"inner"});
}

// A coroutine that calls the blocking wait (instead of co_await) while another coroutine's operation
// completes: every coroutine must still run exactly once per resumption, and the data arrive.
task<void> blocking_waiter(libos *lib, int wake_qd, int idle_qd, int *finished, int *wait_code) {
    buffer b = make_buffer(*lib, "abc");
    (void)lib->push(wake_qd, b); // completes the consumer's pending pop (its frame becomes ready)
    auto qt = lib->pop(idle_qd);
    if (!qt) co_return;
    *wait_code = lib->wait(*qt, 100ms).code(); // drives the runtime from inside a coroutine
    ++*finished;
}

TEST_F(coroutine_test, blocking_wait_inside_a_coroutine_does_not_resume_others_twice) {
    auto idle = lib_->queue();
    ASSERT_TRUE(idle.has_value());
    pop_record pops;
    int finished = 0, wait_code = -1;
    lib_->spawn(consumer(&*lib_, qd_, 1, &pops));
    lib_->spawn(blocking_waiter(&*lib_, qd_, *idle, &finished, &wait_code));
    auto r = lib_->run(10s);
    EXPECT_TRUE(r.has_value()) << r.code();
    EXPECT_EQ(finished, 1);
    EXPECT_EQ(wait_code, ETIMEDOUT); // nothing is ever pushed to `idle`
    EXPECT_EQ(pops.texts, std::vector<std::string>{"abc"});
    EXPECT_EQ(pops.errors, std::vector<int>{0});
}

// ---- demi::queue, the RAII descriptor ----

TEST_F(coroutine_test, raii_queue_closes_on_scope_exit) {
    int qd = -1;
    qtoken pending = 0;
    {
        demi::queue q(*lib_, *lib_->queue());
        qd = q.qd();
        ASSERT_TRUE(lib_->is_open(qd));
        auto p = lib_->pop(qd);
        ASSERT_TRUE(p.has_value());
        pending = *p;
    }
    EXPECT_FALSE(lib_->is_open(qd));
    auto c = lib_->wait(pending, 5s);
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->error, ECANCELED);
}

TEST_F(coroutine_test, raii_queue_move_and_release) {
    demi::queue a(*lib_, *lib_->queue());
    const int qd = a.qd();
    demi::queue b(std::move(a));
    EXPECT_EQ(a.qd(), -1); // NOLINT(bugprone-use-after-move)
    EXPECT_EQ(b.qd(), qd);
    demi::queue c;
    EXPECT_EQ(c.qd(), -1);
    c = std::move(b);
    EXPECT_EQ(c.qd(), qd);
    EXPECT_TRUE(lib_->is_open(qd));

    demi::queue other(*lib_, *lib_->queue());
    const int other_qd = other.qd();
    other = std::move(c); // closes what `other` held
    EXPECT_FALSE(lib_->is_open(other_qd));
    EXPECT_TRUE(lib_->is_open(qd));

    EXPECT_EQ(other.release(), qd);
    EXPECT_EQ(other.qd(), -1);
    other.reset();
    EXPECT_TRUE(lib_->is_open(qd)); // released: no longer ours to close
    EXPECT_TRUE(lib_->close(qd).has_value());
}

TEST(coroutine_shutdown_test, destroying_libos_with_suspended_coroutines_is_clean) {
    pop_record pops;
    {
        auto lib = test::make_catnap();
        ASSERT_TRUE(lib.has_value());
        auto qd = lib->queue();
        ASSERT_TRUE(qd.has_value());
        lib->spawn(consumer(&*lib, *qd, 1, &pops));
        EXPECT_EQ(lib->run(test::poll_once).code(), ETIMEDOUT);
    } // the runtime closes the queue and lets the woken coroutine run before it goes
    EXPECT_TRUE(pops.finished);
    EXPECT_EQ(pops.errors, std::vector<int>{ECANCELED});
}

} // namespace
} // namespace demi
