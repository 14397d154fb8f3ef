// inetstack sockets: a TCP queue is a net::host connection (conn_id) or listener (listener_id); a UDP
// queue is a net::interface UDP socket. Operations complete in place when the stack can answer at once,
// else run a coroutine that waits on the socket's wait lists; the backend's poll wakes those lists when
// the stack's state says the operation can progress (data, space, a connection, an error).
#pragma once

#include "net/stack/host.hpp"
#include "runtime/queue.hpp"
#include "runtime/scheduler.hpp"

#include <deque>
#include <optional>

namespace demi::inetstack {

class backend;

class socket : public rt::queue {
public:
    socket(backend &b, rt::queue_type t) noexcept;
    /// Called by the backend after the stack ran: wakes waiters whose operation may progress.
    /// True if it woke any.
    virtual bool wake(rt::scheduler &s) = 0;

    // Options, as catnap has them (SO_KEEPALIVE, SO_REUSEADDR, SO_LINGER, TCP_NODELAY); docs/API.md.
    result<void> setsockopt(rt::runtime &rt, int level, int name, const void *val, socklen_t len) override;
    result<void> getsockopt(int level, int name, void *val, socklen_t *len) override;

protected:
    /// After setsockopt changed an option of the connection (TCP_NODELAY, SO_KEEPALIVE, TCP_KEEP*,
    /// TCP_SYNCNT, TCP_USER_TIMEOUT): a connecting or connected TCP socket applies them, a listening
    /// one gives its listener TCP_SYNCNT. `keepidle_set`: the option set was TCP_KEEPIDLE (which
    /// re-times an armed keepalive's next probe even at the same value).
    virtual void options_changed(rt::runtime &, bool keepidle_set) { (void)keepidle_set; }
    /// One pop attempt: false when there is nothing to say yet (c filled otherwise).
    virtual bool try_recv(completion &c) = 0;
    /// Pops are served in order: at once when none waits and the stack has something to say, else
    /// deferred (no coroutine) and finished by serve_pops() from wake(), or with ECANCELED by
    /// cancel_pops() on close.
    result<void> pop_in_order(rt::runtime &rt, rt::op_start &op);
    /// Finishes waiting pops, oldest first, while try_recv() has something for them. True if any.
    bool serve_pops();
    void cancel_pops() noexcept;
    [[nodiscard]] bool pops_waiting() const noexcept { return !pops_.empty(); }

    backend *be_;
    // tcp_socket_options.* are the defaults. TCP_NODELAY, SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL,
    // TCP_KEEPCNT, TCP_SYNCNT and TCP_USER_TIMEOUT (defaults of the last five: the stack's) go to the
    // socket's connection (set on a listener: to the connections it accepts, as Linux's accepted
    // sockets inherit them); a zero linger makes close() an abort (RST).
    int nodelay_ = 1, keepalive_ = 0, reuseaddr_ = 0, syncnt_ = 0, keepcnt_ = 0;
    int user_timeout_ms_ = 0; // TCP_USER_TIMEOUT, milliseconds (0: off)
    // TCP_SYNCNT was set: only then does a listener's value replace the stack's SYN-ACK retries
    // (tcp::config::synack_retries_), as on Linux.
    bool syncnt_set_ = false;
    duration keepidle_{}, keepintvl_{};
    ::linger linger_{};
    rt::wait_list readers_, writers_;
    uint64_t push_next_ = 0, push_serving_ = 0;

private:
    std::deque<uint32_t> pops_;  // token slots of deferred pops, oldest first
    rt::runtime *rt_ = nullptr; // the runtime they belong to
};

class tcp_socket final : public socket {
public:
    tcp_socket(backend &b) noexcept;
    /// An accepted connection, with the options of the listening socket `from`.
    tcp_socket(backend &b, net::conn_id c, const tcp_socket &from) noexcept;
    ~tcp_socket() override;

    result<void> bind(rt::runtime &, const sockaddr_in &addr) override;
    result<void> listen(rt::runtime &, int backlog) override;
    result<void> accept(rt::runtime &rt, rt::op_start &op) override;
    result<void> connect(rt::runtime &rt, rt::op_start &op, const sockaddr_in &addr) override;
    result<void> push(rt::runtime &rt, rt::op_start &op, const buffer &data) override;
    result<void> pop(rt::runtime &rt, rt::op_start &op) override;
    result<sockaddr_in> getpeername() override;
    result<sockaddr_in> getsockname() override;
    void close(rt::runtime &rt) override;
    bool wake(rt::scheduler &s) override;

private:
    std::shared_ptr<tcp_socket> self() { return std::static_pointer_cast<tcp_socket>(shared_from_this()); }
    const net::tcp::connection *conn() const noexcept;
    /// One accept attempt: the new queue's completion, or nullopt (nothing yet).
    std::optional<completion> try_accept(rt::runtime &rt);
    bool try_recv(completion &c) override;
    void options_changed(rt::runtime &rt, bool keepidle_set) override;
    /// Gives the connection this socket's TCP_NODELAY, SO_KEEPALIVE, TCP_KEEP* and TCP_SYNCNT.
    void apply_options(time_point now, bool keepidle_set = false);
    /// One push attempt: false when the send buffer is full (*err set on a hard error).
    bool try_send(const buffer &data, int *err);
    void release() noexcept;

    static rt::op_task accept_later(rt::runtime &rt, std::shared_ptr<tcp_socket> self);
    static rt::op_task connect_later(std::shared_ptr<tcp_socket> self);
    static rt::op_task push_later(rt::runtime &rt, std::shared_ptr<tcp_socket> self, buffer data, uint64_t ticket);

    enum class role : uint8_t { fresh, listening, connecting, connected };
    role role_ = role::fresh;
    std::optional<net::conn_id> conn_;
    std::optional<net::listener_id> listener_;
    std::deque<net::conn_id> ready_; // accepted from the host, not yet handed out
    sockaddr_in bound_{};            // bind's address (port 0: not bound)
    bool port_taken_ = false;
    size_t push_need_ = 0; // bytes of the push waiting for send space
};

class udp_socket final : public socket {
public:
    udp_socket(backend &b) noexcept;
    ~udp_socket() override;

    result<void> bind(rt::runtime &, const sockaddr_in &addr) override;
    result<void> connect(rt::runtime &rt, rt::op_start &op, const sockaddr_in &addr) override;
    result<void> push(rt::runtime &rt, rt::op_start &op, const buffer &data) override;
    result<void> pushto(rt::runtime &rt, rt::op_start &op, const buffer &data, const sockaddr_in &addr) override;
    result<void> pop(rt::runtime &rt, rt::op_start &op) override;
    result<sockaddr_in> getpeername() override;
    result<sockaddr_in> getsockname() override;
    void close(rt::runtime &rt) override;
    bool wake(rt::scheduler &s) override;

private:
    std::shared_ptr<udp_socket> self() { return std::static_pointer_cast<udp_socket>(shared_from_this()); }
    result<void> send(rt::runtime &rt, rt::op_start &op, const buffer &data, const sockaddr_in &to);
    bool try_recv(completion &c) override;
    void release() noexcept;

    net::udp_socket_id id_;
    bool open_ = true;
    std::optional<sockaddr_in> peer_;       // connect()'s default destination
};

} // namespace demi::inetstack
