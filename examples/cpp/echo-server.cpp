// demi-echo-server: a TCP echo server written with C++20 coroutines on demi::libos.
//
//   demi-echo-server --addr IP:PORT [--count N]
//
// One coroutine accepts connections; each connection gets a coroutine of its own that pops what
// arrives and pushes the very same buffer back (zero-copy echo), until the peer ends its stream.
// With --count N the server exits after its N-th connection has ended; otherwise it serves until
// SIGINT or SIGTERM. The libOS comes from LIBOS (default catnap) and CONFIG_PATH, as for any Demi
// application. Port 0 picks a free port; the address actually bound is printed on stdout as
// "listening on IP:PORT" before the first connection is accepted.
//
// Exit status: 0 when every connection ended cleanly (end of stream, or a reset by the peer),
// 1 on any other error, 2 on a bad command line.
#include <demi/demi.hpp>

#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace {

using namespace std::chrono_literals;

struct arguments {
    sockaddr_in addr{};
    std::optional<uint64_t> count; // connections to serve before exiting
};

[[noreturn]] void usage(const char *why) {
    if (why != nullptr) std::fprintf(stderr, "demi-echo-server: %s\n", why);
    std::fprintf(stderr, "usage: demi-echo-server --addr IP:PORT [--count N]\n");
    std::exit(2);
}

std::optional<sockaddr_in> parse_addr(std::string_view s) {
    const size_t colon = s.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    const std::string ip(s.substr(0, colon));
    const std::string port(s.substr(colon + 1));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    if (inet_pton(AF_INET, ip.c_str(), &a.sin_addr) != 1) return std::nullopt;
    char *end = nullptr;
    errno = 0;
    const unsigned long p = std::strtoul(port.c_str(), &end, 10);
    if (port.empty() || *end != '\0' || errno != 0 || p > 65535) return std::nullopt;
    a.sin_port = htons(static_cast<uint16_t>(p));
    return a;
}

arguments parse_args(int argc, char **argv) {
    arguments args;
    bool have_addr = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view opt = argv[i];
        if (opt == "--help" || opt == "-h") usage(nullptr);
        if (i + 1 >= argc) usage(("missing value after " + std::string(opt)).c_str());
        const char *val = argv[++i];
        if (opt == "--addr") {
            auto a = parse_addr(val);
            if (!a) usage("--addr wants IP:PORT (IPv4)");
            args.addr = *a;
            have_addr = true;
        } else if (opt == "--count") {
            char *end = nullptr;
            errno = 0;
            const unsigned long long n = std::strtoull(val, &end, 10);
            if (*val == '\0' || *val == '-' || *end != '\0' || errno != 0 || n == 0)
                usage("--count wants a positive number of connections");
            args.count = n;
        } else {
            usage(("unknown option " + std::string(opt)).c_str());
        }
    }
    if (!have_addr) usage("--addr is required");
    return args;
}

std::string to_string(const sockaddr_in &a) {
    char ip[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &a.sin_addr, ip, sizeof ip);
    return std::string(ip) + ":" + std::to_string(ntohs(a.sin_port));
}

volatile std::sig_atomic_t stop_requested = 0;
extern "C" void on_signal(int) { stop_requested = 1; }

/// What the server has done so far.
struct server_stats {
    uint64_t accepted = 0;
    uint64_t ended = 0;  ///< connections whose coroutine has finished
    uint64_t failed = 0; ///< connections (or accepts) that ended with an unexpected error
    uint64_t messages = 0;
    uint64_t bytes = 0;
};

/// Echoes one connection until end of stream. The queue closes itself when the coroutine ends.
demi::task<void> serve(demi::libos &lib, demi::queue conn, sockaddr_in peer, server_stats &stats) {
    const std::string who = to_string(peer);
    for (;;) {
        demi::completion in = co_await lib.async_pop(conn.qd());
        if (!in.ok()) {
            if (in.error == ECONNRESET) {
                std::fprintf(stderr, "demi-echo-server: %s: connection reset by peer\n", who.c_str());
            } else if (in.error != ECANCELED) { // ECANCELED: the server is shutting down
                std::fprintf(stderr, "demi-echo-server: %s: pop failed: %s\n", who.c_str(), std::strerror(in.error));
                ++stats.failed;
            }
            break;
        }
        if (in.data.empty()) break; // end of stream: the peer has finished sending
        ++stats.messages;
        stats.bytes += in.data.size();
        // The popped buffer goes straight back: no copy.
        demi::completion out = co_await lib.async_push(conn.qd(), in.data);
        if (!out.ok()) {
            if (out.error != ECONNRESET && out.error != ECANCELED) {
                std::fprintf(stderr, "demi-echo-server: %s: push failed: %s\n", who.c_str(), std::strerror(out.error));
                ++stats.failed;
            }
            break;
        }
    }
    ++stats.ended;
}

/// Accepts connections (up to `limit`, if set) and spawns a coroutine for each.
demi::task<void> accept_loop(demi::libos &lib, int listen_qd, std::optional<uint64_t> limit, server_stats &stats) {
    while (!limit || stats.accepted < *limit) {
        demi::completion c = co_await lib.async_accept(listen_qd);
        if (!c.ok()) {
            if (c.error != ECANCELED) {
                std::fprintf(stderr, "demi-echo-server: accept failed: %s\n", std::strerror(c.error));
                ++stats.failed;
            }
            co_return;
        }
        ++stats.accepted;
        lib.spawn(serve(lib, demi::queue(lib, c.new_qd), c.addr, stats));
    }
}

int run(const arguments &args) {
    // Declared before the libOS: coroutines still running when the libOS shuts down update it.
    server_stats stats;
    auto created = demi::libos::create();
    if (!created) {
        std::fprintf(stderr, "demi-echo-server: cannot start the libOS: %s\n", std::strerror(created.code()));
        return 1;
    }
    demi::libos &lib = *created;

    auto sock = lib.socket(AF_INET, SOCK_STREAM, 0);
    if (!sock) {
        std::fprintf(stderr, "demi-echo-server: socket: %s\n", std::strerror(sock.code()));
        return 1;
    }
    demi::queue listener(lib, *sock);
    if (auto r = lib.bind(listener.qd(), reinterpret_cast<const sockaddr *>(&args.addr), sizeof args.addr); !r) {
        std::fprintf(stderr, "demi-echo-server: bind %s: %s\n", to_string(args.addr).c_str(), std::strerror(r.code()));
        return 1;
    }
    if (auto r = lib.listen(listener.qd(), 128); !r) {
        std::fprintf(stderr, "demi-echo-server: listen: %s\n", std::strerror(r.code()));
        return 1;
    }
    auto bound = lib.getsockname(listener.qd());
    std::printf("demi-echo-server: libOS %.*s, listening on %s\n", static_cast<int>(lib.name().size()),
                lib.name().data(), to_string(bound ? *bound : args.addr).c_str());
    std::fflush(stdout);

    lib.spawn(accept_loop(lib, listener.qd(), args.count, stats));

    // Drive the coroutines, checking for a stop signal now and then. With --count, run() returns
    // once the accept loop and every connection have finished.
    for (;;) {
        auto r = lib.run(100ms);
        if (r) break;
        if (r.code() != ETIMEDOUT) {
            std::fprintf(stderr, "demi-echo-server: run: %s\n", std::strerror(r.code()));
            return 1;
        }
        if (stop_requested != 0) {
            std::printf("demi-echo-server: stopping on signal\n");
            break;
        }
    }
    std::printf("demi-echo-server: served %llu connections (%llu ended), %llu messages, %llu bytes\n",
                static_cast<unsigned long long>(stats.accepted), static_cast<unsigned long long>(stats.ended),
                static_cast<unsigned long long>(stats.messages), static_cast<unsigned long long>(stats.bytes));
    return stats.failed == 0 ? 0 : 1;
}

} // namespace

int main(int argc, char **argv) {
    const arguments args = parse_args(argc, argv);
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    return run(args);
}
