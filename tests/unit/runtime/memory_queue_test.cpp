// Memory queues driven through a demi::libos (catnap): FIFO order, pops before pushes,
// cancellation on close, timeouts, wait_any, wait_next_n, free-protection, and two libOS
// instances in one process.
#include "libos_helpers.hpp"

#include "common/clock.hpp"

#include <array>
#include <unordered_set>
#include <vector>

namespace demi {
namespace {

using namespace std::chrono_literals;
using test::make_buffer;
using test::poll_once;
using test::text_of;

class memory_queue_test : public ::testing::Test {
protected:
    void SetUp() override {
        lib_ = test::make_catnap();
        ASSERT_TRUE(lib_.has_value());
        auto qd = lib_->queue();
        ASSERT_TRUE(qd.has_value()) << qd.code();
        qd_ = *qd;
    }

    libos &lib() { return *lib_; }

    qtoken push(int qd, std::string_view text) {
        auto qt = lib().push(qd, make_buffer(lib(), text));
        EXPECT_TRUE(qt.has_value()) << "push: " << qt.code();
        return qt.has_value() ? *qt : 0;
    }
    qtoken pop(int qd) {
        auto qt = lib().pop(qd);
        EXPECT_TRUE(qt.has_value()) << "pop: " << qt.code();
        return qt.has_value() ? *qt : 0;
    }
    /// Waits for a pop and returns its text (with every field of the completion checked).
    std::string wait_pop(qtoken qt, int qd) {
        auto c = lib().wait(qt, 5s);
        EXPECT_TRUE(c.has_value()) << "wait: " << c.code();
        if (!c) return "<wait failed>";
        EXPECT_EQ(c->op, opcode::pop);
        EXPECT_EQ(c->qd, qd);
        EXPECT_EQ(c->qt, qt);
        EXPECT_EQ(c->error, 0);
        return text_of(c->data);
    }
    void wait_push(qtoken qt, int qd) {
        auto c = lib().wait(qt, 5s);
        ASSERT_TRUE(c.has_value()) << "wait: " << c.code();
        EXPECT_EQ(c->op, opcode::push);
        EXPECT_EQ(c->qd, qd);
        EXPECT_EQ(c->qt, qt);
        EXPECT_EQ(c->error, 0);
        EXPECT_FALSE(c->data.valid());
    }

    std::optional<libos> lib_;
    int qd_ = -1;
};

TEST_F(memory_queue_test, libos_is_catnap_and_queue_is_open) {
    EXPECT_EQ(lib().name(), "catnap");
    EXPECT_TRUE(lib().is_open(qd_));
    EXPECT_FALSE(lib().is_open(qd_ + 1));
    EXPECT_FALSE(lib().is_open(-1));
}

TEST_F(memory_queue_test, fifo_across_many_pushes_and_pops) {
    constexpr int n = 2000;
    std::vector<qtoken> pushes;
    for (int i = 0; i < n; ++i) pushes.push_back(push(qd_, "message-" + std::to_string(i)));
    for (int i = 0; i < n; ++i) wait_push(pushes[static_cast<size_t>(i)], qd_);
    for (int i = 0; i < n; ++i) ASSERT_EQ(wait_pop(pop(qd_), qd_), "message-" + std::to_string(i));
    // Nothing left.
    const qtoken extra = pop(qd_);
    EXPECT_EQ(lib().wait(extra, poll_once).code(), ETIMEDOUT);
}

TEST_F(memory_queue_test, fifo_with_interleaved_batches) {
    rng r(77);
    int next_push = 0, next_pop = 0;
    std::vector<std::pair<qtoken, int>> pops; // issued pops and the message each must get
    for (int round = 0; round < 300; ++round) {
        const int k = static_cast<int>(r.below(5));
        for (int i = 0; i < k; ++i) {
            pops.emplace_back(pop(qd_), next_pop++);
        }
        const int m = static_cast<int>(r.below(6));
        for (int i = 0; i < m; ++i) {
            auto qt = push(qd_, "m" + std::to_string(next_push++));
            wait_push(qt, qd_);
        }
        // Wait for every pop that has data by now, newest first (wait order must not matter).
        while (!pops.empty() && pops.front().second < next_push) {
            size_t last = 0;
            while (last + 1 < pops.size() && pops[last + 1].second < next_push) ++last;
            for (size_t j = last + 1; j-- > 0;)
                ASSERT_EQ(wait_pop(pops[j].first, qd_), "m" + std::to_string(pops[j].second)) << "round " << round;
            pops.erase(pops.begin(), pops.begin() + static_cast<long>(last + 1));
        }
    }
    // Feed the pops still pending.
    while (next_push < next_pop) wait_push(push(qd_, "m" + std::to_string(next_push++)), qd_);
    for (auto &[qt, idx] : pops) ASSERT_EQ(wait_pop(qt, qd_), "m" + std::to_string(idx));
}

TEST_F(memory_queue_test, pops_issued_before_pushes_complete_in_issue_order) {
    std::array<qtoken, 5> pops{};
    for (auto &qt : pops) qt = pop(qd_);
    for (qtoken qt : pops) EXPECT_EQ(lib().wait(qt, poll_once).code(), ETIMEDOUT);
    for (int i = 0; i < 5; ++i) wait_push(push(qd_, "item" + std::to_string(i)), qd_);
    // Waited in reverse: each pop still gets the item of its place in the issue order.
    for (int i = 4; i >= 0; --i) EXPECT_EQ(wait_pop(pops[static_cast<size_t>(i)], qd_), "item" + std::to_string(i));
}

TEST_F(memory_queue_test, push_is_zero_copy) {
    buffer b = make_buffer(lib(), "by reference");
    std::byte *p = b.data();
    auto qt = lib().push(qd_, b);
    ASSERT_TRUE(qt.has_value());
    wait_push(*qt, qd_);
    auto c = lib().wait(pop(qd_), 5s);
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->data.data(), p);
    EXPECT_EQ(text_of(c->data), "by reference");
    EXPECT_EQ(b.use_count(), 2u); // the app's reference and the popped one
}

TEST_F(memory_queue_test, close_cancels_pending_pops) {
    std::array<qtoken, 3> pops{};
    for (auto &qt : pops) qt = pop(qd_);
    ASSERT_TRUE(lib().close(qd_).has_value());
    EXPECT_FALSE(lib().is_open(qd_));
    for (qtoken qt : pops) {
        auto c = lib().wait(qt, 5s);
        ASSERT_TRUE(c.has_value()) << c.code();
        EXPECT_EQ(c->error, ECANCELED);
        EXPECT_FALSE(c->ok());
        EXPECT_EQ(c->op, opcode::pop);
        EXPECT_EQ(c->qd, qd_);
        EXPECT_EQ(c->qt, qt);
        EXPECT_FALSE(c->data.valid());
    }
}

TEST_F(memory_queue_test, close_drops_queued_buffers) {
    buffer b = make_buffer(lib(), "never popped");
    auto qt = lib().push(qd_, b);
    ASSERT_TRUE(qt.has_value());
    EXPECT_EQ(b.use_count(), 2u); // the queue holds one
    ASSERT_TRUE(lib().close(qd_).has_value());
    EXPECT_EQ(b.use_count(), 1u);
    wait_push(*qt, qd_); // the push itself had completed
}

TEST_F(memory_queue_test, operations_on_closed_or_unknown_queue_are_ebadf) {
    ASSERT_TRUE(lib().close(qd_).has_value());
    buffer b = make_buffer(lib(), "x");
    EXPECT_EQ(lib().push(qd_, b).code(), EBADF);
    EXPECT_EQ(lib().pop(qd_).code(), EBADF);
    EXPECT_EQ(lib().close(qd_).code(), EBADF);
    for (int bad : {-1, 4096, 1 << 30}) {
        EXPECT_EQ(lib().push(bad, b).code(), EBADF) << bad;
        EXPECT_EQ(lib().pop(bad).code(), EBADF) << bad;
        EXPECT_EQ(lib().close(bad).code(), EBADF) << bad;
    }
    EXPECT_EQ(b.use_count(), 1u); // failed pushes kept no reference
}

TEST_F(memory_queue_test, push_of_empty_or_invalid_buffer_is_einval) {
    EXPECT_EQ(lib().push(qd_, buffer()).code(), EINVAL);
    buffer b = make_buffer(lib(), "abc");
    b.trim_back(3);
    EXPECT_EQ(lib().push(qd_, b).code(), EINVAL);
    EXPECT_EQ(lib().alloc(0).code(), EINVAL);
}

TEST_F(memory_queue_test, zero_timeout_leaves_token_valid) {
    const qtoken qt = pop(qd_);
    auto r = lib().wait(qt, poll_once);
    EXPECT_EQ(r.code(), ETIMEDOUT);
    EXPECT_EQ(lib().wait(qt, 1ms).code(), ETIMEDOUT);
    EXPECT_EQ(lib().wait(qt, poll_once).code(), ETIMEDOUT);
    wait_push(push(qd_, "late"), qd_);
    EXPECT_EQ(wait_pop(qt, qd_), "late");
    EXPECT_EQ(lib().wait(qt, poll_once).code(), EINVAL); // consumed now
}

TEST_F(memory_queue_test, timed_wait_takes_about_its_limit) {
    const qtoken qt = pop(qd_);
    steady_clock_source clock;
    const time_point t0 = clock.now();
    EXPECT_EQ(lib().wait(qt, 50ms).code(), ETIMEDOUT);
    const auto took = clock.now() - t0;
    EXPECT_GE(took, 50ms);
    EXPECT_LT(took, 2s);
}

TEST_F(memory_queue_test, wait_on_unknown_or_consumed_token_is_einval) {
    EXPECT_EQ(lib().wait(0, poll_once).code(), EINVAL);
    EXPECT_EQ(lib().wait(0x123456789abcULL, poll_once).code(), EINVAL);
    const qtoken qt = push(qd_, "once");
    wait_push(qt, qd_);
    EXPECT_EQ(lib().wait(qt, poll_once).code(), EINVAL);
    EXPECT_EQ(lib().wait(qt).code(), EINVAL); // even with no limit: no hang
}

TEST_F(memory_queue_test, wait_any_returns_ready_index) {
    std::array<int, 3> qds{qd_, -1, -1};
    for (size_t i = 1; i < qds.size(); ++i) {
        auto qd = lib().queue();
        ASSERT_TRUE(qd.has_value());
        qds[i] = *qd;
    }
    std::array<qtoken, 3> qts{};
    for (size_t i = 0; i < 3; ++i) qts[i] = pop(qds[i]);

    size_t index = 99;
    EXPECT_EQ(lib().wait_any(qts, &index, poll_once).code(), ETIMEDOUT);
    EXPECT_EQ(index, 99u);

    wait_push(push(qds[2], "to-two"), qds[2]);
    auto c = lib().wait_any(qts, &index, 5s);
    ASSERT_TRUE(c.has_value()) << c.code();
    EXPECT_EQ(index, 2u);
    EXPECT_EQ(c->qt, qts[2]);
    EXPECT_EQ(c->qd, qds[2]);
    EXPECT_EQ(c->op, opcode::pop);
    EXPECT_EQ(text_of(c->data), "to-two");

    // The others are still pending and valid.
    std::array<qtoken, 2> rest{qts[0], qts[1]};
    EXPECT_EQ(lib().wait_any(rest, &index, poll_once).code(), ETIMEDOUT);
    wait_push(push(qds[1], "to-one"), qds[1]);
    c = lib().wait_any(rest, &index, 5s);
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(index, 1u);
    EXPECT_EQ(c->qt, qts[1]);
    EXPECT_EQ(text_of(c->data), "to-one");

    // A consumed token in the set is an error, not a silent skip.
    std::array<qtoken, 2> with_consumed{qts[0], qts[2]};
    EXPECT_EQ(lib().wait_any(with_consumed, &index, poll_once).code(), EINVAL);
    EXPECT_EQ(lib().wait_any({}, &index, poll_once).code(), EINVAL);
    EXPECT_EQ(lib().wait_any(rest, nullptr, poll_once).code(), EINVAL);

    wait_push(push(qds[0], "to-zero"), qds[0]);
    EXPECT_EQ(wait_pop(qts[0], qds[0]), "to-zero");
}

TEST_F(memory_queue_test, wait_any_with_two_ready_keeps_the_other) {
    // Two ready at once: the one returned is ready, and the other stays for the next call.
    auto other = lib().queue();
    ASSERT_TRUE(other.has_value());
    std::array<qtoken, 2> qts{pop(qd_), pop(*other)};
    wait_push(push(*other, "b"), *other);
    wait_push(push(qd_, "a"), qd_);
    size_t i1 = 9, i2 = 9;
    auto c1 = lib().wait_any(qts, &i1, 5s);
    ASSERT_TRUE(c1.has_value());
    ASSERT_LT(i1, 2u);
    EXPECT_EQ(c1->qt, qts[i1]);
    EXPECT_EQ(text_of(c1->data), i1 == 0 ? "a" : "b");
    std::array<qtoken, 1> left{qts[1 - i1]};
    auto c2 = lib().wait_any(left, &i2, poll_once);
    ASSERT_TRUE(c2.has_value()) << c2.code();
    EXPECT_EQ(i2, 0u);
    EXPECT_EQ(text_of(c2->data), i1 == 0 ? "b" : "a");
}

TEST_F(memory_queue_test, wait_next_n_collects_in_completion_order) {
    std::array<qtoken, 3> pops{};
    for (auto &qt : pops) qt = pop(qd_);
    std::array<qtoken, 3> pushes{};
    for (size_t i = 0; i < 3; ++i) pushes[i] = push(qd_, "n" + std::to_string(i));

    // Pushes to a memory queue complete when issued; the pops they feed complete afterwards.
    std::vector<completion> got;
    std::array<completion, 8> out;
    for (int round = 0; round < 10 && got.size() < 6; ++round) {
        auto n = lib().wait_next_n(out, 5s);
        ASSERT_TRUE(n.has_value()) << n.code();
        ASSERT_GE(*n, 1u);
        ASSERT_LE(*n, out.size());
        for (size_t i = 0; i < *n; ++i) got.push_back(std::move(out[i]));
    }
    ASSERT_EQ(got.size(), 6u);
    for (size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(got[i].op, opcode::push);
        EXPECT_EQ(got[i].qt, pushes[i]);
        EXPECT_EQ(got[i].error, 0);
        EXPECT_EQ(got[3 + i].op, opcode::pop);
        EXPECT_EQ(got[3 + i].qt, pops[i]);
        EXPECT_EQ(got[3 + i].qd, qd_);
        EXPECT_EQ(text_of(got[3 + i].data), "n" + std::to_string(i));
    }
    // Everything was taken: nothing more, and the tokens are consumed.
    EXPECT_EQ(lib().wait_next_n(out, poll_once).code(), ETIMEDOUT);
    for (qtoken qt : pops) EXPECT_EQ(lib().wait(qt, poll_once).code(), EINVAL);
}

TEST_F(memory_queue_test, wait_next_n_respects_capacity) {
    std::array<qtoken, 5> pushes{};
    for (size_t i = 0; i < pushes.size(); ++i) pushes[i] = push(qd_, "c" + std::to_string(i));
    std::array<completion, 2> out;
    std::vector<qtoken> got;
    for (size_t expect : {2u, 2u, 1u}) {
        auto n = lib().wait_next_n(out, poll_once);
        ASSERT_TRUE(n.has_value()) << n.code();
        ASSERT_EQ(*n, expect);
        for (size_t i = 0; i < *n; ++i) got.push_back(out[i].qt);
    }
    EXPECT_EQ(got, std::vector<qtoken>(pushes.begin(), pushes.end()));
    EXPECT_EQ(lib().wait_next_n(out, poll_once).code(), ETIMEDOUT);
    EXPECT_EQ(lib().wait_next_n(std::span<completion>(), poll_once).code(), EINVAL);
}

TEST_F(memory_queue_test, results_completed_meanwhile_are_kept) {
    const qtoken a = pop(qd_);
    const qtoken b = push(qd_, "first"); // completes a at once (when the scheduler runs)
    auto other = lib().queue();
    ASSERT_TRUE(other.has_value());
    const qtoken c = pop(*other);
    wait_push(push(*other, "second"), *other);
    // Waiting on c drives the runtime; a completes meanwhile and must still be there.
    EXPECT_EQ(wait_pop(c, *other), "second");
    EXPECT_EQ(wait_pop(a, qd_), "first");
    wait_push(b, qd_);
}

TEST_F(memory_queue_test, tokens_unique_through_libos) {
    std::unordered_set<qtoken> seen;
    for (int i = 0; i < 20000; ++i) {
        const qtoken p = push(qd_, "t");
        const qtoken q = pop(qd_);
        ASSERT_TRUE(seen.insert(p).second) << i;
        ASSERT_TRUE(seen.insert(q).second) << i;
        wait_push(p, qd_);
        ASSERT_EQ(wait_pop(q, qd_), "t");
    }
}

TEST_F(memory_queue_test, descriptors_are_distinct_while_open) {
    std::unordered_set<int> qds{qd_};
    for (int i = 0; i < 100; ++i) {
        auto qd = lib().queue();
        ASSERT_TRUE(qd.has_value());
        ASSERT_GE(*qd, 0);
        ASSERT_TRUE(qds.insert(*qd).second) << *qd;
    }
}

// ---- free-protection ----

TEST_F(memory_queue_test, pushed_buffer_survives_app_release) {
    std::string pattern(4096, '\0');
    for (size_t i = 0; i < pattern.size(); ++i) pattern[i] = static_cast<char>('A' + i % 26);
    buffer b = make_buffer(lib(), pattern);
    auto qt = lib().push(qd_, b);
    ASSERT_TRUE(qt.has_value());
    b.reset(); // the application lets go before waiting
    wait_push(*qt, qd_);
    EXPECT_EQ(wait_pop(pop(qd_), qd_), pattern);
}

TEST_F(memory_queue_test, pushed_buffer_survives_app_release_into_pending_pop) {
    const std::string pattern = "free-protection with a pop already waiting";
    const qtoken p = pop(qd_);
    buffer b = make_buffer(lib(), pattern);
    auto qt = lib().push(qd_, b);
    ASSERT_TRUE(qt.has_value());
    b.reset();
    // Overwrite freshly allocated memory, as a reuse of a freed block would.
    for (int i = 0; i < 8; ++i) {
        buffer junk = make_buffer(lib(), std::string(pattern.size(), '#'));
        (void)junk;
    }
    EXPECT_EQ(wait_pop(p, qd_), pattern);
    wait_push(*qt, qd_);
}

// ---- two libOS instances in one process ----

TEST(two_libos_test, queues_and_tokens_are_separate) {
    auto a = test::make_catnap();
    auto b = test::make_catnap();
    ASSERT_TRUE(a.has_value() && b.has_value());
    auto qa = a->queue();
    auto qb = b->queue();
    ASSERT_TRUE(qa.has_value() && qb.has_value());
    // Each has its own descriptor table.
    EXPECT_TRUE(a->is_open(*qa));
    EXPECT_TRUE(b->is_open(*qb));

    auto pa = a->pop(*qa);
    auto pb = b->pop(*qb);
    ASSERT_TRUE(pa.has_value() && pb.has_value());
    // A token is never reused within a process, even across libOS instances...
    EXPECT_NE(*pa, *pb);
    // ...so a token of one instance is unknown to the other, not one of its own operations.
    EXPECT_EQ(b->wait(*pa, test::poll_once).code(), EINVAL);
    EXPECT_EQ(a->wait(*pb, test::poll_once).code(), EINVAL);

    auto push_a = a->push(*qa, make_buffer(*a, "from-a"));
    auto push_b = b->push(*qb, make_buffer(*b, "from-b"));
    ASSERT_TRUE(push_a.has_value() && push_b.has_value());
    auto ca = a->wait(*pa, 5s);
    auto cb = b->wait(*pb, 5s);
    ASSERT_TRUE(ca.has_value()) << ca.code();
    ASSERT_TRUE(cb.has_value()) << cb.code();
    EXPECT_EQ(text_of(ca->data), "from-a");
    EXPECT_EQ(text_of(cb->data), "from-b");
    EXPECT_EQ(ca->qt, *pa);
    EXPECT_EQ(cb->qt, *pb);
}

TEST(two_libos_test, closing_in_one_leaves_the_other_alone) {
    auto a = test::make_catnap();
    auto b = test::make_catnap();
    ASSERT_TRUE(a.has_value() && b.has_value());
    auto qa = a->queue();
    auto qb = b->queue();
    ASSERT_TRUE(qa.has_value() && qb.has_value());
    auto pb = b->pop(*qb);
    ASSERT_TRUE(pb.has_value());
    ASSERT_TRUE(a->close(*qa).has_value());
    EXPECT_TRUE(b->is_open(*qb));
    EXPECT_EQ(b->wait(*pb, test::poll_once).code(), ETIMEDOUT); // not cancelled by a's close
    auto push = b->push(*qb, make_buffer(*b, "still here"));
    ASSERT_TRUE(push.has_value());
    auto c = b->wait(*pb, 5s);
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->error, 0);
    EXPECT_EQ(text_of(c->data), "still here");
}

TEST(two_libos_test, a_buffer_from_one_can_be_pushed_to_the_other) {
    auto a = test::make_catnap();
    auto b = test::make_catnap();
    ASSERT_TRUE(a.has_value() && b.has_value());
    auto qb = b->queue();
    ASSERT_TRUE(qb.has_value());
    buffer from_a = make_buffer(*a, "crossing");
    auto push = b->push(*qb, from_a);
    ASSERT_TRUE(push.has_value());
    from_a.reset();
    a.reset(); // the instance that allocated it is gone; heap memory outlives it
    auto pop = b->pop(*qb);
    ASSERT_TRUE(pop.has_value());
    auto c = b->wait(*pop, 5s);
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(text_of(c->data), "crossing");
}

TEST(libos_create_test, unknown_libos_is_einval) {
    ::testing::internal::CaptureStderr();
    auto r = libos::create(options{.libos = "catfoo", .config_path = {}, .use_environment = false});
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(r.code(), EINVAL);
    EXPECT_NE(err.find("catfoo"), std::string::npos) << err;
    EXPECT_NE(err.find("catnap"), std::string::npos) << err; // names the valid choices
}

TEST(libos_create_test, missing_config_is_einval) {
    ::testing::internal::CaptureStderr();
    auto r = libos::create(
        options{.libos = "catnap", .config_path = "/nonexistent/demi-config.yaml", .use_environment = false});
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(r.code(), EINVAL);
    EXPECT_NE(err.find("/nonexistent/demi-config.yaml"), std::string::npos) << err;
}

} // namespace
} // namespace demi
