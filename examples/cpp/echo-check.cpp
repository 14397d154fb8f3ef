// demi-echo-check: checks a TCP echo server byte for byte, over plain kernel sockets.
//
//   demi-echo-check --addr IP:PORT [--connections N] [--messages M] [--size S] [--window W]
//                   [--timeout SECONDS] [--reset-after K] [--tamper OFFSET]
//
// Opens N connections at once and sends M messages on each, of sizes between 1 and S bytes (the
// first is 1 byte, one is exactly S), filled with a pattern that depends on the connection, the
// message and the byte's position, so that lost, repeated, reordered or crossed-over bytes all
// show. At most W messages per connection are in flight (1: strict request-response). Sending and
// receiving are interleaved with poll(2), so messages larger than the socket buffers cannot
// deadlock. When everything has come back, each connection half-closes (shutdown SHUT_WR) and
// must then see the server end the stream, with no byte more.
//
// --reset-after K: instead, after K messages have come back, each connection is aborted with a
// reset (SO_LINGER 0), to check that the server survives peers that vanish.
// --tamper OFFSET: compares byte OFFSET of connection 0's stream against a wrong value, to prove
// that a damaged echo is detected (the check must then fail).
//
// Exit status: 0 if every byte came back exactly, 1 otherwise (with the first difference on
// stderr), 2 on a bad command line.
#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <optional>
#include <poll.h>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace {

struct arguments {
    sockaddr_in addr{};
    uint64_t connections = 4;
    uint64_t messages = 100;
    uint64_t size = 4096;
    uint64_t window = 1;
    uint64_t timeout_s = 30;
    std::optional<uint64_t> reset_after;
    std::optional<uint64_t> tamper;
};

[[noreturn]] void usage(const std::string &why) {
    if (!why.empty()) std::fprintf(stderr, "demi-echo-check: %s\n", why.c_str());
    std::fprintf(stderr, "usage: demi-echo-check --addr IP:PORT [--connections N] [--messages M] [--size S] "
                         "[--window W] [--timeout SECONDS] [--reset-after K] [--tamper OFFSET]\n");
    std::exit(2);
}

uint64_t parse_number(std::string_view opt, const char *val, uint64_t min, uint64_t max) {
    char *end = nullptr;
    errno = 0;
    const unsigned long long n = std::strtoull(val, &end, 10);
    if (*val == '\0' || *val == '-' || *end != '\0' || errno != 0 || n < min || n > max)
        usage(std::string(opt) + " wants a number in " + std::to_string(min) + ".." + std::to_string(max));
    return n;
}

arguments parse_args(int argc, char **argv) {
    arguments a;
    bool have_addr = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view opt = argv[i];
        if (opt == "--help" || opt == "-h") usage("");
        if (i + 1 >= argc) usage("missing value after " + std::string(opt));
        const char *val = argv[++i];
        if (opt == "--addr") {
            const std::string s = val;
            const size_t colon = s.rfind(':');
            a.addr.sin_family = AF_INET;
            if (colon == std::string::npos || inet_pton(AF_INET, s.substr(0, colon).c_str(), &a.addr.sin_addr) != 1)
                usage("--addr wants IP:PORT (IPv4)");
            a.addr.sin_port = htons(static_cast<uint16_t>(parse_number("port", s.c_str() + colon + 1, 1, 65535)));
            have_addr = true;
        } else if (opt == "--connections") {
            a.connections = parse_number(opt, val, 1, 1000);
        } else if (opt == "--messages") {
            a.messages = parse_number(opt, val, 1, 100000000);
        } else if (opt == "--size") {
            a.size = parse_number(opt, val, 1, uint64_t{64} << 20);
        } else if (opt == "--window") {
            a.window = parse_number(opt, val, 1, 1000000);
        } else if (opt == "--timeout") {
            a.timeout_s = parse_number(opt, val, 1, 3600);
        } else if (opt == "--reset-after") {
            a.reset_after = parse_number(opt, val, 0, 100000000);
        } else if (opt == "--tamper") {
            a.tamper = parse_number(opt, val, 0, UINT64_MAX - 1);
        } else {
            usage("unknown option " + std::string(opt));
        }
    }
    if (!have_addr) usage("--addr is required");
    if (a.reset_after && *a.reset_after > a.messages) usage("--reset-after must not exceed --messages");
    return a;
}

uint64_t mix(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

/// The size of message `m` of connection `c`: 1 for the first, S for the second, then varied.
uint64_t message_size(const arguments &a, uint64_t c, uint64_t m) {
    if (m == 0) return 1;
    if (m == 1) return a.size;
    return 1 + mix((c << 32) ^ m) % a.size;
}

/// Byte `i` of message `m` of connection `c`.
unsigned char pattern(uint64_t c, uint64_t m, uint64_t i) {
    return static_cast<unsigned char>((c * 131 + m * 31 + i * 7 + (i >> 8) * 13 + (i >> 16)) & 0xff);
}

struct connection {
    uint64_t id = 0;
    int fd = -1;
    uint64_t messages = 0; ///< messages to exchange on this connection
    // Sending: message, position inside it, and how many messages have been sent entirely.
    uint64_t send_msg = 0, send_pos = 0;
    std::vector<unsigned char> send_buf; ///< the message being sent
    // Receiving: message and position inside it; stream offset for messages.
    uint64_t recv_msg = 0, recv_pos = 0, recv_offset = 0;
    bool half_closed = false;
    bool done = false;
};

bool set_nonblocking(int fd) {
    const int flags = fcntl(fd, F_GETFL, 0);
    return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

class checker {
public:
    explicit checker(const arguments &a) : args_(a) {}

    int run() {
        conns_.resize(args_.connections);
        for (uint64_t c = 0; c < args_.connections; ++c) {
            connection &k = conns_[c];
            k.id = c;
            k.messages = args_.reset_after ? *args_.reset_after : args_.messages;
            k.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (k.fd < 0) return fail("socket: " + std::string(std::strerror(errno)));
            const int one = 1;
            (void)setsockopt(k.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            if (::connect(k.fd, reinterpret_cast<const sockaddr *>(&args_.addr), sizeof args_.addr) != 0)
                return fail("connection " + std::to_string(c) + ": connect: " + std::strerror(errno));
            if (!set_nonblocking(k.fd)) return fail("fcntl: " + std::string(std::strerror(errno)));
            if (k.messages == 0) finish(k);
        }
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(args_.timeout_s);
        std::vector<pollfd> pfds;
        std::vector<connection *> owners;
        for (;;) {
            pfds.clear();
            owners.clear();
            for (auto &k : conns_) {
                if (k.done) continue;
                pollfd p{k.fd, POLLIN, 0};
                if (wants_to_send(k)) p.events |= POLLOUT;
                pfds.push_back(p);
                owners.push_back(&k);
            }
            if (pfds.empty()) break;
            const auto now = std::chrono::steady_clock::now();
            if (now >= deadline)
                return fail("timed out after " + std::to_string(args_.timeout_s) + " s; " + progress());
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
            const int n = ::poll(pfds.data(), pfds.size(), static_cast<int>(left > 1000 ? 1000 : left + 1));
            if (n < 0) {
                if (errno == EINTR) continue;
                return fail("poll: " + std::string(std::strerror(errno)));
            }
            for (size_t i = 0; i < pfds.size(); ++i) {
                if (pfds[i].revents == 0) continue;
                connection &k = *owners[i];
                if ((pfds[i].revents & POLLOUT) != 0 && !send_some(k)) return 1;
                if ((pfds[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0 && !receive_some(k)) return 1;
            }
        }
        for (auto &k : conns_) ::close(k.fd);
        if (args_.reset_after) {
            std::printf("demi-echo-check: %llu connections x %llu messages echoed byte-exact (%llu bytes), "
                        "then reset\n",
                        ull(args_.connections), ull(*args_.reset_after), ull(bytes_));
        } else {
            std::printf("demi-echo-check: %llu connections x %llu messages echoed byte-exact (%llu bytes), "
                        "end of stream seen on each\n",
                        ull(args_.connections), ull(args_.messages), ull(bytes_));
        }
        return 0;
    }

private:
    static unsigned long long ull(uint64_t v) { return static_cast<unsigned long long>(v); }

    int fail(const std::string &why) {
        std::fprintf(stderr, "demi-echo-check: FAIL: %s\n", why.c_str());
        for (auto &k : conns_)
            if (k.fd >= 0) ::close(k.fd);
        return 1;
    }

    std::string progress() const {
        std::string s;
        for (const auto &k : conns_)
            s += " [conn " + std::to_string(k.id) + ": sent " + std::to_string(k.send_msg) + ", echoed " +
                 std::to_string(k.recv_msg) + "/" + std::to_string(k.messages) + "]";
        return s;
    }

    bool wants_to_send(const connection &k) const {
        return k.send_msg < k.messages && k.send_msg < k.recv_msg + args_.window;
    }

    bool send_some(connection &k) {
        while (wants_to_send(k)) {
            if (k.send_pos == 0) {
                const uint64_t len = message_size(args_, k.id, k.send_msg);
                k.send_buf.resize(len);
                for (uint64_t i = 0; i < len; ++i) k.send_buf[i] = pattern(k.id, k.send_msg, i);
            }
            const ssize_t n =
                ::send(k.fd, k.send_buf.data() + k.send_pos, k.send_buf.size() - k.send_pos, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return true;
                fail("connection " + std::to_string(k.id) + ": send: " + std::strerror(errno));
                return false;
            }
            k.send_pos += static_cast<uint64_t>(n);
            if (k.send_pos == k.send_buf.size()) {
                ++k.send_msg;
                k.send_pos = 0;
            }
        }
        return true;
    }

    bool receive_some(connection &k) {
        unsigned char buf[65536];
        for (;;) {
            const ssize_t n = ::recv(k.fd, buf, sizeof buf, 0);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
                if (errno == EINTR) continue;
                fail("connection " + std::to_string(k.id) + ": recv: " + std::strerror(errno) + " after " +
                     std::to_string(k.recv_msg) + " messages");
                return false;
            }
            if (n == 0) {
                if (!k.half_closed) {
                    fail("connection " + std::to_string(k.id) + ": end of stream after " + std::to_string(k.recv_msg) +
                         " of " + std::to_string(k.messages) + " messages (at message byte " +
                         std::to_string(k.recv_pos) + ")");
                    return false;
                }
                k.done = true; // the server closed after our half-close, as it should
                return true;
            }
            if (k.half_closed || k.recv_msg >= k.messages) {
                fail("connection " + std::to_string(k.id) + ": " + std::to_string(n) +
                     " unexpected bytes after the last echo");
                return false;
            }
            for (ssize_t j = 0; j < n; ++j) {
                const uint64_t len = message_size(args_, k.id, k.recv_msg);
                unsigned char want = pattern(k.id, k.recv_msg, k.recv_pos);
                if (args_.tamper && k.id == 0 && k.recv_offset == *args_.tamper)
                    want = static_cast<unsigned char>(~want); // --tamper: expect the wrong value here
                if (buf[j] != want) {
                    char hex[64];
                    std::snprintf(hex, sizeof hex, "got 0x%02x, expected 0x%02x", buf[j], want);
                    fail("connection " + std::to_string(k.id) + ": data mismatch in message " +
                         std::to_string(k.recv_msg) + " at byte " + std::to_string(k.recv_pos) + " (stream offset " +
                         std::to_string(k.recv_offset) + "): " + hex);
                    return false;
                }
                ++k.recv_offset;
                ++bytes_;
                if (++k.recv_pos == len) {
                    k.recv_pos = 0;
                    if (++k.recv_msg == k.messages) {
                        if (j + 1 < n) {
                            fail("connection " + std::to_string(k.id) + ": " + std::to_string(n - j - 1) +
                                 " unexpected bytes after the last echo");
                            return false;
                        }
                        finish(k);
                        if (k.done) return true;
                    }
                }
            }
        }
    }

    /// Every echo is back: half-close (and wait for the server's end of stream), or reset.
    void finish(connection &k) {
        if (args_.reset_after) {
            const linger l{1, 0};
            (void)setsockopt(k.fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
            ::close(k.fd); // with linger 0: a reset
            k.fd = -1;
            k.done = true;
            return;
        }
        ::shutdown(k.fd, SHUT_WR);
        k.half_closed = true;
    }

    arguments args_;
    std::vector<connection> conns_;
    uint64_t bytes_ = 0;
};

} // namespace

int main(int argc, char **argv) {
    const arguments args = parse_args(argc, argv);
    checker c(args);
    return c.run();
}
