// The queue interface every libOS implements (sockets, memory queues, pipes, files).
//
// Control operations (bind, listen, options) are synchronous. Data and connection operations
// return an op_start: completed at once, or a coroutine the runtime attaches to a token. Errors
// returned directly (EINVAL, ENOTSUP, ENOTCONN, ...) make the C call fail without a token;
// failures found later come back in the completion.
//
// Coroutines hold a shared_ptr to their queue and must re-check closed() after every suspension:
// close() wakes them all, and they finish with ECANCELED without touching the device.
#pragma once

#include "common/result.hpp"
#include "runtime/op_task.hpp"

#include <netinet/in.h>
#include <span>
#include <sys/socket.h>

namespace demi::rt {

class runtime;

enum class queue_type { memory, tcp, udp };

class queue : public std::enable_shared_from_this<queue> {
public:
    explicit queue(queue_type t) noexcept : type_(t) {}
    virtual ~queue() = default;
    queue(const queue &) = delete;
    queue &operator=(const queue &) = delete;

    [[nodiscard]] queue_type type() const noexcept { return type_; }
    [[nodiscard]] bool closed() const noexcept { return closed_; }

    virtual result<void> bind(runtime &, const sockaddr_in &) { return error(ENOTSUP); }
    virtual result<void> listen(runtime &, int /*backlog*/) { return error(ENOTSUP); }
    virtual result<op_start> accept(runtime &) { return error(ENOTSUP); }
    virtual result<op_start> connect(runtime &, const sockaddr_in &) { return error(ENOTSUP); }
    virtual result<op_start> push(runtime &, buffer data) = 0;
    virtual result<op_start> pushto(runtime &, buffer, const sockaddr_in &) { return error(ENOTSUP); }
    virtual result<op_start> pop(runtime &) = 0;
    virtual result<void> setsockopt(int /*level*/, int /*name*/, const void *, socklen_t) { return error(ENOTSUP); }
    virtual result<void> getsockopt(int /*level*/, int /*name*/, void *, socklen_t *) { return error(ENOTSUP); }
    virtual result<sockaddr_in> getpeername() { return error(ENOTSUP); }
    virtual result<sockaddr_in> getsockname() { return error(ENOTSUP); }

    /// Releases the device resources and wakes every pending operation (they finish with ECANCELED).
    /// Called once, by the runtime, which then drops the queue from the descriptor table.
    virtual void close(runtime &rt) = 0;

protected:
    void mark_closed() noexcept { closed_ = true; }

private:
    queue_type type_;
    bool closed_ = false;
};

} // namespace demi::rt
