#include "net/wire/checksum.hpp"

#include <bit>
#include <cstring>

namespace demi::wire {

namespace {

// One's-complement sum of `n` bytes at `p`, taken as 16-bit words in the host's native order and
// folded to 16 bits; the caller swaps it on little-endian hosts. RFC 1071 §2(B): the sum is
// independent of byte order up to a final swap, and (§2(C)) may be accumulated in wider words whose
// carries are folded back in (end-around carry): we add 64-bit words with carry, 64 bytes per step on
// x86-64 (an add-with-carry chain, as Linux's csum_partial does), then fold 64 -> 16 bits.
std::uint64_t add_carry(std::uint64_t a, std::uint64_t b) noexcept {
    a += b;
    return a + (a < b); // the end-around carry
}

std::uint16_t native_sum(const std::byte *p, std::size_t n) noexcept {
    std::uint64_t s = 0;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    for (; n >= 64; n -= 64, p += 64) {
        asm("addq 0(%[p]), %[s]\n\t"
            "adcq 8(%[p]), %[s]\n\t"
            "adcq 16(%[p]), %[s]\n\t"
            "adcq 24(%[p]), %[s]\n\t"
            "adcq 32(%[p]), %[s]\n\t"
            "adcq 40(%[p]), %[s]\n\t"
            "adcq 48(%[p]), %[s]\n\t"
            "adcq 56(%[p]), %[s]\n\t"
            "adcq $0, %[s]"
            : [s] "+r"(s)
            : [p] "r"(p), "m"(*reinterpret_cast<const std::byte(*)[64]>(p))
            : "cc");
    }
#endif
    for (; n >= 8; n -= 8, p += 8) {
        std::uint64_t w;
        std::memcpy(&w, p, sizeof w);
        s = add_carry(s, w);
    }
    if (n != 0) {
        // The last 1-7 bytes at the start of a zeroed word: in native order that is each 16-bit word as
        // it would be loaded, and (RFC 1071 §4.1) a trailing odd byte padded with a zero byte after it.
        unsigned char t[8] = {};
        const auto *q = reinterpret_cast<const unsigned char *>(p);
        if (n & 4) {
            std::memcpy(t, q, 4);
            q += 4;
        }
        if (n & 2) {
            std::memcpy(t + (n & 4), q, 2);
            q += 2;
        }
        if (n & 1) t[n & 6] = *q;
        std::uint64_t w;
        std::memcpy(&w, t, sizeof w);
        s = add_carry(s, w);
    }
    s = (s & 0xffffffffu) + (s >> 32); // below 2^33
    s = (s & 0xffff) + (s >> 16);      // below 2^18
    s = (s & 0xffff) + (s >> 16);      // below 2^16 + 3
    s = (s & 0xffff) + (s >> 16);
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
