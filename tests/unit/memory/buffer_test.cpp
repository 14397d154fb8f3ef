// demi::buffer (include/demi/buffer.hpp): reference counting, headroom and views, over a block
// whose release function counts how often it runs.
#include <demi/buffer.hpp>

#include <gtest/gtest.h>

#include <array>
#include <cstdint>

namespace demi {
namespace {

// A block of 256 bytes that counts its releases instead of freeing anything.
struct counted_block {
    static constexpr size_t capacity = 256;
    detail::buffer_block hdr{};
    alignas(64) std::array<std::byte, capacity> mem{};
    int releases = 0;

    counted_block() {
        hdr.refs = 1;
        hdr.base = mem.data();
        hdr.capacity = capacity;
        hdr.release = &release;
        hdr.owner = this;
    }
    static void release(detail::buffer_block *blk) noexcept { ++static_cast<counted_block *>(blk->owner)->releases; }

    /// The one initial reference, viewing [off, off + len).
    buffer make(size_t off, size_t len) { return buffer::adopt(&hdr, off, len); }
};

TEST(buffer_refcount_test, default_buffer_is_empty) {
    buffer b;
    EXPECT_FALSE(b.valid());
    EXPECT_FALSE(static_cast<bool>(b));
    EXPECT_EQ(b.data(), nullptr);
    EXPECT_EQ(b.size(), 0u);
    EXPECT_TRUE(b.empty());
    EXPECT_EQ(b.headroom(), 0u);
    EXPECT_EQ(b.tailroom(), 0u);
    EXPECT_EQ(b.use_count(), 0u);
    EXPECT_EQ(b.block(), nullptr);
    EXPECT_EQ(b.bytes().size(), 0u);
    b.reset(); // harmless
    EXPECT_FALSE(b.prepend(1));
    EXPECT_FALSE(b.append(1));
}

TEST(buffer_refcount_test, last_reference_releases_once) {
    counted_block blk;
    {
        buffer b = blk.make(0, 10);
        EXPECT_TRUE(b.valid());
        EXPECT_EQ(b.use_count(), 1u);
        EXPECT_EQ(b.block(), &blk.hdr);
        EXPECT_EQ(blk.releases, 0);
    }
    EXPECT_EQ(blk.releases, 1);
}

TEST(buffer_refcount_test, copy_shares_block) {
    counted_block blk;
    buffer a = blk.make(16, 32);
    {
        buffer b = a; // NOLINT(performance-unnecessary-copy-initialization)
        EXPECT_EQ(a.use_count(), 2u);
        EXPECT_EQ(b.use_count(), 2u);
        EXPECT_EQ(b.data(), a.data());
        EXPECT_EQ(b.size(), 32u);
        EXPECT_EQ(b.headroom(), 16u);
    }
    EXPECT_EQ(blk.releases, 0);
    EXPECT_EQ(a.use_count(), 1u);
    a.reset();
    EXPECT_EQ(blk.releases, 1);
    EXPECT_FALSE(a.valid());
    a.reset();
    EXPECT_EQ(blk.releases, 1);
}

TEST(buffer_refcount_test, copy_assignment_releases_old_block) {
    counted_block x, y;
    buffer a = x.make(0, 8);
    buffer b = y.make(0, 8);
    b = a;
    EXPECT_EQ(y.releases, 1);
    EXPECT_EQ(x.releases, 0);
    EXPECT_EQ(a.use_count(), 2u);
    EXPECT_EQ(b.block(), &x.hdr);
    a.reset();
    b.reset();
    EXPECT_EQ(x.releases, 1);
    EXPECT_EQ(y.releases, 1);
}

TEST(buffer_refcount_test, self_copy_assignment_is_a_no_op) {
    counted_block blk;
    buffer a = blk.make(4, 8);
    const buffer &alias = a;
    a = alias;
    EXPECT_EQ(a.use_count(), 1u);
    EXPECT_EQ(a.size(), 8u);
    EXPECT_EQ(a.headroom(), 4u);
    EXPECT_EQ(blk.releases, 0);
    a.reset();
    EXPECT_EQ(blk.releases, 1);
}

TEST(buffer_refcount_test, move_transfers_reference) {
    counted_block blk;
    buffer a = blk.make(8, 24);
    std::byte *p = a.data();
    buffer b = std::move(a);
    EXPECT_FALSE(a.valid()); // NOLINT(bugprone-use-after-move)
    EXPECT_EQ(a.size(), 0u);
    EXPECT_EQ(a.use_count(), 0u);
    EXPECT_EQ(b.use_count(), 1u);
    EXPECT_EQ(b.data(), p);
    EXPECT_EQ(b.size(), 24u);
    EXPECT_EQ(b.headroom(), 8u);
    a.reset();
    EXPECT_EQ(blk.releases, 0);
    b.reset();
    EXPECT_EQ(blk.releases, 1);
}

TEST(buffer_refcount_test, move_assignment_releases_old_block) {
    counted_block x, y;
    buffer a = x.make(0, 8);
    buffer b = y.make(0, 8);
    b = std::move(a);
    EXPECT_EQ(y.releases, 1);
    EXPECT_EQ(x.releases, 0);
    EXPECT_EQ(b.use_count(), 1u);
    buffer &alias = b;
    b = std::move(alias); // self-move keeps the reference
    EXPECT_TRUE(b.valid());
    EXPECT_EQ(b.use_count(), 1u);
    EXPECT_EQ(x.releases, 0);
    b.reset();
    EXPECT_EQ(x.releases, 1);
}

TEST(buffer_refcount_test, many_copies_release_once) {
    counted_block blk;
    {
        buffer first = blk.make(0, 100);
        std::array<buffer, 50> copies;
        for (auto &c : copies) c = first;
        EXPECT_EQ(first.use_count(), 51u);
        first.reset();
        for (size_t i = 0; i + 1 < copies.size(); ++i) copies[i].reset();
        EXPECT_EQ(blk.releases, 0);
        EXPECT_EQ(copies.back().use_count(), 1u);
    }
    EXPECT_EQ(blk.releases, 1);
}

// ---- headroom, tailroom and views ----

TEST(buffer_room_test, geometry) {
    counted_block blk;
    buffer b = blk.make(64, 100);
    EXPECT_EQ(b.data(), blk.mem.data() + 64);
    EXPECT_EQ(b.offset(), 64u);
    EXPECT_EQ(b.headroom(), 64u);
    EXPECT_EQ(b.size(), 100u);
    EXPECT_EQ(b.tailroom(), 256u - 64 - 100);
    EXPECT_EQ(b.bytes().data(), b.data());
    EXPECT_EQ(b.bytes().size(), 100u);
}

TEST(buffer_room_test, prepend_within_headroom) {
    counted_block blk;
    buffer b = blk.make(64, 100);
    EXPECT_FALSE(b.prepend(65));
    EXPECT_EQ(b.headroom(), 64u); // unchanged
    EXPECT_EQ(b.size(), 100u);
    EXPECT_TRUE(b.prepend(14));
    EXPECT_EQ(b.headroom(), 50u);
    EXPECT_EQ(b.size(), 114u);
    EXPECT_EQ(b.data(), blk.mem.data() + 50);
    EXPECT_TRUE(b.prepend(50));
    EXPECT_EQ(b.headroom(), 0u);
    EXPECT_EQ(b.data(), blk.mem.data());
    EXPECT_FALSE(b.prepend(1));
    EXPECT_TRUE(b.prepend(0));
    EXPECT_EQ(b.size(), 164u);
}

TEST(buffer_room_test, append_within_tailroom) {
    counted_block blk;
    buffer b = blk.make(64, 100);
    EXPECT_FALSE(b.append(93));
    EXPECT_EQ(b.size(), 100u);
    EXPECT_TRUE(b.append(92));
    EXPECT_EQ(b.size(), 192u);
    EXPECT_EQ(b.tailroom(), 0u);
    EXPECT_FALSE(b.append(1));
    EXPECT_FALSE(b.append(SIZE_MAX));
    EXPECT_EQ(b.size(), 192u);
}

TEST(buffer_room_test, trim_clamps) {
    counted_block blk;
    buffer b = blk.make(10, 100);
    b.trim_front(30);
    EXPECT_EQ(b.headroom(), 40u);
    EXPECT_EQ(b.size(), 70u);
    EXPECT_EQ(b.data(), blk.mem.data() + 40);
    b.trim_back(20);
    EXPECT_EQ(b.size(), 50u);
    EXPECT_EQ(b.tailroom(), 256u - 40 - 50);
    b.trim_back(1000);
    EXPECT_EQ(b.size(), 0u);
    EXPECT_EQ(b.headroom(), 40u);
    EXPECT_TRUE(b.valid()); // an empty view still holds its reference
    EXPECT_EQ(b.use_count(), 1u);

    b.reset();
    EXPECT_EQ(blk.releases, 1);

    counted_block other;
    buffer c = other.make(10, 100);
    c.trim_front(SIZE_MAX);
    EXPECT_EQ(c.size(), 0u);
    EXPECT_EQ(c.headroom(), 110u);
    EXPECT_EQ(c.tailroom(), 146u);
}

TEST(buffer_room_test, slice_shares_and_clamps) {
    counted_block blk;
    buffer b = blk.make(32, 100);
    for (size_t i = 0; i < b.size(); ++i) b.data()[i] = static_cast<std::byte>(i);
    {
        buffer s = b.slice(10, 20);
        EXPECT_EQ(b.use_count(), 2u);
        EXPECT_EQ(s.data(), b.data() + 10);
        EXPECT_EQ(s.size(), 20u);
        EXPECT_EQ(s.headroom(), 42u);
        EXPECT_EQ(s.data()[0], std::byte{10});
        EXPECT_EQ(s.data()[19], std::byte{29});

        buffer tail = b.slice(95, 50); // n clamped
        EXPECT_EQ(tail.size(), 5u);
        EXPECT_EQ(tail.data(), b.data() + 95);

        buffer past = b.slice(500, 5); // pos clamped to the end
        EXPECT_EQ(past.size(), 0u);
        EXPECT_EQ(past.data(), b.data() + 100);

        buffer all = b.slice(0, SIZE_MAX);
        EXPECT_EQ(all.size(), 100u);
        EXPECT_EQ(all.data(), b.data());
        EXPECT_EQ(b.use_count(), 5u);
    }
    EXPECT_EQ(b.use_count(), 1u);
    // The original is unchanged by slicing.
    EXPECT_EQ(b.size(), 100u);
    EXPECT_EQ(b.headroom(), 32u);
    b.reset();
    EXPECT_EQ(blk.releases, 1);
}

TEST(buffer_room_test, slice_outlives_original) {
    counted_block blk;
    buffer s;
    {
        buffer b = blk.make(0, 64);
        s = b.slice(8, 8);
    }
    EXPECT_EQ(blk.releases, 0);
    EXPECT_EQ(s.use_count(), 1u);
    s.reset();
    EXPECT_EQ(blk.releases, 1);
}

TEST(buffer_room_test, within_block_bounds) {
    counted_block blk;
    buffer b = blk.make(64, 100);
    std::byte *base = blk.mem.data();

    // The whole block, headroom included.
    buffer w = b.within_block(base, 256);
    ASSERT_TRUE(w.valid());
    EXPECT_EQ(w.offset(), 0u);
    EXPECT_EQ(w.size(), 256u);
    EXPECT_EQ(w.tailroom(), 0u);
    EXPECT_EQ(b.use_count(), 2u);

    buffer head = b.within_block(base + 10, 20); // inside the headroom
    ASSERT_TRUE(head.valid());
    EXPECT_EQ(head.offset(), 10u);
    EXPECT_EQ(head.data(), base + 10);

    buffer last = b.within_block(base + 255, 1);
    ASSERT_TRUE(last.valid());
    EXPECT_EQ(last.offset(), 255u);

    buffer end = b.within_block(base + 256, 0); // empty at the very end
    EXPECT_TRUE(end.valid());
    EXPECT_EQ(end.size(), 0u);

    EXPECT_FALSE(b.within_block(base + 255, 2).valid()); // one byte past the end
    EXPECT_FALSE(b.within_block(base, 257).valid());
    EXPECT_FALSE(b.within_block(base + 256, 1).valid());
    EXPECT_FALSE(b.within_block(base + 100, SIZE_MAX).valid()); // no overflow
    std::array<std::byte, 16> elsewhere{};
    EXPECT_FALSE(b.within_block(elsewhere.data(), 1).valid());
    EXPECT_FALSE(b.block_contains(elsewhere.data(), 1));
    EXPECT_TRUE(b.block_contains(base + 64, 192));
    EXPECT_FALSE(b.block_contains(base + 64, 193));

    EXPECT_EQ(b.use_count(), 5u); // b, w, head, last, end; the failed lookups took no reference
    EXPECT_FALSE(buffer().within_block(base, 1).valid());
    EXPECT_FALSE(buffer().block_contains(base, 1));
}

} // namespace
} // namespace demi
