#include "memory/heap.hpp"

#include <cstdlib>
#include <cstring>
#include <new>

namespace demi::mem {

namespace {
// The header is padded to a cache line so the data (after the headroom) starts aligned.
constexpr size_t header_size = (sizeof(detail::buffer_block) + 63) / 64 * 64;

void release_heap(detail::buffer_block *blk) noexcept {
    blk->~buffer_block();
    std::free(blk);
}
} // namespace

result<buffer> heap_allocate(size_t size, size_t headroom) noexcept {
    if (size == 0 || size > max_buffer_size || headroom > max_buffer_size) return error(EINVAL);
    const size_t capacity = headroom + size;
    void *mem = std::aligned_alloc(64, (header_size + capacity + 63) / 64 * 64);
    if (mem == nullptr) return error(ENOMEM);
    auto *blk = new (mem) detail::buffer_block{};
    blk->refs = 1;
    blk->base = static_cast<std::byte *>(mem) + header_size;
    blk->capacity = capacity;
    blk->release = &release_heap;
    return buffer::adopt(blk, headroom, size);
}

result<buffer> heap_copy(std::span<const std::byte> bytes, size_t headroom) noexcept {
    auto b = heap_allocate(bytes.size(), headroom);
    if (b) std::memcpy(b->data(), bytes.data(), bytes.size());
    return b;
}

} // namespace demi::mem
