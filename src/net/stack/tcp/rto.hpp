// The retransmission timeout (RFC 6298): smoothed RTT and its variation from samples, the RTO from
// them with a floor and a ceiling, and exponential backoff on expiry.
#pragma once

#include <cstdint>

#include "common/clock.hpp"

namespace demi::net::tcp {

class rto_estimator {
public:
    struct limits {
        duration initial_;
        duration min_;
        duration max_;
    };

    explicit rto_estimator(limits l) noexcept;

    /// A round-trip sample (RFC 6298 §2.2-2.3). Clears the backoff: a valid sample means the path works.
    void sample(duration rtt) noexcept;
    /// RFC 6298 §5.5: on expiry the timer doubles, up to the maximum.
    void back_off() noexcept;
    /// The current timeout with the backoff applied.
    [[nodiscard]] duration rto() const noexcept;
    [[nodiscard]] bool has_sample() const noexcept { return has_sample_; }
    [[nodiscard]] duration srtt() const noexcept { return srtt_; }
    [[nodiscard]] duration rttvar() const noexcept { return rttvar_; }
    [[nodiscard]] unsigned backoff() const noexcept { return backoff_; }
    void reset_backoff() noexcept { backoff_ = 0; }
    /// RFC 6298 §5.7: the RTO becomes `base` (within the limits), without backoff, until the next sample.
    void reinitialize(duration base) noexcept;

private:
    limits limits_;
    duration srtt_{};
    duration rttvar_{};
    duration base_;
    unsigned backoff_ = 0;
    bool has_sample_ = false;
};

} // namespace demi::net::tcp
