// Shared helpers for the libFuzzer targets of src/net/wire.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "net/wire/wire.hpp"

namespace demi::wire::fuzz {

/// A broken invariant is a finding: stop so libFuzzer saves the input.
inline void check(bool invariant) {
    if (!invariant) __builtin_trap();
}

/// The fuzzer's bytes as a read-only span. Copied into a vector of exactly that size first, so ASan
/// sees any read past the end.
inline std::vector<std::byte> input(const std::uint8_t *data, std::size_t size) {
    std::vector<std::byte> v(size);
    if (size != 0) std::memcpy(v.data(), data, size);
    return v;
}

inline bool same(std::span<const std::byte> a, std::span<const std::byte> b) {
    return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

/// The addresses the seed corpus was captured with, for the UDP/TCP pseudo-header.
inline constexpr ipv4_address host_a{10, 0, 0, 1};
inline constexpr ipv4_address host_b{10, 0, 0, 2};

/// Each parser runs twice: verifying checksums (the seeds pass), and with them offloaded (so mutated
/// inputs get past the checksum to the code behind it).
inline constexpr checksum_caps caps_variants[] = {checksum_caps::software(), checksum_caps::offloaded()};

} // namespace demi::wire::fuzz
