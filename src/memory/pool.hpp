// A free-list pool of fixed-size blocks of I/O memory (heap-backed), for the frames a stack builds and
// for test devices: after warm-up an allocation is a pop from a singly linked list and a release a
// push, with no call into malloc. Blocks are made on demand (there is no fixed population) and up to
// `max_free` released blocks are kept for reuse; more go back to the heap.
//
// Lifetime: buffers may outlive the pool. The pool's state is shared with its outstanding blocks and
// freed with the last of them; a block released after the pool is gone goes back to the heap.
// Like buffers, a pool belongs to one thread.
#pragma once

#include <cstddef>

#include "common/result.hpp"

#include <demi/buffer.hpp>

namespace demi::mem {

class block_pool {
public:
    /// Blocks of `capacity` bytes (headroom + data); `max_free` released blocks kept for reuse.
    explicit block_pool(size_t capacity = 2048, size_t max_free = 4096);
    block_pool(const block_pool &) = delete;
    block_pool &operator=(const block_pool &) = delete;
    ~block_pool();

    /// A buffer of `size` bytes (uninitialised) after `headroom` bytes. A request that does not fit a
    /// block is served by heap_allocate(). EINVAL for size 0; ENOMEM when memory runs out.
    result<buffer> allocate(size_t size, size_t headroom) noexcept;

    [[nodiscard]] size_t capacity() const noexcept;
    /// Blocks made by this pool and not yet given back to it (in use or held by buffers).
    [[nodiscard]] size_t outstanding() const noexcept;
    /// Released blocks waiting for reuse.
    [[nodiscard]] size_t free_count() const noexcept;

    struct core; // shared with the blocks (pool.cpp)

private:
    core *core_;
};

} // namespace demi::mem
