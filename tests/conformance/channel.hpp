// A channel is a pair of queue descriptors over which the conformance suite pushes and pops:
// the same memory queue on both ends, a connected TCP pair, or two bound UDP sockets. The suite's
// queue semantics are written once against this interface and run for every kind.
#pragma once

#include <demi/demi.hpp>

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace demi::conformance {

using namespace std::chrono_literals;

/// The libOS under test: DEMI_CONFORMANCE_LIBOS, else catnap.
inline std::string libos_under_test() {
    const char *e = std::getenv("DEMI_CONFORMANCE_LIBOS");
    return e != nullptr && *e != '\0' ? e : "catnap";
}

inline libos make_libos() {
    options o;
    o.libos = libos_under_test();
    o.use_environment = false;
    // A libOS that needs configuration (catnip: its address and its port) gets a file.
    if (const char *c = std::getenv("DEMI_CONFORMANCE_CONFIG"); c != nullptr) o.config_path = c;
    auto l = libos::create(o);
    if (!l) {
        ADD_FAILURE() << "libos::create(" << o.libos << "): " << l.err().message();
        std::abort();
    }
    return std::move(*l);
}

inline sockaddr_in loopback(uint16_t port = 0) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

inline const sockaddr *sa(const sockaddr_in &a) { return reinterpret_cast<const sockaddr *>(&a); }

/// Waits for `qt`, failing the test (and returning an empty completion) on a wait error.
inline completion must_wait(libos &lib, qtoken qt, timeout limit = std::chrono::seconds(10)) {
    auto r = lib.wait(qt, limit);
    EXPECT_TRUE(r.has_value()) << "wait: " << (r ? "" : r.err().message());
    if (!r) return {};
    return std::move(*r);
}

/// A buffer of `n` bytes holding pattern `seed`.
inline buffer patterned(libos &lib, size_t n, uint32_t seed) {
    auto b = lib.alloc(n);
    EXPECT_TRUE(b.has_value());
    if (!b) return {};
    for (size_t i = 0; i < n; ++i) b->data()[i] = std::byte(static_cast<uint8_t>((i * 131 + seed * 7 + (i >> 8)) & 0xff));
    return std::move(*b);
}

inline bool matches(std::span<const std::byte> got, size_t offset, uint32_t seed) {
    for (size_t i = 0; i < got.size(); ++i)
        if (got[i] != std::byte(static_cast<uint8_t>(((offset + i) * 131 + seed * 7 + ((offset + i) >> 8)) & 0xff)))
            return false;
    return true;
}

enum class channel_kind { memory, tcp, udp };

inline const char *name_of(channel_kind k) {
    switch (k) {
    case channel_kind::memory: return "memory";
    case channel_kind::tcp: return "tcp";
    case channel_kind::udp: return "udp";
    }
    return "?";
}

struct channel {
    channel_kind kind;
    int tx = -1; ///< push here
    int rx = -1; ///< pop here
    sockaddr_in rx_addr{}; ///< UDP: where tx sends
    std::vector<int> owned; ///< descriptors to close at the end

    [[nodiscard]] bool stream() const { return kind == channel_kind::tcp; }

    result<qtoken> push(libos &lib, const buffer &b) const {
        if (kind == channel_kind::udp) return lib.pushto(tx, b, sa(rx_addr), sizeof rx_addr);
        return lib.push(tx, b);
    }
};

/// Builds a channel of `kind` on `lib`.
inline channel open_channel(libos &lib, channel_kind kind) {
    channel c;
    c.kind = kind;
    switch (kind) {
    case channel_kind::memory: {
        auto q = lib.queue();
        EXPECT_TRUE(q.has_value());
        c.tx = c.rx = *q;
        c.owned = {*q};
        break;
    }
    case channel_kind::tcp: {
        auto ls = lib.socket(AF_INET, SOCK_STREAM, 0);
        EXPECT_TRUE(ls.has_value());
        auto any = loopback();
        EXPECT_TRUE(lib.bind(*ls, sa(any), sizeof any).has_value());
        EXPECT_TRUE(lib.listen(*ls, 16).has_value());
        auto local = lib.getsockname(*ls);
        EXPECT_TRUE(local.has_value());
        auto cs = lib.socket(AF_INET, SOCK_STREAM, 0);
        EXPECT_TRUE(cs.has_value());
        auto at = lib.accept(*ls);
        auto ct = lib.connect(*cs, sa(*local), sizeof *local);
        EXPECT_TRUE(at.has_value() && ct.has_value());
        completion a = must_wait(lib, *at);
        completion k = must_wait(lib, *ct);
        EXPECT_EQ(a.error, 0);
        EXPECT_EQ(k.error, 0);
        c.tx = *cs;
        c.rx = a.new_qd;
        c.owned = {*cs, a.new_qd, *ls};
        break;
    }
    case channel_kind::udp: {
        auto s1 = lib.socket(AF_INET, SOCK_DGRAM, 0);
        auto s2 = lib.socket(AF_INET, SOCK_DGRAM, 0);
        EXPECT_TRUE(s1.has_value() && s2.has_value());
        auto any = loopback();
        EXPECT_TRUE(lib.bind(*s1, sa(any), sizeof any).has_value());
        EXPECT_TRUE(lib.bind(*s2, sa(any), sizeof any).has_value());
        auto a2 = lib.getsockname(*s2);
        EXPECT_TRUE(a2.has_value());
        c.tx = *s1;
        c.rx = *s2;
        c.rx_addr = *a2;
        c.owned = {*s1, *s2};
        break;
    }
    }
    return c;
}

/// Pops from `c.rx` until `n` bytes arrived (stream) or one message (otherwise); checks the pattern.
inline ::testing::AssertionResult receive_exact(libos &lib, const channel &c, size_t n, uint32_t seed) {
    size_t got = 0;
    while (got < n) {
        auto qt = lib.pop(c.rx);
        if (!qt) return ::testing::AssertionFailure() << "pop: " << qt.err().message();
        completion r = must_wait(lib, *qt);
        if (r.error != 0) return ::testing::AssertionFailure() << "pop failed: " << std::strerror(r.error);
        if (r.op != opcode::pop) return ::testing::AssertionFailure() << "opcode " << static_cast<int>(r.op);
        if (r.data.empty()) return ::testing::AssertionFailure() << "unexpected end of stream after " << got;
        if (!c.stream() && r.data.size() != n)
            return ::testing::AssertionFailure() << "message of " << r.data.size() << " bytes, expected " << n;
        if (got + r.data.size() > n) return ::testing::AssertionFailure() << "too many bytes";
        if (!matches(r.data.bytes(), got, seed))
            return ::testing::AssertionFailure() << "bytes differ in [" << got << ", " << got + r.data.size() << ")";
        got += r.data.size();
    }
    return ::testing::AssertionSuccess();
}

} // namespace demi::conformance
