// The cooperative scheduler and wait lists (src/runtime/scheduler.hpp), on a manual clock.
#include "runtime/scheduler.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <coroutine>
#include <exception>
#include <string>
#include <vector>

namespace demi::rt {
namespace {

using namespace std::chrono_literals;

// A coroutine that starts suspended and stays suspended at its end, so the test owns its frame
// and destroys it whatever state it is in.
struct probe {
    struct promise_type {
        probe get_return_object() noexcept { return probe{std::coroutine_handle<promise_type>::from_promise(*this)}; }
        std::suspend_always initial_suspend() const noexcept { return {}; }
        std::suspend_always final_suspend() const noexcept { return {}; }
        void return_void() const noexcept {}
        void unhandled_exception() const noexcept { std::terminate(); }
    };
    std::coroutine_handle<promise_type> h;
};

using log_t = std::vector<std::string>;

probe note(log_t *log, std::string what) {
    log->push_back(std::move(what));
    co_return;
}

probe yielder(scheduler *s, log_t *log, std::string name, int rounds) {
    for (int i = 0; i < rounds; ++i) {
        log->push_back(name + std::to_string(i));
        co_await s->yield();
    }
    log->push_back(name + "end");
}

probe sleeper(scheduler *s, log_t *log, std::string name, time_point t) {
    co_await s->sleep_until(t);
    log->push_back(name + "@" + std::to_string(s->now().time_since_epoch().count()));
}

// Schedules `other` when it runs.
probe spawner(scheduler *s, log_t *log, std::coroutine_handle<> other) {
    log->push_back("spawner");
    s->schedule(other);
    co_return;
}

probe list_waiter(wait_list *l, log_t *log, std::string name) {
    co_await l->wait();
    log->push_back(name);
}

class scheduler_test : public ::testing::Test {
protected:
    manual_clock clock_{time_point(1s)};
    scheduler sched_{clock_};
    log_t log_;
    std::vector<std::coroutine_handle<>> frames_;

    std::coroutine_handle<> keep(probe p) {
        frames_.push_back(p.h);
        return p.h;
    }
    bool finished(size_t i) const { return frames_[i].done(); }

    void TearDown() override {
        sched_.clear();
        for (auto h : frames_) h.destroy();
    }
};

// recent(): the pinned time in a poll round, else the last reading of the clock (read once if there
// was none), never a new reading.
TEST_F(scheduler_test, recent_is_the_pinned_time_or_the_last_reading) {
    EXPECT_EQ(sched_.recent(), time_point(1s)); // nothing read yet: reads now
    clock_.advance(5ms);
    EXPECT_EQ(sched_.recent(), time_point(1s)); // not read again
    EXPECT_EQ(sched_.now(), time_point(1s) + 5ms);
    clock_.advance(5ms);
    EXPECT_EQ(sched_.recent(), time_point(1s) + 5ms); // now() read it
    const time_point outer = sched_.pin(time_point(3s));
    EXPECT_EQ(sched_.recent(), time_point(3s));
    EXPECT_EQ(sched_.now(), time_point(3s)); // pinned: the clock is not read
    sched_.pin(outer);
    EXPECT_EQ(sched_.recent(), time_point(1s) + 5ms);
    EXPECT_EQ(sched_.read_clock(), time_point(1s) + 10ms);
    EXPECT_EQ(sched_.recent(), time_point(1s) + 10ms);
}

TEST_F(scheduler_test, runs_ready_in_schedule_order) {
    EXPECT_FALSE(sched_.has_ready());
    EXPECT_EQ(sched_.run_ready(), 0u);
    sched_.schedule(keep(note(&log_, "a")));
    sched_.schedule(keep(note(&log_, "b")));
    sched_.schedule(keep(note(&log_, "c")));
    EXPECT_TRUE(sched_.has_ready());
    EXPECT_TRUE(log_.empty()); // nothing runs before run_ready
    EXPECT_EQ(sched_.run_ready(), 3u);
    EXPECT_EQ(log_, (log_t{"a", "b", "c"}));
    EXPECT_FALSE(sched_.has_ready());
    EXPECT_TRUE(finished(0) && finished(1) && finished(2));
}

TEST_F(scheduler_test, run_ready_also_runs_coroutines_made_ready_meanwhile) {
    auto late = keep(note(&log_, "late"));
    sched_.schedule(keep(spawner(&sched_, &log_, late)));
    sched_.schedule(keep(note(&log_, "second")));
    EXPECT_EQ(sched_.run_ready(), 3u);
    EXPECT_EQ(log_, (log_t{"spawner", "second", "late"}));
    EXPECT_FALSE(sched_.has_ready());
}

TEST_F(scheduler_test, yield_lets_others_run_first) {
    sched_.schedule(keep(yielder(&sched_, &log_, "a", 2)));
    sched_.schedule(keep(yielder(&sched_, &log_, "b", 1)));
    EXPECT_EQ(sched_.run_ready(), 5u); // a, b, a, b, a
    EXPECT_EQ(log_, (log_t{"a0", "b0", "a1", "bend", "aend"}));
    EXPECT_TRUE(finished(0) && finished(1));
}

TEST_F(scheduler_test, sleep_until_fires_in_deadline_order) {
    const time_point t0 = clock_.now();
    sched_.schedule(keep(sleeper(&sched_, &log_, "c", t0 + 30ms)));
    sched_.schedule(keep(sleeper(&sched_, &log_, "a", t0 + 10ms)));
    sched_.schedule(keep(sleeper(&sched_, &log_, "b", t0 + 20ms)));
    EXPECT_EQ(sched_.next_deadline(), time_point::max()); // not asleep until they run
    EXPECT_EQ(sched_.run_ready(), 3u);
    EXPECT_TRUE(log_.empty());
    EXPECT_EQ(sched_.next_deadline(), t0 + 10ms);

    EXPECT_EQ(sched_.fire_timers(), 0u); // the clock has not moved
    clock_.advance(9ms);
    EXPECT_EQ(sched_.fire_timers(), 0u);
    EXPECT_EQ(sched_.run_ready(), 0u);
    EXPECT_TRUE(log_.empty());

    clock_.advance(1ms); // exactly the first deadline
    EXPECT_EQ(sched_.fire_timers(), 1u);
    EXPECT_TRUE(log_.empty()); // fired means ready, not run
    EXPECT_EQ(sched_.run_ready(), 1u);
    EXPECT_EQ(log_, (log_t{"a@1010000000"}));
    EXPECT_EQ(sched_.next_deadline(), t0 + 20ms);

    clock_.advance(100ms); // past both remaining deadlines: they fire together, earliest first
    EXPECT_EQ(sched_.fire_timers(), 2u);
    EXPECT_EQ(sched_.run_ready(), 2u);
    EXPECT_EQ(log_, (log_t{"a@1010000000", "b@1110000000", "c@1110000000"}));
    EXPECT_EQ(sched_.next_deadline(), time_point::max());
    EXPECT_TRUE(finished(0) && finished(1) && finished(2));
}

TEST_F(scheduler_test, equal_deadlines_fire_first_in_first_out) {
    const time_point t = clock_.now() + 5ms;
    for (const char *n : {"p", "q", "r", "s", "t", "u", "v", "w"}) sched_.schedule(keep(sleeper(&sched_, &log_, n, t)));
    // An earlier deadline set up after them still fires first.
    sched_.schedule(keep(sleeper(&sched_, &log_, "early", t - 1ms)));
    sched_.run_ready();
    clock_.set(t);
    EXPECT_EQ(sched_.fire_timers(), 9u);
    sched_.run_ready();
    EXPECT_EQ(log_, (log_t{"early@1005000000", "p@1005000000", "q@1005000000", "r@1005000000", "s@1005000000",
                           "t@1005000000", "u@1005000000", "v@1005000000", "w@1005000000"}));
}

TEST_F(scheduler_test, sleep_until_past_deadline_does_not_suspend) {
    sched_.schedule(keep(sleeper(&sched_, &log_, "now", clock_.now())));
    sched_.schedule(keep(sleeper(&sched_, &log_, "past", clock_.now() - 1s)));
    EXPECT_EQ(sched_.run_ready(), 2u);
    EXPECT_EQ(log_, (log_t{"now@1000000000", "past@1000000000"}));
    EXPECT_EQ(sched_.next_deadline(), time_point::max());
}

TEST_F(scheduler_test, clear_forgets_everything) {
    sched_.schedule(keep(note(&log_, "never")));
    sched_.schedule(keep(sleeper(&sched_, &log_, "never-sleeper", clock_.now() + 1ms)));
    sched_.run_ready(); // runs both: "never" logs; the sleeper goes to sleep
    log_.clear();
    sched_.schedule(keep(note(&log_, "dropped")));
    sched_.clear();
    EXPECT_FALSE(sched_.has_ready());
    EXPECT_EQ(sched_.next_deadline(), time_point::max());
    clock_.advance(1s);
    EXPECT_EQ(sched_.fire_timers(), 0u);
    EXPECT_EQ(sched_.run_ready(), 0u);
    EXPECT_TRUE(log_.empty());
}

TEST_F(scheduler_test, now_reads_the_injected_clock) {
    EXPECT_EQ(sched_.now(), time_point(1s));
    clock_.advance(3ns);
    EXPECT_EQ(sched_.now().time_since_epoch().count(), 1'000'000'003);
    EXPECT_EQ(&sched_.clock(), &clock_);
}

// A coroutine that drives the scheduler from inside (as a blocking wait called from a coroutine
// does) must not get the coroutines of the outer run_ready resumed twice, nor itself re-entered.
probe nested_driver(scheduler *s, log_t *log, std::coroutine_handle<> extra) {
    log->push_back("driver");
    s->schedule(extra);
    s->run_ready();
    log->push_back("driver-after");
    co_return;
}

TEST_F(scheduler_test, nested_run_ready_does_not_resume_running_coroutines) {
    auto extra = keep(note(&log_, "extra"));
    sched_.schedule(keep(nested_driver(&sched_, &log_, extra)));
    sched_.schedule(keep(note(&log_, "sibling")));
    sched_.run_ready();
    // Whatever order the nested call chooses, each coroutine runs exactly once.
    std::vector<std::string> sorted = log_;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(sorted, (log_t{"driver", "driver-after", "extra", "sibling"}));
    EXPECT_TRUE(finished(0) && finished(1) && finished(2));
}

// ---- wait_list ----

TEST_F(scheduler_test, wait_list_notify_one_is_fifo) {
    wait_list l;
    EXPECT_TRUE(l.empty());
    for (const char *n : {"w1", "w2", "w3"}) sched_.schedule(keep(list_waiter(&l, &log_, n)));
    sched_.run_ready();
    EXPECT_FALSE(l.empty());
    EXPECT_TRUE(log_.empty());
    l.notify_one(sched_);
    sched_.run_ready();
    EXPECT_EQ(log_, (log_t{"w1"}));
    l.notify_one(sched_);
    l.notify_one(sched_);
    EXPECT_TRUE(l.empty());
    l.notify_one(sched_); // nobody left: nothing happens
    EXPECT_EQ(sched_.run_ready(), 2u);
    EXPECT_EQ(log_, (log_t{"w1", "w2", "w3"}));
}

TEST_F(scheduler_test, wait_list_notify_all_wakes_in_wait_order) {
    wait_list l;
    for (const char *n : {"x", "y", "z"}) sched_.schedule(keep(list_waiter(&l, &log_, n)));
    sched_.run_ready();
    l.notify_all(sched_);
    EXPECT_TRUE(l.empty());
    EXPECT_TRUE(log_.empty()); // woken means scheduled
    EXPECT_EQ(sched_.run_ready(), 3u);
    EXPECT_EQ(log_, (log_t{"x", "y", "z"}));
    l.notify_all(sched_);
    EXPECT_EQ(sched_.run_ready(), 0u);
}

} // namespace
} // namespace demi::rt
