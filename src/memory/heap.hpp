// Heap-backed I/O memory (catnap, memory queues, tests): one allocation holds the block header,
// the headroom and the data.
#pragma once

#include "common/result.hpp"

#include <demi/buffer.hpp>

namespace demi::mem {

using demi::buffer;

/// Headroom reserved in front of every heap buffer (Ethernet + IPv4 + TCP with options fit).
inline constexpr size_t default_headroom = 128;
/// Largest single heap buffer (the C ABI's segment length is 32-bit).
inline constexpr size_t max_buffer_size = size_t{1} << 30;

/// A buffer of `size` bytes of data (uninitialised) with `headroom` bytes before it.
/// ENOMEM when the allocation fails, EINVAL when size is 0 or above max_buffer_size.
result<buffer> heap_allocate(size_t size, size_t headroom = default_headroom) noexcept;

/// A heap buffer holding a copy of `bytes`.
result<buffer> heap_copy(std::span<const std::byte> bytes, size_t headroom = default_headroom) noexcept;

} // namespace demi::mem
