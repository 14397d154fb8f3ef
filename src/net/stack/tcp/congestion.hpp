// Congestion control behind one interface (DESIGN.md §3): the connection reports acknowledgments,
// loss detected by duplicate ACKs, and retransmission timeouts; the algorithm owns cwnd and
// ssthresh. Fast retransmit / fast recovery bookkeeping (duplicate-ACK counting, the recovery point
// of RFC 6582, window inflation) lives in the connection and sets cwnd through set_cwnd().
#pragma once

#include <cstdint>
#include <limits>
#include <memory>

#include "common/clock.hpp"

namespace demi::net::tcp {

enum class cc_algorithm : std::uint8_t { new_reno, cubic };

class congestion_control {
public:
    explicit congestion_control(std::uint32_t mss) noexcept;
    virtual ~congestion_control() = default;
    congestion_control(const congestion_control &) = delete;
    congestion_control &operator=(const congestion_control &) = delete;

    [[nodiscard]] std::uint32_t cwnd() const noexcept { return cwnd_; }
    [[nodiscard]] std::uint32_t ssthresh() const noexcept { return ssthresh_; }
    [[nodiscard]] std::uint32_t mss() const noexcept { return mss_; }
    [[nodiscard]] bool in_slow_start() const noexcept { return cwnd_ < ssthresh_; }
    /// Used by fast recovery (RFC 6582 §3.2) to inflate and deflate the window.
    void set_cwnd(std::uint32_t c) noexcept { cwnd_ = c < mss_ ? mss_ : c; }
    [[nodiscard]] virtual cc_algorithm algorithm() const noexcept = 0;

    /// `acked` new octets were acknowledged outside fast recovery; `flight` octets were outstanding
    /// before this ACK; `srtt` is the smoothed RTT (zero without a sample).
    virtual void on_ack(time_point now, std::uint32_t acked, std::uint32_t flight, duration srtt) noexcept = 0;
    /// Loss detected by three duplicate ACKs: sets ssthresh and cwnd = ssthresh (the connection then
    /// adds the 3 segments that left the network, RFC 5681 §3.2 step 3).
    virtual void on_loss(time_point now, std::uint32_t flight) noexcept = 0;
    /// The retransmission timer expired: RFC 5681 §3.1 equation (4) and cwnd = one segment (LW).
    virtual void on_timeout(time_point now, std::uint32_t flight) noexcept = 0;

protected:
    /// RFC 5681 §3.1 equation (4): max(FlightSize / 2, 2 * SMSS).
    [[nodiscard]] std::uint32_t half_flight(std::uint32_t flight) const noexcept;
    /// RFC 5681 §3.1: slow start grows cwnd by at most one SMSS per ACK.
    void slow_start(std::uint32_t acked) noexcept;

    std::uint32_t mss_;
    std::uint32_t cwnd_;
    std::uint32_t ssthresh_ = std::numeric_limits<std::uint32_t>::max();
};

/// RFC 5681 with the NewReno changes of RFC 6582 (those are in the connection's recovery logic).
class new_reno final : public congestion_control {
public:
    using congestion_control::congestion_control;
    [[nodiscard]] cc_algorithm algorithm() const noexcept override { return cc_algorithm::new_reno; }
    void on_ack(time_point now, std::uint32_t acked, std::uint32_t flight, duration srtt) noexcept override;
    void on_loss(time_point now, std::uint32_t flight) noexcept override;
    void on_timeout(time_point now, std::uint32_t flight) noexcept override;

private:
    std::uint32_t bytes_acked_ = 0; // RFC 5681 §3.1 congestion avoidance, counted per byte (RFC 3465)
};

/// CUBIC (RFC 9438) with fast convergence and the Reno-friendly region.
class cubic final : public congestion_control {
public:
    using congestion_control::congestion_control;
    [[nodiscard]] cc_algorithm algorithm() const noexcept override { return cc_algorithm::cubic; }
    void on_ack(time_point now, std::uint32_t acked, std::uint32_t flight, duration srtt) noexcept override;
    void on_loss(time_point now, std::uint32_t flight) noexcept override;
    void on_timeout(time_point now, std::uint32_t flight) noexcept override;

    /// RFC 9438 §4.6: beta_cubic and C.
    static constexpr double beta = 0.7;
    static constexpr double c = 0.4;
    [[nodiscard]] double w_max_segments() const noexcept { return w_max_; }
    [[nodiscard]] double k_seconds() const noexcept { return k_; }

private:
    void reduce(time_point now) noexcept;

    double w_max_ = 0;       // segments, RFC 9438 §4.1
    double w_last_max_ = 0;  // for fast convergence, RFC 9438 §4.7
    double k_ = 0;           // seconds, RFC 9438 §4.2 equation (2)
    double w_est_ = 0;       // segments, RFC 9438 §4.3
    double cwnd_frac_ = 0;   // fractional segments accumulated between ACKs
    time_point epoch_{};
    bool in_epoch_ = false;
};

[[nodiscard]] std::unique_ptr<congestion_control> make_congestion_control(cc_algorithm a, std::uint32_t mss);

} // namespace demi::net::tcp
