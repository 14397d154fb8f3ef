// handle_table (src/memory/handle_table.hpp): handles lent to C code; stale and forged handles
// must be looked up as absent.
#include "memory/handle_table.hpp"

#include "common/clock.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

namespace demi::mem {
namespace {

TEST(handle_table_test, insert_find_take) {
    handle_table<std::string> t;
    EXPECT_EQ(t.size(), 0u);
    const uint64_t a = t.insert("alpha");
    const uint64_t b = t.insert("beta");
    EXPECT_NE(a, 0u);
    EXPECT_NE(b, 0u);
    EXPECT_NE(a, b);
    EXPECT_EQ(t.size(), 2u);
    ASSERT_NE(t.find(a), nullptr);
    ASSERT_NE(t.find(b), nullptr);
    EXPECT_EQ(*t.find(a), "alpha");
    EXPECT_EQ(*t.find(b), "beta");
    *t.find(a) = "ALPHA";
    EXPECT_EQ(*t.find(a), "ALPHA");

    auto v = t.take(a);
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(*v, "ALPHA");
    EXPECT_EQ(t.size(), 1u);
    EXPECT_EQ(t.find(a), nullptr);
    EXPECT_FALSE(t.take(a).has_value()); // a second take of the same handle
    EXPECT_EQ(t.size(), 1u);
    EXPECT_EQ(*t.find(b), "beta");
}

TEST(handle_table_test, move_only_values) {
    handle_table<std::unique_ptr<int>> t;
    const uint64_t h = t.insert(std::make_unique<int>(17));
    ASSERT_NE(t.find(h), nullptr);
    EXPECT_EQ(**t.find(h), 17);
    auto v = t.take(h);
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(**v, 17);
}

TEST(handle_table_test, reused_slot_gets_new_handle) {
    handle_table<int> t;
    const uint64_t old = t.insert(1);
    ASSERT_TRUE(t.take(old).has_value());
    const uint64_t fresh = t.insert(2);
    // Same slot (the table reuses freed slots), different generation.
    EXPECT_EQ(fresh & 0xffffffffu, old & 0xffffffffu);
    EXPECT_NE(fresh, old);
    EXPECT_EQ(t.find(old), nullptr);
    EXPECT_FALSE(t.take(old).has_value());
    ASSERT_NE(t.find(fresh), nullptr);
    EXPECT_EQ(*t.find(fresh), 2);
    EXPECT_EQ(t.size(), 1u);
}

TEST(handle_table_test, stale_handles_never_confused_over_many_reuses) {
    handle_table<int> t;
    std::set<uint64_t> issued;
    std::vector<uint64_t> stale;
    for (int i = 0; i < 10000; ++i) {
        const uint64_t h = t.insert(i);
        ASSERT_TRUE(issued.insert(h).second) << "handle issued twice at round " << i;
        ASSERT_EQ(*t.find(h), i);
        for (size_t k = stale.size() > 8 ? stale.size() - 8 : 0; k < stale.size(); ++k)
            ASSERT_EQ(t.find(stale[k]), nullptr) << "stale handle found at round " << i;
        auto v = t.take(h);
        ASSERT_TRUE(v.has_value());
        ASSERT_EQ(*v, i);
        stale.push_back(h);
    }
    EXPECT_EQ(t.size(), 0u);
    for (uint64_t h : stale) ASSERT_EQ(t.find(h), nullptr);
}

TEST(handle_table_test, forged_handles_not_found) {
    handle_table<int> t;
    std::set<uint64_t> live;
    for (int i = 0; i < 100; ++i) live.insert(t.insert(i));
    EXPECT_EQ(t.find(0), nullptr);
    EXPECT_FALSE(t.take(0).has_value());
    EXPECT_EQ(t.find(~uint64_t{0}), nullptr);
    EXPECT_EQ(t.find(uint64_t{1} << 32), nullptr); // generation 1, slot field 0 (no slot)
    EXPECT_EQ(t.find((uint64_t{1} << 32) | 101), nullptr); // one past the last slot
    EXPECT_EQ(t.find((uint64_t{1} << 32) | 0xffffffffu), nullptr);
    // Real slots with the wrong generation.
    for (uint64_t h : live) {
        EXPECT_EQ(t.find(h + (uint64_t{1} << 32)), nullptr);
        EXPECT_EQ(t.find(h & 0xffffffffu), nullptr); // generation 0 is never issued
    }
    rng r(2024);
    for (int i = 0; i < 100000; ++i) {
        const uint64_t h = r.next();
        if (live.count(h) != 0) continue;
        ASSERT_EQ(t.find(h), nullptr) << std::hex << h;
    }
    EXPECT_EQ(t.size(), 100u);
    for (uint64_t h : live) ASSERT_NE(t.find(h), nullptr);
}

TEST(handle_table_test, clear_drops_everything) {
    handle_table<std::shared_ptr<int>> t;
    auto p = std::make_shared<int>(1);
    const uint64_t h = t.insert(p);
    EXPECT_EQ(p.use_count(), 2);
    t.clear();
    EXPECT_EQ(p.use_count(), 1);
    EXPECT_EQ(t.size(), 0u);
    EXPECT_EQ(t.find(h), nullptr);
}

// A handle from before clear() is as stale as one taken: it must not find a value inserted after.
TEST(handle_table_test, handle_from_before_clear_not_confused_with_new_value) {
    handle_table<int> t;
    const uint64_t before = t.insert(1);
    t.clear();
    const uint64_t after = t.insert(2);
    EXPECT_NE(after, before);
    EXPECT_EQ(t.find(before), nullptr);
    ASSERT_NE(t.find(after), nullptr);
    EXPECT_EQ(*t.find(after), 2);
}

} // namespace
} // namespace demi::mem
