// The C ABI: extern "C" demi_* functions over demi::libos. This file holds the one per-thread
// libOS instance of the process (each thread that calls demi_init gets its own), and the handle
// table that lends buffers to C code through the `sga_buf` field of scatter-gather arrays.
//
// Argument checks happen in this order, so each bad call has one documented errno (docs/API.md):
// NULL pointers and bad counts -> EINVAL; no demi_init on this thread -> ENOSYS; unknown queue
// descriptor -> EBADF; bad contents (sga, address, token, timeout) -> EINVAL.
#include "memory/handle_table.hpp"
#include "memory/heap.hpp"

#include <demi/demi.hpp>
#include <demi/libos.h>
#include <demi/sga.h>
#include <demi/wait.h>

#include <cstring>
#include <optional>
#include <vector>

namespace {

using demi::buffer;
using demi::completion;

struct capi_state {
    std::optional<demi::libos> lib;
    demi::mem::handle_table<buffer> sgas; // buffers lent to the application
    std::vector<completion> scratch;      // wait_next_n results before conversion
    demi_callback_t callback = nullptr;

    ~capi_state() {
        // Buffers first: they may belong to the libOS's memory.
        sgas.clear();
        lib.reset();
    }
};

// The per-thread instance (the one mutable global of the library, by design: DESIGN.md §1).
// Reached through one initial-exec TLS pointer: a general-dynamic thread_local object in a shared
// library costs a __tls_get_addr call per access, which showed up as a quarter of a memory-queue
// round trip. The state itself is made by demi_init and destroyed at thread exit.
__attribute__((tls_model("initial-exec"))) thread_local capi_state *current = nullptr;
struct state_owner {
    capi_state *p = nullptr;
    ~state_owner() {
        current = nullptr;
        delete p;
    }
};
thread_local state_owner owner;

// Only valid after demi_init on this thread (callers check lib() first).
capi_state &st() noexcept { return *current; }

demi::libos *lib() noexcept {
    capi_state *s = current;
    return s != nullptr && s->lib ? &*s->lib : nullptr;
}

uint64_t handle_of(const demi_sgarray_t *sga) noexcept { return reinterpret_cast<uintptr_t>(sga->sga_buf); }

// The buffer an application's sga designates: its one segment, which must lie inside the block
// of a buffer Demi lent it and that it has not freed.
std::optional<buffer> to_buffer(const demi_sgarray_t *sga) noexcept {
    if (sga->sga_numsegs != 1 || sga->sga_segs[0].sgaseg_len == 0 || sga->sga_segs[0].sgaseg_buf == nullptr)
        return std::nullopt;
    buffer *b = st().sgas.find(handle_of(sga));
    if (b == nullptr) return std::nullopt;
    buffer v = b->within_block(sga->sga_segs[0].sgaseg_buf, sga->sga_segs[0].sgaseg_len);
    if (!v.valid()) return std::nullopt;
    return v;
}

// Lends `b` to the application as an sga.
demi_sgarray_t to_sga(buffer b) {
    demi_sgarray_t sga;
    std::memset(&sga, 0, sizeof sga);
    sga.sga_numsegs = 1;
    if (b.valid() && !b.empty()) {
        sga.sga_segs[0].sgaseg_buf = b.data();
        sga.sga_segs[0].sgaseg_len = static_cast<uint32_t>(b.size());
        sga.sga_buf = reinterpret_cast<void *>(static_cast<uintptr_t>(st().sgas.insert(std::move(b))));
    }
    return sga;
}

void to_qresult(completion &&c, demi_qresult_t *qr) {
    std::memset(qr, 0, sizeof *qr);
    qr->qr_qd = c.qd;
    qr->qr_qt = c.qt;
    qr->qr_ret = c.error;
    if (c.error != 0) {
        qr->qr_opcode = DEMI_OPC_FAILED;
        return;
    }
    qr->qr_opcode = static_cast<demi_opcode_t>(c.op);
    switch (c.op) {
    case demi::opcode::pop: {
        const bool datagram = c.addr.sin_family == AF_INET;
        qr->qr_value.sga = to_sga(std::move(c.data));
        if (datagram) qr->qr_value.sga.sga_addr = c.addr;
        break;
    }
    case demi::opcode::accept:
        qr->qr_value.ares.qd = c.new_qd;
        qr->qr_value.ares.addr = c.addr;
        break;
    default:
        break;
    }
}

// NULL waits forever; otherwise a relative limit. EINVAL for a malformed timespec.
bool to_timeout(const struct timespec *ts, demi::timeout *out) noexcept {
    if (ts == nullptr) {
        *out = std::nullopt;
        return true;
    }
    if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000L) return false;
    *out = std::chrono::seconds(ts->tv_sec) + std::chrono::nanoseconds(ts->tv_nsec);
    return true;
}

template <class T>
int store(demi::result<T> r, T *out) noexcept {
    if (!r) return r.code();
    *out = std::move(*r);
    return 0;
}

} // namespace

#define DEMI_REQUIRE_INIT()                                                                                            \
    do {                                                                                                               \
        if (lib() == nullptr) return ENOSYS;                                                                           \
    } while (0)

extern "C" {

int demi_init(const struct demi_args *args) {
    if (args == nullptr) return EINVAL;
    if (args->argc < 0 || (args->argc > 0 && args->argv == nullptr)) return EINVAL;
    if (lib() != nullptr) return EEXIST;
    auto l = demi::libos::create();
    if (!l) return l.code();
    if (owner.p == nullptr) owner.p = new capi_state;
    current = owner.p;
    current->lib.emplace(std::move(*l));
    current->callback = args->callback;
    return 0;
}

int demi_socket(int *sockqd_out, int domain, int type, int protocol) {
    if (sockqd_out == nullptr) return EINVAL;
    DEMI_REQUIRE_INIT();
    return store(lib()->socket(domain, type, protocol), sockqd_out);
}

int demi_queue(int *qd_out) {
    if (qd_out == nullptr) return EINVAL;
    DEMI_REQUIRE_INIT();
    return store(lib()->queue(), qd_out);
}

int demi_listen(int sockqd, int backlog) {
    DEMI_REQUIRE_INIT();
    return lib()->listen(sockqd, backlog).code();
}

int demi_bind(int sockqd, const struct sockaddr *addr, socklen_t size) {
    if (addr == nullptr) return EINVAL;
    DEMI_REQUIRE_INIT();
    return lib()->bind(sockqd, addr, size).code();
}

int demi_accept(demi_qtoken_t *qt_out, int sockqd) {
    if (qt_out == nullptr) return EINVAL;
    DEMI_REQUIRE_INIT();
    return store(lib()->accept(sockqd), qt_out);
}

int demi_connect(demi_qtoken_t *qt_out, int sockqd, const struct sockaddr *addr, socklen_t size) {
    if (qt_out == nullptr || addr == nullptr) return EINVAL;
    DEMI_REQUIRE_INIT();
    return store(lib()->connect(sockqd, addr, size), qt_out);
}

int demi_close(int qd) {
    DEMI_REQUIRE_INIT();
    return lib()->close(qd).code();
}

int demi_push(demi_qtoken_t *qt_out, int qd, const demi_sgarray_t *sga) {
    if (qt_out == nullptr || sga == nullptr) return EINVAL;
    DEMI_REQUIRE_INIT();
    if (!lib()->is_open(qd)) return EBADF;
    auto b = to_buffer(sga);
    if (!b) return EINVAL;
    return store(lib()->push(qd, *b), qt_out);
}

int demi_pushto(demi_qtoken_t *qt_out, int sockqd, const demi_sgarray_t *sga, const struct sockaddr *dest_addr,
                socklen_t size) {
    if (qt_out == nullptr || sga == nullptr || dest_addr == nullptr) return EINVAL;
    DEMI_REQUIRE_INIT();
    if (!lib()->is_open(sockqd)) return EBADF;
    auto b = to_buffer(sga);
    if (!b) return EINVAL;
    return store(lib()->pushto(sockqd, *b, dest_addr, size), qt_out);
}

int demi_pop(demi_qtoken_t *qt_out, int qd) {
    if (qt_out == nullptr) return EINVAL;
    DEMI_REQUIRE_INIT();
    return store(lib()->pop(qd), qt_out);
}

int demi_setsockopt(int qd, int level, int optname, const void *optval, socklen_t optlen) {
    if (optval == nullptr) return EINVAL;
    DEMI_REQUIRE_INIT();
    return lib()->setsockopt(qd, level, optname, optval, optlen).code();
}

int demi_getsockopt(int qd, int level, int optname, void *optval, socklen_t *optlen) {
    if (optval == nullptr || optlen == nullptr) return EINVAL;
    DEMI_REQUIRE_INIT();
    return lib()->getsockopt(qd, level, optname, optval, optlen).code();
}

static int copy_address(demi::result<sockaddr_in> r, struct sockaddr *addr, socklen_t *addrlen) {
    if (!r) return r.code();
    if (*addrlen < static_cast<socklen_t>(sizeof(sockaddr_in))) return EINVAL;
    std::memcpy(addr, &*r, sizeof(sockaddr_in));
    *addrlen = sizeof(sockaddr_in);
    return 0;
}

int demi_getpeername(int qd, struct sockaddr *addr, socklen_t *addrlen) {
    if (addr == nullptr || addrlen == nullptr) return EINVAL;
    DEMI_REQUIRE_INIT();
    return copy_address(lib()->getpeername(qd), addr, addrlen);
}

int demi_getsockname(int qd, struct sockaddr *addr, socklen_t *addrlen) {
    if (addr == nullptr || addrlen == nullptr) return EINVAL;
    DEMI_REQUIRE_INIT();
    return copy_address(lib()->getsockname(qd), addr, addrlen);
}

demi_sgarray_t demi_sgaalloc(size_t size) {
    demi_sgarray_t sga;
    std::memset(&sga, 0, sizeof sga);
    if (size == 0 || size > demi::mem::max_buffer_size || lib() == nullptr) return sga;
    auto b = lib()->alloc(size);
    if (!b) return sga;
    return to_sga(std::move(*b));
}

int demi_sgafree(demi_sgarray_t *sga) {
    if (sga == nullptr) return EINVAL;
    DEMI_REQUIRE_INIT();
    // An empty sga (the end-of-stream pop, or a failed sgaalloc) holds no buffer: nothing to free.
    if (sga->sga_buf == nullptr) return sga->sga_segs[0].sgaseg_len == 0 ? 0 : EINVAL;
    return st().sgas.take(handle_of(sga)) ? 0 : EINVAL;
}

int demi_wait(demi_qresult_t *qr_out, demi_qtoken_t qt, const struct timespec *timeout) {
    if (qr_out == nullptr) return EINVAL;
    DEMI_REQUIRE_INIT();
    demi::timeout limit;
    if (!to_timeout(timeout, &limit)) return EINVAL;
    auto r = lib()->wait(qt, limit);
    if (!r) return r.code();
    to_qresult(std::move(*r), qr_out);
    return 0;
}

int demi_wait_any(demi_qresult_t *qr_out, int *ready_offset, const demi_qtoken_t qts[], int num_qts,
                  const struct timespec *timeout) {
    if (qr_out == nullptr || ready_offset == nullptr || qts == nullptr || num_qts <= 0) return EINVAL;
    DEMI_REQUIRE_INIT();
    demi::timeout limit;
    if (!to_timeout(timeout, &limit)) return EINVAL;
    size_t index = 0;
    auto r = lib()->wait_any({qts, static_cast<size_t>(num_qts)}, &index, limit);
    if (!r) return r.code();
    *ready_offset = static_cast<int>(index);
    to_qresult(std::move(*r), qr_out);
    return 0;
}

int demi_wait_next_n(demi_qresult_t *qr_out, int num_qrs, int *num_qrs_out, const struct timespec *timeout) {
    if (qr_out == nullptr || num_qrs_out == nullptr || num_qrs <= 0) return EINVAL;
    DEMI_REQUIRE_INIT();
    demi::timeout limit;
    if (!to_timeout(timeout, &limit)) return EINVAL;
    st().scratch.resize(static_cast<size_t>(num_qrs));
    auto r = lib()->wait_next_n(st().scratch, limit);
    if (!r) return r.code();
    for (size_t i = 0; i < *r; ++i) to_qresult(std::move(st().scratch[i]), &qr_out[i]);
    *num_qrs_out = static_cast<int>(*r);
    return 0;
}

} // extern "C"
