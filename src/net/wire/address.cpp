#include "net/wire/address.hpp"

#include <cerrno>
#include <cstring>

namespace demi::wire {

namespace {

constexpr char hex_digits[] = "0123456789abcdef";

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

} // namespace

std::size_t ethernet_address::to_chars(std::span<char, max_text_len> out) const noexcept {
    std::size_t n = 0;
    for (std::size_t i = 0; i < size; ++i) {
        if (i != 0) out[n++] = ':';
        out[n++] = hex_digits[octets_[i] >> 4];
        out[n++] = hex_digits[octets_[i] & 0x0f];
    }
    out[n] = '\0';
    return n;
}

std::string ethernet_address::to_string() const {
    std::array<char, max_text_len> buf;
    return std::string(buf.data(), to_chars(buf));
}

result<ethernet_address> ethernet_address::from_string(std::string_view text) noexcept {
    // Exactly 6 groups of 2 hex digits separated by one consistent separator: 17 characters.
    if (text.size() != 17) return error(EINVAL);
    const char sep = text[2];
    if (sep != ':' && sep != '-') return error(EINVAL);
    std::array<std::uint8_t, size> o{};
    for (std::size_t i = 0; i < size; ++i) {
        const std::size_t at = i * 3;
        if (i != 0 && text[at - 1] != sep) return error(EINVAL);
        const int hi = hex_value(text[at]);
        const int lo = hex_value(text[at + 1]);
        if (hi < 0 || lo < 0) return error(EINVAL);
        o[i] = static_cast<std::uint8_t>(hi << 4 | lo);
    }
    return ethernet_address(o);
}

ipv4_address ipv4_address::from_network(std::uint32_t s_addr) noexcept {
    std::array<std::uint8_t, size> o;
    std::memcpy(o.data(), &s_addr, size);
    return ipv4_address(o);
}

std::uint32_t ipv4_address::to_network() const noexcept {
    std::uint32_t v;
    std::memcpy(&v, octets_.data(), size);
    return v;
}

std::size_t ipv4_address::to_chars(std::span<char, max_text_len> out) const noexcept {
    std::size_t n = 0;
    for (std::size_t i = 0; i < size; ++i) {
        if (i != 0) out[n++] = '.';
        const unsigned v = octets_[i];
        if (v >= 100) out[n++] = static_cast<char>('0' + v / 100);
        if (v >= 10) out[n++] = static_cast<char>('0' + v / 10 % 10);
        out[n++] = static_cast<char>('0' + v % 10);
    }
    out[n] = '\0';
    return n;
}

std::string ipv4_address::to_string() const {
    std::array<char, max_text_len> buf;
    return std::string(buf.data(), to_chars(buf));
}

result<ipv4_address> ipv4_address::from_string(std::string_view text) noexcept {
    std::array<std::uint8_t, size> o{};
    std::size_t pos = 0;
    for (std::size_t i = 0; i < size; ++i) {
        if (i != 0) {
            if (pos >= text.size() || text[pos] != '.') return error(EINVAL);
            ++pos;
        }
        const std::size_t start = pos;
        unsigned v = 0;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9' && pos - start < 3) {
            v = v * 10 + static_cast<unsigned>(text[pos] - '0');
            ++pos;
        }
        const std::size_t digits = pos - start;
        if (digits == 0 || v > 255 || (digits > 1 && text[start] == '0')) return error(EINVAL);
        o[i] = static_cast<std::uint8_t>(v);
    }
    if (pos != text.size()) return error(EINVAL);
    return ipv4_address(o);
}

} // namespace demi::wire
