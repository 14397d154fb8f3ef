// catnap: the portable libOS over Linux sockets and epoll. The kernel's TCP/IP stack carries the
// data; catnap gives it the queue API: non-blocking sockets whose operations run as coroutines,
// woken by an edge-triggered epoll instance that the wait loop polls.
#pragma once

#include "runtime/backend.hpp"

namespace demi::catnap {

/// Makes the catnap backend (an epoll instance).
result<std::unique_ptr<rt::backend>> make(const rt::config &cfg);

} // namespace demi::catnap
