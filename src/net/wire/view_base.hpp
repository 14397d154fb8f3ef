// The common base of every header view: a span of bytes whose length was checked when the view was
// made, and big-endian field access at fixed offsets.
//
// Contract (DESIGN.md §3): a view is only ever created by its protocol's `check()` factory, which
// verifies that the span holds the fixed header and every byte that a length field inside the header
// points to. Length fields that bound other accessors (IPv4 IHL, TCP data offset, ARP address
// lengths) are read once, by check(), and kept in the view; accessors read at offsets below those
// checked lengths, so no accessor can read out of bounds, even if the bytes change after check().
// Setters exist only on mutable views (`std::byte`) and never change a length field. Views are
// non-owning, like std::span: copying a view copies the pointer, and `const` on the view object does
// not make the bytes read-only.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

#include "net/wire/endian.hpp"

namespace demi::wire::detail {

/// The byte type of a view: `const std::byte` for a read-only view, `std::byte` for a mutable one.
template <class B>
concept wire_byte = std::same_as<B, std::byte> || std::same_as<B, const std::byte>;

template <wire_byte B>
class view_base {
public:
    using byte_type = B;
    static constexpr bool is_mutable = !std::is_const_v<B>;

    /// The bytes the view covers: the header and its payload, trimmed to the length the header declares
    /// (trailing link-layer padding is not included).
    [[nodiscard]] constexpr std::span<B> bytes() const noexcept { return buf_; }
    [[nodiscard]] constexpr std::size_t size() const noexcept { return buf_.size(); }

protected:
    constexpr explicit view_base(std::span<B> b) noexcept : buf_(b) {}

    [[nodiscard]] constexpr std::uint8_t get8(std::size_t off) const noexcept {
        return std::to_integer<std::uint8_t>(buf_[off]);
    }
    [[nodiscard]] constexpr std::uint16_t get16(std::size_t off) const noexcept { return load_be16(buf_.data() + off); }
    [[nodiscard]] constexpr std::uint32_t get32(std::size_t off) const noexcept { return load_be32(buf_.data() + off); }

    constexpr void put8(std::size_t off, std::uint8_t v) const noexcept
        requires is_mutable
    {
        buf_[off] = static_cast<std::byte>(v);
    }
    constexpr void put16(std::size_t off, std::uint16_t v) const noexcept
        requires is_mutable
    {
        store_be16(buf_.data() + off, v);
    }
    constexpr void put32(std::size_t off, std::uint32_t v) const noexcept
        requires is_mutable
    {
        store_be32(buf_.data() + off, v);
    }

    std::span<B> buf_;
};

/// Stops the program when an emit() precondition is broken: an output buffer shorter than
/// buffer_len(), or a repr whose lengths cannot be encoded. That is a bug in the caller, never a
/// property of received data, and trapping is better than writing past the buffer.
inline void require(bool precondition) noexcept {
    if (!precondition) __builtin_trap();
}

} // namespace demi::wire::detail
