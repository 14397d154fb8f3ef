// A passive open (RFC 9293 §3.10.7.2): the LISTEN state of a local endpoint, a backlog limit on the
// connections it has made and not yet handed over, and ISNs per RFC 6528.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>

#include "common/clock.hpp"
#include "net/stack/tcp/tcb.hpp"

namespace demi::net::tcp {

/// RFC 6528 §3: ISN = M + F(local address and port, remote address and port, secret key), with M a
/// timer ticking every 4 microseconds and F a keyed hash. The key comes from the injected RNG.
class isn_generator {
public:
    explicit isn_generator(rng &r) noexcept : key_{r.next(), r.next()} {}
    [[nodiscard]] seq32 operator()(const four_tuple &t, time_point now) const noexcept;

private:
    std::array<std::uint64_t, 2> key_;
};

class listener {
public:
    using isn_fn = std::function<seq32(const four_tuple &, time_point)>;

    listener(endpoint local, std::size_t backlog, const config &c, isn_fn isn);

    struct outcome {
        /// A new connection in SYN-RECEIVED with its SYN-ACK queued; the owner files it by its tuple.
        std::optional<connection> conn_;
        /// A segment to send in answer (a RST), when there is no connection.
        std::optional<wire::tcp_repr> reply_;
    };

    /// A segment for this endpoint that matched no connection.
    [[nodiscard]] outcome process(time_point now, const wire::ipv4_repr &ip, const wire::tcp_repr &seg,
                                  std::span<const std::byte> payload);
    /// A connection this listener made was accepted by the application or has died: it no longer
    /// counts against the backlog.
    void release() noexcept {
        if (queued_ > 0) --queued_;
    }

    /// TCP_SYNCNT on the listening socket: the SYN-ACK retransmissions of the connections it makes
    /// from now on (as Linux uses the listener's value for them); until it is set,
    /// config::synack_retries_.
    void set_syn_retries(unsigned n) noexcept { cfg_.syn_retries_ = n; }
    [[nodiscard]] unsigned syn_retries() const noexcept { return cfg_.syn_retries_; }
    [[nodiscard]] const endpoint &local() const noexcept { return local_; }
    [[nodiscard]] std::size_t backlog() const noexcept { return backlog_; }
    [[nodiscard]] std::size_t queued() const noexcept { return queued_; }
    /// SYNs dropped because the backlog was full.
    [[nodiscard]] std::uint64_t dropped() const noexcept { return dropped_; }

private:
    endpoint local_;
    std::size_t backlog_;
    config cfg_;
    isn_fn isn_;
    std::size_t queued_ = 0;
    std::uint64_t dropped_ = 0;
};

} // namespace demi::net::tcp
