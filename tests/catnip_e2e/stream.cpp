// demi-e2e-stream: bulk TCP transfers over any Demi libOS, checked byte for byte and by SHA-256.
//
//   demi-e2e-stream server --addr IP:PORT --bytes B [--conns N] [--no-reply] [--timeout S]
//   demi-e2e-stream client --addr IP:PORT --bytes B [--conns N] [--no-reply] [--timeout S]
//                          [--chunk C] [--window W]
//   demi-e2e-stream gen --bytes B [--conn I]        the stream of connection I on stdout
//
// Every connection carries a deterministic stream of B bytes (B >= 8): its first 8 bytes are the
// connection's index (little-endian), then 64-bit words splitmix64((index << 40) ^ word position).
// The client opens N connections at once and pushes them all, C bytes per push with up to W pushes
// outstanding per connection, from one thread (wait_any). The server accepts N connections, checks
// every byte it pops against the stream (the index comes from the first 8 bytes, so each connection is
// checked against its own stream, and each index must appear exactly once) and hashes it.
//
// With the reply (the default) the server, once it has B bytes, sends back its SHA-256 as 64 hex digits
// and a newline, the client compares it with its own and closes, and the server then expects the end of
// the stream. With --no-reply (for a kernel peer such as socat -u) the client closes after its last push
// and the server reads until the end of the stream.
//
// Both sides print one line per connection: "conn I bytes=B sha256=H", then "RESULT ok ...".
// Exit status: 0 when every connection was byte-exact, 1 on any failure (what and where on stderr),
// 2 on a bad command line.
#include <demi/demi.hpp>

#include <arpa/inet.h>
#include <cerrno>
#include <cstdarg>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

#include "../interop/sha256.hpp"

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

// ---- the stream ----

std::uint64_t splitmix64(std::uint64_t x) noexcept {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

std::uint64_t stream_word(std::uint64_t conn, std::uint64_t w) noexcept {
    return w == 0 ? conn : splitmix64((conn << 40) ^ w);
}

/// Writes bytes [pos, pos + out.size()) of connection `conn`'s stream into out.
void stream_fill(std::uint64_t conn, std::uint64_t pos, std::span<std::byte> out) noexcept {
    std::size_t i = 0;
    while (i < out.size()) {
        const std::uint64_t p = pos + i;
        const std::uint64_t word = stream_word(conn, p / 8);
        const std::size_t off = p % 8;
        if (off == 0 && out.size() - i >= 8) {
            std::memcpy(out.data() + i, &word, 8); // little-endian machine (x86-64, arm64)
            i += 8;
        } else {
            out[i] = static_cast<std::byte>(word >> (8 * off));
            ++i;
        }
    }
}

/// The first position in [pos, pos + data.size()) where data differs from the stream, if any.
std::optional<std::uint64_t> stream_check(std::uint64_t conn, std::uint64_t pos, std::span<const std::byte> data) {
    std::byte scratch[4096];
    for (std::size_t i = 0; i < data.size(); i += sizeof scratch) {
        const std::size_t n = std::min(sizeof scratch, data.size() - i);
        stream_fill(conn, pos + i, {scratch, n});
        if (std::memcmp(scratch, data.data() + i, n) != 0) {
            for (std::size_t k = 0; k < n; ++k)
                if (scratch[k] != data[i + k]) return pos + i + k;
        }
    }
    return std::nullopt;
}

// ---- the command line ----

struct arguments {
    std::string mode;
    sockaddr_in addr{};
    bool have_addr = false;
    std::uint64_t bytes = 0;
    std::uint64_t conns = 1;
    std::uint64_t conn = 0; // gen
    bool reply = true;
    std::uint64_t timeout_s = 60;
    std::uint64_t chunk = 65536;
    std::uint64_t window = 4;
};

[[noreturn]] void usage(const std::string &why) {
    std::fprintf(stderr,
                 "demi-e2e-stream: %s\n"
                 "usage: demi-e2e-stream server --addr IP:PORT --bytes B [--conns N] [--no-reply] [--timeout S]\n"
                 "       demi-e2e-stream client --addr IP:PORT --bytes B [--conns N] [--no-reply] [--timeout S]"
                 " [--chunk C] [--window W]\n"
                 "       demi-e2e-stream gen --bytes B [--conn I]\n",
                 why.c_str());
    std::exit(2);
}

std::uint64_t parse_u64(std::string_view flag, const char *text, std::uint64_t min, std::uint64_t max) {
    char *end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(text, &end, 10);
    if (*text == '\0' || *text == '-' || *end != '\0' || errno != 0 || v < min || v > max)
        usage(std::string(flag) + ": bad value '" + text + "' (expected " + std::to_string(min) + ".." +
              std::to_string(max) + ")");
    return v;
}

arguments parse_args(int argc, char **argv) {
    arguments a;
    if (argc < 2) usage("missing mode");
    a.mode = argv[1];
    if (a.mode != "server" && a.mode != "client" && a.mode != "gen") usage("unknown mode '" + a.mode + "'");
    bool have_bytes = false;
    for (int i = 2; i < argc; ++i) {
        const std::string_view opt = argv[i];
        if (opt == "--no-reply") {
            a.reply = false;
            continue;
        }
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
            a.bytes = parse_u64(opt, val, 8, std::uint64_t{1} << 40);
            have_bytes = true;
        } else if (opt == "--conns") {
            a.conns = parse_u64(opt, val, 1, 4096);
        } else if (opt == "--conn") {
            a.conn = parse_u64(opt, val, 0, 4095);
        } else if (opt == "--timeout") {
            a.timeout_s = parse_u64(opt, val, 1, 86400);
        } else if (opt == "--chunk") {
            a.chunk = parse_u64(opt, val, 1, std::uint64_t{1} << 30);
        } else if (opt == "--window") {
            a.window = parse_u64(opt, val, 1, 1024);
        } else {
            usage("unknown option " + std::string(opt));
        }
    }
    if (!have_bytes) usage("--bytes is required");
    if (a.mode != "gen" && !a.have_addr) usage("--addr is required");
    return a;
}

int gen(const arguments &a) {
    std::vector<std::byte> buf(1 << 20);
    for (std::uint64_t pos = 0; pos < a.bytes;) {
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), a.bytes - pos));
        stream_fill(a.conn, pos, {buf.data(), n});
        for (std::size_t done = 0; done < n;) {
            const ssize_t w = ::write(1, buf.data() + done, n - done);
            if (w < 0) {
                if (errno == EINTR) continue;
                std::fprintf(stderr, "demi-e2e-stream gen: write: %s\n", std::strerror(errno));
                return 1;
            }
            done += static_cast<std::size_t>(w);
        }
        pos += n;
    }
    return 0;
}

// ---- the Demi side ----

[[noreturn]] void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    std::fputs("demi-e2e-stream: FAIL: ", stderr);
    std::vfprintf(stderr, fmt, ap);
    std::fputc('\n', stderr);
    va_end(ap);
    std::fflush(stdout);
    std::_Exit(1);
}

enum class kind { accept, connect, push, pop, reply_push };

struct pending {
    demi::qtoken qt;
    kind k;
    std::size_t conn; // slot in conns
};

struct connection {
    int qd = -1;
    std::uint64_t index = UINT64_MAX; // the stream's index (server: from the first 8 bytes)
    std::uint64_t pos = 0;            // bytes pushed (client) or popped (server)
    std::uint64_t inflight = 0;       // client: pushes outstanding
    std::uint64_t pops = 0;
    bool connected = false;
    bool reply_sent = false;
    bool done = false;
    std::string reply;      // client: what the server sent back
    std::byte head[8]{};    // server: the first bytes until the index is known
    demi::interop::sha256 hash;
    std::string digest;
};

struct driver {
    const arguments &args;
    demi::libos &lib;
    std::vector<connection> conns;
    std::vector<pending> pend;
    std::vector<bool> seen; // server: indices already seen
    steady::time_point deadline;
    std::uint64_t finished = 0;

    const char *role() const { return args.mode.c_str(); }

    void add(demi::result<demi::qtoken> qt, kind k, std::size_t c, const char *what) {
        if (!qt) fail("%s: conn slot %zu: %s: %s", role(), c, what, std::strerror(qt.code()));
        pend.push_back({*qt, k, c});
    }

    void finish(std::size_t c) {
        connection &cn = conns[c];
        if (auto r = lib.close(cn.qd); !r) fail("%s: close conn %llu: %s", role(), (unsigned long long)cn.index, std::strerror(r.code()));
        cn.done = true;
        ++finished;
    }

    void state_dump() {
        for (std::size_t i = 0; i < conns.size(); ++i) {
            const connection &c = conns[i];
            std::fprintf(stderr, "  slot %zu: index %lld qd %d pos %llu of %llu, inflight %llu, pops %llu%s%s%s\n", i,
                         c.index == UINT64_MAX ? -1LL : (long long)c.index, c.qd, (unsigned long long)c.pos,
                         (unsigned long long)args.bytes, (unsigned long long)c.inflight, (unsigned long long)c.pops,
                         c.connected ? ", connected" : "", c.reply_sent ? ", reply sent" : "", c.done ? ", done" : "");
        }
    }

    demi::completion wait_one(pending &which) {
        std::vector<demi::qtoken> qts;
        qts.reserve(pend.size());
        for (const pending &p : pend) qts.push_back(p.qt);
        for (;;) {
            const auto now = steady::now();
            if (now >= deadline) {
                std::fprintf(stderr, "demi-e2e-stream: %s: timed out after %llu s with %zu operations pending, "
                                     "%llu of %zu connections finished:\n",
                             role(), (unsigned long long)args.timeout_s, pend.size(), (unsigned long long)finished,
                             conns.size());
                state_dump();
                fail("%s: timeout", role());
            }
            std::size_t idx = 0;
            auto r = lib.wait_any(qts, &idx, std::chrono::duration_cast<std::chrono::nanoseconds>(std::min<steady::duration>(deadline - now, 1s)));
            if (!r) {
                if (r.code() == ETIMEDOUT) continue;
                fail("%s: wait_any: %s", role(), std::strerror(r.code()));
            }
            which = pend[idx];
            pend.erase(pend.begin() + static_cast<std::ptrdiff_t>(idx));
            return std::move(*r);
        }
    }

    void print_results() {
        for (connection &c : conns)
            std::printf("conn %llu bytes=%llu sha256=%s\n", (unsigned long long)c.index, (unsigned long long)c.pos,
                        c.digest.c_str());
    }

    // ---- client ----

    void push_more(std::size_t c) {
        connection &cn = conns[c];
        while (cn.pos < args.bytes && cn.inflight < args.window) {
            const std::uint64_t n = std::min(args.chunk, args.bytes - cn.pos);
            auto buf = lib.alloc(static_cast<std::size_t>(n));
            if (!buf) fail("client: alloc %llu bytes: %s", (unsigned long long)n, std::strerror(buf.code()));
            stream_fill(cn.index, cn.pos, buf->bytes());
            cn.hash.update(buf->bytes());
            cn.pos += n;
            ++cn.inflight;
            add(lib.push(cn.qd, *buf), kind::push, c, "push");
        }
        if (cn.pos == args.bytes && cn.inflight == 0) {
            cn.digest = cn.hash.hex();
            if (args.reply) {
                add(lib.pop(cn.qd), kind::pop, c, "pop (reply)");
            } else {
                finish(c);
            }
        }
    }

    int client() {
        conns.resize(args.conns);
        for (std::size_t c = 0; c < conns.size(); ++c) {
            conns[c].index = c;
            auto qd = lib.socket(AF_INET, SOCK_STREAM, 0);
            if (!qd) fail("client: socket: %s", std::strerror(qd.code()));
            conns[c].qd = *qd;
            add(lib.connect(*qd, reinterpret_cast<const sockaddr *>(&args.addr), sizeof args.addr), kind::connect, c,
                "connect");
        }
        while (finished < conns.size()) {
            pending p{};
            demi::completion comp = wait_one(p);
            connection &cn = conns[p.conn];
            if (!comp.ok())
                fail("client: conn %llu: %s failed after %llu bytes: %s", (unsigned long long)cn.index,
                     p.k == kind::connect ? "connect" : p.k == kind::push ? "push" : "pop",
                     (unsigned long long)cn.pos, std::strerror(comp.error));
            switch (p.k) {
            case kind::connect:
                cn.connected = true;
                push_more(p.conn);
                break;
            case kind::push:
                --cn.inflight;
                push_more(p.conn);
                break;
            case kind::pop:
                if (comp.data.empty())
                    fail("client: conn %llu: end of stream before the server's digest (got '%s')",
                         (unsigned long long)cn.index, cn.reply.c_str());
                cn.reply.append(reinterpret_cast<const char *>(comp.data.data()), comp.data.size());
                if (cn.reply.size() > 65) fail("client: conn %llu: reply too long", (unsigned long long)cn.index);
                if (cn.reply.size() < 65) {
                    add(lib.pop(cn.qd), kind::pop, p.conn, "pop (reply)");
                    break;
                }
                if (cn.reply != cn.digest + "\n")
                    fail("client: conn %llu: the server's sha256 %.64s differs from the client's %s",
                         (unsigned long long)cn.index, cn.reply.c_str(), cn.digest.c_str());
                finish(p.conn);
                break;
            default:
                fail("client: unexpected completion");
            }
        }
        // Keep the stack running a little so that the last segments and the FINs leave (and are
        // retransmitted if need be) before the process ends.
        if (auto q = lib.queue()) {
            if (auto qt = lib.pop(*q)) {
                (void)lib.wait(*qt, 300ms);
            }
            (void)lib.close(*q);
        }
        return 0;
    }

    // ---- server ----

    void server_data(std::size_t c, const demi::buffer &data) {
        connection &cn = conns[c];
        std::span<const std::byte> d = data.bytes();
        if (cn.pos + d.size() > args.bytes)
            fail("server: conn %lld: %llu bytes more than the %llu expected",
                 cn.index == UINT64_MAX ? -1LL : (long long)cn.index,
                 (unsigned long long)(cn.pos + d.size() - args.bytes), (unsigned long long)args.bytes);
        cn.hash.update(d);
        if (cn.pos < 8) { // the index
            const std::size_t n = std::min<std::size_t>(8 - cn.pos, d.size());
            std::memcpy(cn.head + cn.pos, d.data(), n);
            if (cn.pos + n == 8) {
                std::uint64_t idx = 0;
                std::memcpy(&idx, cn.head, 8);
                if (idx >= seen.size() || seen[idx])
                    fail("server: a connection announces stream index %llu (%s; %zu connections expected)",
                         (unsigned long long)idx, idx >= seen.size() ? "out of range" : "twice", seen.size());
                seen[idx] = true;
                cn.index = idx;
            }
            cn.pos += n;
            d = d.subspan(n);
        }
        if (!d.empty()) {
            if (auto bad = stream_check(cn.index, cn.pos, d)) {
                std::uint8_t want = 0;
                std::byte b[1];
                stream_fill(cn.index, *bad, b);
                want = static_cast<std::uint8_t>(b[0]);
                fail("server: conn %llu: data mismatch at byte %llu (pop %llu): got 0x%02x, expected 0x%02x",
                     (unsigned long long)cn.index, (unsigned long long)*bad, (unsigned long long)cn.pops,
                     static_cast<unsigned>(d[*bad - cn.pos]), want);
            }
            cn.pos += d.size();
        }
    }

    int server() {
        seen.assign(args.conns, false);
        auto lqd = lib.socket(AF_INET, SOCK_STREAM, 0);
        if (!lqd) fail("server: socket: %s", std::strerror(lqd.code()));
        const int one = 1;
        (void)lib.setsockopt(*lqd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (auto r = lib.bind(*lqd, reinterpret_cast<const sockaddr *>(&args.addr), sizeof args.addr); !r)
            fail("server: bind: %s", std::strerror(r.code()));
        if (auto r = lib.listen(*lqd, static_cast<int>(std::min<std::uint64_t>(args.conns, 1024))); !r)
            fail("server: listen: %s", std::strerror(r.code()));
        std::printf("listening\n");
        std::fflush(stdout);
        add(lib.accept(*lqd), kind::accept, 0, "accept");
        std::uint64_t accepted = 0;
        conns.reserve(args.conns);
        while (finished < args.conns) {
            pending p{};
            demi::completion comp = wait_one(p);
            if (p.k == kind::accept) {
                if (!comp.ok()) fail("server: accept: %s", std::strerror(comp.error));
                conns.emplace_back();
                conns.back().qd = comp.new_qd;
                conns.back().connected = true;
                add(lib.pop(comp.new_qd), kind::pop, conns.size() - 1, "pop");
                if (++accepted < args.conns) add(lib.accept(*lqd), kind::accept, 0, "accept");
                continue;
            }
            connection &cn = conns[p.conn];
            if (!comp.ok())
                fail("server: conn %lld: %s failed after %llu bytes: %s",
                     cn.index == UINT64_MAX ? -1LL : (long long)cn.index, p.k == kind::pop ? "pop" : "push",
                     (unsigned long long)cn.pos, std::strerror(comp.error));
            if (p.k == kind::reply_push) continue; // the end of stream is awaited by the pop
            ++cn.pops;
            if (comp.data.empty()) { // end of stream
                if (cn.pos != args.bytes)
                    fail("server: conn %lld: end of stream after %llu bytes, expected %llu",
                         cn.index == UINT64_MAX ? -1LL : (long long)cn.index, (unsigned long long)cn.pos,
                         (unsigned long long)args.bytes);
                if (cn.digest.empty()) cn.digest = cn.hash.hex();
                finish(p.conn);
                continue;
            }
            server_data(p.conn, comp.data);
            if (cn.pos == args.bytes && args.reply && !cn.reply_sent) {
                cn.digest = cn.hash.hex();
                const std::string line = cn.digest + "\n";
                auto buf = lib.alloc(line.size());
                if (!buf) fail("server: alloc: %s", std::strerror(buf.code()));
                std::memcpy(buf->data(), line.data(), line.size());
                add(lib.push(cn.qd, *buf), kind::reply_push, p.conn, "push (reply)");
                cn.reply_sent = true;
            }
            add(lib.pop(cn.qd), kind::pop, p.conn, "pop");
        }
        (void)lib.close(*lqd);
        return 0;
    }
};

} // namespace

int main(int argc, char **argv) {
    const arguments args = parse_args(argc, argv);
    if (args.mode == "gen") return gen(args);
    auto created = demi::libos::create();
    if (!created) fail("cannot start the libOS: %s", std::strerror(created.code()));
    const auto t0 = steady::now();
    driver d{args, *created, {}, {}, {}, t0 + std::chrono::seconds(args.timeout_s)};
    const int rc = args.mode == "client" ? d.client() : d.server();
    const double secs = std::chrono::duration<double>(steady::now() - t0).count();
    d.print_results();
    const double total = static_cast<double>(args.bytes) * static_cast<double>(args.conns);
    std::printf("RESULT ok role=%s conns=%llu bytes_per_conn=%llu seconds=%.3f gbit_per_s=%.3f\n", args.mode.c_str(),
                (unsigned long long)args.conns, (unsigned long long)args.bytes, secs, total * 8 / secs / 1e9);
    std::fflush(stdout);
    return rc;
}
