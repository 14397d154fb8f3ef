#include "net/stack/tcp/rto.hpp"

#include <algorithm>

namespace demi::net::tcp {

namespace {
// RFC 6298 §2: G, the clock granularity. Time here is in nanoseconds; 1 ms keeps RTTVAR from
// collapsing to zero on a perfectly steady path.
constexpr duration clock_granularity = std::chrono::milliseconds(1);
} // namespace

rto_estimator::rto_estimator(limits l) noexcept : limits_(l), base_(l.initial_) {}

void rto_estimator::sample(duration r) noexcept {
    if (r < duration::zero()) r = duration::zero();
    if (!has_sample_) {
        // RFC 6298 §2.2: the first measurement.
        srtt_ = r;
        rttvar_ = r / 2;
        has_sample_ = true;
    } else {
        // RFC 6298 §2.3 with alpha = 1/8, beta = 1/4; RTTVAR first, from the old SRTT.
        const duration err = srtt_ > r ? srtt_ - r : r - srtt_;
        rttvar_ = (rttvar_ * 3 + err) / 4;
        srtt_ = (srtt_ * 7 + r) / 8;
    }
    // RFC 6298 §2.3 (K = 4) and §2.4-2.5: floor and ceiling.
    base_ = std::clamp(srtt_ + std::max(clock_granularity, rttvar_ * 4), limits_.min_, limits_.max_);
    backoff_ = 0;
}

void rto_estimator::back_off() noexcept {
    if (rto() < limits_.max_) ++backoff_;
}

void rto_estimator::reinitialize(duration base) noexcept {
    base_ = std::clamp(base, limits_.min_, limits_.max_);
    backoff_ = 0;
}

duration rto_estimator::rto() const noexcept {
    duration r = base_;
    for (unsigned i = 0; i < backoff_ && r < limits_.max_; ++i) r *= 2;
    return std::min(r, limits_.max_);
}

} // namespace demi::net::tcp
