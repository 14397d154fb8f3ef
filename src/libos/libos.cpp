// demi::libos, the C++ API: picks a libOS by name, loads its configuration and forwards every call
// to the runtime after checking the arguments that are not the queue's business.
#include "common/log.hpp"
#include "libos/catnap/catnap.hpp"
#if DEMI_HAVE_DPDK
#include "libos/catnip/catnip.hpp"
#endif
#include "libos/registry.hpp"
#include "runtime/memory_queue.hpp"
#include "runtime/runtime.hpp"

#include <demi/demi.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace demi {

namespace {

struct backend_entry {
    const char *name;
    rt::backend_factory make; // nullptr: known but not built into this library
};

// Every libOS Demi knows; those whose device library was missing at build time are listed so the
// error message can say so.
constexpr backend_entry known_backends[] = {
    {"catnap", &catnap::make},
#if DEMI_HAVE_DPDK
    {"catnip", &catnip::make},
#else
    {"catnip", nullptr},
#endif
    {"catpowder", nullptr},
    {"catmem", nullptr},
    {"catcollar", nullptr},
    {"catmint", nullptr},
};

// Backends added by detail::register_libos (test programs).
std::vector<backend_entry> &registered_backends() {
    static std::vector<backend_entry> v;
    return v;
}

const backend_entry *find_backend(const std::string &name) {
    for (const auto &b : known_backends)
        if (name == b.name) return &b;
    for (const auto &b : registered_backends())
        if (name == b.name) return &b;
    return nullptr;
}

std::string available_names() {
    std::string s;
    for (const auto &b : known_backends)
        if (b.make != nullptr) s += (s.empty() ? "" : ", ") + std::string(b.name);
    for (const auto &b : registered_backends()) s += (s.empty() ? "" : ", ") + std::string(b.name);
    return s;
}

const machine_clock_source &machine_clock() noexcept {
    static const machine_clock_source clock; // shared by every runtime of the process
    return clock;
}

result<sockaddr_in> to_sockaddr_in(const sockaddr *addr, socklen_t len) {
    if (addr == nullptr || len < static_cast<socklen_t>(sizeof(sockaddr_in))) return error(EINVAL);
    if (addr->sa_family != AF_INET) return error(EAFNOSUPPORT);
    sockaddr_in sin;
    std::memcpy(&sin, addr, sizeof sin);
    return sin;
}

} // namespace

result<libos> libos::create(const options &opts) {
    std::string name = opts.libos;
    if (name.empty() && opts.use_environment)
        if (const char *env = std::getenv("LIBOS"); env != nullptr) name = env;
    if (name.empty()) name = "catnap";

    const backend_entry *entry = find_backend(name);
    if (entry == nullptr || entry->make == nullptr) {
        std::fprintf(stderr, "demi: %s libOS '%s'; valid choices: %s\n",
                     entry == nullptr ? "unknown" : "this build has no", name.c_str(), available_names().c_str());
        return error(EINVAL);
    }

    std::string path = opts.config_path;
    if (path.empty() && opts.use_environment)
        if (const char *env = std::getenv("CONFIG_PATH"); env != nullptr) path = env;
    auto cfg = rt::load_config(path, opts.use_environment);
    if (!cfg) return cfg.err();

    auto dev = entry->make(*cfg);
    if (!dev) return dev.err();
    DEMI_LOG(info, "libos", "started %s (config %s)", name.c_str(), cfg->source.c_str());
    return libos(std::make_unique<rt::runtime>(std::move(*dev), std::move(*cfg), machine_clock()));
}

libos::libos(std::unique_ptr<rt::runtime> rt) noexcept : rt_(std::move(rt)) {}
libos::libos(libos &&) noexcept = default;
libos &libos::operator=(libos &&) noexcept = default;
libos::~libos() = default;

std::string_view libos::name() const noexcept { return rt_->dev().name(); }

result<buffer> libos::alloc(size_t size) {
    if (size == 0) return error(EINVAL);
    return rt_->dev().alloc(size);
}

bool libos::is_open(int qd) const noexcept { return rt_->find(qd) != nullptr; }

result<int> libos::socket(int domain, int type, int protocol) {
    auto q = rt_->dev().socket(*rt_, domain, type, protocol);
    if (!q) return q.err();
    return rt_->insert(std::move(*q));
}

result<int> libos::queue() { return rt_->insert(std::make_shared<rt::memory_queue>()); }

result<void> libos::bind(int qd, const sockaddr *addr, socklen_t len) {
    auto *q = rt_->find(qd);
    if (q == nullptr) return error(EBADF);
    auto sin = to_sockaddr_in(addr, len);
    if (!sin) return sin.err();
    return q->bind(*rt_, *sin);
}

result<void> libos::listen(int qd, int backlog) {
    auto *q = rt_->find(qd);
    if (q == nullptr) return error(EBADF);
    if (backlog < 0) return error(EINVAL);
    return q->listen(*rt_, backlog);
}

result<void> libos::close(int qd) { return rt_->close(qd); }

result<void> libos::setsockopt(int qd, int level, int name, const void *val, socklen_t len) {
    auto *q = rt_->find(qd);
    if (q == nullptr) return error(EBADF);
    if (val == nullptr) return error(EINVAL);
    return q->setsockopt(*rt_, level, name, val, len);
}

result<void> libos::getsockopt(int qd, int level, int name, void *val, socklen_t *len) {
    auto *q = rt_->find(qd);
    if (q == nullptr) return error(EBADF);
    if (val == nullptr || len == nullptr) return error(EINVAL);
    return q->getsockopt(level, name, val, len);
}

result<sockaddr_in> libos::getpeername(int qd) {
    auto *q = rt_->find(qd);
    if (q == nullptr) return error(EBADF);
    return q->getpeername();
}

result<sockaddr_in> libos::getsockname(int qd) {
    auto *q = rt_->find(qd);
    if (q == nullptr) return error(EBADF);
    return q->getsockname();
}

result<qtoken> libos::accept(int qd) {
    auto *q = rt_->find(qd);
    if (q == nullptr) return error(EBADF);
    return rt_->start(qd, opcode::accept, [&](rt::op_start &op) { return q->accept(*rt_, op); });
}

result<qtoken> libos::connect(int qd, const sockaddr *addr, socklen_t len) {
    auto *q = rt_->find(qd);
    if (q == nullptr) return error(EBADF);
    auto sin = to_sockaddr_in(addr, len);
    if (!sin) return sin.err();
    return rt_->start(qd, opcode::connect, [&](rt::op_start &op) { return q->connect(*rt_, op, *sin); });
}

result<qtoken> libos::push(int qd, const buffer &data) {
    auto *q = rt_->find(qd);
    if (q == nullptr) return error(EBADF);
    if (!data.valid() || data.empty()) return error(EINVAL);
    return rt_->start(qd, opcode::push, [&](rt::op_start &op) { return q->push(*rt_, op, data); });
}

result<qtoken> libos::pushto(int qd, const buffer &data, const sockaddr *addr, socklen_t len) {
    auto *q = rt_->find(qd);
    if (q == nullptr) return error(EBADF);
    if (!data.valid() || data.empty()) return error(EINVAL);
    auto sin = to_sockaddr_in(addr, len);
    if (!sin) return sin.err();
    return rt_->start(qd, opcode::push, [&](rt::op_start &op) { return q->pushto(*rt_, op, data, *sin); });
}

result<qtoken> libos::pop(int qd) {
    auto *q = rt_->find(qd);
    if (q == nullptr) return error(EBADF);
    return rt_->start(qd, opcode::pop, [&](rt::op_start &op) { return q->pop(*rt_, op); });
}

result<completion> libos::wait(qtoken qt, timeout limit) { return rt_->wait(qt, limit); }

result<completion> libos::wait_any(std::span<const qtoken> qts, size_t *index, timeout limit) {
    return rt_->wait_any(qts, index, limit);
}

result<size_t> libos::wait_next_n(std::span<completion> out, timeout limit) { return rt_->wait_next_n(out, limit); }

void libos::spawn(task<void> t) { rt_->spawn(std::move(t)); }

result<void> libos::run(timeout limit) {
    return rt_->drive(limit, [&] { return rt_->spawned() == 0; });
}

// ---- operation (co_await) ----

bool operation::await_ready() noexcept {
    if (!qt_) return true;
    auto *s = lib_->runtime().tokens().find(*qt_);
    return s == nullptr || s->done;
}

bool operation::await_suspend(std::coroutine_handle<> h) noexcept { return lib_->runtime().await_token(*qt_, h); }

completion operation::await_resume() noexcept {
    if (!qt_) {
        completion c;
        c.error = qt_.code();
        return c;
    }
    auto &tokens = lib_->runtime().tokens();
    auto *s = tokens.find(*qt_);
    if (s == nullptr || !s->done) {
        completion c;
        c.qt = *qt_;
        c.error = EINVAL;
        return c;
    }
    s->waiter = nullptr;
    return tokens.consume(rt::token_table::index_of(*qt_));
}

namespace detail {
bool register_libos(const char *name, rt::backend_factory make) {
    if (name == nullptr || *name == '\0' || make == nullptr || find_backend(name) != nullptr) return false;
    registered_backends().push_back({name, make});
    return true;
}
} // namespace detail

} // namespace demi
