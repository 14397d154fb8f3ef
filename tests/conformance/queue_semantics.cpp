// Conformance: queue semantics every libOS must keep, on every kind of channel it offers
// (memory queues everywhere; TCP and UDP sockets where the libOS has them). docs/API.md.
#include "channel.hpp"

#include <set>
#include <thread>

namespace demi::conformance {
namespace {

class queue_semantics : public ::testing::TestWithParam<channel_kind> {
protected:
    void SetUp() override {
        lib_ = std::make_unique<libos>(make_libos());
        ch_ = open_channel(*lib_, GetParam());
    }
    void TearDown() override {
        for (int qd : ch_.owned) (void)lib_->close(qd);
        lib_.reset();
    }
    libos &lib() { return *lib_; }

    std::unique_ptr<libos> lib_;
    channel ch_;
};

TEST_P(queue_semantics, push_then_pop_delivers_exact_bytes) {
    for (size_t n : {size_t{1}, size_t{64}, size_t{1400}, size_t{8000}}) {
        buffer b = patterned(lib(), n, static_cast<uint32_t>(n));
        auto pt = ch_.push(lib(), b);
        ASSERT_TRUE(pt.has_value()) << pt.err().message();
        completion p = must_wait(lib(), *pt);
        EXPECT_EQ(p.error, 0);
        EXPECT_EQ(p.op, opcode::push);
        EXPECT_EQ(p.qt, *pt);
        EXPECT_EQ(p.qd, ch_.tx);
        EXPECT_TRUE(receive_exact(lib(), ch_, n, static_cast<uint32_t>(n))) << "size " << n;
    }
}

TEST_P(queue_semantics, large_messages_arrive_whole) {
    // Streams may split a push across pops; datagrams and memory queues may not.
    const size_t n = ch_.kind == channel_kind::udp ? 60000 : (size_t{1} << 20);
    buffer b = patterned(lib(), n, 99);
    auto pt = ch_.push(lib(), b);
    ASSERT_TRUE(pt.has_value());
    // Receive while the push may still be in progress (a megabyte exceeds the socket buffers).
    EXPECT_TRUE(receive_exact(lib(), ch_, n, 99));
    EXPECT_EQ(must_wait(lib(), *pt).error, 0);
}

TEST_P(queue_semantics, pop_issued_before_push_completes_after_it) {
    auto qt = lib().pop(ch_.rx);
    ASSERT_TRUE(qt.has_value());
    auto early = lib().wait(*qt, std::chrono::nanoseconds(0));
    ASSERT_FALSE(early.has_value());
    EXPECT_EQ(early.code(), ETIMEDOUT);
    buffer b = patterned(lib(), 100, 5);
    auto pt = ch_.push(lib(), b);
    ASSERT_TRUE(pt.has_value());
    completion r = must_wait(lib(), *qt);
    ASSERT_EQ(r.error, 0);
    EXPECT_EQ(r.op, opcode::pop);
    EXPECT_EQ(r.qd, ch_.rx);
    EXPECT_EQ(r.data.size(), 100u);
    EXPECT_TRUE(matches(r.data.bytes(), 0, 5));
    EXPECT_EQ(must_wait(lib(), *pt).error, 0);
    if (ch_.kind == channel_kind::udp) {
        auto from = lib().getsockname(ch_.tx);
        ASSERT_TRUE(from.has_value());
        EXPECT_EQ(r.addr.sin_family, AF_INET);
        EXPECT_EQ(r.addr.sin_port, from->sin_port);
        EXPECT_EQ(r.addr.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
    }
}

TEST_P(queue_semantics, messages_keep_their_order) {
    constexpr int count = 200;
    std::vector<qtoken> pushes;
    for (int i = 0; i < count; ++i) {
        auto pt = ch_.push(lib(), patterned(lib(), 32, static_cast<uint32_t>(i)));
        ASSERT_TRUE(pt.has_value());
        pushes.push_back(*pt);
        if (ch_.kind == channel_kind::udp) {
            // Loopback UDP may drop past the receive buffer: keep the window small.
            ASSERT_TRUE(receive_exact(lib(), ch_, 32, static_cast<uint32_t>(i)));
        }
    }
    if (ch_.kind != channel_kind::udp) {
        if (ch_.stream()) {
            // One stream: the concatenation of the messages, in order.
            size_t total = 0;
            std::vector<std::byte> all;
            while (total < 32u * count) {
                auto qt = lib().pop(ch_.rx);
                ASSERT_TRUE(qt.has_value());
                completion r = must_wait(lib(), *qt);
                ASSERT_EQ(r.error, 0);
                ASSERT_FALSE(r.data.empty());
                all.insert(all.end(), r.data.bytes().begin(), r.data.bytes().end());
                total += r.data.size();
            }
            ASSERT_EQ(total, 32u * count);
            for (int i = 0; i < count; ++i)
                ASSERT_TRUE(matches(std::span(all).subspan(32u * i, 32), 0, static_cast<uint32_t>(i))) << i;
        } else {
            for (int i = 0; i < count; ++i) ASSERT_TRUE(receive_exact(lib(), ch_, 32, static_cast<uint32_t>(i))) << i;
        }
    }
    for (qtoken qt : pushes) EXPECT_EQ(must_wait(lib(), qt).error, 0);
}

TEST_P(queue_semantics, pops_complete_in_issue_order) {
    // Four pops wait; each message pushed goes to the oldest pending pop.
    std::vector<qtoken> pops;
    for (int i = 0; i < 4; ++i) {
        auto qt = lib().pop(ch_.rx);
        ASSERT_TRUE(qt.has_value());
        pops.push_back(*qt);
    }
    for (int i = 0; i < 4; ++i) {
        auto pt = ch_.push(lib(), patterned(lib(), 10 + i, static_cast<uint32_t>(i)));
        ASSERT_TRUE(pt.has_value());
        EXPECT_EQ(must_wait(lib(), *pt).error, 0);
        completion r = must_wait(lib(), pops[i]);
        ASSERT_EQ(r.error, 0);
        EXPECT_EQ(r.data.size(), size_t(10 + i)) << "pop " << i;
        EXPECT_TRUE(matches(r.data.bytes(), 0, static_cast<uint32_t>(i)));
        for (int j = i + 1; j < 4; ++j)
            EXPECT_EQ(lib().wait(pops[j], std::chrono::nanoseconds(0)).code(), ETIMEDOUT) << "pop " << j << " early";
    }
}

TEST_P(queue_semantics, popped_buffer_can_be_pushed_back_unchanged) {
    // The echo pattern: what a pop returns is a buffer the application may push as it is.
    auto pt = ch_.push(lib(), patterned(lib(), 512, 11));
    ASSERT_TRUE(pt.has_value());
    auto qt = lib().pop(ch_.rx);
    ASSERT_TRUE(qt.has_value());
    completion r = must_wait(lib(), *qt);
    ASSERT_EQ(r.error, 0);
    ASSERT_FALSE(r.data.empty());
    const size_t first = r.data.size();
    auto again = ch_.push(lib(), r.data);
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(must_wait(lib(), *again).error, 0);
    EXPECT_EQ(must_wait(lib(), *pt).error, 0);
    if (ch_.stream() && first < 512) { // the rest of the first message
        EXPECT_TRUE(receive_exact(lib(), ch_, 512 - first, 11));
    }
    auto qt2 = lib().pop(ch_.rx);
    ASSERT_TRUE(qt2.has_value());
    completion r2 = must_wait(lib(), *qt2);
    ASSERT_EQ(r2.error, 0);
    EXPECT_TRUE(matches(r2.data.bytes(), 0, 11));
}

TEST_P(queue_semantics, pushed_buffer_survives_the_application_dropping_it) {
    // Free-protection: the libOS keeps its own reference until the push completes.
    const size_t n = ch_.kind == channel_kind::udp ? 4000 : 256 * 1024;
    qtoken pt;
    {
        buffer b = patterned(lib(), n, 21);
        auto r = ch_.push(lib(), b);
        ASSERT_TRUE(r.has_value());
        pt = *r;
    } // the application's reference is gone here
    EXPECT_TRUE(receive_exact(lib(), ch_, n, 21));
    EXPECT_EQ(must_wait(lib(), pt).error, 0);
}

TEST_P(queue_semantics, close_cancels_pending_operations) {
    auto qt = lib().pop(ch_.rx);
    ASSERT_TRUE(qt.has_value());
    ASSERT_TRUE(lib().close(ch_.rx).has_value());
    std::erase(ch_.owned, ch_.rx);
    completion r = must_wait(lib(), *qt);
    EXPECT_EQ(r.error, ECANCELED);
    EXPECT_EQ(r.op, opcode::pop);
    EXPECT_EQ(r.qt, *qt);
    EXPECT_EQ(r.qd, ch_.rx);
    // The descriptor is gone.
    EXPECT_EQ(lib().pop(ch_.rx).code(), EBADF);
    EXPECT_EQ(lib().close(ch_.rx).code(), EBADF);
}

TEST_P(queue_semantics, timed_out_wait_leaves_the_token_valid) {
    auto qt = lib().pop(ch_.rx);
    ASSERT_TRUE(qt.has_value());
    EXPECT_EQ(lib().wait(*qt, std::chrono::nanoseconds(0)).code(), ETIMEDOUT);
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(lib().wait(*qt, 20ms).code(), ETIMEDOUT);
    const auto waited = std::chrono::steady_clock::now() - t0;
    EXPECT_GE(waited, 20ms);
    EXPECT_LT(waited, 2s);
    auto pt = ch_.push(lib(), patterned(lib(), 8, 1));
    ASSERT_TRUE(pt.has_value());
    completion r = must_wait(lib(), *qt);
    EXPECT_EQ(r.error, 0);
    EXPECT_EQ(r.data.size(), 8u);
    EXPECT_EQ(must_wait(lib(), *pt).error, 0);
}

TEST_P(queue_semantics, tokens_are_unique_and_consumed_once) {
    std::set<qtoken> seen;
    for (int i = 0; i < 2000; ++i) {
        auto pt = ch_.push(lib(), patterned(lib(), 4, 0));
        ASSERT_TRUE(pt.has_value());
        EXPECT_TRUE(seen.insert(*pt).second) << "token reused";
        auto qt = lib().pop(ch_.rx);
        ASSERT_TRUE(qt.has_value());
        EXPECT_TRUE(seen.insert(*qt).second) << "token reused";
        completion r = must_wait(lib(), *qt);
        ASSERT_EQ(r.error, 0);
        if (ch_.stream()) {
            // Drain the remainder of a split message so the next round starts clean.
            size_t got = r.data.size();
            while (got < 4) {
                auto q2 = lib().pop(ch_.rx);
                ASSERT_TRUE(q2.has_value());
                seen.insert(*q2);
                got += must_wait(lib(), *q2).data.size();
            }
        }
        ASSERT_EQ(must_wait(lib(), *pt).error, 0);
        // Consumed: waiting again is an error, never a second result.
        EXPECT_EQ(lib().wait(*pt, std::chrono::nanoseconds(0)).code(), EINVAL);
        EXPECT_EQ(lib().wait(*qt, std::chrono::nanoseconds(0)).code(), EINVAL);
    }
}

TEST_P(queue_semantics, results_are_kept_until_waited_on) {
    auto pa = ch_.push(lib(), patterned(lib(), 16, 1));
    ASSERT_TRUE(pa.has_value());
    auto qa = lib().pop(ch_.rx);
    ASSERT_TRUE(qa.has_value());
    // Wait for the pop first; the push completed meanwhile and must still be there afterwards.
    completion r = must_wait(lib(), *qa);
    EXPECT_EQ(r.error, 0);
    completion p = must_wait(lib(), *pa);
    EXPECT_EQ(p.error, 0);
    EXPECT_EQ(p.op, opcode::push);
}

TEST_P(queue_semantics, wait_any_returns_the_ready_one) {
    auto idle = lib().pop(ch_.rx);
    ASSERT_TRUE(idle.has_value());
    auto pt = ch_.push(lib(), patterned(lib(), 8, 3));
    ASSERT_TRUE(pt.has_value());
    // The pop consumes the message; the push completion is the ready one among {pop?, push}.
    const qtoken qts[] = {*idle, *pt};
    std::set<qtoken> pending(std::begin(qts), std::end(qts));
    for (int i = 0; i < 2; ++i) {
        std::vector<qtoken> v(pending.begin(), pending.end());
        size_t idx = 99;
        auto r = lib().wait_any(v, &idx, 10s);
        ASSERT_TRUE(r.has_value()) << r.err().message();
        ASSERT_LT(idx, v.size());
        EXPECT_EQ(r->qt, v[idx]);
        EXPECT_EQ(r->error, 0);
        pending.erase(v[idx]);
    }
    EXPECT_TRUE(pending.empty());
    // Nothing pending now: wait_any over a fresh idle pop times out and keeps it.
    auto idle2 = lib().pop(ch_.rx);
    ASSERT_TRUE(idle2.has_value());
    size_t idx = 0;
    const qtoken one[] = {*idle2};
    EXPECT_EQ(lib().wait_any(one, &idx, std::chrono::nanoseconds(0)).code(), ETIMEDOUT);
    EXPECT_EQ(lib().close(ch_.rx).code(), 0);
    std::erase(ch_.owned, ch_.rx);
    EXPECT_EQ(must_wait(lib(), *idle2).error, ECANCELED);
}

TEST_P(queue_semantics, wait_next_n_returns_completed_operations) {
    std::set<qtoken> issued;
    for (int i = 0; i < 3; ++i) {
        auto pt = ch_.push(lib(), patterned(lib(), 8, static_cast<uint32_t>(i)));
        ASSERT_TRUE(pt.has_value());
        issued.insert(*pt);
    }
    std::set<qtoken> got;
    completion out[8];
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (got.size() < 3 && std::chrono::steady_clock::now() < deadline) {
        auto n = lib().wait_next_n(out, 1s);
        ASSERT_TRUE(n.has_value()) << n.err().message();
        ASSERT_GE(*n, 1u);
        for (size_t i = 0; i < *n; ++i) {
            EXPECT_EQ(out[i].op, opcode::push);
            EXPECT_EQ(out[i].error, 0);
            got.insert(out[i].qt);
        }
    }
    EXPECT_EQ(got, issued);
    EXPECT_EQ(lib().wait_next_n(out, std::chrono::nanoseconds(0)).code(), ETIMEDOUT);
}

TEST_P(queue_semantics, bad_arguments_are_errors) {
    EXPECT_EQ(lib().push(ch_.tx, buffer()).code(), EINVAL);
    auto b = patterned(lib(), 8, 0);
    EXPECT_EQ(lib().push(12345, b).code(), EBADF);
    EXPECT_EQ(lib().push(-1, b).code(), EBADF);
    EXPECT_EQ(lib().pop(-1).code(), EBADF);
    EXPECT_EQ(lib().wait(0, std::chrono::nanoseconds(0)).code(), EINVAL);
    EXPECT_EQ(lib().wait(~qtoken{0}, std::chrono::nanoseconds(0)).code(), EINVAL);
    size_t idx;
    EXPECT_EQ(lib().wait_any({}, &idx, std::chrono::nanoseconds(0)).code(), EINVAL);
    EXPECT_EQ(lib().alloc(0).code(), EINVAL);
}

INSTANTIATE_TEST_SUITE_P(channels, queue_semantics,
                         ::testing::Values(channel_kind::memory, channel_kind::tcp, channel_kind::udp),
                         [](const auto &info) { return std::string(name_of(info.param)); });

} // namespace
} // namespace demi::conformance
