// The queue interface every libOS implements (sockets, memory queues, pipes, files).
//
// Control operations (bind, listen, options) are synchronous. Data and connection operations get
// an op_start: they complete it at once (in place) or give it a coroutine. Errors returned directly
// (EBADF, ENOTSUP, ENOTCONN, ...) make the call fail without a token; failures found later come back
// in the completion.
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
    virtual result<void> accept(runtime &, op_start &) { return error(ENOTSUP); }
    virtual result<void> connect(runtime &, op_start &, const sockaddr_in &) { return error(ENOTSUP); }
    virtual result<void> push(runtime &, op_start &, const buffer &data) = 0;
    virtual result<void> pushto(runtime &, op_start &, const buffer &, const sockaddr_in &) { return error(ENOTSUP); }
    virtual result<void> pop(runtime &, op_start &) = 0;
    virtual result<void> setsockopt(runtime &, int /*level*/, int /*name*/, const void *, socklen_t) {
        return error(ENOTSUP);
    }
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
