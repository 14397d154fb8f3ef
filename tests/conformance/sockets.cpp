// Conformance: socket semantics (for libOSes with sockets): addresses, connection set-up and
// tear-down, errors surfaced as failed completions, options. docs/API.md.
#include "channel.hpp"

#include <netinet/tcp.h>
#include <tuple>

namespace demi::conformance {
namespace {

class sockets : public ::testing::Test {
protected:
    void SetUp() override { lib_ = std::make_unique<libos>(make_libos()); }
    libos &lib() { return *lib_; }
    std::unique_ptr<libos> lib_;

    int tcp_socket() {
        auto s = lib().socket(AF_INET, SOCK_STREAM, 0);
        EXPECT_TRUE(s.has_value());
        return s ? *s : -1;
    }
    // A listening socket on 127.0.0.1 and an ephemeral port; returns (qd, address).
    std::pair<int, sockaddr_in> listener(int backlog = 8) {
        int ls = tcp_socket();
        auto a = loopback();
        EXPECT_TRUE(lib().bind(ls, sa(a), sizeof a).has_value());
        EXPECT_TRUE(lib().listen(ls, backlog).has_value());
        auto local = lib().getsockname(ls);
        EXPECT_TRUE(local.has_value());
        return {ls, *local};
    }
};

TEST_F(sockets, unknown_libos_is_einval) {
    options o;
    o.libos = "no-such-libos";
    o.use_environment = false;
    auto l = libos::create(o);
    ASSERT_FALSE(l.has_value());
    EXPECT_EQ(l.code(), EINVAL);
}

TEST_F(sockets, unsupported_domain_type_protocol) {
    EXPECT_EQ(lib().socket(AF_UNIX, SOCK_STREAM, 0).code(), EAFNOSUPPORT);
    EXPECT_EQ(lib().socket(AF_INET6, SOCK_STREAM, 0).code(), EAFNOSUPPORT);
    EXPECT_EQ(lib().socket(AF_INET, SOCK_RAW, 0).code(), ENOTSUP);
    EXPECT_EQ(lib().socket(AF_INET, SOCK_STREAM, IPPROTO_UDP).code(), EPROTONOSUPPORT);
    EXPECT_EQ(lib().socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP).code(), EPROTONOSUPPORT);
}

TEST_F(sockets, bind_any_address_and_port_zero) {
    int s = tcp_socket();
    sockaddr_in any{};
    any.sin_family = AF_INET;
    any.sin_addr.s_addr = htonl(INADDR_ANY);
    ASSERT_TRUE(lib().bind(s, sa(any), sizeof any).has_value());
    auto local = lib().getsockname(s);
    ASSERT_TRUE(local.has_value());
    EXPECT_NE(local->sin_port, 0);
    EXPECT_EQ(local->sin_addr.s_addr, htonl(INADDR_ANY));
    // Wrong address length, wrong family, NULL.
    EXPECT_EQ(lib().bind(s, sa(any), sizeof any - 1).code(), EINVAL);
    EXPECT_EQ(lib().bind(s, nullptr, sizeof any).code(), EINVAL);
    sockaddr_in six = any;
    six.sin_family = AF_INET6;
    EXPECT_EQ(lib().bind(s, sa(six), sizeof six).code(), EAFNOSUPPORT);
    EXPECT_EQ(lib().close(s).code(), 0);
}

TEST_F(sockets, accept_reports_the_peer_and_getpeername_agrees) {
    auto [ls, addr] = listener();
    int cs = tcp_socket();
    auto at = lib().accept(ls);
    auto ct = lib().connect(cs, sa(addr), sizeof addr);
    ASSERT_TRUE(at.has_value() && ct.has_value());
    completion a = must_wait(lib(), *at);
    completion c = must_wait(lib(), *ct);
    ASSERT_EQ(a.error, 0);
    ASSERT_EQ(c.error, 0);
    EXPECT_EQ(a.op, opcode::accept);
    EXPECT_EQ(c.op, opcode::connect);
    ASSERT_GE(a.new_qd, 0);
    auto client_local = lib().getsockname(cs);
    ASSERT_TRUE(client_local.has_value());
    EXPECT_EQ(a.addr.sin_port, client_local->sin_port);
    EXPECT_EQ(a.addr.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
    auto peer = lib().getpeername(cs);
    ASSERT_TRUE(peer.has_value());
    EXPECT_EQ(peer->sin_port, addr.sin_port);
    auto server_peer = lib().getpeername(a.new_qd);
    ASSERT_TRUE(server_peer.has_value());
    EXPECT_EQ(server_peer->sin_port, client_local->sin_port);
    EXPECT_EQ(lib().getpeername(ls).code(), ENOTCONN);
    for (int qd : {cs, a.new_qd, ls}) EXPECT_EQ(lib().close(qd).code(), 0);
}

TEST_F(sockets, connect_to_a_closed_port_fails_with_econnrefused) {
    // Find a port nobody listens on: bind one, note it, close it.
    int probe = tcp_socket();
    auto a = loopback();
    ASSERT_TRUE(lib().bind(probe, sa(a), sizeof a).has_value());
    auto where = lib().getsockname(probe);
    ASSERT_TRUE(where.has_value());
    ASSERT_EQ(lib().close(probe).code(), 0);

    int cs = tcp_socket();
    auto ct = lib().connect(cs, sa(*where), sizeof *where);
    ASSERT_TRUE(ct.has_value());
    completion c = must_wait(lib(), *ct);
    EXPECT_EQ(c.error, ECONNREFUSED);
    EXPECT_EQ(c.op, opcode::connect);
    EXPECT_EQ(lib().close(cs).code(), 0);
}

TEST_F(sockets, end_of_stream_is_an_empty_pop) {
    channel ch = open_channel(lib(), channel_kind::tcp);
    auto pt = lib().push(ch.tx, patterned(lib(), 100, 7));
    ASSERT_TRUE(pt.has_value());
    EXPECT_EQ(must_wait(lib(), *pt).error, 0);
    ASSERT_EQ(lib().close(ch.tx).code(), 0);
    EXPECT_TRUE(receive_exact(lib(), ch, 100, 7));
    auto qt = lib().pop(ch.rx);
    ASSERT_TRUE(qt.has_value());
    completion r = must_wait(lib(), *qt);
    EXPECT_EQ(r.error, 0);
    EXPECT_EQ(r.op, opcode::pop);
    EXPECT_TRUE(r.data.empty());
    EXPECT_EQ(r.data.size(), 0u);
    for (int qd : {ch.rx, ch.owned[2]}) EXPECT_EQ(lib().close(qd).code(), 0);
}

TEST_F(sockets, reset_by_peer_fails_the_pop_with_econnreset) {
    channel ch = open_channel(lib(), channel_kind::tcp);
    // SO_LINGER with a zero timeout: close sends a RST instead of a FIN.
    linger l{1, 0};
    ASSERT_TRUE(lib().setsockopt(ch.tx, SOL_SOCKET, SO_LINGER, &l, sizeof l).has_value());
    auto qt = lib().pop(ch.rx);
    ASSERT_TRUE(qt.has_value());
    ASSERT_EQ(lib().close(ch.tx).code(), 0);
    completion r = must_wait(lib(), *qt);
    EXPECT_EQ(r.error, ECONNRESET);
    EXPECT_EQ(r.op, opcode::pop);
    for (int qd : {ch.rx, ch.owned[2]}) EXPECT_EQ(lib().close(qd).code(), 0);
}

TEST_F(sockets, close_cancels_a_pending_accept) {
    auto [ls, addr] = listener();
    auto at = lib().accept(ls);
    ASSERT_TRUE(at.has_value());
    EXPECT_EQ(lib().wait(*at, std::chrono::nanoseconds(0)).code(), ETIMEDOUT);
    ASSERT_EQ(lib().close(ls).code(), 0);
    completion a = must_wait(lib(), *at);
    EXPECT_EQ(a.error, ECANCELED);
    EXPECT_EQ(a.op, opcode::accept);
}

TEST_F(sockets, many_connections_at_once) {
    constexpr int n = 32;
    auto [ls, addr] = listener(n);
    std::vector<int> clients;
    std::vector<qtoken> pending;
    for (int i = 0; i < n; ++i) {
        int cs = tcp_socket();
        clients.push_back(cs);
        auto ct = lib().connect(cs, sa(addr), sizeof addr);
        ASSERT_TRUE(ct.has_value());
        pending.push_back(*ct);
    }
    std::vector<int> servers;
    for (int i = 0; i < n; ++i) {
        auto at = lib().accept(ls);
        ASSERT_TRUE(at.has_value());
        completion a = must_wait(lib(), *at);
        ASSERT_EQ(a.error, 0);
        servers.push_back(a.new_qd);
    }
    for (qtoken qt : pending) EXPECT_EQ(must_wait(lib(), qt).error, 0);
    // Each client sends its own pattern; each server connection echoes; check all.
    for (int i = 0; i < n; ++i) ASSERT_TRUE(lib().push(clients[i], patterned(lib(), 64, static_cast<uint32_t>(i))));
    for (int s : servers) {
        auto qt = lib().pop(s);
        ASSERT_TRUE(qt.has_value());
        completion r = must_wait(lib(), *qt);
        ASSERT_EQ(r.error, 0);
        ASSERT_EQ(r.data.size(), 64u);
        auto e = lib().push(s, r.data);
        ASSERT_TRUE(e.has_value());
    }
    for (int i = 0; i < n; ++i) {
        channel c;
        c.kind = channel_kind::tcp;
        c.rx = clients[i];
        EXPECT_TRUE(receive_exact(lib(), c, 64, static_cast<uint32_t>(i))) << "client " << i;
    }
    for (int qd : clients) EXPECT_EQ(lib().close(qd).code(), 0);
    for (int qd : servers) EXPECT_EQ(lib().close(qd).code(), 0);
    EXPECT_EQ(lib().close(ls).code(), 0);
}

TEST_F(sockets, socket_options) {
    int s = tcp_socket();
    int one = 1, zero = 0, v = -1;
    socklen_t len = sizeof v;
    ASSERT_TRUE(lib().setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one).has_value());
    ASSERT_TRUE(lib().getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, &len).has_value());
    EXPECT_NE(v, 0);
    ASSERT_TRUE(lib().setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &zero, sizeof zero).has_value());
    len = sizeof v;
    ASSERT_TRUE(lib().getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, &len).has_value());
    EXPECT_EQ(v, 0);
    ASSERT_TRUE(lib().setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one).has_value());
    len = sizeof v;
    ASSERT_TRUE(lib().getsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &v, &len).has_value());
    EXPECT_NE(v, 0);
    ASSERT_TRUE(lib().setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one).has_value());
    linger l{1, 5}, got{};
    len = sizeof got;
    ASSERT_TRUE(lib().setsockopt(s, SOL_SOCKET, SO_LINGER, &l, sizeof l).has_value());
    ASSERT_TRUE(lib().getsockopt(s, SOL_SOCKET, SO_LINGER, &got, &len).has_value());
    EXPECT_EQ(got.l_onoff, 1);
    EXPECT_EQ(got.l_linger, 5);
    // TCP_SYNCNT: 1..127, as Linux takes it; a refused value leaves the last one.
    int three = 3, too_many = 128;
    ASSERT_TRUE(lib().setsockopt(s, IPPROTO_TCP, TCP_SYNCNT, &three, sizeof three).has_value());
    EXPECT_EQ(lib().setsockopt(s, IPPROTO_TCP, TCP_SYNCNT, &zero, sizeof zero).code(), EINVAL);
    EXPECT_EQ(lib().setsockopt(s, IPPROTO_TCP, TCP_SYNCNT, &too_many, sizeof too_many).code(), EINVAL);
    len = sizeof v;
    ASSERT_TRUE(lib().getsockopt(s, IPPROTO_TCP, TCP_SYNCNT, &v, &len).has_value());
    EXPECT_EQ(v, 3);
    // TCP_KEEPIDLE, TCP_KEEPINTVL (seconds, 1..32767) and TCP_KEEPCNT (1..127), as Linux takes them.
    for (const auto &[name, good, bad] :
         {std::tuple{TCP_KEEPIDLE, 30, 32768}, std::tuple{TCP_KEEPINTVL, 5, 32768}, std::tuple{TCP_KEEPCNT, 4, 128}}) {
        int set = good, over = bad;
        ASSERT_TRUE(lib().setsockopt(s, IPPROTO_TCP, name, &set, sizeof set).has_value()) << name;
        EXPECT_EQ(lib().setsockopt(s, IPPROTO_TCP, name, &zero, sizeof zero).code(), EINVAL) << name;
        EXPECT_EQ(lib().setsockopt(s, IPPROTO_TCP, name, &over, sizeof over).code(), EINVAL) << name;
        len = sizeof v;
        ASSERT_TRUE(lib().getsockopt(s, IPPROTO_TCP, name, &v, &len).has_value()) << name;
        EXPECT_EQ(v, good) << name;
    }
    // TCP_USER_TIMEOUT: milliseconds, 0 (off, the default) to INT_MAX; a negative value is EINVAL.
    len = sizeof v;
    ASSERT_TRUE(lib().getsockopt(s, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, &len).has_value());
    EXPECT_EQ(v, 0);
    int uto = 5000, negative = -1;
    ASSERT_TRUE(lib().setsockopt(s, IPPROTO_TCP, TCP_USER_TIMEOUT, &uto, sizeof uto).has_value());
    EXPECT_EQ(lib().setsockopt(s, IPPROTO_TCP, TCP_USER_TIMEOUT, &negative, sizeof negative).code(), EINVAL);
    len = sizeof v;
    ASSERT_TRUE(lib().getsockopt(s, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, &len).has_value());
    EXPECT_EQ(v, 5000);
    ASSERT_TRUE(lib().setsockopt(s, IPPROTO_TCP, TCP_USER_TIMEOUT, &zero, sizeof zero).has_value());
    EXPECT_EQ(lib().setsockopt(s, SOL_SOCKET, SO_BROADCAST, &one, sizeof one).code(), ENOTSUP);
    EXPECT_EQ(lib().setsockopt(s, IPPROTO_TCP, TCP_NODELAY, nullptr, sizeof one).code(), EINVAL);
    EXPECT_EQ(lib().setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, 2).code(), EINVAL);
    len = 2;
    EXPECT_EQ(lib().getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, &len).code(), EINVAL);
    len = sizeof(int); // a linger needs more than an int
    EXPECT_EQ(lib().getsockopt(s, SOL_SOCKET, SO_LINGER, &got, &len).code(), EINVAL);
    EXPECT_EQ(lib().setsockopt(777, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one).code(), EBADF);
    EXPECT_EQ(lib().close(s).code(), 0);
    // Memory queues have no socket options.
    auto q = lib().queue();
    ASSERT_TRUE(q.has_value());
    EXPECT_EQ(lib().setsockopt(*q, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one).code(), ENOTSUP);
    EXPECT_EQ(lib().close(*q).code(), 0);
}

TEST_F(sockets, data_on_an_unconnected_stream_is_enotconn) {
    int s = tcp_socket();
    EXPECT_EQ(lib().push(s, patterned(lib(), 8, 0)).code(), ENOTCONN);
    EXPECT_EQ(lib().pop(s).code(), ENOTCONN);
    auto [ls, addr] = listener();
    EXPECT_EQ(lib().pop(ls).code(), ENOTCONN);
    EXPECT_EQ(lib().push(ls, patterned(lib(), 8, 0)).code(), ENOTCONN);
    for (int qd : {s, ls}) EXPECT_EQ(lib().close(qd).code(), 0);
}

TEST_F(sockets, datagram_operations_on_a_stream_are_refused) {
    channel ch = open_channel(lib(), channel_kind::tcp);
    auto b = patterned(lib(), 8, 0);
    auto to = loopback(9);
    EXPECT_EQ(lib().pushto(ch.tx, b, sa(to), sizeof to).code(), ENOTSUP);
    for (int qd : ch.owned) EXPECT_EQ(lib().close(qd).code(), 0);
}

TEST_F(sockets, two_libos_instances_coexist) {
    libos other = make_libos();
    auto q1 = lib().queue();
    auto q2 = other.queue();
    ASSERT_TRUE(q1.has_value() && q2.has_value());
    auto p1 = lib().push(*q1, patterned(lib(), 8, 1));
    auto p2 = other.push(*q2, patterned(other, 8, 2));
    ASSERT_TRUE(p1.has_value() && p2.has_value());
    auto r1 = lib().pop(*q1);
    auto r2 = other.pop(*q2);
    ASSERT_TRUE(r1.has_value() && r2.has_value());
    completion c1 = must_wait(lib(), *r1);
    completion c2 = must_wait(other, *r2);
    EXPECT_TRUE(matches(c1.data.bytes(), 0, 1));
    EXPECT_TRUE(matches(c2.data.bytes(), 0, 2));
    EXPECT_EQ(must_wait(lib(), *p1).error, 0);
    EXPECT_EQ(must_wait(other, *p2).error, 0);
}

} // namespace
} // namespace demi::conformance
