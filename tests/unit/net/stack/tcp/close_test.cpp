// Closing (RFC 9293 §3.6, §3.10.4, §3.10.7.4 "eighth"): FIN in every state, simultaneous close,
// TIME-WAIT for 2 MSL.
#include <cerrno>

#include "fixture.hpp"

namespace demi::net::tcp::test {
namespace {

using fin_wait_1_state = tcp_test;
using fin_wait_2_state = tcp_test;
using close_wait_state = tcp_test;
using closing_state = tcp_test;
using last_ack_state = tcp_test;
using time_wait_state = tcp_test;
constexpr std::uint32_t S = our_iss + 1;
constexpr std::uint32_t R = peer_iss + 1;

TEST_F(fin_wait_1_state, ack_of_fin_to_fin_wait_2) { fin_wait_2(); }

TEST_F(fin_wait_1_state, fin_and_ack_to_time_wait) {
    fin_wait_1();
    send(seg(f::fin | f::ack, R, S + 1));
    expect(f::ack, S + 1, R + 1);
    EXPECT_EQ(conn_->current_state(), state::time_wait);
}

TEST_F(fin_wait_1_state, fin_without_ack_of_ours_to_closing) { closing(); }

TEST_F(fin_wait_1_state, fin_follows_queued_data) {
    established();
    ASSERT_TRUE(push(text("bye")));
    conn_->close();
    dispatch();
    expect(f::ack | f::psh | f::fin, S, R, 3);
    EXPECT_EQ(conn_->push(buffer()).code(), EPIPE);
    send(seg(f::ack, R, S + 4));
    EXPECT_EQ(conn_->current_state(), state::fin_wait_2);
    EXPECT_EQ(conn_->pushes_completed(), 1u);
}

TEST_F(fin_wait_1_state, data_still_received) {
    fin_wait_1();
    send(seg(f::ack, R, S), text("late"));
    expect(f::ack, S + 1, R + 4);
    EXPECT_EQ(read_all(), text("late"));
}

TEST_F(fin_wait_1_state, fin_retransmitted_on_timeout) {
    fin_wait_1();
    advance(1s);
    expect(f::fin | f::ack, S, R);
    EXPECT_EQ(conn_->stats().retransmits_, 1u);
}

TEST_F(fin_wait_1_state, rst_resets) {
    fin_wait_1();
    send(seg(f::rst, R));
    EXPECT_EQ(conn_->error(), ECONNRESET);
}

TEST_F(fin_wait_1_state, push_after_close_is_epipe) {
    fin_wait_1();
    EXPECT_EQ(push(text("x")).code(), EPIPE);
}

TEST_F(fin_wait_2_state, fin_to_time_wait) { time_wait(); }

TEST_F(fin_wait_2_state, data_received) {
    fin_wait_2();
    send(seg(f::ack, R, S + 1), text("more"));
    expect(f::ack, S + 1, R + 4);
    EXPECT_EQ(read_all(), text("more"));
}

TEST_F(fin_wait_2_state, no_timer_running) {
    fin_wait_2();
    EXPECT_FALSE(conn_->poll_at());
}

TEST_F(fin_wait_2_state, rst_resets) {
    fin_wait_2();
    send(seg(f::rst, R));
    EXPECT_EQ(conn_->error(), ECONNRESET);
}

TEST_F(close_wait_state, eof_visible) {
    close_wait();
    EXPECT_TRUE(conn_->eof());
}

TEST_F(close_wait_state, can_still_send) {
    close_wait();
    ASSERT_TRUE(push(text("resp")));
    dispatch();
    expect(f::ack | f::psh, S, R + 1, 4);
}

TEST_F(close_wait_state, data_after_fin_ignored) {
    close_wait();
    send(seg(f::ack, R + 1, S), text("zzz"));
    expect(f::ack, S, R + 1);
    EXPECT_EQ(conn_->readable(), 0u);
}

TEST_F(close_wait_state, retransmitted_fin_acked) {
    close_wait();
    send(seg(f::fin | f::ack, R, S));
    expect(f::ack, S, R + 1);
    EXPECT_EQ(conn_->current_state(), state::close_wait);
}

TEST_F(close_wait_state, close_to_last_ack) { last_ack(); }

TEST_F(close_wait_state, rst_resets) {
    close_wait();
    send(seg(f::rst, R + 1));
    EXPECT_EQ(conn_->error(), ECONNRESET);
}

TEST_F(last_ack_state, ack_of_fin_closes) {
    last_ack();
    send(seg(f::ack, R + 1, S + 1));
    EXPECT_EQ(conn_->current_state(), state::closed);
    EXPECT_EQ(conn_->error(), 0);
    expect_nothing();
}

TEST_F(last_ack_state, fin_retransmitted) {
    last_ack();
    advance(1s);
    expect(f::fin | f::ack, S, R + 1);
}

TEST_F(last_ack_state, rst_closes_without_error) {
    last_ack();
    send(seg(f::rst, R + 1));
    EXPECT_EQ(conn_->current_state(), state::closed);
    EXPECT_EQ(conn_->error(), 0);
}

TEST_F(last_ack_state, times_out) {
    cfg_.max_retransmits_ = 1;
    last_ack();
    advance(1s);
    expect(f::fin | f::ack, S, R + 1);
    advance(2s);
    EXPECT_EQ(conn_->error(), ETIMEDOUT);
}

TEST_F(closing_state, ack_of_fin_to_time_wait) {
    closing();
    send(seg(f::ack, R + 1, S + 1));
    EXPECT_EQ(conn_->current_state(), state::time_wait);
}

TEST_F(closing_state, rst_closes) {
    closing();
    send(seg(f::rst, R + 1));
    EXPECT_EQ(conn_->current_state(), state::closed);
}

TEST_F(closing_state, simultaneous_close_both_sides_time_wait) {
    closing();
    send(seg(f::ack, R + 1, S + 1));
    EXPECT_EQ(conn_->current_state(), state::time_wait);
    EXPECT_EQ(conn_->poll_at(), now_ + 60s);
}

TEST_F(time_wait_state, expires_after_2msl) {
    time_wait();
    EXPECT_EQ(conn_->poll_at(), now_ + 60s);
    advance(59s);
    EXPECT_EQ(conn_->current_state(), state::time_wait);
    advance(1s);
    EXPECT_EQ(conn_->current_state(), state::closed);
    EXPECT_EQ(conn_->error(), 0);
}

TEST_F(time_wait_state, msl_configurable) {
    cfg_.msl_ = 1s;
    time_wait();
    advance(2s);
    EXPECT_EQ(conn_->current_state(), state::closed);
}

TEST_F(time_wait_state, retransmitted_fin_acked_and_timer_restarted) {
    time_wait();
    now_ += 30s;
    send(seg(f::fin | f::ack, R, S + 1));
    expect(f::ack, S + 1, R + 1);
    EXPECT_EQ(conn_->poll_at(), now_ + 60s);
}

TEST_F(time_wait_state, rst_closes) {
    time_wait();
    send(seg(f::rst, R + 1));
    EXPECT_EQ(conn_->current_state(), state::closed);
}

TEST_F(time_wait_state, syn_draws_challenge_ack) {
    time_wait();
    send(seg(f::syn, R + 1));
    expect(f::ack, S + 1, R + 1);
    EXPECT_EQ(conn_->current_state(), state::time_wait);
}

} // namespace
} // namespace demi::net::tcp::test
