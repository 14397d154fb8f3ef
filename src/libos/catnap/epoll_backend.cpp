#include "libos/catnap/epoll_backend.hpp"

#include "common/log.hpp"
#include "libos/catnap/catnap.hpp"
#include "libos/catnap/socket.hpp"
#include "runtime/runtime.hpp"

#include <cerrno>
#include <netinet/in.h>
#include <unistd.h>

namespace demi::catnap {

result<std::unique_ptr<rt::backend>> make(const rt::config &cfg) {
    auto b = epoll_backend::create(cfg);
    if (!b) return b.err();
    return std::unique_ptr<rt::backend>(std::move(*b));
}

result<std::unique_ptr<epoll_backend>> epoll_backend::create(const rt::config &cfg) {
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) {
        DEMI_LOG(error, "catnap", "epoll_create1: %s", std::strerror(errno));
        return error(errno);
    }
    return std::unique_ptr<epoll_backend>(new epoll_backend(epfd, cfg));
}

epoll_backend::~epoll_backend() { ::close(epfd_); }

result<std::shared_ptr<rt::queue>> epoll_backend::socket(rt::runtime &, int domain, int type, int protocol) {
    if (domain != AF_INET) return error(EAFNOSUPPORT);
    rt::queue_type qt;
    switch (type) {
    case SOCK_STREAM:
        if (protocol != 0 && protocol != IPPROTO_TCP) return error(EPROTONOSUPPORT);
        qt = rt::queue_type::tcp;
        break;
    case SOCK_DGRAM:
        if (protocol != 0 && protocol != IPPROTO_UDP) return error(EPROTONOSUPPORT);
        qt = rt::queue_type::udp;
        break;
    default:
        return error(ENOTSUP);
    }
    int fd = ::socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    if (fd < 0) return error(errno);
    auto s = std::make_shared<catnap::socket>(*this, fd, qt);
    if (auto r = add(*s); !r) return r.err(); // the socket's destructor closes fd
    if (qt == rt::queue_type::tcp) {
        // Servers restart on the same port while old connections sit in TIME_WAIT.
        int one = 1;
        (void)::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (auto r = s->apply_tcp_options(cfg_.tcp); !r) return r.err();
    }
    return std::shared_ptr<rt::queue>(std::move(s));
}

result<void> epoll_backend::add(catnap::socket &s) noexcept {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = &s;
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, s.fd(), &ev) != 0) return error(errno);
    ++registered_;
    return ok();
}

void epoll_backend::remove(int fd) noexcept {
    if (epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr) == 0) --registered_;
}

bool epoll_backend::poll(rt::runtime &rt, duration max_block) {
    if (registered_ == 0 && max_block == duration::zero()) return false; // only memory queues
    timespec ts{};
    if (max_block > duration::zero()) {
        ts.tv_sec = static_cast<time_t>(max_block.count() / 1000000000);
        ts.tv_nsec = static_cast<long>(max_block.count() % 1000000000);
    }
    int n = epoll_pwait2(epfd_, events_.data(), static_cast<int>(events_.size()), &ts, nullptr);
    if (n < 0) {
        if (errno != EINTR) DEMI_LOG(warn, "catnap", "epoll_pwait2: %s", std::strerror(errno));
        return false;
    }
    // Wakeups only schedule coroutines; none runs (and no socket is closed) until this loop is over,
    // so every data.ptr stays valid for the whole batch.
    for (int i = 0; i < n; ++i) static_cast<catnap::socket *>(events_[i].data.ptr)->on_events(events_[i].events, rt.sched());
    return n > 0;
}

} // namespace demi::catnap
