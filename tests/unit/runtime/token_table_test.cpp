// token_table (src/runtime/token_table.hpp): tokens are unique, consumed tokens are gone, and
// completed slots are kept in completion order.
#include "runtime/token_table.hpp"

#include "memory/heap.hpp"

#include <gtest/gtest.h>

#include <unordered_set>
#include <vector>

namespace demi::rt {
namespace {

// Allocates a slot for (qd, op) and returns its index and token.
struct issued {
    uint32_t idx;
    qtoken qt;
};
issued issue(token_table &t, int qd, opcode op) {
    qtoken qt = 0;
    auto idx = t.allocate(qd, op, &qt);
    EXPECT_TRUE(idx.has_value());
    return {idx.has_value() ? *idx : token_table::none, qt};
}

// The done list, oldest first, as tokens.
std::vector<qtoken> done_list(token_table &t) {
    std::vector<qtoken> out;
    for (uint32_t i = t.first_done(); i != token_table::none; i = t.at(i).next) out.push_back(t.at(i).token);
    return out;
}

TEST(token_table_test, allocate_gives_a_findable_pending_token) {
    token_table t;
    auto a = issue(t, 3, opcode::pop);
    EXPECT_NE(a.qt, 0u);
    EXPECT_EQ(token_table::index_of(a.qt), a.idx);
    token_table::slot *s = t.find(a.qt);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s, &t.at(a.idx));
    EXPECT_EQ(s->token, a.qt);
    EXPECT_FALSE(s->done);
    EXPECT_EQ(s->result.qd, 3);
    EXPECT_EQ(s->result.op, opcode::pop);
    EXPECT_EQ(s->result.qt, a.qt);
    EXPECT_EQ(t.pending(), 1u);
    EXPECT_EQ(t.done_count(), 0u);
    EXPECT_EQ(t.first_done(), token_table::none);
}

TEST(token_table_test, complete_keeps_issued_identity_and_consume_returns_result) {
    token_table t;
    auto a = issue(t, 7, opcode::push);
    completion c;
    c.op = opcode::pop; // whatever the queue wrote, the issued op/qd/qt win
    c.qd = 99;
    c.qt = 12345;
    c.error = ECONNRESET;
    c.new_qd = 4;
    t.complete(a.idx, std::move(c));
    EXPECT_TRUE(t.find(a.qt)->done);
    EXPECT_EQ(t.pending(), 0u);
    EXPECT_EQ(t.done_count(), 1u);
    EXPECT_EQ(t.first_done(), a.idx);

    completion out = t.consume(a.idx);
    EXPECT_EQ(out.op, opcode::push);
    EXPECT_EQ(out.qd, 7);
    EXPECT_EQ(out.qt, a.qt);
    EXPECT_EQ(out.error, ECONNRESET);
    EXPECT_EQ(out.new_qd, 4);
    EXPECT_EQ(t.find(a.qt), nullptr);
    EXPECT_EQ(t.done_count(), 0u);
    EXPECT_EQ(t.pending(), 0u);
    EXPECT_EQ(t.first_done(), token_table::none);
}

TEST(token_table_test, consume_moves_the_buffer_out) {
    token_table t;
    auto a = issue(t, 0, opcode::pop);
    auto b = mem::heap_allocate(16);
    ASSERT_TRUE(b.has_value());
    buffer keep = *b;
    completion c;
    c.data = std::move(*b);
    t.complete(a.idx, std::move(c));
    EXPECT_EQ(keep.use_count(), 2u); // the slot holds the other reference
    completion out = t.consume(a.idx);
    EXPECT_EQ(out.data.data(), keep.data());
    EXPECT_EQ(keep.use_count(), 2u); // moved, not copied
    out.data.reset();
    EXPECT_EQ(keep.use_count(), 1u); // the freed slot kept nothing
}

TEST(token_table_test, tokens_never_reused_across_100k_cycles) {
    token_table t;
    std::unordered_set<qtoken> seen;
    seen.reserve(200000);
    std::vector<qtoken> consumed;
    for (int i = 0; i < 100000; ++i) {
        // Two in flight at a time, so slots are reused in more than one pattern.
        auto a = issue(t, i, opcode::pop);
        auto b = issue(t, i, opcode::push);
        ASSERT_TRUE(seen.insert(a.qt).second) << "token reused at cycle " << i;
        ASSERT_TRUE(seen.insert(b.qt).second) << "token reused at cycle " << i;
        ASSERT_NE(a.qt, 0u);
        t.complete(b.idx, completion{});
        t.complete(a.idx, completion{});
        EXPECT_EQ(t.consume(a.idx).qt, a.qt);
        EXPECT_EQ(t.consume(b.idx).qt, b.qt);
        ASSERT_EQ(t.find(a.qt), nullptr);
        ASSERT_EQ(t.find(b.qt), nullptr);
        if (i % 1000 == 0) consumed.push_back(a.qt);
    }
    EXPECT_EQ(t.slots().size(), 2u); // slots are reused; tokens are not
    EXPECT_EQ(t.pending(), 0u);
    EXPECT_EQ(t.done_count(), 0u);
    for (qtoken qt : consumed) EXPECT_EQ(t.find(qt), nullptr);
}

TEST(token_table_test, unknown_tokens_not_found) {
    token_table t;
    EXPECT_EQ(t.find(0), nullptr);
    EXPECT_EQ(t.find(1), nullptr);
    auto a = issue(t, 0, opcode::pop);
    EXPECT_EQ(t.find(0), nullptr);                              // 0 is never a token
    EXPECT_EQ(t.find(a.qt + 1), nullptr);                       // another slot index
    EXPECT_EQ(t.find(a.qt + (qtoken{1} << token_table::slot_bits)), nullptr); // same slot, later sequence
    EXPECT_EQ(t.find(a.qt & (token_table::max_slots - 1)), nullptr); // same slot, sequence 0
    EXPECT_EQ(t.find(~qtoken{0}), nullptr);
    EXPECT_NE(t.find(a.qt), nullptr);
}

TEST(token_table_test, done_list_in_completion_order) {
    token_table t;
    std::vector<issued> ops;
    for (int i = 0; i < 5; ++i) ops.push_back(issue(t, i, opcode::pop));
    for (int k : {3, 1, 4, 0, 2}) t.complete(ops[static_cast<size_t>(k)].idx, completion{});
    EXPECT_EQ(done_list(t), (std::vector<qtoken>{ops[3].qt, ops[1].qt, ops[4].qt, ops[0].qt, ops[2].qt}));
    EXPECT_EQ(t.done_count(), 5u);
    EXPECT_EQ(t.pending(), 0u);

    // Consuming from the middle, the head and the tail keeps the rest in order.
    (void)t.consume(ops[4].idx);
    EXPECT_EQ(done_list(t), (std::vector<qtoken>{ops[3].qt, ops[1].qt, ops[0].qt, ops[2].qt}));
    (void)t.consume(ops[3].idx);
    EXPECT_EQ(done_list(t), (std::vector<qtoken>{ops[1].qt, ops[0].qt, ops[2].qt}));
    (void)t.consume(ops[2].idx);
    EXPECT_EQ(done_list(t), (std::vector<qtoken>{ops[1].qt, ops[0].qt}));

    // A new completion goes to the tail, after those still there.
    auto late = issue(t, 9, opcode::push);
    EXPECT_EQ(t.pending(), 1u);
    t.complete(late.idx, completion{});
    EXPECT_EQ(done_list(t), (std::vector<qtoken>{ops[1].qt, ops[0].qt, late.qt}));
    (void)t.consume(ops[1].idx);
    (void)t.consume(ops[0].idx);
    (void)t.consume(late.idx);
    EXPECT_EQ(t.first_done(), token_table::none);
    EXPECT_EQ(t.done_count(), 0u);
}

TEST(token_table_test, done_list_survives_slot_reuse) {
    token_table t;
    auto a = issue(t, 0, opcode::pop);
    auto b = issue(t, 0, opcode::pop);
    t.complete(a.idx, completion{});
    (void)t.consume(a.idx);
    auto c = issue(t, 0, opcode::pop); // reuses a's slot
    EXPECT_EQ(c.idx, a.idx);
    EXPECT_NE(c.qt, a.qt);
    t.complete(c.idx, completion{});
    t.complete(b.idx, completion{});
    EXPECT_EQ(done_list(t), (std::vector<qtoken>{c.qt, b.qt}));
}

} // namespace
} // namespace demi::rt
