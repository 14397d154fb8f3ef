#include "net/stack/tcp/congestion.hpp"

#include <algorithm>
#include <cmath>

namespace demi::net::tcp {

namespace {
// RFC 5681 §3.1: the initial window from the sender's MSS.
std::uint32_t initial_window(std::uint32_t mss) noexcept {
    if (mss > 2190) return 2 * mss;
    if (mss > 1095) return 3 * mss;
    return 4 * mss;
}
} // namespace

congestion_control::congestion_control(std::uint32_t mss) noexcept : mss_(mss ? mss : 536), cwnd_(initial_window(mss_)) {}

std::uint32_t congestion_control::half_flight(std::uint32_t flight) const noexcept {
    return std::max(flight / 2, 2 * mss_);
}

void congestion_control::slow_start(std::uint32_t acked) noexcept {
    const std::uint64_t next = std::uint64_t{cwnd_} + std::min(acked, mss_);
    cwnd_ = static_cast<std::uint32_t>(std::min<std::uint64_t>(next, std::numeric_limits<std::uint32_t>::max()));
}

std::unique_ptr<congestion_control> make_congestion_control(cc_algorithm a, std::uint32_t mss) {
    if (a == cc_algorithm::new_reno) return std::make_unique<new_reno>(mss);
    return std::make_unique<cubic>(mss);
}

// ---- NewReno ----

void new_reno::on_ack(time_point, std::uint32_t acked, std::uint32_t, duration) noexcept {
    if (in_slow_start()) {
        slow_start(acked);
        return;
    }
    // RFC 5681 §3.1, congestion avoidance: about one SMSS per RTT, counted in acknowledged bytes.
    bytes_acked_ += acked;
    if (bytes_acked_ >= cwnd_) {
        bytes_acked_ -= cwnd_;
        cwnd_ += mss_;
    }
}

void new_reno::on_loss(time_point, std::uint32_t flight) noexcept {
    ssthresh_ = half_flight(flight);
    cwnd_ = ssthresh_;
    bytes_acked_ = 0;
}

void new_reno::on_timeout(time_point, std::uint32_t flight) noexcept {
    ssthresh_ = half_flight(flight);
    cwnd_ = mss_;
    bytes_acked_ = 0;
}

// ---- CUBIC ----

void cubic::reduce(time_point) noexcept {
    const double cwnd_seg = double(cwnd_) / mss_;
    // RFC 9438 §4.7 fast convergence: a lower maximum than last time releases bandwidth sooner.
    if (cwnd_seg < w_last_max_)
        w_max_ = cwnd_seg * (1.0 + beta) / 2.0;
    else
        w_max_ = cwnd_seg;
    w_last_max_ = cwnd_seg;
    // RFC 9438 §4.6: ssthresh = cwnd * beta_cubic, at least 2 segments.
    ssthresh_ = std::max(static_cast<std::uint32_t>(cwnd_ * beta), 2 * mss_);
    cwnd_ = ssthresh_;
    in_epoch_ = false;
    cwnd_frac_ = 0;
}

void cubic::on_loss(time_point now, std::uint32_t) noexcept { reduce(now); }

void cubic::on_timeout(time_point now, std::uint32_t) noexcept {
    // RFC 9438 §4.8: as in RFC 5681 — ssthresh from the CUBIC reduction, cwnd back to one segment.
    reduce(now);
    cwnd_ = mss_;
}

void cubic::on_ack(time_point now, std::uint32_t acked, std::uint32_t, duration srtt) noexcept {
    if (in_slow_start()) {
        slow_start(acked);
        return;
    }
    const double cwnd_seg = double(cwnd_) / mss_;
    if (!in_epoch_) {
        // RFC 9438 §4.2: a congestion-avoidance epoch starts; K from equation (2).
        in_epoch_ = true;
        epoch_ = now;
        if (w_max_ < cwnd_seg) w_max_ = cwnd_seg;
        k_ = std::cbrt((w_max_ - cwnd_seg) / c);
        w_est_ = cwnd_seg;
    }
    const double t = std::chrono::duration<double>(now - epoch_).count();
    const double rtt = std::chrono::duration<double>(srtt).count();
    // RFC 9438 §4.3: the Reno-friendly estimate with alpha_cubic = 3 (1 - beta) / (1 + beta).
    const double alpha = 3.0 * (1.0 - beta) / (1.0 + beta);
    w_est_ += alpha * (double(acked) / mss_) / cwnd_seg;
    // RFC 9438 §4.2 equation (1), evaluated one RTT ahead, and the target clamp of §4.4.
    const double dt = t + rtt - k_;
    const double w_cubic = c * dt * dt * dt + w_max_;
    double increment;
    if (w_cubic < w_est_) {
        increment = w_est_ - cwnd_seg; // Reno-friendly region
    } else {
        const double target = std::clamp(w_cubic, cwnd_seg, 1.5 * cwnd_seg);
        increment = (target - cwnd_seg) / cwnd_seg * (double(acked) / mss_);
    }
    if (increment <= 0) return;
    cwnd_frac_ += increment * mss_;
    const auto whole = static_cast<std::uint32_t>(cwnd_frac_);
    cwnd_ += whole;
    cwnd_frac_ -= whole;
}

} // namespace demi::net::tcp
