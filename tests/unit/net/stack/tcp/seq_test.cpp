// Sequence-number arithmetic (RFC 9293 §3.4).
#include <gtest/gtest.h>

#include "net/stack/tcp/seq.hpp"

namespace demi::net::tcp {
namespace {

TEST(seq, compares_without_wrap) {
    EXPECT_LT(seq32(1), seq32(2));
    EXPECT_GT(seq32(2), seq32(1));
    EXPECT_LE(seq32(2), seq32(2));
    EXPECT_GE(seq32(2), seq32(2));
    EXPECT_EQ(seq32(7), seq32(7));
}

TEST(seq, compares_across_wrap) {
    EXPECT_LT(seq32(0xfffffff0u), seq32(0x10));
    EXPECT_GT(seq32(0x10), seq32(0xfffffff0u));
    EXPECT_EQ(seq32(0xffffffffu) + 1, seq32(0));
    EXPECT_EQ(seq32(0) - 1, seq32(0xffffffffu));
}

TEST(seq, distance_is_signed) {
    EXPECT_EQ(seq32(0x10) - seq32(0xfffffff0u), 0x20);
    EXPECT_EQ(seq32(0xfffffff0u) - seq32(0x10), -0x20);
    EXPECT_EQ(seq_distance(seq32(0xfffffff0u), seq32(0x10)), 0x20u);
    EXPECT_EQ(seq_distance(seq32(0x10), seq32(0xfffffff0u)), 0u);
}

TEST(seq, half_space_boundary) {
    // 2^31 - 1 ahead is "after"; 2^31 + 1 ahead reads as behind.
    EXPECT_LT(seq32(0), seq32(0x7fffffffu));
    EXPECT_GT(seq32(0), seq32(0x80000001u));
}

TEST(seq, window_membership) {
    EXPECT_TRUE(seq_in_window(seq32(100), seq32(100), 10));
    EXPECT_TRUE(seq_in_window(seq32(109), seq32(100), 10));
    EXPECT_FALSE(seq_in_window(seq32(110), seq32(100), 10));
    EXPECT_FALSE(seq_in_window(seq32(99), seq32(100), 10));
    EXPECT_FALSE(seq_in_window(seq32(100), seq32(100), 0));
    EXPECT_TRUE(seq_in_window(seq32(5), seq32(0xfffffffau), 20));
    EXPECT_TRUE(seq_in_window(seq32(1u << 30), seq32(0), (1u << 30) + 1)); // RFC 7323 windows
}

TEST(seq, between_min_max) {
    EXPECT_TRUE(seq_between(seq32(0xfffffff0u), seq32(3), seq32(10)));
    EXPECT_FALSE(seq_between(seq32(5), seq32(3), seq32(10)));
    EXPECT_EQ(seq_max(seq32(0xfffffff0u), seq32(3)), seq32(3));
    EXPECT_EQ(seq_min(seq32(0xfffffff0u), seq32(3)), seq32(0xfffffff0u));
}

} // namespace
} // namespace demi::net::tcp
