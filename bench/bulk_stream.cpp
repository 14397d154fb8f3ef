// demi-bulk: one-way TCP bulk goodput over any Demi libOS (LIBOS), no checking, no hashing: what the
// stack and the device move, not what a checker can digest (tests/catnip_e2e/stream.cpp checks every
// byte and is bound by its SHA-256).
//
//   demi-bulk server --addr IP:PORT [--timeout S]
//   demi-bulk client --addr IP:PORT --bytes B [--chunk C] [--window W] [--timeout S]
//
// The client connects, pushes B bytes in pushes of C bytes (default 65536) with up to W (default 8)
// outstanding, then closes. The same W buffers, filled once, are pushed again and again. The server
// accepts one connection, pops until the end of the stream and drops the data. Both print
//   RESULT role=R bytes=N seconds=S gbit_per_s=G
// the server timing from the first byte to the end of the stream (goodput as the receiver sees it),
// the client from the connect to its last push's completion. Exit status 0, 1 on a failure, 2 on a bad
// command line.
#include <demi/demi.hpp>

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

struct arguments {
    std::string mode;
    sockaddr_in addr{};
    bool have_addr = false;
    std::uint64_t bytes = 0;
    std::uint64_t chunk = 65536;
    std::uint64_t window = 8;
    std::uint64_t timeout_s = 120;
};

[[noreturn]] void usage(const std::string &why) {
    std::fprintf(stderr,
                 "demi-bulk: %s\nusage: demi-bulk server --addr IP:PORT [--timeout S]\n"
                 "       demi-bulk client --addr IP:PORT --bytes B [--chunk C] [--window W] [--timeout S]\n",
                 why.c_str());
    std::exit(2);
}

[[noreturn]] void fail(const char *what, int err) {
    std::fprintf(stderr, "demi-bulk: FAIL: %s: %s\n", what, std::strerror(err));
    std::fflush(stdout);
    std::_Exit(1);
}

std::uint64_t parse_u64(std::string_view opt, const char *v, std::uint64_t lo, std::uint64_t hi) {
    char *end = nullptr;
    errno = 0;
    const unsigned long long x = std::strtoull(v, &end, 10);
    if (*v == '\0' || *v == '-' || errno != 0 || *end != '\0' || x < lo || x > hi)
        usage(std::string(opt) + ": '" + v + "' is not an integer in " + std::to_string(lo) + ".." + std::to_string(hi));
    return x;
}

arguments parse_args(int argc, char **argv) {
    if (argc < 2) usage("missing mode");
    arguments a;
    a.mode = argv[1];
    if (a.mode != "server" && a.mode != "client") usage("unknown mode '" + a.mode + "'");
    for (int i = 2; i < argc; ++i) {
        const std::string_view opt = argv[i];
        if (i + 1 >= argc) usage("missing value after " + std::string(opt));
        const char *val = argv[++i];
        if (opt == "--addr") {
            const std::string s = val;
            const std::size_t colon = s.rfind(':');
            if (colon == std::string::npos) usage("--addr wants IP:PORT");
            a.addr.sin_family = AF_INET;
            if (inet_pton(AF_INET, s.substr(0, colon).c_str(), &a.addr.sin_addr) != 1) usage("--addr: bad IPv4");
            a.addr.sin_port = htons(static_cast<std::uint16_t>(parse_u64("--addr port", s.c_str() + colon + 1, 1, 65535)));
            a.have_addr = true;
        } else if (opt == "--bytes") {
            a.bytes = parse_u64(opt, val, 1, std::uint64_t{1} << 44);
        } else if (opt == "--chunk") {
            a.chunk = parse_u64(opt, val, 1, std::uint64_t{1} << 24);
        } else if (opt == "--window") {
            a.window = parse_u64(opt, val, 1, 1024);
        } else if (opt == "--timeout") {
            a.timeout_s = parse_u64(opt, val, 1, 86400);
        } else {
            usage("unknown option " + std::string(opt));
        }
    }
    if (!a.have_addr) usage("--addr is required");
    if (a.mode == "client" && a.bytes == 0) usage("--bytes is required");
    return a;
}

// Waits for the one token, failing at the deadline.
demi::completion wait_for(demi::libos &lib, demi::qtoken qt, steady::time_point deadline, const char *what) {
    for (;;) {
        const auto now = steady::now();
        if (now >= deadline) fail(what, ETIMEDOUT);
        auto r = lib.wait(qt, std::chrono::duration_cast<std::chrono::nanoseconds>(std::min<steady::duration>(deadline - now, 1s)));
        if (r) {
            if (!r->ok()) fail(what, r->error);
            return std::move(*r);
        }
        if (r.code() != ETIMEDOUT) fail(what, r.code());
    }
}

void report(const char *role, std::uint64_t bytes, double secs) {
    std::printf("RESULT role=%s bytes=%llu seconds=%.3f gbit_per_s=%.3f\n", role, (unsigned long long)bytes, secs,
                static_cast<double>(bytes) * 8 / secs / 1e9);
    std::fflush(stdout);
}

int client(demi::libos &lib, const arguments &a, steady::time_point deadline) {
    auto qd = lib.socket(AF_INET, SOCK_STREAM, 0);
    if (!qd) fail("socket", qd.code());
    const auto t0 = steady::now();
    auto cqt = lib.connect(*qd, reinterpret_cast<const sockaddr *>(&a.addr), sizeof a.addr);
    if (!cqt) fail("connect", cqt.code());
    (void)wait_for(lib, *cqt, deadline, "connect");

    std::vector<demi::buffer> bufs;
    for (std::uint64_t i = 0; i < a.window; ++i) {
        auto b = lib.alloc(static_cast<std::size_t>(a.chunk));
        if (!b) fail("alloc", b.code());
        std::memset(b->data(), static_cast<int>('a' + i % 26), b->size());
        bufs.push_back(std::move(*b));
    }
    std::vector<demi::qtoken> qts;
    std::vector<std::size_t> which; // qts[k] pushes bufs[which[k]]
    std::uint64_t pushed = 0;
    auto push_one = [&](std::size_t slot) {
        const std::uint64_t n = std::min(a.chunk, a.bytes - pushed);
        const demi::buffer &b = bufs[slot];
        auto qt = lib.push(*qd, n == b.size() ? b : b.slice(0, static_cast<std::size_t>(n)));
        if (!qt) fail("push", qt.code());
        qts.push_back(*qt);
        which.push_back(slot);
        pushed += n;
    };
    for (std::size_t s = 0; s < bufs.size() && pushed < a.bytes; ++s) push_one(s);
    while (!qts.empty()) {
        const auto now = steady::now();
        if (now >= deadline) fail("push", ETIMEDOUT);
        std::size_t idx = 0;
        auto r = lib.wait_any(qts, &idx, std::chrono::duration_cast<std::chrono::nanoseconds>(std::min<steady::duration>(deadline - now, 1s)));
        if (!r) {
            if (r.code() == ETIMEDOUT) continue;
            fail("wait_any", r.code());
        }
        if (!r->ok()) fail("push", r->error);
        const std::size_t slot = which[idx];
        qts.erase(qts.begin() + static_cast<std::ptrdiff_t>(idx));
        which.erase(which.begin() + static_cast<std::ptrdiff_t>(idx));
        if (pushed < a.bytes) push_one(slot);
    }
    const double secs = std::chrono::duration<double>(steady::now() - t0).count();
    if (auto r = lib.close(*qd); !r) fail("close", r.code());
    report("client", pushed, secs);
    return 0;
}

int server(demi::libos &lib, const arguments &a, steady::time_point deadline) {
    auto lqd = lib.socket(AF_INET, SOCK_STREAM, 0);
    if (!lqd) fail("socket", lqd.code());
    const int one = 1;
    (void)lib.setsockopt(*lqd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (auto r = lib.bind(*lqd, reinterpret_cast<const sockaddr *>(&a.addr), sizeof a.addr); !r) fail("bind", r.code());
    if (auto r = lib.listen(*lqd, 1); !r) fail("listen", r.code());
    std::printf("listening\n");
    std::fflush(stdout);
    auto aqt = lib.accept(*lqd);
    if (!aqt) fail("accept", aqt.code());
    const int qd = wait_for(lib, *aqt, deadline, "accept").new_qd;
    std::uint64_t bytes = 0;
    std::optional<steady::time_point> first;
    for (;;) {
        auto pqt = lib.pop(qd);
        if (!pqt) fail("pop", pqt.code());
        const demi::completion c = wait_for(lib, *pqt, deadline, "pop");
        if (c.data.empty()) break; // end of stream
        if (!first) first = steady::now();
        bytes += c.data.size();
    }
    const double secs = first ? std::chrono::duration<double>(steady::now() - *first).count() : 0;
    (void)lib.close(qd);
    (void)lib.close(*lqd);
    report("server", bytes, secs);
    return 0;
}

} // namespace

int main(int argc, char **argv) {
    const arguments a = parse_args(argc, argv);
    auto lib = demi::libos::create();
    if (!lib) fail("cannot start the libOS", lib.code());
    const auto deadline = steady::now() + std::chrono::seconds(a.timeout_s);
    return a.mode == "client" ? client(*lib, a, deadline) : server(*lib, a, deadline);
}
