// The inetstack backend: one net::host on one phy::device, and the sockets that run on it.
#pragma once

#include "common/clock.hpp"
#include "libos/inetstack/inetstack.hpp"
#include "memory/pool.hpp"
#include "net/stack/host.hpp"
#include "runtime/backend.hpp"
#include "runtime/config.hpp"

#include <cstdint>
#include <set>
#include <vector>

namespace demi::inetstack {

class socket;

class backend final : public rt::backend {
public:
    /// `may_sleep`: the device cannot receive anything from outside (loopback), so poll() may sleep
    /// until the stack's next timer. `drain_limit`: how long the destructor keeps delivering.
    backend(const rt::config &cfg, net::host_config hc, std::unique_ptr<phy::device> dev, alloc_fn alloc,
            bool may_sleep, duration drain_limit);
    ~backend() override;

    [[nodiscard]] std::string_view name() const noexcept override { return "inetstack"; }
    result<std::shared_ptr<rt::queue>> socket(rt::runtime &rt, int domain, int type, int protocol) override;
    bool poll(rt::runtime &rt, duration max_block) override;
    result<buffer> alloc(size_t size) override;

    /// The stack, for the sockets. Whoever asks may change it (a send, a read that opens the window,
    /// a close), so the next poll runs the whole stack (see poll()).
    [[nodiscard]] net::host &host() noexcept {
        stirred_ = true;
        return host_;
    }
    [[nodiscard]] const rt::config &cfg() const noexcept { return cfg_; }
    [[nodiscard]] phy::device &device() noexcept { return *dev_; }

    /// Open sockets register. Those without a connection (listening, UDP, not yet connecting) are
    /// woken after every round that ran the stack; attach() makes a socket the one of a connection,
    /// woken only after a round that dispatched the connection (host::take_dispatched), so a round
    /// costs what the busy connections need, not a pass over every socket.
    void add(inetstack::socket *s);
    void remove(inetstack::socket *s) noexcept;
    void attach(inetstack::socket *s, net::conn_id c);
    /// Back to the sockets woken every round (the socket has no connection any more).
    void detach(inetstack::socket *s, net::conn_id c) noexcept;

    /// TCP ports taken by bound sockets (listening or about to be): bind's EADDRINUSE, ephemeral picks.
    result<uint16_t> take_tcp_port(uint16_t port);
    void release_tcp_port(uint16_t port) noexcept;
    /// Runs the stack's output now (after a close, a connect), so frames leave at once rather than at
    /// the next poll.
    void flush(time_point now) {
        output_pending_ = false;
        tcp_output_pending_ = false;
        deferred_pushes_ = 0;
        host_.poll(now);
    }
    /// What a push gave the stack: TCP data (sent by the connection's output, which needs the time)
    /// or a UDP datagram (its frame is already built and queued).
    enum class pushed : uint8_t { stream, datagram };
    /// After a push: the frames leave at once when the application has nothing else to take — no
    /// completion it has not consumed, no received datagram it has not popped (a request-response
    /// exchange: the reply goes now); otherwise at the start of the next poll, which comes when the
    /// application waits for something not yet done, or with the push that makes
    /// `max_deferred_pushes` waiting — so the replies to a burst of requests leave a few frames to a
    /// device call, and the peer gets the first of them while the rest are being made. The clock is
    /// read only when the frames leave, and not then when only datagrams wait (host::send_queued).
    void flush_push(rt::runtime &rt, pushed what);
    /// Small groups keep both ends busy: with 16 or more, two Demi ends fall into lockstep, each idle
    /// while the other works through a whole burst (docs/PERFORMANCE.md, UDP throughput).
    static constexpr uint32_t max_deferred_pushes = 8;

    /// Buffers of `size` bytes from the I/O allocator, with no headroom need.
    result<buffer> allocate(size_t size, size_t headroom = 0) noexcept;

private:
    rt::config cfg_;
    std::unique_ptr<phy::device> dev_;
    rng rng_;
    net::host host_;
    alloc_fn alloc_;
    mem::block_pool pool_; // serves allocate() when no allocator was given (one malloc per pop otherwise)
    bool may_sleep_;
    bool output_pending_ = false; // a push left its frames for the next poll (flush_push)
    bool tcp_output_pending_ = false; // one of them a TCP push: the next flush runs the connections' output
    uint32_t deferred_pushes_ = 0; // pushes since the last flush whose frames wait for it
    // A busy-poll round that received nothing, after a round that changed nothing, with no socket
    // call in between, skips the stack's timers/output and the sockets' wakeups (a quiet round) —
    // until quiet_until_, so the stack's timers still run every `quiet_span` at the latest.
    bool stirred_ = true;
    time_point quiet_until_{};
    static constexpr duration quiet_span = std::chrono::microseconds(20);
    duration drain_limit_; // inetstack_config.drain_ms: how long the destructor keeps delivering
    std::vector<inetstack::socket *> sockets_; // woken every round; the attached ones: host::set_user
    std::vector<void *> dispatched_;           // reused (host::take_dispatched)
    std::set<uint16_t> tcp_ports_;
};

/// Builds the host configuration from `cfg` (EINVAL, with *why set, on a missing or bad key).
result<net::host_config> host_config_from(const rt::config &cfg, const phy::device &dev, alloc_fn alloc,
                                          std::string *why);

} // namespace demi::inetstack
