// result<T>, result<void>, error and DEMI_TRY (src/common/result.hpp, include/demi/result.hpp).
#include "common/result.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

namespace demi {
namespace {

// Counts live instances, copies and moves, to check that result<T> constructs and destroys its
// value exactly as often as it should.
struct tracked {
    static inline int live = 0;
    static inline int copies = 0;
    static inline int moves = 0;
    static void reset_counts() { live = copies = moves = 0; }

    int v = 0;
    explicit tracked(int x) : v(x) { ++live; }
    tracked(const tracked &o) : v(o.v) {
        ++live;
        ++copies;
    }
    tracked(tracked &&o) noexcept : v(o.v) {
        o.v = -1;
        ++live;
        ++moves;
    }
    tracked &operator=(const tracked &) = delete;
    tracked &operator=(tracked &&) = delete;
    ~tracked() { --live; }
};

class result_test : public ::testing::Test {
protected:
    void SetUp() override { tracked::reset_counts(); }
    void TearDown() override { EXPECT_EQ(tracked::live, 0) << "a tracked value leaked or was destroyed twice"; }
};

TEST(error_test, holds_code_and_message) {
    constexpr error e(ENOENT);
    static_assert(e.code() == ENOENT);
    EXPECT_EQ(e.code(), ENOENT);
    EXPECT_STREQ(e.message(), std::strerror(ENOENT));
    EXPECT_TRUE(error(EINVAL) == error(EINVAL));
    EXPECT_FALSE(error(EINVAL) == error(EBADF));
}

TEST_F(result_test, value_is_held) {
    result<int> r = 42;
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(static_cast<bool>(r));
    EXPECT_EQ(r.value(), 42);
    EXPECT_EQ(*r, 42);
    EXPECT_EQ(r.code(), 0);
    r.value() = 7;
    EXPECT_EQ(*r, 7);
}

TEST_F(result_test, error_is_held) {
    result<int> r = error(ECONNRESET);
    EXPECT_FALSE(r.has_value());
    EXPECT_FALSE(static_cast<bool>(r));
    EXPECT_EQ(r.code(), ECONNRESET);
    EXPECT_EQ(r.err(), error(ECONNRESET));
    EXPECT_STREQ(r.err().message(), std::strerror(ECONNRESET));
}

TEST_F(result_test, arrow_reaches_members) {
    result<std::string> r = std::string("queue");
    EXPECT_EQ(r->size(), 5u);
    const result<std::string> &cr = r;
    EXPECT_EQ(cr->front(), 'q');
    EXPECT_EQ(cr.value(), "queue");
}

TEST_F(result_test, copy_copies_value_once) {
    {
        result<tracked> a = tracked(3);
        tracked::copies = tracked::moves = 0;
        result<tracked> b = a; // NOLINT(performance-unnecessary-copy-initialization)
        EXPECT_EQ(tracked::copies, 1);
        EXPECT_EQ(tracked::live, 2);
        ASSERT_TRUE(a.has_value());
        ASSERT_TRUE(b.has_value());
        EXPECT_EQ(a->v, 3);
        EXPECT_EQ(b->v, 3);
    }
    EXPECT_EQ(tracked::live, 0);
}

TEST_F(result_test, copy_of_error_keeps_code) {
    const result<tracked> a = error(EAGAIN);
    result<tracked> b = a; // NOLINT(performance-unnecessary-copy-initialization)
    EXPECT_FALSE(b.has_value());
    EXPECT_EQ(b.code(), EAGAIN);
    EXPECT_EQ(tracked::live, 0);
}

TEST_F(result_test, move_moves_value) {
    result<tracked> a = tracked(9);
    tracked::copies = tracked::moves = 0;
    result<tracked> b = std::move(a);
    EXPECT_EQ(tracked::copies, 0);
    EXPECT_EQ(tracked::moves, 1);
    ASSERT_TRUE(b.has_value());
    EXPECT_EQ(b->v, 9);
    // The moved-from result still holds a (moved-from) value and destroys it.
    EXPECT_TRUE(a.has_value()); // NOLINT(bugprone-use-after-move)
    EXPECT_EQ(a->v, -1);
    EXPECT_EQ(tracked::live, 2);
}

TEST_F(result_test, move_only_value) {
    result<std::unique_ptr<int>> a = std::make_unique<int>(5);
    result<std::unique_ptr<int>> b = std::move(a);
    ASSERT_TRUE(b.has_value());
    ASSERT_NE(b->get(), nullptr);
    EXPECT_EQ(**b, 5);
    std::unique_ptr<int> p = std::move(b).value();
    EXPECT_EQ(*p, 5);
    EXPECT_EQ(b->get(), nullptr);
}

TEST_F(result_test, assignment_between_value_and_error) {
    result<tracked> r = tracked(1);
    EXPECT_EQ(tracked::live, 1);
    r = error(EBADF); // value -> error destroys the value
    EXPECT_EQ(tracked::live, 0);
    EXPECT_EQ(r.code(), EBADF);
    r = tracked(2); // error -> value
    EXPECT_EQ(tracked::live, 1);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->v, 2);
    r = tracked(3); // value -> value destroys the old one
    EXPECT_EQ(tracked::live, 1);
    EXPECT_EQ(r->v, 3);
    result<tracked> other = error(ETIMEDOUT);
    r = other; // copy-assign an error
    EXPECT_EQ(tracked::live, 0);
    EXPECT_EQ(r.code(), ETIMEDOUT);
    EXPECT_EQ(other.code(), ETIMEDOUT);
}

TEST_F(result_test, self_assignment_keeps_value) {
    result<tracked> r = tracked(4);
    result<tracked> &alias = r;
    r = alias;
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->v, 4);
    EXPECT_EQ(tracked::live, 1);
}

TEST(result_void_test, default_is_success) {
    result<void> r;
    EXPECT_TRUE(r.has_value());
    EXPECT_TRUE(static_cast<bool>(r));
    EXPECT_EQ(r.code(), 0);
    EXPECT_TRUE(ok().has_value());
    EXPECT_EQ(ok().code(), 0);
}

TEST(result_void_test, error_copy_and_move) {
    result<void> r = error(ECANCELED);
    EXPECT_FALSE(r.has_value());
    EXPECT_EQ(r.code(), ECANCELED);
    EXPECT_EQ(r.err(), error(ECANCELED));
    result<void> copy = r;
    EXPECT_EQ(copy.code(), ECANCELED);
    result<void> moved = std::move(copy);
    EXPECT_EQ(moved.code(), ECANCELED);
    moved = ok();
    EXPECT_TRUE(moved.has_value());
    EXPECT_EQ(r.code(), ECANCELED);
}

// ---- DEMI_TRY ----

int evaluations = 0;

result<void> step(int err) {
    ++evaluations;
    if (err != 0) return error(err);
    return ok();
}

result<int> value_step(int err, int v) {
    ++evaluations;
    if (err != 0) return error(err);
    return v;
}

// Runs two steps; the second only if the first succeeded.
result<int> two_steps(int first_err, int second_err, int *reached) {
    *reached = 0;
    DEMI_TRY(step(first_err));
    *reached = 1;
    DEMI_TRY(value_step(second_err, 10));
    *reached = 2;
    return 99;
}

result<void> void_caller(int err) {
    DEMI_TRY(value_step(err, 1));
    return ok();
}

TEST(demi_try_test, passes_on_success) {
    evaluations = 0;
    int reached = -1;
    auto r = two_steps(0, 0, &reached);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(*r, 99);
    EXPECT_EQ(reached, 2);
    EXPECT_EQ(evaluations, 2);
}

TEST(demi_try_test, returns_first_error) {
    evaluations = 0;
    int reached = -1;
    auto r = two_steps(EINVAL, 0, &reached);
    EXPECT_EQ(r.code(), EINVAL);
    EXPECT_EQ(reached, 0);
    EXPECT_EQ(evaluations, 1); // the second step never ran
}

TEST(demi_try_test, returns_second_error) {
    evaluations = 0;
    int reached = -1;
    auto r = two_steps(0, ENOMEM, &reached);
    EXPECT_EQ(r.code(), ENOMEM);
    EXPECT_EQ(reached, 1);
    EXPECT_EQ(evaluations, 2);
}

TEST(demi_try_test, works_in_void_function_and_evaluates_once) {
    evaluations = 0;
    EXPECT_TRUE(void_caller(0).has_value());
    EXPECT_EQ(evaluations, 1);
    auto r = void_caller(EPIPE);
    EXPECT_EQ(r.code(), EPIPE);
    EXPECT_EQ(evaluations, 2);
}

} // namespace
} // namespace demi
