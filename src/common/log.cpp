#include "common/log.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace demi::log {

namespace {
level parse_level() noexcept {
    const char *s = std::getenv("DEMI_LOG");
    if (s == nullptr || *s == '\0') return level::warn;
    static constexpr struct {
        const char *name;
        level lvl;
    } names[] = {{"off", level::off},   {"error", level::error}, {"warn", level::warn},
                 {"info", level::info}, {"debug", level::debug}, {"trace", level::trace}};
    for (const auto &n : names)
        if (std::strcmp(s, n.name) == 0) return n.lvl;
    std::fprintf(stderr, "demi: DEMI_LOG=%s is not one of off, error, warn, info, debug, trace; using warn\n", s);
    return level::warn;
}
} // namespace

level threshold() noexcept {
    static const level lvl = parse_level();
    return lvl;
}

void write(level l, const char *component, const char *fmt, ...) noexcept {
    static constexpr const char *tags[] = {"off", "error", "warn", "info", "debug", "trace"};
    char line[1024];
    int n = std::snprintf(line, sizeof line, "demi[%s] %s: ", tags[static_cast<int>(l)], component);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && static_cast<size_t>(n) < sizeof line) std::vsnprintf(line + n, sizeof line - n, fmt, ap);
    va_end(ap);
    std::fprintf(stderr, "%s\n", line);
}

} // namespace demi::log
