// ESTABLISHED (RFC 9293 §3.10.7.4): data both ways, acceptance test, out-of-order data, RST and
// SYN checks (RFC 5961), bad ACKs, windows, fast retransmit (RFC 5681 §3.2, RFC 6582).
#include <cerrno>

#include "fixture.hpp"

namespace demi::net::tcp::test {
namespace {

using established_state = tcp_test;
constexpr std::uint32_t S = our_iss + 1;  // our first data octet
constexpr std::uint32_t R = peer_iss + 1; // the peer's first data octet

TEST_F(established_state, in_order_data_delivered_and_acked) {
    established();
    send(seg(f::ack, R, S), text("hello"));
    auto a = expect(f::ack, S, R + 5);
    EXPECT_EQ(a.r_.window_, 65535 - 5);
    EXPECT_EQ(read_all(), text("hello"));
}

TEST_F(established_state, window_reopens_after_read) {
    established();
    send(seg(f::ack, R, S), filled(3000));
    expect(f::ack, S, R + 3000);
    std::vector<std::byte> buf(3000);
    EXPECT_EQ(conn_->recv(buf), 3000u);
    dispatch();
    auto w = expect(f::ack, S, R + 3000);
    EXPECT_EQ(w.r_.window_, 65535);
}

TEST_F(established_state, push_sent_and_completes_on_ack) {
    established();
    ASSERT_TRUE(push(text("abc")));
    dispatch();
    auto d = expect(f::ack | f::psh, S, R, 3);
    EXPECT_EQ(d.data_, text("abc"));
    EXPECT_EQ(conn_->pushes_completed(), 0u);
    send(seg(f::ack, R, S + 2));
    EXPECT_EQ(conn_->pushes_completed(), 0u); // not every byte yet
    send(seg(f::ack, R, S + 3));
    EXPECT_EQ(conn_->pushes_completed(), 1u);
    EXPECT_EQ(conn_->send_queued(), 0u);
    EXPECT_FALSE(conn_->poll_at());
}

TEST_F(established_state, large_push_segmented_by_mss_and_cwnd) {
    established();
    const auto data = filled(10000);
    ASSERT_TRUE(push(data));
    dispatch();
    // cwnd = 3 * 1460 (RFC 5681 §3.1)
    auto a = expect(f::ack, S, R, 1460);
    expect(f::ack, S + 1460, R, 1460);
    expect(f::ack, S + 2920, R, 1460);
    expect_nothing();
    EXPECT_TRUE(std::equal(a.data_.begin(), a.data_.end(), data.begin()));
    send(seg(f::ack, R, S + 4380));
    expect(f::ack, S + 4380, R, 1460);
    expect(f::ack, S + 5840, R, 1460);
    expect(f::ack, S + 7300, R, 1460);
    expect_nothing(); // the short tail waits for the ACK (Nagle)
    send(seg(f::ack, R, S + 8760));
    expect(f::ack | f::psh, S + 8760, R, 1240);
    send(seg(f::ack, R, S + 10000));
    EXPECT_EQ(conn_->pushes_completed(), 1u);
}

TEST_F(established_state, segment_spanning_pushes_is_gathered) {
    cfg_.nodelay_ = true;
    established();
    ASSERT_TRUE(push(text("ab")));
    ASSERT_TRUE(push(text("cd")));
    dispatch();
    auto d = expect(f::ack | f::psh, S, R, 4);
    EXPECT_EQ(d.data_, text("abcd"));
    send(seg(f::ack, R, S + 4));
    EXPECT_EQ(conn_->pushes_completed(), 2u);
}

TEST_F(established_state, nagle_holds_small_segment_while_unacked_and_nodelay_set_later_releases_it) {
    established();
    ASSERT_TRUE(push(text("a")));
    dispatch();
    expect(f::ack | f::psh, S, R, 1);
    ASSERT_TRUE(push(text("b")));
    dispatch();
    expect_nothing();
    send(seg(f::ack, R, S + 1));
    expect(f::ack | f::psh, S + 1, R, 1);
    // TCP_NODELAY turned on while Nagle holds "c" ("b" unacknowledged): it leaves at the next dispatch.
    ASSERT_TRUE(push(text("c")));
    dispatch();
    expect_nothing();
    conn_->set_nodelay(true);
    EXPECT_TRUE(conn_->nodelay());
    dispatch();
    expect(f::ack | f::psh, S + 2, R, 1);
    // And off again: "d" waits for the ACK of what is in flight.
    conn_->set_nodelay(false);
    ASSERT_TRUE(push(text("d")));
    dispatch();
    expect_nothing();
    send(seg(f::ack, R, S + 3));
    expect(f::ack | f::psh, S + 3, R, 1);
}

TEST_F(established_state, nodelay_sends_at_once) {
    cfg_.nodelay_ = true;
    established();
    ASSERT_TRUE(push(text("a")));
    dispatch();
    expect(f::ack | f::psh, S, R, 1);
    ASSERT_TRUE(push(text("b")));
    dispatch();
    expect(f::ack | f::psh, S + 1, R, 1);
}

TEST_F(established_state, send_buffer_bounded) {
    cfg_.send_buffer_ = 100;
    established();
    ASSERT_TRUE(push(filled(60)));
    EXPECT_EQ(push(filled(60)).code(), EAGAIN);
    EXPECT_TRUE(push(filled(40)));
}

TEST_F(established_state, oversize_push_into_empty_buffer_accepted) {
    cfg_.send_buffer_ = 100;
    established();
    EXPECT_TRUE(push(filled(500)));
}

TEST_F(established_state, oversize_push_taken_while_at_most_half_the_buffer_is_queued) {
    // Taken before the buffer empties, so the pipe does not drain before each large push.
    cfg_.send_buffer_ = 100;
    established();
    ASSERT_TRUE(push(filled(50))); // half the buffer queued
    EXPECT_TRUE(push(filled(500)));
    EXPECT_EQ(conn_->send_queued(), 550u);
    EXPECT_EQ(push(filled(1)).code(), EAGAIN);
    // Acknowledging 500 leaves 50 queued: at most half, a large push goes in again.
    dispatch();
    send(seg(f::ack, R, S + 500));
    EXPECT_EQ(conn_->send_queued(), 50u);
    EXPECT_TRUE(push(filled(300)));
    EXPECT_EQ(push(filled(1)).code(), EAGAIN);
}

TEST_F(established_state, empty_push_rejected) {
    established();
    EXPECT_EQ(conn_->push(buffer()).code(), EINVAL);
}

TEST_F(established_state, respects_peer_window) {
    cfg_.nodelay_ = true;
    established();
    send(seg(f::ack, R, S, 100));
    ASSERT_TRUE(push(filled(300)));
    dispatch();
    expect(f::ack, S, R, 100);
    expect_nothing();
}

TEST_F(established_state, out_of_order_held_then_delivered) {
    established();
    send(seg(f::ack, R + 5, S), text("world"));
    expect(f::ack, S, R); // quick duplicate ACK
    EXPECT_EQ(conn_->readable(), 0u);
    EXPECT_EQ(conn_->out_of_order().size(), 1u);
    send(seg(f::ack, R, S), text("hello"));
    expect(f::ack, S, R + 10);
    EXPECT_EQ(read_all(), text("helloworld"));
    EXPECT_TRUE(conn_->out_of_order().empty());
}

TEST_F(established_state, out_of_order_several_holes) {
    established();
    send(seg(f::ack, R + 6, S), text("cc"));
    send(seg(f::ack, R + 2, S), text("bb"));
    expect(f::ack, S, R);
    expect(f::ack, S, R);
    EXPECT_EQ(conn_->out_of_order().size(), 2u);
    send(seg(f::ack, R, S), text("aa"));
    expect(f::ack, S, R + 4);
    send(seg(f::ack, R + 4, S), text("xx"));
    expect(f::ack, S, R + 8);
    EXPECT_EQ(read_all(), text("aabbxxcc"));
}

TEST_F(established_state, out_of_order_fin_applied_when_gap_fills) {
    established();
    send(seg(f::ack | f::fin, R + 3, S), text("def"));
    expect(f::ack, S, R);
    EXPECT_EQ(conn_->current_state(), state::established);
    send(seg(f::ack, R, S), text("abc"));
    expect(f::ack, S, R + 7);
    EXPECT_EQ(conn_->current_state(), state::close_wait);
    EXPECT_EQ(read_all(), text("abcdef"));
    EXPECT_TRUE(conn_->eof());
}

TEST_F(established_state, reassembly_full_drops_segment) {
    established();
    for (std::uint32_t i = 0; i < reassembly::max_ranges; ++i) send(seg(f::ack, R + 10 + 10 * i, S), text("x"));
    out_.clear();
    send(seg(f::ack, R + 500, S), text("y"));
    expect(f::ack, S, R);
    EXPECT_EQ(conn_->stats().ooo_dropped_, 1u);
}

TEST_F(established_state, overlapping_retransmission_trimmed) {
    established();
    send(seg(f::ack, R, S), text("abc"));
    expect(f::ack, S, R + 3);
    send(seg(f::ack, R + 1, S), text("bcde"));
    expect(f::ack, S, R + 5);
    EXPECT_EQ(read_all(), text("abcde"));
}

TEST_F(established_state, old_duplicate_acked_not_delivered) {
    established();
    send(seg(f::ack, R, S), text("abc"));
    expect(f::ack, S, R + 3);
    send(seg(f::ack, R, S), text("abc"));
    expect(f::ack, S, R + 3);
    EXPECT_EQ(read_all(), text("abc"));
    EXPECT_EQ(conn_->stats().rejected_, 1u);
}

TEST_F(established_state, beyond_window_rejected_with_ack) {
    established();
    send(seg(f::ack, R + 70000, S), text("zz"));
    expect(f::ack, S, R);
    EXPECT_EQ(conn_->readable(), 0u);
}

TEST_F(established_state, data_past_window_trimmed) {
    cfg_.recv_buffer_ = 10;
    established();
    send(seg(f::ack, R, S), text("0123456789abc"));
    auto a = expect(f::ack, S, R + 10);
    EXPECT_EQ(a.r_.window_, 0);
    EXPECT_EQ(read_all(), text("0123456789"));
}

TEST_F(established_state, zero_window_accepts_ack_only) {
    cfg_.recv_buffer_ = 4;
    cfg_.nodelay_ = true;
    established();
    send(seg(f::ack, R, S), text("full"));
    expect(f::ack, S, R + 4);
    ASSERT_TRUE(push(text("q")));
    dispatch();
    expect(f::ack | f::psh, S, R + 4, 1);
    send(seg(f::ack, R + 4, S + 1), text("more")); // ACK taken, data not
    expect(f::ack, S + 1, R + 4);
    EXPECT_EQ(conn_->pushes_completed(), 1u);
    EXPECT_EQ(conn_->readable(), 4u);
}

TEST_F(established_state, rst_at_rcv_nxt_resets) {
    established();
    send(seg(f::rst, R));
    expect_nothing();
    EXPECT_EQ(conn_->current_state(), state::closed);
    EXPECT_EQ(conn_->error(), ECONNRESET);
}

TEST_F(established_state, rst_in_window_draws_challenge_ack) {
    established();
    send(seg(f::rst, R + 100));
    expect(f::ack, S, R);
    EXPECT_EQ(conn_->current_state(), state::established);
    EXPECT_EQ(conn_->stats().challenge_acks_, 1u);
}

TEST_F(established_state, rst_out_of_window_silently_dropped) {
    established();
    send(seg(f::rst, R + 100000));
    expect_nothing();
    send(seg(f::rst, R - 1));
    expect_nothing();
    EXPECT_EQ(conn_->current_state(), state::established);
}

TEST_F(established_state, syn_draws_challenge_ack) {
    established();
    send(seg(f::syn, R + 10));
    expect(f::ack, S, R);
    EXPECT_EQ(conn_->current_state(), state::established);
    EXPECT_EQ(conn_->stats().challenge_acks_, 1u);
}

TEST_F(established_state, ack_of_unsent_data_rejected) {
    established();
    send(seg(f::ack, R, S + 50), text("x"));
    expect(f::ack, S, R);
    EXPECT_EQ(conn_->readable(), 0u);
}

TEST_F(established_state, ack_too_old_rejected_rfc5961) {
    established();
    send(seg(f::ack, R, S - 70000), text("x"));
    expect(f::ack, S, R);
    EXPECT_EQ(conn_->readable(), 0u);
}

TEST_F(established_state, old_ack_ignored_but_data_taken) {
    cfg_.nodelay_ = true;
    established();
    ASSERT_TRUE(push(text("abc")));
    dispatch();
    out_.clear();
    send(seg(f::ack, R, S + 3));
    send(seg(f::ack, R, S + 1), text("x")); // older ACK, within MAX.SND.WND
    expect(f::ack, S + 3, R + 1);
    EXPECT_EQ(conn_->snd_una(), seq32(S + 3));
}

TEST_F(established_state, segment_without_ack_dropped) {
    established();
    send(seg(0, R), text("x"));
    expect_nothing();
    EXPECT_EQ(conn_->readable(), 0u);
}

TEST_F(established_state, window_update_uses_wl1_wl2) {
    established();
    send(seg(f::ack, R, S, 1000));
    EXPECT_EQ(conn_->send_window(), 1000u);
    send(seg(f::ack, R, S, 2000));
    EXPECT_EQ(conn_->send_window(), 2000u);
}

TEST_F(established_state, fast_retransmit_on_third_duplicate) {
    cfg_.nodelay_ = true;
    established();
    ASSERT_TRUE(push(filled(1460 * 3)));
    dispatch();
    out_.clear();
    send(seg(f::ack, R, S));
    send(seg(f::ack, R, S));
    expect_nothing();
    send(seg(f::ack, R, S));
    expect(f::ack, S, R, 1460);
    EXPECT_EQ(conn_->stats().fast_retransmits_, 1u);
    EXPECT_EQ(conn_->stats().dup_acks_, 3u);
    send(seg(f::ack, R, S + 4380)); // full ACK ends recovery
    EXPECT_EQ(conn_->pushes_completed(), 1u);
}

TEST_F(established_state, partial_ack_retransmits_next_hole) {
    cfg_.nodelay_ = true;
    cfg_.cc_ = cc_algorithm::new_reno;
    established();
    ASSERT_TRUE(push(filled(1460 * 3)));
    dispatch();
    out_.clear();
    for (int i = 0; i < 3; ++i) send(seg(f::ack, R, S));
    expect(f::ack, S, R, 1460);
    send(seg(f::ack, R, S + 1460)); // partial: below recover
    expect(f::ack, S + 1460, R, 1460);
}

TEST_F(established_state, dup_ack_with_window_change_not_counted) {
    cfg_.nodelay_ = true;
    established();
    ASSERT_TRUE(push(filled(1460 * 3)));
    dispatch();
    out_.clear();
    send(seg(f::ack, R, S, 1000));
    send(seg(f::ack, R, S, 2000));
    send(seg(f::ack, R, S, 3000));
    expect_nothing();
    EXPECT_EQ(conn_->stats().dup_acks_, 0u);
}

TEST_F(established_state, abort_sends_rst) {
    established();
    conn_->abort();
    dispatch();
    expect(f::rst, S, 0);
    EXPECT_EQ(conn_->current_state(), state::closed);
}

TEST_F(established_state, sequence_wraps) {
    cfg_.nodelay_ = true;
    wire::tcp_repr s = seg(f::syn, 0xfffffffdu);
    conn_.emplace(connection::accept_syn(tuple_, cfg_, seq32(0xfffffffeu), now_, s));
    dispatch();
    expect(f::syn | f::ack, 0xfffffffeu, 0xfffffffeu);
    send(seg(f::ack, 0xfffffffeu, 0xffffffffu));
    ASSERT_EQ(conn_->current_state(), state::established);
    send(seg(f::ack, 0xfffffffeu, 0xffffffffu), text("wrap"));
    expect(f::ack, 0xffffffffu, 2);
    ASSERT_TRUE(push(text("xyz")));
    dispatch();
    expect(f::ack | f::psh, 0xffffffffu, 2, 3);
    send(seg(f::ack, 2, 2));
    EXPECT_EQ(conn_->pushes_completed(), 1u);
}

TEST_F(established_state, challenge_acks_rate_limited) {
    // RFC 5961 §7: at most challenge_ack_limit_ per challenge_ack_interval_, per connection.
    cfg_.challenge_ack_limit_ = 2;
    established();
    for (int i = 0; i < 3; ++i) send(seg(f::rst, R + 10 + i));
    expect(f::ack, S, R);
    expect(f::ack, S, R);
    expect_nothing();
    EXPECT_EQ(conn_->stats().challenge_acks_, 2u);
    EXPECT_EQ(conn_->stats().challenge_acks_suppressed_, 1u);
    send(seg(f::syn, R + 50)); // every kind counts against the same budget
    expect_nothing();
    advance(999ms);
    send(seg(f::rst, R + 10));
    expect_nothing();
    advance(1ms); // a new interval
    send(seg(f::rst, R + 10));
    expect(f::ack, S, R);
    EXPECT_EQ(conn_->current_state(), state::established);
}

TEST_F(established_state, challenge_ack_limit_default_and_off) {
    EXPECT_EQ(config{}.challenge_ack_limit_, 1000u);
    EXPECT_EQ(config{}.challenge_ack_interval_, 1s);
    cfg_.challenge_ack_limit_ = 0; // no limit
    established();
    for (int i = 0; i < 1500; ++i) send(seg(f::rst, R + 10));
    EXPECT_EQ(conn_->stats().challenge_acks_, 1500u);
    EXPECT_EQ(conn_->stats().challenge_acks_suppressed_, 0u);
}

} // namespace
} // namespace demi::net::tcp::test
