#include "net/wire/checksum.hpp"

#include <bit>
#include <cstring>

namespace demi::wire {

namespace {

// One's-complement sum of `n` bytes at `p`, taken as 16-bit words in the host's native order and
// folded to 16 bits; the caller swaps it on little-endian hosts. RFC 1071 §2(B): the sum is
// independent of byte order up to a final swap, and (§2(C)) may be accumulated in wider words whose
// carries are folded back in at the end, so we add 32-bit loads into a 64-bit accumulator.
std::uint16_t native_sum(const std::byte *p, std::size_t n) noexcept {
    std::uint64_t s = 0;
    // 2^32 additions of values below 2^32 cannot overflow 64 bits; fold every 1 GiB to be safe.
    while (n >= 4) {
        std::size_t chunk = n / 4 < (std::size_t{1} << 28) ? n / 4 : (std::size_t{1} << 28);
        n -= chunk * 4;
        for (; chunk >= 4; chunk -= 4, p += 16) {
            std::uint32_t w[4];
            std::memcpy(w, p, sizeof w);
            s += std::uint64_t{w[0]} + w[1] + w[2] + w[3];
        }
        for (; chunk != 0; --chunk, p += 4) {
            std::uint32_t w;
            std::memcpy(&w, p, sizeof w);
            s += w;
        }
        s = (s & 0xffffffffu) + (s >> 32);
    }
    if (n >= 2) {
        std::uint16_t w;
        std::memcpy(&w, p, sizeof w);
        s += w;
        p += 2;
        n -= 2;
    }
    if (n == 1) {
        // RFC 1071 §4.1: a trailing odd byte is padded with a zero byte after it.
        const std::byte last[2] = {*p, std::byte{0}};
        std::uint16_t w;
        std::memcpy(&w, last, sizeof w);
        s += w;
    }
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return static_cast<std::uint16_t>(s);
}

// The folded big-endian sum of a range as a host-order value.
std::uint16_t be_sum(std::span<const std::byte> data) noexcept {
    const std::uint16_t s = native_sum(data.data(), data.size());
    if constexpr (std::endian::native == std::endian::little) return byteswap16(s);
    return s;
}

} // namespace

checksum_accumulator &checksum_accumulator::add(std::span<const std::byte> data) noexcept {
    if (data.empty()) return *this;
    std::uint16_t s = be_sum(data);
    // A range that starts at an odd offset overall has its bytes in the opposite halves of the words.
    if (odd_) s = byteswap16(s);
    sum_ += s;
    sum_ = (sum_ & 0xffff) + (sum_ >> 16);
    if (data.size() & 1) odd_ = !odd_;
    return *this;
}

std::uint16_t ones_complement_sum(std::span<const std::byte> data) noexcept { return be_sum(data); }

std::uint16_t internet_checksum(std::span<const std::byte> data) noexcept {
    return static_cast<std::uint16_t>(~be_sum(data));
}

} // namespace demi::wire
