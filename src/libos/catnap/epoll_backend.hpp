// The catnap device: an edge-triggered epoll instance and a receive scratch area.
#pragma once

#include "runtime/backend.hpp"

#include <array>
#include <cstddef>
#include <sys/epoll.h>

namespace demi::catnap {

class socket;

class epoll_backend final : public rt::backend {
public:
    static result<std::unique_ptr<epoll_backend>> create(const rt::config &cfg);
    ~epoll_backend() override;

    [[nodiscard]] std::string_view name() const noexcept override { return "catnap"; }
    result<std::shared_ptr<rt::queue>> socket(rt::runtime &rt, int domain, int type, int protocol) override;
    bool poll(rt::runtime &rt, duration max_block) override;

    /// Registers a socket for all events (edge-triggered).
    result<void> add(catnap::socket &s) noexcept;
    /// Forgets a socket (before its fd is closed).
    void remove(int fd) noexcept;

    /// A receive area large enough for any datagram; received bytes are copied out of it into a
    /// buffer of exactly their size.
    std::span<std::byte> scratch() noexcept { return scratch_; }
    [[nodiscard]] const rt::config &cfg() const noexcept { return cfg_; }

private:
    epoll_backend(int epfd, const rt::config &cfg) noexcept : epfd_(epfd), cfg_(cfg) {}

    int epfd_;
    size_t registered_ = 0; // sockets in the epoll set: none means a zero-timeout poll has nothing to ask
    rt::config cfg_;
    std::array<epoll_event, 64> events_{};
    std::array<std::byte, 65536> scratch_{};
};

} // namespace demi::catnap
