// Handles for values lent to C code: a slot table with a generation per slot, so that a stale or
// forged handle is detected (looked up as absent) instead of being dereferenced. Used for the
// `sga_buf` field of the C ABI's scatter-gather arrays.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace demi::mem {

template <class T>
class handle_table {
public:
    /// Stores `v`; returns a non-zero handle.
    uint64_t insert(T v) {
        uint32_t idx;
        if (free_head_ != none) {
            idx = free_head_;
            free_head_ = slots_[idx].next_free;
        } else {
            idx = static_cast<uint32_t>(slots_.size());
            slots_.emplace_back();
        }
        slot &s = slots_[idx];
        s.value = std::move(v);
        s.live = true;
        ++size_;
        return encode(idx, s.gen);
    }

    /// The value behind `h`, or nullptr if `h` is not a live handle.
    T *find(uint64_t h) noexcept {
        const auto idx = static_cast<uint32_t>(h & 0xffffffffu) - 1;
        if (h == 0 || idx >= slots_.size()) return nullptr;
        slot &s = slots_[idx];
        if (!s.live || s.gen != static_cast<uint32_t>(h >> 32)) return nullptr;
        return &*s.value;
    }

    /// Removes `h` and returns its value; nullopt if `h` is not live.
    std::optional<T> take(uint64_t h) noexcept {
        T *p = find(h);
        if (p == nullptr) return std::nullopt;
        const auto idx = static_cast<uint32_t>(h & 0xffffffffu) - 1;
        slot &s = slots_[idx];
        std::optional<T> out(std::move(*s.value));
        s.value.reset();
        s.live = false;
        ++s.gen; // the handle just taken is never valid again (until 2^32 reuses of this slot)
        s.next_free = free_head_;
        free_head_ = idx;
        --size_;
        return out;
    }

    [[nodiscard]] size_t size() const noexcept { return size_; }

    /// Drops every value. Slots keep their generations, so no handle from before is ever valid again.
    void clear() noexcept {
        for (uint32_t idx = 0; idx < slots_.size(); ++idx) {
            slot &s = slots_[idx];
            if (!s.live) continue;
            s.value.reset();
            s.live = false;
            ++s.gen;
            s.next_free = free_head_;
            free_head_ = idx;
        }
        size_ = 0;
    }

private:
    static constexpr uint32_t none = 0xffffffffu;
    struct slot {
        std::optional<T> value;
        uint32_t gen = 1;
        uint32_t next_free = none;
        bool live = false;
    };
    static uint64_t encode(uint32_t idx, uint32_t gen) noexcept { return (uint64_t{gen} << 32) | (uint64_t{idx} + 1); }

    std::vector<slot> slots_;
    uint32_t free_head_ = none;
    size_t size_ = 0;
};

} // namespace demi::mem
