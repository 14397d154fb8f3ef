#include "libos/inetstack/socket.hpp"

#include "common/log.hpp"
#include "libos/inetstack/backend.hpp"
#include "memory/heap.hpp"
#include "runtime/runtime.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <limits>
#include <netinet/tcp.h>

namespace demi::inetstack {

using rt::failed;
using rt::op_start;
using rt::op_task;
using rt::succeeded;

namespace {

sockaddr_in to_sockaddr(net::ipv4_address a, uint16_t port) {
    sockaddr_in s{};
    s.sin_family = AF_INET;
    s.sin_addr.s_addr = a.to_network();
    s.sin_port = htons(port);
    return s;
}

net::ipv4_address addr_of(const sockaddr_in &s) {
    return net::ipv4_address::from_network(s.sin_addr.s_addr);
}

bool supported_option(int level, int name) {
    if (level == SOL_SOCKET) return name == SO_LINGER || name == SO_KEEPALIVE || name == SO_REUSEADDR;
    if (level == IPPROTO_TCP)
        return name == TCP_NODELAY || name == TCP_SYNCNT || name == TCP_KEEPIDLE || name == TCP_KEEPINTVL ||
               name == TCP_KEEPCNT || name == TCP_USER_TIMEOUT;
    return false;
}
/// The largest value of an IPPROTO_TCP count or time in seconds, as Linux takes them (MAX_TCP_SYNCNT,
/// MAX_TCP_KEEPCNT; MAX_TCP_KEEPIDLE, MAX_TCP_KEEPINTVL); the smallest is 1.
int option_max(int name) {
    return name == TCP_SYNCNT || name == TCP_KEEPCNT ? 127 : 32767;
}
/// A time reported by getsockopt in whole seconds (rounded up: the configuration counts milliseconds).
int whole_seconds(duration d) {
    const auto s = std::chrono::ceil<std::chrono::seconds>(d).count();
    return static_cast<int>(std::clamp<decltype(s)>(s, 1, std::numeric_limits<int>::max()));
}
socklen_t option_size(int level, int name) {
    return level == SOL_SOCKET && name == SO_LINGER ? sizeof(linger) : sizeof(int);
}

/// Largest pop: what the stack holds, up to this.
constexpr size_t max_pop = 1 << 20;

} // namespace

// ---- common ----

socket::socket(backend &b, rt::queue_type t) noexcept : queue(t), be_(&b) {
    const auto &o = b.cfg().tcp;
    nodelay_ = o.nodelay ? 1 : 0;
    keepalive_ = o.keepalive ? 1 : 0;
    const net::tcp::config &stack = b.host().tcp_defaults();
    syncnt_ = static_cast<int>(stack.syn_retries_);
    keepcnt_ = static_cast<int>(stack.keepalive_probes_);
    keepidle_ = stack.keepalive_idle_;
    keepintvl_ = stack.keepalive_interval_;
    user_timeout_ms_ = static_cast<int>(std::clamp<std::chrono::milliseconds::rep>(
        std::chrono::duration_cast<std::chrono::milliseconds>(stack.user_timeout_).count(), 0,
        std::numeric_limits<int>::max()));
    linger_ = {o.linger ? 1 : 0, static_cast<int>(o.linger_seconds)};
    b.add(this);
}

result<void> socket::pop_in_order(rt::runtime &rt, op_start &op) {
    if (pops_.empty() && try_recv(op.result())) {
        op.complete();
        return ok();
    }
    rt_ = &rt;
    pops_.push_back(op.defer());
    return ok();
}

bool socket::serve_pops() {
    bool any = false;
    while (!pops_.empty()) {
        if (!try_recv(rt_->pending_result(pops_.front()))) break;
        rt_->finish_in_place(pops_.front());
        pops_.pop_front();
        any = true;
    }
    return any;
}

void socket::cancel_pops() noexcept {
    for (const uint32_t slot : pops_) {
        rt_->pending_result(slot).error = ECANCELED;
        rt_->finish_in_place(slot);
    }
    pops_.clear();
}

result<void> socket::setsockopt(rt::runtime &rt, int level, int name, const void *val, socklen_t len) {
    if (closed()) return error(EBADF);
    if (!supported_option(level, name)) return error(ENOTSUP);
    if (level == IPPROTO_TCP && type() != rt::queue_type::tcp) return error(ENOTSUP);
    if (len < option_size(level, name)) return error(EINVAL);
    if (level == SOL_SOCKET && name == SO_LINGER) {
        std::memcpy(&linger_, val, sizeof linger_);
        if (linger_.l_linger < 0) linger_.l_linger = 0;
        linger_.l_onoff = linger_.l_onoff != 0 ? 1 : 0;
        return ok();
    }
    int v = 0;
    std::memcpy(&v, val, sizeof v);
    if (level == IPPROTO_TCP && name == TCP_USER_TIMEOUT) {
        if (v < 0) return error(EINVAL); // milliseconds, 0 (off) to INT_MAX, as Linux takes them
        user_timeout_ms_ = v;
        options_changed(rt, false);
        return ok();
    }
    if (level == IPPROTO_TCP && name != TCP_NODELAY) {
        if (v < 1 || v > option_max(name)) return error(EINVAL);
        if (name == TCP_SYNCNT) {
            syncnt_ = v;
            syncnt_set_ = true;
        } else if (name == TCP_KEEPCNT) {
            keepcnt_ = v;
        } else if (name == TCP_KEEPIDLE) {
            keepidle_ = std::chrono::seconds(v);
        } else {
            keepintvl_ = std::chrono::seconds(v);
        }
        options_changed(rt, name == TCP_KEEPIDLE);
        return ok();
    }
    v = v != 0 ? 1 : 0;
    if (level == IPPROTO_TCP) {
        nodelay_ = v;
        options_changed(rt, false);
    } else if (name == SO_KEEPALIVE) {
        keepalive_ = v;
        options_changed(rt, false);
    } else {
        reuseaddr_ = v;
    }
    return ok();
}

result<void> socket::getsockopt(int level, int name, void *val, socklen_t *len) {
    if (closed()) return error(EBADF);
    if (!supported_option(level, name)) return error(ENOTSUP);
    if (level == IPPROTO_TCP && type() != rt::queue_type::tcp) return error(ENOTSUP);
    if (*len < option_size(level, name)) return error(EINVAL);
    if (level == SOL_SOCKET && name == SO_LINGER) {
        std::memcpy(val, &linger_, sizeof linger_);
        *len = sizeof linger_;
        return ok();
    }
    int v = reuseaddr_;
    if (level == SOL_SOCKET && name == SO_KEEPALIVE) v = keepalive_;
    if (level == IPPROTO_TCP) {
        switch (name) {
        case TCP_NODELAY:
            v = nodelay_;
            break;
        case TCP_SYNCNT:
            v = syncnt_;
            break;
        case TCP_KEEPCNT:
            v = keepcnt_;
            break;
        case TCP_KEEPIDLE:
            v = whole_seconds(keepidle_);
            break;
        case TCP_USER_TIMEOUT:
            v = user_timeout_ms_;
            break;
        default:
            v = whole_seconds(keepintvl_);
            break;
        }
    }
    std::memcpy(val, &v, sizeof v);
    *len = sizeof v;
    return ok();
}

// ---- TCP ----

tcp_socket::tcp_socket(backend &b) noexcept : socket(b, rt::queue_type::tcp) {
    bound_.sin_family = AF_INET;
    reuseaddr_ = 1; // as catnap sets it on TCP sockets
}

tcp_socket::tcp_socket(backend &b, net::conn_id c, const tcp_socket &from) noexcept : tcp_socket(b) {
    conn_ = c;
    be_->attach(this, c);
    role_ = role::connected;
    nodelay_ = from.nodelay_;
    keepalive_ = from.keepalive_;
    syncnt_ = from.syncnt_;
    syncnt_set_ = from.syncnt_set_;
    keepcnt_ = from.keepcnt_;
    keepidle_ = from.keepidle_;
    keepintvl_ = from.keepintvl_;
    user_timeout_ms_ = from.user_timeout_ms_;
    linger_ = from.linger_;
}

tcp_socket::~tcp_socket() {
    release();
    be_->remove(this);
}

void tcp_socket::options_changed(rt::runtime &rt, bool keepidle_set) {
    if (listener_ && syncnt_set_)
        (void)be_->host().tcp_listen_set_syn_retries(*listener_, static_cast<unsigned>(syncnt_));
    apply_options(rt.sched().now(), keepidle_set);
}

void tcp_socket::apply_options(time_point now, bool keepidle_set) {
    if (!conn_) return;
    const net::tcp_conn_options o{.nodelay_ = nodelay_ != 0,
                                  .keepalive_ = keepalive_ != 0,
                                  .keepalive_idle_ = keepidle_,
                                  .keepalive_interval_ = keepintvl_,
                                  .keepalive_probes_ = static_cast<unsigned>(keepcnt_),
                                  .syn_retries_ = static_cast<unsigned>(syncnt_),
                                  .user_timeout_ = std::chrono::milliseconds(user_timeout_ms_),
                                  .keepalive_idle_set_ = keepidle_set};
    (void)be_->host().tcp_set_options(*conn_, now, o);
}

const net::tcp::connection *tcp_socket::conn() const noexcept {
    return conn_ ? be_->host().connection(*conn_) : nullptr;
}

void tcp_socket::release() noexcept {
    auto &h = be_->host();
    if (conn_) {
        if (linger_.l_onoff != 0 && linger_.l_linger == 0)
            (void)h.abort(*conn_); // SO_LINGER with a zero timeout: RST (RFC 9293 §3.10.5)
        else
            (void)h.close(*conn_); // FIN after the queued data; no linger wait (docs/API.md)
        be_->detach(this, *conn_);
        conn_.reset();
    }
    for (net::conn_id c : ready_) (void)h.abort(c);
    ready_.clear();
    if (listener_) {
        (void)h.tcp_unlisten(*listener_);
        listener_.reset();
    }
    if (port_taken_) {
        be_->release_tcp_port(ntohs(bound_.sin_port));
        port_taken_ = false;
    }
}

void tcp_socket::close(rt::runtime &rt) {
    mark_closed();
    release();
    be_->flush(rt.sched().now()); // the FIN (or RST) leaves now
    be_->remove(this);
    cancel_pops();
    readers_.notify_all(rt.sched());
    writers_.notify_all(rt.sched());
}

bool tcp_socket::wake(rt::scheduler &s) {
    if (closed()) return false;
    bool woke = false;
    if (role_ == role::listening) {
        if (readers_.empty()) return false;
        while (auto c = be_->host().tcp_accept(*listener_)) ready_.push_back(*c);
        if (!ready_.empty()) {
            readers_.notify_all(s);
            woke = true;
        }
        return woke;
    }
    const net::tcp::connection *k = conn();
    if (pops_waiting() && (k == nullptr || k->readable() > 0 || k->error() != 0 || k->eof() || k->is_closed()))
        woke = serve_pops();
    if (!writers_.empty()) {
        bool ready = k == nullptr || k->error() != 0 || k->is_closed();
        if (role_ == role::connecting)
            ready = ready || (k->current_state() != net::tcp::state::syn_sent &&
                              k->current_state() != net::tcp::state::syn_received);
        else
            ready = ready || k->can_take(push_need_);
        if (ready) {
            writers_.notify_all(s);
            woke = true;
        }
    }
    return woke;
}

result<void> tcp_socket::bind(rt::runtime &, const sockaddr_in &addr) {
    if (closed()) return error(EBADF);
    if (port_taken_ || role_ != role::fresh) return error(EINVAL);
    const net::ipv4_address a = addr_of(addr);
    if (!a.is_unspecified() && !be_->host().iface().is_local(a)) return error(EADDRNOTAVAIL);
    auto port = be_->take_tcp_port(ntohs(addr.sin_port));
    if (!port) return port.err();
    bound_ = to_sockaddr(a, *port);
    port_taken_ = true;
    return ok();
}

result<void> tcp_socket::listen(rt::runtime &, int backlog) {
    if (closed()) return error(EBADF);
    if (role_ == role::listening) return ok();
    if (role_ != role::fresh) return error(EINVAL);
    if (!port_taken_) { // like Linux: listen() on an unbound socket binds an ephemeral port
        auto port = be_->take_tcp_port(0);
        if (!port) return port.err();
        bound_ = to_sockaddr(net::ipv4_address{}, *port);
        port_taken_ = true;
    }
    auto l = be_->host().tcp_listen(ntohs(bound_.sin_port), static_cast<size_t>(std::max(backlog, 1)));
    if (!l) return l.err();
    listener_ = *l;
    role_ = role::listening;
    if (syncnt_set_) (void)be_->host().tcp_listen_set_syn_retries(*listener_, static_cast<unsigned>(syncnt_));
    return ok();
}

std::optional<completion> tcp_socket::try_accept(rt::runtime &rt) {
    auto &h = be_->host();
    if (ready_.empty()) {
        auto c = h.tcp_accept(*listener_);
        if (!c) return std::nullopt;
        ready_.push_back(*c);
    }
    const net::conn_id id = ready_.front();
    ready_.pop_front();
    const net::tcp::connection *k = h.connection(id);
    if (k == nullptr) return std::nullopt;
    const sockaddr_in peer = to_sockaddr(k->tuple().remote_.addr_, k->tuple().remote_.port_);
    auto s = std::make_shared<tcp_socket>(*be_, id, *this);
    s->apply_options(rt.sched().now());
    auto qd = rt.insert(std::move(s)); // on failure the socket's destructor closes the connection
    if (!qd) return failed(opcode::accept, qd.code());
    completion c = succeeded(opcode::accept);
    c.new_qd = *qd;
    c.addr = peer;
    return c;
}

result<void> tcp_socket::accept(rt::runtime &rt, op_start &op) {
    if (closed()) return error(EBADF);
    if (role_ != role::listening) { // as accept(2) says on a socket that is not listening
        op.complete(failed(opcode::accept, EINVAL));
        return ok();
    }
    if (readers_.empty()) // earlier accepts are served first
        if (auto c = try_accept(rt)) {
            op.complete(std::move(*c));
            return ok();
        }
    op.run(accept_later(rt, self()));
    return ok();
}

op_task tcp_socket::accept_later(rt::runtime &rt, std::shared_ptr<tcp_socket> self) {
    for (;;) {
        co_await self->readers_.wait();
        if (self->closed()) co_return failed(opcode::accept, ECANCELED);
        if (auto c = self->try_accept(rt)) {
            if (!self->ready_.empty()) self->readers_.notify_all(rt.sched()); // the next accept in line
            co_return std::move(*c);
        }
    }
}

result<void> tcp_socket::connect(rt::runtime &rt, op_start &op, const sockaddr_in &addr) {
    if (closed()) return error(EBADF);
    if (role_ == role::connected || role_ == role::listening) return error(EISCONN);
    if (role_ == role::connecting) return error(EALREADY);
    const uint16_t local = port_taken_ ? ntohs(bound_.sin_port) : 0;
    auto c = be_->host().tcp_connect(rt.sched().now(), addr_of(addr), ntohs(addr.sin_port), local);
    if (!c) return c.err();
    conn_ = *c;
    be_->attach(this, *c);
    role_ = role::connecting;
    apply_options(rt.sched().now());
    op.run(connect_later(self()));
    return ok();
}

op_task tcp_socket::connect_later(std::shared_ptr<tcp_socket> self) {
    for (;;) {
        co_await self->writers_.wait();
        if (self->closed()) co_return failed(opcode::connect, ECANCELED);
        const net::tcp::connection *k = self->conn();
        const int err = k == nullptr ? ECONNABORTED : k->error() != 0 ? k->error() : k->is_closed() ? ECONNREFUSED : 0;
        if (err != 0) {
            // The attempt is over: the socket may connect again (as after a failed connect(2)).
            (void)self->be_->host().close(*self->conn_);
            self->be_->detach(self.get(), *self->conn_);
            self->conn_.reset();
            self->role_ = role::fresh;
            co_return failed(opcode::connect, err);
        }
        const auto st = k->current_state();
        if (st != net::tcp::state::syn_sent && st != net::tcp::state::syn_received) {
            self->role_ = role::connected;
            co_return succeeded(opcode::connect);
        }
    }
}

bool tcp_socket::try_send(const buffer &data, int *err) {
    auto r = be_->host().send(*conn_, data);
    if (r) return true;
    if (r.code() == EAGAIN) {
        push_need_ = data.size();
        return false;
    }
    *err = r.code() == EPIPE ? ECONNRESET : r.code();
    return false;
}

result<void> tcp_socket::push(rt::runtime &rt, op_start &op, const buffer &data) {
    if (closed()) return error(EBADF);
    if (role_ != role::connected) return error(ENOTCONN);
    const uint64_t ticket = push_next_++;
    if (ticket == push_serving_) {
        int err = 0;
        if (try_send(data, &err) || err != 0) {
            ++push_serving_;
            if (err == 0) be_->flush_push(rt, backend::pushed::stream);
            op.complete(err != 0 ? failed(opcode::push, err) : succeeded(opcode::push));
            return ok();
        }
    }
    // The buffer travels with the coroutine (free-protection) until the stack takes it.
    op.run(push_later(rt, self(), data, ticket));
    return ok();
}

op_task tcp_socket::push_later(rt::runtime &rt, std::shared_ptr<tcp_socket> self, buffer data, uint64_t ticket) {
    for (;;) {
        co_await self->writers_.wait();
        if (self->closed()) {
            if (ticket == self->push_serving_) ++self->push_serving_;
            co_return failed(opcode::push, ECANCELED);
        }
        if (ticket != self->push_serving_) continue;
        int err = 0;
        if (self->try_send(data, &err) || err != 0) {
            ++self->push_serving_;
            if (err == 0) self->be_->flush_push(rt, backend::pushed::stream);
            self->writers_.notify_all(rt.sched()); // the next push in line
            co_return err != 0 ? failed(opcode::push, err) : succeeded(opcode::push);
        }
    }
}

bool tcp_socket::try_recv(completion &c) {
    auto &h = be_->host();
    const net::tcp::connection *k = conn();
    if (k != nullptr && k->readable() > 0) {
        const size_t n = std::min(k->readable(), max_pop);
        auto b = be_->allocate(n, mem::default_headroom);
        if (!b) {
            c.error = b.code();
            return true;
        }
        auto got = h.recv(*conn_, b->bytes());
        if (!got) {
            c.error = got.code();
            return true;
        }
        if (*got < b->size()) b->trim_back(b->size() - *got);
        c.data = std::move(*b);
        return true;
    }
    // Nothing to read, no end of stream, no error, not closed: nothing to say yet (what host::recv
    // would answer with EAGAIN, without its lookup). The common case of a pop issued before the data.
    if (k != nullptr && k->error() == 0 && !k->eof() && !k->is_closed()) return false;
    auto r = h.recv(*conn_, {});
    if (r) return true; // end of stream: an empty completion
    if (r.code() == EAGAIN) return false;
    c.error = r.code();
    return true;
}

result<void> tcp_socket::pop(rt::runtime &rt, op_start &op) {
    if (closed()) return error(EBADF);
    if (role_ != role::connected) return error(ENOTCONN);
    return pop_in_order(rt, op);
}

result<sockaddr_in> tcp_socket::getpeername() {
    if (closed()) return error(EBADF);
    const net::tcp::connection *k = conn();
    if (role_ != role::connected || k == nullptr) return error(ENOTCONN);
    return to_sockaddr(k->tuple().remote_.addr_, k->tuple().remote_.port_);
}

result<sockaddr_in> tcp_socket::getsockname() {
    if (closed()) return error(EBADF);
    if (const net::tcp::connection *k = conn()) return to_sockaddr(k->tuple().local_.addr_, k->tuple().local_.port_);
    return bound_;
}

// ---- UDP ----

udp_socket::udp_socket(backend &b) noexcept : socket(b, rt::queue_type::udp), id_(b.host().iface().udp_open()) {}

udp_socket::~udp_socket() {
    release();
    be_->remove(this);
}

void udp_socket::release() noexcept {
    if (open_) {
        (void)be_->host().iface().udp_close(id_);
        open_ = false;
    }
}

void udp_socket::close(rt::runtime &rt) {
    mark_closed();
    release();
    be_->remove(this);
    cancel_pops();
    readers_.notify_all(rt.sched());
    writers_.notify_all(rt.sched());
}

bool udp_socket::wake(rt::scheduler &) {
    if (closed() || !pops_waiting()) return false;
    return serve_pops();
}

result<void> udp_socket::bind(rt::runtime &, const sockaddr_in &addr) {
    if (closed()) return error(EBADF);
    auto &ifc = be_->host().iface();
    auto local = ifc.udp_local(id_);
    if (local && local->port_ != 0) return error(EINVAL);
    auto r = ifc.udp_bind(id_, addr_of(addr), ntohs(addr.sin_port));
    if (!r) return r.err();
    return ok();
}

result<void> udp_socket::connect(rt::runtime &, op_start &op, const sockaddr_in &addr) {
    if (closed()) return error(EBADF);
    if (addr.sin_port == 0) return error(EINVAL);
    auto &ifc = be_->host().iface();
    if (auto local = ifc.udp_local(id_); local && local->port_ == 0)
        if (auto r = ifc.udp_bind(id_, net::ipv4_address{}, 0); !r) return r.err();
    peer_ = addr;
    op.complete();
    return ok();
}

result<void> udp_socket::push(rt::runtime &rt, op_start &op, const buffer &data) {
    if (closed()) return error(EBADF);
    if (!peer_) return error(EDESTADDRREQ);
    return send(rt, op, data, *peer_);
}

result<void> udp_socket::pushto(rt::runtime &rt, op_start &op, const buffer &data, const sockaddr_in &addr) {
    if (closed()) return error(EBADF);
    return send(rt, op, data, addr);
}

result<void> udp_socket::send(rt::runtime &rt, op_start &op, const buffer &data, const sockaddr_in &to) {
    if (data.size() > 65507) return error(EMSGSIZE);
    if (to.sin_port == 0) return error(EINVAL);
    // The stack takes the datagram at once (copying it unless the application let go of the buffer);
    // the frame leaves now, or with the rest of a burst at the next poll (backend::flush_push). With
    // the socket's header template the send needs the time only to know whether the next hop's ARP
    // entry is fresh: the runtime's last reading does (no clock read per datagram).
    auto r = be_->host().iface().udp_sendto(
        rt.sched().recent(), [&rt] { return rt.sched().now(); }, id_, {addr_of(to), ntohs(to.sin_port)}, data);
    if (r) be_->flush_push(rt, backend::pushed::datagram);
    op.complete(r ? succeeded(opcode::push) : failed(opcode::push, r.code()));
    return ok();
}

bool udp_socket::try_recv(completion &c) {
    auto d = be_->host().iface().udp_recv(id_);
    if (!d) return false;
    c.data = std::move(d->payload_);
    c.addr = to_sockaddr(d->src_.addr_, d->src_.port_);
    return true;
}

result<void> udp_socket::pop(rt::runtime &rt, op_start &op) {
    if (closed()) return error(EBADF);
    return pop_in_order(rt, op);
}

result<sockaddr_in> udp_socket::getpeername() {
    if (closed()) return error(EBADF);
    if (!peer_) return error(ENOTCONN);
    return *peer_;
}

result<sockaddr_in> udp_socket::getsockname() {
    if (closed()) return error(EBADF);
    auto l = be_->host().iface().udp_local(id_);
    if (!l) return l.err();
    return to_sockaddr(l->addr_, l->port_);
}

} // namespace demi::inetstack
