// Heap-backed I/O memory (src/memory/heap.hpp): limits, alignment, headroom, release.
#include "memory/heap.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace demi::mem {
namespace {

TEST(heap_allocate_test, zero_bytes_is_einval) {
    auto b = heap_allocate(0);
    EXPECT_EQ(b.code(), EINVAL);
}

TEST(heap_allocate_test, above_max_is_einval) {
    EXPECT_EQ(heap_allocate(max_buffer_size + 1).code(), EINVAL);
    EXPECT_EQ(heap_allocate(SIZE_MAX).code(), EINVAL);
    EXPECT_EQ(heap_allocate(64, max_buffer_size + 1).code(), EINVAL);
    EXPECT_EQ(heap_allocate(64, SIZE_MAX).code(), EINVAL);
}

TEST(heap_allocate_test, one_byte) {
    auto b = heap_allocate(1);
    ASSERT_TRUE(b.has_value()) << b.code();
    EXPECT_EQ(b->size(), 1u);
    EXPECT_EQ(b->headroom(), default_headroom);
    EXPECT_EQ(b->use_count(), 1u);
    ASSERT_NE(b->data(), nullptr);
    b->data()[0] = std::byte{0x5a};
    EXPECT_EQ(b->data()[0], std::byte{0x5a});
}

TEST(heap_allocate_test, one_mebibyte_is_usable) {
    constexpr size_t n = size_t{1} << 20;
    auto b = heap_allocate(n);
    ASSERT_TRUE(b.has_value()) << b.code();
    EXPECT_EQ(b->size(), n);
    for (size_t i = 0; i < n; ++i) b->data()[i] = static_cast<std::byte>(i * 7 + 3);
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(b->data()[i], static_cast<std::byte>(i * 7 + 3)) << "at " << i;
    // The headroom is writable too (a stack prepends headers there).
    ASSERT_TRUE(b->prepend(default_headroom));
    std::memset(b->data(), 0xee, default_headroom);
    EXPECT_EQ(b->size(), n + default_headroom);
}

TEST(heap_allocate_test, data_is_cache_line_aligned) {
    for (size_t size : {size_t{1}, size_t{3}, size_t{64}, size_t{1000}, size_t{65536}, size_t{1} << 20}) {
        auto b = heap_allocate(size);
        ASSERT_TRUE(b.has_value());
        EXPECT_EQ(reinterpret_cast<uintptr_t>(b->data()) % 64, 0u) << "size " << size;
        EXPECT_EQ(reinterpret_cast<uintptr_t>(b->data()) % alignof(std::max_align_t), 0u);
    }
    auto z = heap_allocate(100, 0);
    ASSERT_TRUE(z.has_value());
    EXPECT_EQ(z->headroom(), 0u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(z->data()) % 64, 0u);
}

TEST(heap_allocate_test, headroom_as_asked) {
    auto b = heap_allocate(10, 300);
    ASSERT_TRUE(b.has_value());
    EXPECT_EQ(b->headroom(), 300u);
    EXPECT_EQ(b->size(), 10u);
    EXPECT_TRUE(b->prepend(300));
    EXPECT_FALSE(b->prepend(1));
}

TEST(heap_allocate_test, distinct_allocations_do_not_overlap) {
    std::vector<buffer> bufs;
    for (int i = 0; i < 64; ++i) {
        auto b = heap_allocate(100);
        ASSERT_TRUE(b.has_value());
        std::memset(b->data(), i, 100);
        bufs.push_back(std::move(*b));
    }
    for (int i = 0; i < 64; ++i)
        for (size_t j = 0; j < 100; ++j) ASSERT_EQ(bufs[static_cast<size_t>(i)].data()[j], static_cast<std::byte>(i));
}

// Wraps the heap's release function to count how often it runs.
int heap_releases = 0;
void (*heap_release)(detail::buffer_block *) noexcept = nullptr;
void counting_release(detail::buffer_block *blk) noexcept {
    ++heap_releases;
    heap_release(blk);
}

TEST(heap_allocate_test, block_released_once_after_last_copy) {
    auto r = heap_allocate(256);
    ASSERT_TRUE(r.has_value());
    buffer b = std::move(*r);
    heap_release = b.block()->release;
    b.block()->release = &counting_release;
    heap_releases = 0;
    buffer copy = b;
    buffer slice = b.slice(10, 10);
    b.reset();
    copy.reset();
    EXPECT_EQ(heap_releases, 0);
    slice.reset();
    EXPECT_EQ(heap_releases, 1);
}

TEST(heap_copy_test, copies_bytes) {
    std::vector<std::byte> src(5000);
    for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<std::byte>(i % 251);
    auto b = heap_copy(src);
    ASSERT_TRUE(b.has_value());
    ASSERT_EQ(b->size(), src.size());
    EXPECT_NE(b->data(), src.data());
    EXPECT_EQ(std::memcmp(b->data(), src.data(), src.size()), 0);
    EXPECT_EQ(b->headroom(), default_headroom);
    src[0] = std::byte{0xff};
    EXPECT_EQ(b->data()[0], std::byte{0}); // a copy, not a view

    auto h = heap_copy(std::span<const std::byte>(src).first(3), 7);
    ASSERT_TRUE(h.has_value());
    EXPECT_EQ(h->headroom(), 7u);
    EXPECT_EQ(h->size(), 3u);
}

TEST(heap_copy_test, empty_is_einval) {
    EXPECT_EQ(heap_copy(std::span<const std::byte>()).code(), EINVAL);
}

} // namespace
} // namespace demi::mem
