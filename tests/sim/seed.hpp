// The seed of a simulator test: DEMI_SIM_SEED when set (to replay a failure), else the test's own.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>

namespace demi::sim::test {

inline std::uint64_t seed_or(std::uint64_t fallback) {
    if (const char *s = std::getenv("DEMI_SIM_SEED"); s != nullptr && *s != '\0') return std::strtoull(s, nullptr, 0);
    return fallback;
}

inline std::string seed_text(std::uint64_t seed) {
    return "seed " + std::to_string(seed) + " (DEMI_SIM_SEED replays it)";
}

} // namespace demi::sim::test
