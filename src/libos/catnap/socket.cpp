#include "libos/catnap/socket.hpp"

#include "common/log.hpp"
#include "libos/catnap/epoll_backend.hpp"
#include "memory/heap.hpp"
#include "runtime/runtime.hpp"

#include <cerrno>
#include <cstring>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <unistd.h>

namespace demi::catnap {

using rt::failed;
using rt::op_start;
using rt::op_task;
using rt::succeeded;

socket::socket(epoll_backend &dev, int fd, rt::queue_type type) noexcept : queue(type), dev_(&dev), fd_(fd) {}

socket::~socket() {
    if (fd_ >= 0) {
        dev_->remove(fd_);
        ::close(fd_);
    }
}

void socket::on_events(uint32_t events, rt::scheduler &s) {
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        readable_ = true;
        readers_.notify_all(s);
    }
    if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) writers_.notify_all(s);
}

result<void> socket::apply_tcp_options(const rt::tcp_socket_options &o) {
    int v = o.nodelay ? 1 : 0;
    if (::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v) != 0) return error(errno);
    if (o.keepalive) {
        v = 1;
        if (::setsockopt(fd_, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof v) != 0) return error(errno);
        if (o.keepalive_time_ms >= 1000) {
            v = static_cast<int>(o.keepalive_time_ms / 1000);
            (void)::setsockopt(fd_, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof v);
        }
        if (o.keepalive_interval_ms >= 1000) {
            v = static_cast<int>(o.keepalive_interval_ms / 1000);
            (void)::setsockopt(fd_, IPPROTO_TCP, TCP_KEEPINTVL, &v, sizeof v);
        }
    }
    if (o.linger) {
        linger l{1, static_cast<int>(o.linger_seconds)};
        if (::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l) != 0) return error(errno);
    }
    return ok();
}

// ---- control ----

result<void> socket::bind(rt::runtime &, const sockaddr_in &addr) {
    if (closed()) return error(EBADF);
    if (::bind(fd_, reinterpret_cast<const sockaddr *>(&addr), sizeof addr) != 0) return error(errno);
    return ok();
}

result<void> socket::listen(rt::runtime &, int backlog) {
    if (closed()) return error(EBADF);
    if (type() != rt::queue_type::tcp) return error(ENOTSUP);
    if (::listen(fd_, backlog) != 0) return error(errno);
    return ok();
}

namespace {
bool supported_option(int level, int name) {
    if (level == SOL_SOCKET) return name == SO_LINGER || name == SO_KEEPALIVE || name == SO_REUSEADDR;
    if (level == IPPROTO_TCP)
        return name == TCP_NODELAY || name == TCP_SYNCNT || name == TCP_KEEPIDLE || name == TCP_KEEPINTVL ||
               name == TCP_KEEPCNT || name == TCP_USER_TIMEOUT;
    return false;
}
// The value's size: an int, or a struct linger. Shorter buffers are EINVAL (no silent truncation).
socklen_t option_size(int level, int name) {
    return level == SOL_SOCKET && name == SO_LINGER ? sizeof(linger) : sizeof(int);
}
} // namespace

result<void> socket::setsockopt(rt::runtime &, int level, int name, const void *val, socklen_t len) {
    if (closed()) return error(EBADF);
    if (!supported_option(level, name)) return error(ENOTSUP);
    if (level == IPPROTO_TCP && type() != rt::queue_type::tcp) return error(ENOTSUP);
    if (len < option_size(level, name)) return error(EINVAL);
    if (::setsockopt(fd_, level, name, val, len) != 0) return error(errno);
    return ok();
}

result<void> socket::getsockopt(int level, int name, void *val, socklen_t *len) {
    if (closed()) return error(EBADF);
    if (!supported_option(level, name)) return error(ENOTSUP);
    if (level == IPPROTO_TCP && type() != rt::queue_type::tcp) return error(ENOTSUP);
    if (*len < option_size(level, name)) return error(EINVAL);
    if (::getsockopt(fd_, level, name, val, len) != 0) return error(errno);
    return ok();
}

result<sockaddr_in> socket::getpeername() {
    if (closed()) return error(EBADF);
    sockaddr_in a{};
    socklen_t len = sizeof a;
    if (::getpeername(fd_, reinterpret_cast<sockaddr *>(&a), &len) != 0) return error(errno);
    return a;
}

result<sockaddr_in> socket::getsockname() {
    if (closed()) return error(EBADF);
    sockaddr_in a{};
    socklen_t len = sizeof a;
    if (::getsockname(fd_, reinterpret_cast<sockaddr *>(&a), &len) != 0) return error(errno);
    return a;
}

void socket::close(rt::runtime &rt) {
    mark_closed();
    if (fd_ >= 0) {
        dev_->remove(fd_);
        ::close(fd_);
        fd_ = -1;
    }
    readers_.notify_all(rt.sched());
    writers_.notify_all(rt.sched());
}

// ---- accept ----

namespace {
// Outcome of one accept4 attempt: a new queue descriptor, "try again later", or an error.
struct accept_try {
    int qd = -1;
    int err = 0;
    bool again = false;
    sockaddr_in peer{};
};

accept_try try_accept(rt::runtime &rt, epoll_backend &dev, int listen_fd) {
    accept_try t;
    socklen_t len = sizeof t.peer;
    int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr *>(&t.peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        // A connection that died in the backlog is not an error of the listener (accept(2)).
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED || errno == EINTR)
            t.again = true;
        else
            t.err = errno;
        return t;
    }
    auto s = std::make_shared<catnap::socket>(dev, fd, rt::queue_type::tcp);
    s->set_connected();
    if (auto r = dev.add(*s); !r) return t.err = r.code(), t;
    if (auto r = s->apply_tcp_options(dev.cfg().tcp); !r) return t.err = r.code(), t;
    auto qd = rt.insert(std::move(s));
    if (!qd) return t.err = qd.code(), t;
    t.qd = *qd;
    return t;
}

completion accepted(const accept_try &t) {
    completion c = succeeded(opcode::accept);
    c.new_qd = t.qd;
    c.addr = t.peer;
    return c;
}
} // namespace

result<void> socket::accept(rt::runtime &rt, op_start &op) {
    if (closed()) return error(EBADF);
    if (type() != rt::queue_type::tcp) return error(ENOTSUP);
    accept_try t = try_accept(rt, *dev_, fd_);
    if (t.qd >= 0)
        op.complete(accepted(t));
    else if (!t.again)
        op.complete(failed(opcode::accept, t.err));
    else
        op.run(accept_later(rt, self()));
    return ok();
}

op_task socket::accept_later(rt::runtime &rt, std::shared_ptr<socket> self) {
    for (;;) {
        co_await self->readers_.wait();
        if (self->closed()) co_return failed(opcode::accept, ECANCELED);
        accept_try t = try_accept(rt, *self->dev_, self->fd_);
        if (t.qd >= 0) co_return accepted(t);
        if (!t.again) co_return failed(opcode::accept, t.err);
    }
}

// ---- connect ----

result<void> socket::connect(rt::runtime &, op_start &op, const sockaddr_in &addr) {
    if (closed()) return error(EBADF);
    if (::connect(fd_, reinterpret_cast<const sockaddr *>(&addr), sizeof addr) == 0) {
        connected_ = true;
        op.complete();
    } else if (errno == EINPROGRESS) {
        op.run(connect_later(self()));
    } else if (errno == EISCONN || errno == EALREADY || errno == EAFNOSUPPORT || errno == EBADF) {
        return error(errno); // argument and state errors fail the call
    } else {
        op.complete(failed(opcode::connect, errno)); // network errors fail the operation
    }
    return ok();
}

op_task socket::connect_later(std::shared_ptr<socket> self) {
    for (;;) {
        co_await self->writers_.wait();
        if (self->closed()) co_return failed(opcode::connect, ECANCELED);
        int err = 0;
        socklen_t len = sizeof err;
        if (::getsockopt(self->fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
        if (err != 0) co_return failed(opcode::connect, err);
        // Writable with no error: connected (a spurious wakeup shows up as ENOTCONN here).
        sockaddr_in peer{};
        socklen_t plen = sizeof peer;
        if (::getpeername(self->fd_, reinterpret_cast<sockaddr *>(&peer), &plen) == 0) {
            self->connected_ = true;
            co_return succeeded(opcode::connect);
        }
    }
}

// ---- push ----

bool socket::try_send(const buffer &data, size_t *sent, const sockaddr_in *to, int *err) noexcept {
    while (*sent < data.size()) {
        ssize_t n;
        if (to != nullptr)
            n = ::sendto(fd_, data.data() + *sent, data.size() - *sent, MSG_NOSIGNAL,
                         reinterpret_cast<const sockaddr *>(to), sizeof *to);
        else
            n = ::send(fd_, data.data() + *sent, data.size() - *sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
            if (errno == EINTR) continue;
            *err = errno == EPIPE ? ECONNRESET : errno;
            return false;
        }
        *sent += static_cast<size_t>(n);
        if (type() == rt::queue_type::udp) break; // a datagram goes whole or not at all
    }
    return true;
}

result<void> socket::push(rt::runtime &rt, op_start &op, const buffer &data) {
    return pushto_impl(rt, op, data, nullptr);
}

result<void> socket::pushto(rt::runtime &rt, op_start &op, const buffer &data, const sockaddr_in &addr) {
    if (type() != rt::queue_type::udp) return error(ENOTSUP);
    return pushto_impl(rt, op, data, &addr);
}

result<void> socket::pushto_impl(rt::runtime &rt, op_start &op, const buffer &data, const sockaddr_in *to) {
    if (closed()) return error(EBADF);
    if (type() == rt::queue_type::tcp && !connected_) return error(ENOTCONN);
    if (type() == rt::queue_type::udp && data.size() > 65507) return error(EMSGSIZE);
    const uint64_t ticket = push_next_++;
    size_t sent = 0;
    if (ticket == push_serving_) {
        int err = 0;
        if (try_send(data, &sent, to, &err)) {
            ++push_serving_;
            op.complete();
            return ok();
        }
        if (err != 0) {
            ++push_serving_;
            if (err == ENOTCONN || err == EDESTADDRREQ) {
                --push_next_; // the push never happened: give its ticket back
                --push_serving_;
                return error(err);
            }
            op.complete(failed(opcode::push, err));
            return ok();
        }
    }
    // The buffer travels with the coroutine: it stays alive until the push completes, whatever
    // the application does with its own reference (free-protection).
    op.run(push_later(rt, self(), data, sent, ticket, to != nullptr, to ? *to : sockaddr_in{}));
    return ok();
}

op_task socket::push_later(rt::runtime &rt, std::shared_ptr<socket> self, buffer data, size_t sent, uint64_t ticket, bool has_dest,
                           sockaddr_in dest) {
    for (;;) {
        if (self->closed()) {
            if (ticket == self->push_serving_) ++self->push_serving_;
            co_return failed(opcode::push, ECANCELED);
        }
        if (ticket == self->push_serving_) {
            int err = 0;
            if (self->try_send(data, &sent, has_dest ? &dest : nullptr, &err) || err != 0) {
                ++self->push_serving_;
                self->writers_.notify_all(rt.sched());
                co_return err != 0 ? failed(opcode::push, err) : succeeded(opcode::push);
            }
        }
        co_await self->writers_.wait();
    }
}

// ---- pop ----

bool socket::try_recv(completion &c) noexcept {
    auto scratch = dev_->scratch();
    for (;;) {
        sockaddr_in from{};
        socklen_t flen = sizeof from;
        ssize_t n = ::recvfrom(fd_, scratch.data(), scratch.size(), 0, reinterpret_cast<sockaddr *>(&from), &flen);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                readable_ = false;
                return false;
            }
            c.error = errno;
            return true;
        }
        if (n > 0) {
            auto b = mem::heap_copy(scratch.first(static_cast<size_t>(n)));
            if (!b) {
                c.error = b.code();
                return true;
            }
            c.data = std::move(*b);
        }
        // n == 0 on a stream is the end of the stream: an empty completion. (A zero-length
        // datagram also completes empty.)
        if (type() == rt::queue_type::udp) c.addr = from;
        return true;
    }
}

result<void> socket::pop(rt::runtime &rt, op_start &op) {
    if (closed()) return error(EBADF);
    if (type() == rt::queue_type::tcp && !connected_) return error(ENOTCONN);
    const uint64_t ticket = pop_next_++;
    if (ticket == pop_serving_ && readable_ && try_recv(op.result())) {
        ++pop_serving_;
        op.complete();
    } else {
        op.run(pop_later(rt, self(), ticket));
    }
    return ok();
}

op_task socket::pop_later(rt::runtime &rt, std::shared_ptr<socket> self, uint64_t ticket) {
    for (;;) {
        co_await self->readers_.wait();
        if (self->closed()) co_return failed(opcode::pop, ECANCELED);
        if (ticket != self->pop_serving_ || !self->readable_) continue;
        completion c = succeeded(opcode::pop);
        if (self->try_recv(c)) {
            ++self->pop_serving_;
            // The next pop in line may find data already waiting: let it look.
            self->readers_.notify_all(rt.sched());
            co_return c;
        }
    }
}

} // namespace demi::catnap
