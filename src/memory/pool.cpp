#include "memory/pool.hpp"

#include <cerrno>
#include <cstdlib>
#include <new>

#include "memory/heap.hpp"

namespace demi::mem {

struct block_pool::core {
    size_t capacity_;
    size_t max_free_;
    size_t free_count_ = 0;
    size_t outstanding_ = 0;               // blocks handed out and not given back
    detail::buffer_block *free_ = nullptr; // released blocks; each links to the next in its data area
    bool orphaned_ = false;                // the pool is gone: blocks go back to the heap
};

namespace {
// The header is padded to a cache line so the data (after the headroom) starts aligned.
constexpr size_t header_size = (sizeof(detail::buffer_block) + 63) / 64 * 64;

detail::buffer_block *next_of(detail::buffer_block *b) noexcept {
    detail::buffer_block *n;
    __builtin_memcpy(&n, b->base, sizeof n);
    return n;
}

void release_pooled(detail::buffer_block *blk) noexcept {
    auto *c = static_cast<block_pool::core *>(blk->owner);
    --c->outstanding_;
    if (c->orphaned_) {
        std::free(blk);
        if (c->outstanding_ == 0) delete c;
        return;
    }
    if (c->free_count_ >= c->max_free_) {
        std::free(blk);
        return;
    }
    __builtin_memcpy(blk->base, &c->free_, sizeof c->free_);
    c->free_ = blk;
    ++c->free_count_;
}
} // namespace

block_pool::block_pool(size_t capacity, size_t max_free)
    : core_(new core{capacity < sizeof(void *) ? sizeof(void *) : capacity, max_free}) {}

block_pool::~block_pool() {
    for (detail::buffer_block *b = core_->free_; b != nullptr;) {
        detail::buffer_block *n = next_of(b);
        std::free(b);
        b = n;
    }
    core_->free_ = nullptr;
    core_->free_count_ = 0;
    if (core_->outstanding_ == 0)
        delete core_;
    else
        core_->orphaned_ = true;
}

result<buffer> block_pool::allocate(size_t size, size_t headroom) noexcept {
    core &c = *core_;
    if (size == 0) return error(EINVAL);
    if (headroom > c.capacity_ || size > c.capacity_ - headroom) return heap_allocate(size, headroom);
    detail::buffer_block *blk = c.free_;
    if (blk != nullptr) {
        c.free_ = next_of(blk);
        --c.free_count_;
    } else {
        void *mem = std::aligned_alloc(64, (header_size + c.capacity_ + 63) / 64 * 64);
        if (mem == nullptr) return error(ENOMEM);
        blk = ::new (mem) detail::buffer_block{};
        blk->base = static_cast<std::byte *>(mem) + header_size;
        blk->capacity = c.capacity_;
        blk->release = &release_pooled;
        blk->owner = core_;
    }
    blk->refs = 1;
    blk->flags = 0;
    ++c.outstanding_;
    return buffer::adopt(blk, headroom, size);
}

size_t block_pool::capacity() const noexcept { return core_->capacity_; }
size_t block_pool::outstanding() const noexcept { return core_->outstanding_; }
size_t block_pool::free_count() const noexcept { return core_->free_count_; }

} // namespace demi::mem
