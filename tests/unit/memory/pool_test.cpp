// Free-list block pool (src/memory/pool.hpp): reuse, oversize fallback, buffers outliving the pool.
#include "memory/pool.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <optional>
#include <vector>

namespace demi::mem {
namespace {

TEST(block_pool_test, zero_bytes_is_einval) {
    block_pool p(256);
    EXPECT_EQ(p.allocate(0, 0).code(), EINVAL);
}

TEST(block_pool_test, released_block_is_reused) {
    block_pool p(256);
    std::byte *first = nullptr;
    {
        auto b = p.allocate(100, 64);
        ASSERT_TRUE(b.has_value());
        EXPECT_EQ(b->size(), 100u);
        EXPECT_EQ(b->headroom(), 64u);
        EXPECT_EQ(b->tailroom(), 256u - 164u);
        EXPECT_EQ(b->use_count(), 1u);
        first = b->data();
        EXPECT_EQ(p.outstanding(), 1u);
    }
    EXPECT_EQ(p.outstanding(), 0u);
    EXPECT_EQ(p.free_count(), 1u);
    auto b = p.allocate(10, 64);
    ASSERT_TRUE(b.has_value());
    EXPECT_EQ(b->data(), first);
    EXPECT_EQ(p.free_count(), 0u);
}

TEST(block_pool_test, shared_block_returns_with_last_reference) {
    block_pool p(256);
    auto b = p.allocate(100, 0);
    ASSERT_TRUE(b.has_value());
    buffer s = b->slice(10, 20);
    b->reset();
    EXPECT_EQ(p.outstanding(), 1u);
    s.reset();
    EXPECT_EQ(p.outstanding(), 0u);
    EXPECT_EQ(p.free_count(), 1u);
}

TEST(block_pool_test, oversize_request_comes_from_the_heap) {
    block_pool p(256);
    auto b = p.allocate(1000, 128);
    ASSERT_TRUE(b.has_value());
    EXPECT_EQ(b->size(), 1000u);
    EXPECT_EQ(b->headroom(), 128u);
    EXPECT_EQ(p.outstanding(), 0u);
    std::memset(b->data(), 1, 1000);
}

TEST(block_pool_test, free_list_is_bounded) {
    block_pool p(128, 2);
    std::vector<buffer> v;
    for (int i = 0; i < 5; ++i) v.push_back(std::move(*p.allocate(64, 0)));
    EXPECT_EQ(p.outstanding(), 5u);
    v.clear();
    EXPECT_EQ(p.outstanding(), 0u);
    EXPECT_EQ(p.free_count(), 2u);
}

TEST(block_pool_test, buffers_outlive_the_pool) {
    std::optional<block_pool> p(std::in_place, 128);
    auto a = p->allocate(64, 0);
    auto b = p->allocate(64, 0);
    ASSERT_TRUE(a && b);
    a->reset(); // back on the free list
    p.reset();  // the pool goes with its free blocks; b is still held
    std::memset(b->data(), 7, 64);
    b->reset(); // freed to the heap (ASan checks that nothing leaks or is used after free)
}

} // namespace
} // namespace demi::mem
