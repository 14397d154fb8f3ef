// Logging to stderr with a level chosen once by DEMI_LOG (error, warn, info, debug, trace).
// The level is read on first use and never changes afterwards (not a mutable global).
#pragma once

#include <cstdarg>

namespace demi::log {

enum class level : int { off = 0, error = 1, warn = 2, info = 3, debug = 4, trace = 5 };

/// The level in force (from DEMI_LOG, default warn).
level threshold() noexcept;

inline bool enabled(level l) noexcept { return static_cast<int>(l) <= static_cast<int>(threshold()); }

/// printf-style message, prefixed with "demi[<level>] <component>: ".
void write(level l, const char *component, const char *fmt, ...) noexcept __attribute__((format(printf, 3, 4)));

} // namespace demi::log

#define DEMI_LOG(lvl, component, ...)                                                                                  \
    do {                                                                                                               \
        if (::demi::log::enabled(::demi::log::level::lvl)) ::demi::log::write(::demi::log::level::lvl, component, __VA_ARGS__); \
    } while (0)
