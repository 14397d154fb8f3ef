// Demi — the one buffer type: a reference-counted view into a block of I/O memory.
//
// A block is owned by whoever made it (the heap, a DPDK mempool, an AF_XDP umem) and is returned
// to it through a type-erased release function when the last reference goes. A buffer is a
// (block, offset, length) triple: headroom before the data lets a stack prepend headers without a
// copy, and several buffers may share one block (a pushed buffer stays alive while the device
// still needs it, even after the application let go of it).
//
// Reference counts are not atomic: a libOS instance and its buffers belong to one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

namespace demi {

namespace detail {
/// Header of a block of I/O memory.
struct buffer_block {
    uint32_t refs;                                     ///< live buffers referring to this block
    uint32_t flags;                                    ///< owner-defined
    std::byte *base;                                   ///< first byte of the block's memory
    size_t capacity;                                   ///< bytes from base
    void (*release)(buffer_block *) noexcept;          ///< gives the block back to its owner
    void *owner;                                       ///< type-erased owner (pool, mbuf, ...)
};
} // namespace detail

class buffer {
public:
    buffer() noexcept = default;
    /// Adopts one reference to `blk` (the caller's), viewing [off, off + len) of it.
    static buffer adopt(detail::buffer_block *blk, size_t off, size_t len) noexcept { return buffer(blk, off, len); }

    buffer(const buffer &o) noexcept : blk_(o.blk_), off_(o.off_), len_(o.len_) {
        if (blk_ != nullptr) ++blk_->refs;
    }
    buffer(buffer &&o) noexcept
        : blk_(std::exchange(o.blk_, nullptr)), off_(std::exchange(o.off_, 0)), len_(std::exchange(o.len_, 0)) {}
    buffer &operator=(const buffer &o) noexcept {
        if (this != &o) *this = buffer(o);
        return *this;
    }
    buffer &operator=(buffer &&o) noexcept {
        if (this != &o) {
            reset();
            blk_ = std::exchange(o.blk_, nullptr);
            off_ = std::exchange(o.off_, 0);
            len_ = std::exchange(o.len_, 0);
        }
        return *this;
    }
    ~buffer() { reset(); }

    /// Drops this reference (the block goes back to its owner with the last one).
    void reset() noexcept {
        if (blk_ != nullptr && --blk_->refs == 0) blk_->release(blk_);
        blk_ = nullptr;
        off_ = len_ = 0;
    }

    [[nodiscard]] bool valid() const noexcept { return blk_ != nullptr; }
    explicit operator bool() const noexcept { return blk_ != nullptr; }
    [[nodiscard]] std::byte *data() const noexcept { return blk_ ? blk_->base + off_ : nullptr; }
    [[nodiscard]] size_t size() const noexcept { return len_; }
    [[nodiscard]] bool empty() const noexcept { return len_ == 0; }
    [[nodiscard]] std::span<std::byte> bytes() const noexcept { return {data(), len_}; }
    /// Bytes available before the data for prepending headers.
    [[nodiscard]] size_t headroom() const noexcept { return off_; }
    /// Bytes available after the data.
    [[nodiscard]] size_t tailroom() const noexcept { return blk_ ? blk_->capacity - off_ - len_ : 0; }
    [[nodiscard]] uint32_t use_count() const noexcept { return blk_ ? blk_->refs : 0; }
    [[nodiscard]] detail::buffer_block *block() const noexcept { return blk_; }
    [[nodiscard]] size_t offset() const noexcept { return off_; }

    /// Grows the data n bytes to the front, into the headroom. False (and no change) if it does not fit.
    bool prepend(size_t n) noexcept {
        if (n > off_) return false;
        off_ -= n;
        len_ += n;
        return true;
    }
    /// Grows the data n bytes at the back, into the tailroom. False (and no change) if it does not fit.
    bool append(size_t n) noexcept {
        if (n > tailroom()) return false;
        len_ += n;
        return true;
    }
    /// Drops n bytes from the front (clamped to the size).
    void trim_front(size_t n) noexcept {
        if (n > len_) n = len_;
        off_ += n;
        len_ -= n;
    }
    /// Drops n bytes from the back (clamped to the size).
    void trim_back(size_t n) noexcept { len_ -= (n > len_ ? len_ : n); }
    /// A new reference to [pos, pos + n) of this buffer's data (clamped).
    [[nodiscard]] buffer slice(size_t pos, size_t n) const noexcept {
        if (pos > len_) pos = len_;
        if (n > len_ - pos) n = len_ - pos;
        buffer b(*this);
        b.off_ += pos;
        b.len_ = n;
        return b;
    }
    /// A new reference to [p, p + n) of this buffer's block, anywhere in it (headroom included);
    /// an invalid buffer if the range is not inside the block.
    [[nodiscard]] buffer within_block(const void *p, size_t n) const noexcept {
        if (!block_contains(p, n)) return buffer();
        buffer b(*this);
        b.off_ = static_cast<size_t>(static_cast<const std::byte *>(p) - blk_->base);
        b.len_ = n;
        return b;
    }
    /// True if [p, p + n) lies inside this buffer's block.
    [[nodiscard]] bool block_contains(const void *p, size_t n) const noexcept {
        if (blk_ == nullptr) return false;
        auto *c = static_cast<const std::byte *>(p);
        return c >= blk_->base && c <= blk_->base + blk_->capacity && n <= static_cast<size_t>(blk_->base + blk_->capacity - c);
    }

private:
    buffer(detail::buffer_block *blk, size_t off, size_t len) noexcept : blk_(blk), off_(off), len_(len) {}

    detail::buffer_block *blk_ = nullptr;
    size_t off_ = 0;
    size_t len_ = 0;
};

} // namespace demi
