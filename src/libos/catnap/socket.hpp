// A catnap socket queue: one non-blocking kernel socket (TCP or UDP).
#pragma once

#include "runtime/queue.hpp"
#include "runtime/config.hpp"
#include "runtime/scheduler.hpp"

namespace demi::catnap {

class epoll_backend;

class socket final : public rt::queue {
public:
    socket(epoll_backend &dev, int fd, rt::queue_type type) noexcept;
    ~socket() override;

    [[nodiscard]] int fd() const noexcept { return fd_; }
    void set_connected() noexcept { connected_ = true; }

    result<void> bind(rt::runtime &, const sockaddr_in &addr) override;
    result<void> listen(rt::runtime &, int backlog) override;
    result<void> accept(rt::runtime &rt, rt::op_start &op) override;
    result<void> connect(rt::runtime &rt, rt::op_start &op, const sockaddr_in &addr) override;
    result<void> push(rt::runtime &rt, rt::op_start &op, const buffer &data) override;
    result<void> pushto(rt::runtime &rt, rt::op_start &op, const buffer &data, const sockaddr_in &addr) override;
    result<void> pop(rt::runtime &rt, rt::op_start &op) override;
    result<void> setsockopt(rt::runtime &rt, int level, int name, const void *val, socklen_t len) override;
    result<void> getsockopt(int level, int name, void *val, socklen_t *len) override;
    result<sockaddr_in> getpeername() override;
    result<sockaddr_in> getsockname() override;
    void close(rt::runtime &rt) override;

    /// Called by the backend with the epoll events of this socket.
    void on_events(uint32_t events, rt::scheduler &s);

    /// Applies the configured TCP options (tcp_socket_options.*) to this socket.
    result<void> apply_tcp_options(const rt::tcp_socket_options &o);

private:
    std::shared_ptr<socket> self() { return std::static_pointer_cast<socket>(shared_from_this()); }

    /// One attempt to send the rest of `data` (from *sent); true when all of it is gone.
    /// Sets *err on a hard error.
    bool try_send(const buffer &data, size_t *sent, const sockaddr_in *to, int *err) noexcept;
    /// One attempt to receive into `c`: false on EAGAIN; true when c holds data, the end of the
    /// stream (no data) or an error (c.error).
    bool try_recv(completion &c) noexcept;

    static rt::op_task accept_later(rt::runtime &rt, std::shared_ptr<socket> self);
    static rt::op_task connect_later(std::shared_ptr<socket> self);
    result<void> pushto_impl(rt::runtime &rt, rt::op_start &op, const buffer &data, const sockaddr_in *to);
    static rt::op_task push_later(rt::runtime &rt, std::shared_ptr<socket> self, buffer data, size_t sent, uint64_t ticket,
                                  bool has_dest, sockaddr_in dest);
    static rt::op_task pop_later(rt::runtime &rt, std::shared_ptr<socket> self, uint64_t ticket);

    epoll_backend *dev_;
    int fd_;
    rt::wait_list readers_, writers_;
    // Pushes (and pops) on one socket complete in the order they were issued: each takes a ticket
    // and proceeds when its ticket is served.
    uint64_t push_next_ = 0, push_serving_ = 0;
    uint64_t pop_next_ = 0, pop_serving_ = 0;
    bool connected_ = false; // TCP: accepted, or connect() completed; push/pop need it
    // Whether a receive may find something: cleared when recv says EAGAIN, set by the next
    // readable edge. Saves the system call of a pop that would only learn it has to wait.
    bool readable_ = true;
};

} // namespace demi::catnap
