// Demi — the C++ API.
//
// A demi::libos is one instance of a library OS (catnap, catnip, ...), made explicitly; several may
// coexist in one process, even of different kinds. Queues are named by descriptors (`int qd`,
// or the RAII demi::queue); operations return queue tokens and complete asynchronously; results
// come back from wait/wait_any/wait_next_n, or by `co_await` inside a demi::task coroutine.
// Everything reports errors as values (demi::result), never by exceptions.
//
// A libos and everything made from it belong to one thread at a time.
#pragma once

#include <demi/buffer.hpp>
#include <demi/result.hpp>
#include <demi/task.hpp>
#include <demi/types.h>

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <memory>
#include <netinet/in.h>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <sys/socket.h>

namespace demi {

namespace rt {
class runtime;
}

using qtoken = demi_qtoken_t;

/// What an operation was.
enum class opcode : int {
    invalid = DEMI_OPC_INVALID,
    push = DEMI_OPC_PUSH,
    pop = DEMI_OPC_POP,
    accept = DEMI_OPC_ACCEPT,
    connect = DEMI_OPC_CONNECT,
    close = DEMI_OPC_CLOSE,
};

/// The result of a completed operation.
struct completion {
    opcode op = opcode::invalid; ///< the operation that completed (or failed)
    int qd = -1;                 ///< the queue it was issued on
    qtoken qt = 0;               ///< its token
    int error = 0;               ///< 0, or the errno it failed with (ECONNRESET, ECANCELED, ...)
    buffer data;                 ///< pop: the data (empty on end of stream)
    sockaddr_in addr{};          ///< pop on a datagram queue: the sender; accept: the peer
    int new_qd = -1;             ///< accept: the new connection's queue

    [[nodiscard]] bool ok() const noexcept { return error == 0; }
};

/// How long a wait may take: std::nullopt waits forever, zero polls once.
using timeout = std::optional<std::chrono::nanoseconds>;

/// How to make a libos.
struct options {
    /// Which libOS: "catnap", ... Empty: the environment variable LIBOS, else "catnap".
    std::string libos;
    /// YAML configuration file. Empty: the environment variable CONFIG_PATH, else built-in defaults.
    std::string config_path;
    /// Read LIBOS, CONFIG_PATH and the DEMI_* overrides from the environment.
    bool use_environment = true;
};

class libos;

/// An awaitable operation: `completion c = co_await lib.async_pop(qd)` (errors in c.error).
class operation {
public:
    operation(libos &lib, result<qtoken> qt) noexcept : lib_(&lib), qt_(std::move(qt)) {}
    bool await_ready() noexcept;
    bool await_suspend(std::coroutine_handle<> h) noexcept;
    completion await_resume() noexcept;

private:
    libos *lib_;
    result<qtoken> qt_;
};

class libos {
public:
    /// Starts a libOS. EINVAL for an unknown libOS name or a bad configuration (with one line on
    /// stderr saying what is wrong), or the error of the device's start-up.
    static result<libos> create(const options &opts = {});

    libos(libos &&) noexcept;
    libos &operator=(libos &&) noexcept;
    ~libos();

    /// The libOS's name ("catnap", ...).
    [[nodiscard]] std::string_view name() const noexcept;

    // ---- memory ----
    /// A buffer of `size` bytes (1 byte to 1 GiB) in the libOS's I/O memory.
    result<buffer> alloc(size_t size);

    // ---- queues ----
    /// True if `qd` names an open queue of this libos.
    [[nodiscard]] bool is_open(int qd) const noexcept;
    result<int> socket(int domain, int type, int protocol);
    /// An in-process FIFO memory queue.
    result<int> queue();
    result<void> bind(int qd, const sockaddr *addr, socklen_t len);
    result<void> listen(int qd, int backlog);
    /// Closes a queue; its pending operations complete with ECANCELED.
    result<void> close(int qd);
    result<void> setsockopt(int qd, int level, int name, const void *val, socklen_t len);
    result<void> getsockopt(int qd, int level, int name, void *val, socklen_t *len);
    result<sockaddr_in> getpeername(int qd);
    result<sockaddr_in> getsockname(int qd);

    // ---- operations ----
    result<qtoken> accept(int qd);
    result<qtoken> connect(int qd, const sockaddr *addr, socklen_t len);
    result<qtoken> push(int qd, const buffer &data);
    result<qtoken> pushto(int qd, const buffer &data, const sockaddr *addr, socklen_t len);
    result<qtoken> pop(int qd);

    // ---- waiting ----
    /// Waits for one operation and consumes its token. ETIMEDOUT leaves the token valid;
    /// EINVAL for a token that is not pending (unknown or already consumed).
    result<completion> wait(qtoken qt, timeout limit = std::nullopt);
    /// Waits for the first of `qts`; its position goes to *index.
    result<completion> wait_any(std::span<const qtoken> qts, size_t *index, timeout limit = std::nullopt);
    /// Waits until some operation completes, then returns up to out.size() results (any queue).
    result<size_t> wait_next_n(std::span<completion> out, timeout limit = std::nullopt);

    // ---- coroutines ----
    operation async_accept(int qd) { return {*this, accept(qd)}; }
    operation async_connect(int qd, const sockaddr *addr, socklen_t len) { return {*this, connect(qd, addr, len)}; }
    operation async_push(int qd, const buffer &data) { return {*this, push(qd, data)}; }
    operation async_pushto(int qd, const buffer &data, const sockaddr *addr, socklen_t len) {
        return {*this, pushto(qd, data, addr, len)};
    }
    operation async_pop(int qd) { return {*this, pop(qd)}; }
    /// Starts a coroutine; it runs whenever the libOS is driven (run, wait*).
    void spawn(task<void> t);
    /// Drives the libOS until every spawned coroutine has finished (or `limit` passes: ETIMEDOUT).
    result<void> run(timeout limit = std::nullopt);

    /// The runtime behind this libos (internal use).
    [[nodiscard]] rt::runtime &runtime() noexcept { return *rt_; }

private:
    explicit libos(std::unique_ptr<rt::runtime> rt) noexcept;
    std::unique_ptr<rt::runtime> rt_;
};

/// A queue descriptor that closes itself.
class queue {
public:
    queue() noexcept = default;
    queue(libos &lib, int qd) noexcept : lib_(&lib), qd_(qd) {}
    queue(queue &&o) noexcept : lib_(o.lib_), qd_(std::exchange(o.qd_, -1)) {}
    queue &operator=(queue &&o) noexcept {
        if (this != &o) {
            reset();
            lib_ = o.lib_;
            qd_ = std::exchange(o.qd_, -1);
        }
        return *this;
    }
    ~queue() { reset(); }
    [[nodiscard]] int qd() const noexcept { return qd_; }
    /// Gives up ownership of the descriptor.
    int release() noexcept { return std::exchange(qd_, -1); }
    void reset() noexcept {
        if (qd_ >= 0 && lib_ != nullptr) (void)lib_->close(qd_);
        qd_ = -1;
    }

private:
    libos *lib_ = nullptr;
    int qd_ = -1;
};

} // namespace demi
