// Helpers for the tests that drive memory queues through a demi::libos (catnap).
#pragma once

#include <demi/demi.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace demi::test {

/// A catnap libos that ignores the environment (LIBOS, CONFIG_PATH, DEMI_*).
inline std::optional<libos> make_catnap() {
    auto r = libos::create(options{.libos = "catnap", .config_path = {}, .use_environment = false});
    EXPECT_TRUE(r.has_value()) << "libos::create: " << r.code();
    if (!r) return std::nullopt;
    return std::optional<libos>(std::move(*r));
}

/// A buffer of the libos's memory holding `text`.
inline buffer make_buffer(libos &lib, std::string_view text) {
    auto b = lib.alloc(text.size());
    EXPECT_TRUE(b.has_value()) << "alloc: " << b.code();
    if (!b) return {};
    std::memcpy(b->data(), text.data(), text.size());
    return std::move(*b);
}

inline std::string text_of(const buffer &b) {
    return std::string(reinterpret_cast<const char *>(b.data()), b.size());
}

inline constexpr timeout poll_once = std::chrono::nanoseconds(0);

} // namespace demi::test
