// demi-perf — echo round-trip and throughput benchmark for any Demi libOS.
//
// The Demi side uses only the C ABI (include/demi/*.h), so it runs over whichever libOS the
// environment variable LIBOS names. `--baseline` runs the same closed-loop workload over plain
// kernel sockets driven by epoll, in the same run, and prints the ratio demi/baseline.
//
//   demi-perf server   --addr IP:PORT [--udp] [--baseline]
//   demi-perf client   --addr IP:PORT [--baseline-addr IP:PORT] [workload options]
//   demi-perf pingpong [--baseline] [--rounds R] [workload options]
//
// Workload: every connection runs a closed loop — push one message of --size bytes, pop until the
// whole echo arrived, record the round trip with a steady clock, check every byte of the echo
// against what was sent, repeat. All connections are driven at once from one thread (demi_wait_any
// for Demi, epoll_wait for the baseline). Round trips are timed from just before the push to the
// return of the wait that delivered the last byte of the echo; the bytes are checked after that,
// on both sides alike.
#include <demi/libos.h>
#include <demi/sga.h>
#include <demi/wait.h>

#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <spawn.h>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <unordered_map>
#include <utility>
#include <vector>

extern char **environ;

namespace demi::perf {
namespace {

using steady = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------------
// Errors: anything that goes wrong throws perf_error; main prints it and exits non-zero. RAII
// guards (child processes, sockets) clean up on the way out.

class perf_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

[[noreturn]] __attribute__((format(printf, 1, 2))) void fail(const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    throw perf_error(msg);
}

const char *errno_name(long long err) { return std::strerror(static_cast<int>(err)); }

// Checks a Demi call that returns 0 or a positive errno.
void check_demi(int rc, const char *what) {
    if (rc != 0) fail("%s failed: %s (errno %d)", what, errno_name(rc), rc);
}

// Checks a POSIX call that returns -1 and sets errno.
void check_sys(long rc, const char *what) {
    if (rc < 0) fail("%s failed: %s (errno %d)", what, std::strerror(errno), errno);
}

// ---------------------------------------------------------------------------------------------
// Options.

enum class run_mode { server, client, pingpong };

struct options {
    run_mode mode_ = run_mode::pingpong;
    std::string addr_;
    std::string baseline_addr_;
    std::size_t size_ = 64;
    std::uint64_t count_ = 10000;
    std::uint32_t conns_ = 1;
    std::uint64_t warmup_ = 100;
    std::uint32_t rounds_ = 1;
    bool udp_ = false;
    bool baseline_ = false;
    bool baseline_spin_ = false; // the baseline busy-polls epoll_wait(0) instead of blocking
    bool pin_ = false;
    int cpu_ = -1;
    double timeout_s_ = 60.0;
    bool timeout_given_ = false;
    int ready_fd_ = -1; // internal: the pingpong parent reads the server's port from this fd
    bool verbose_ = false;
    std::string samples_path_; // client/pingpong: every measured round trip, in order, goes here
};

constexpr std::size_t max_udp_payload = 65507;

void print_usage(std::FILE *out) {
    std::fputs("usage:\n"
               "  demi-perf server   --addr IP:PORT [--udp] [--baseline] [--timeout S] [--cpu N]\n"
               "  demi-perf client   --addr IP:PORT [--baseline-addr IP:PORT] [workload] [--timeout S]\n"
               "  demi-perf pingpong [--addr IP:PORT] [--baseline] [--rounds R] [--pin] [workload] [--timeout S]\n"
               "\n"
               "Echo round-trip and throughput benchmark over Demi's C ABI; the libOS is picked by $LIBOS\n"
               "(default catnap). The server echoes every popped sga back by pushing the same sga, until\n"
               "--timeout S or SIGINT/SIGTERM (then it exits 0, its libOS going away normally).\n"
               "\n"
               "workload:\n"
               "  --size N       message size in bytes (default 64; UDP at most 65507)\n"
               "  --count N      measured round trips in total, split evenly over connections (default 10000)\n"
               "  --conns N      concurrent connections, each a closed loop (default 1)\n"
               "  --warmup N     unmeasured round trips per connection before measuring (default 100)\n"
               "  --udp          UDP echo instead of TCP (one socket per connection)\n"
               "\n"
               "other:\n"
               "  --baseline     server: run the plain epoll echo server instead of Demi's;\n"
               "                 pingpong: also run the same workload over kernel sockets + epoll and print\n"
               "                 the ratio demi/baseline\n"
               "  --baseline-spin  like --baseline, but the baseline busy-polls epoll_wait(0) instead of\n"
               "                 blocking in it (as Demi's wait loop spins before it sleeps)\n"
               "  --baseline-addr IP:PORT  client: address of a `demi-perf server --baseline` to compare with\n"
               "  --rounds R     pingpong: split --count into R rounds, alternating which side runs first\n"
               "  --pin          pingpong: pin the client to CPU 0 and the servers to CPU 1\n"
               "  --cpu N        pin this process to CPU N\n"
               "  --timeout S    give up after S seconds (default 60; server: run until killed unless given)\n"
               "  --verbose      print per-round results\n"
               "  --samples FILE client, pingpong: write every measured round trip (ns, in the order\n"
               "                 measured; one per line, prefixed by the run's name; pingpong's rounds one\n"
               "                 after the other) to FILE, for tail and periodicity analysis\n"
               "\n"
               "Output ends with machine-readable lines: RESULT key=value ...\n",
               out);
}

[[noreturn]] void usage_error(const char *fmt, const char *arg) {
    std::fprintf(stderr, "demi-perf: ");
    std::fprintf(stderr, fmt, arg);
    std::fprintf(stderr, "\n(run `demi-perf --help` for usage)\n");
    std::exit(2);
}

std::uint64_t parse_uint(const char *flag, const char *text, std::uint64_t min, std::uint64_t max) {
    if (text == nullptr) usage_error("%s needs a value", flag);
    char *end = nullptr;
    errno = 0;
    unsigned long long v = std::strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || v < min || v > max) {
        std::fprintf(stderr, "demi-perf: %s: bad value '%s' (expected an integer in [%llu, %llu])\n", flag, text,
                     static_cast<unsigned long long>(min), static_cast<unsigned long long>(max));
        std::exit(2);
    }
    return v;
}

options parse_args(int argc, char **argv) {
    options o;
    if (argc < 2) {
        print_usage(stderr);
        std::exit(2);
    }
    std::string_view mode = argv[1];
    if (mode == "--help" || mode == "-h" || mode == "help") {
        print_usage(stdout);
        std::exit(0);
    }
    if (mode == "server") {
        o.mode_ = run_mode::server;
    } else if (mode == "client") {
        o.mode_ = run_mode::client;
    } else if (mode == "pingpong") {
        o.mode_ = run_mode::pingpong;
    } else {
        usage_error("unknown mode '%s' (expected server, client or pingpong)", argv[1]);
    }
    for (int i = 2; i < argc; ++i) {
        std::string_view a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : nullptr;
        auto value = [&]() -> const char * {
            if (next == nullptr) usage_error("%s needs a value", argv[i]);
            ++i;
            return next;
        };
        if (a == "--addr") {
            o.addr_ = value();
        } else if (a == "--baseline-addr") {
            o.baseline_addr_ = value();
        } else if (a == "--size") {
            o.size_ = parse_uint("--size", value(), 1, 1ULL << 30);
        } else if (a == "--count") {
            o.count_ = parse_uint("--count", value(), 1, 1ULL << 40);
        } else if (a == "--conns") {
            o.conns_ = static_cast<std::uint32_t>(parse_uint("--conns", value(), 1, 10000));
        } else if (a == "--warmup") {
            o.warmup_ = parse_uint("--warmup", value(), 0, 1ULL << 40);
        } else if (a == "--rounds") {
            o.rounds_ = static_cast<std::uint32_t>(parse_uint("--rounds", value(), 1, 1000));
        } else if (a == "--timeout") {
            o.timeout_s_ = static_cast<double>(parse_uint("--timeout", value(), 1, 86400));
            o.timeout_given_ = true;
        } else if (a == "--cpu") {
            o.cpu_ = static_cast<int>(parse_uint("--cpu", value(), 0, CPU_SETSIZE - 1));
        } else if (a == "--ready-fd") {
            o.ready_fd_ = static_cast<int>(parse_uint("--ready-fd", value(), 0, 1 << 20));
        } else if (a == "--udp") {
            o.udp_ = true;
        } else if (a == "--baseline") {
            o.baseline_ = true;
        } else if (a == "--baseline-spin") {
            o.baseline_ = true;
            o.baseline_spin_ = true;
        } else if (a == "--pin") {
            o.pin_ = true;
        } else if (a == "--verbose" || a == "-v") {
            o.verbose_ = true;
        } else if (a == "--samples") {
            o.samples_path_ = value();
        } else if (a == "--help" || a == "-h") {
            print_usage(stdout);
            std::exit(0);
        } else {
            usage_error("unknown option '%s'", argv[i]);
        }
    }
    if (o.addr_.empty()) {
        if (o.mode_ == run_mode::pingpong) {
            o.addr_ = "127.0.0.1:0";
        } else {
            usage_error("%s needs --addr IP:PORT", argv[1]);
        }
    }
    if (o.udp_ && o.size_ > max_udp_payload)
        usage_error("%s", "--udp: --size must be at most 65507 (the largest UDP payload)");
    if (o.mode_ == run_mode::client && o.baseline_ && o.baseline_addr_.empty())
        usage_error("%s", "client --baseline needs --baseline-addr IP:PORT of a `demi-perf server --baseline`");
    if (o.count_ < o.conns_) usage_error("%s", "--count must be at least --conns");
    if (o.mode_ == run_mode::server && !o.samples_path_.empty())
        usage_error("%s", "--samples is for client and pingpong (the client measures the round trips)");
    return o;
}

sockaddr_in parse_addr(const std::string &text) {
    auto colon = text.rfind(':');
    if (colon == std::string::npos) fail("bad address '%s' (expected IPv4:PORT)", text.c_str());
    std::string ip = text.substr(0, colon);
    std::string port = text.substr(colon + 1);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    if (inet_pton(AF_INET, ip.c_str(), &sa.sin_addr) != 1) fail("bad IPv4 address '%s'", ip.c_str());
    char *end = nullptr;
    unsigned long p = std::strtoul(port.c_str(), &end, 10);
    if (port.empty() || *end != '\0' || p > 65535) fail("bad port '%s'", port.c_str());
    sa.sin_port = htons(static_cast<std::uint16_t>(p));
    return sa;
}

std::string addr_text(const sockaddr_in &sa) {
    char ip[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof ip);
    return std::string(ip) + ":" + std::to_string(ntohs(sa.sin_port));
}

void pin_to_cpu(int cpu) {
    if (cpu < 0) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) fail("cannot pin to CPU %d: %s", cpu, std::strerror(errno));
}

// ---------------------------------------------------------------------------------------------
// Time limits.

// SIGINT/SIGTERM ask a server to stop: its loop ends and it returns through main, so the libOS goes
// away as at any normal exit (the stack delivers what it still owes, catnip removes its EAL runtime
// directory, DEMI_LOG=info prints the counters). A second signal ends it at once, unless it comes
// within half a second of the first: timeout(1) passes a signal on twice, to its child and to its
// process group, and that is one request.
std::atomic<int> stop_requested{0}; // set by a handler that may run on any thread (DPDK's too)
std::atomic<long long> stop_requested_ns{0}; // CLOCK_MONOTONIC of the first request
static_assert(std::atomic<int>::is_always_lock_free && std::atomic<long long>::is_always_lock_free);
extern "C" void on_stop(int sig) {
    timespec ts{};
    (void)clock_gettime(CLOCK_MONOTONIC, &ts); // async-signal-safe (POSIX.1-2008)
    const long long now = static_cast<long long>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec + 1; // never 0
    long long first = 0;
    if (stop_requested_ns.compare_exchange_strong(first, now, std::memory_order_relaxed)) {
        stop_requested.store(1, std::memory_order_relaxed);
        return;
    }
    if (now - first < 500'000'000) return; // the same request
    std::signal(sig, SIG_DFL);
    (void)raise(sig);
}

class deadline {
public:
    deadline() = default; // never expires
    explicit deadline(double seconds)
        : at_(steady::now() + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(seconds))),
          set_(true) {}

    bool expired() const { return set_ && steady::now() >= at_; }
    bool is_set() const { return set_; }

    // Remaining time as a timespec for a Demi wait; nullptr when there is no limit.
    const timespec *remaining(timespec &storage) const {
        if (!set_) return nullptr;
        auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(at_ - steady::now()).count();
        if (left < 0) left = 0;
        storage.tv_sec = static_cast<time_t>(left / 1'000'000'000);
        storage.tv_nsec = static_cast<long>(left % 1'000'000'000);
        return &storage;
    }

    // Remaining time in milliseconds for epoll_wait/poll (-1: no limit), rounded up.
    int remaining_ms() const {
        if (!set_) return -1;
        auto left = std::chrono::duration_cast<std::chrono::microseconds>(at_ - steady::now()).count();
        if (left <= 0) return 0;
        return static_cast<int>(std::min<long long>((left + 999) / 1000, 1 << 30));
    }

    double remaining_s() const {
        if (!set_) return 0;
        return std::max(0.0, std::chrono::duration<double>(at_ - steady::now()).count());
    }

private:
    steady::time_point at_{};
    bool set_ = false;
};

// ---------------------------------------------------------------------------------------------
// The bytes of message `seq` on connection `conn`: a window of a pseudo-random tape, starting at
// an offset that depends on both. A byte from another message, connection or place shows, and
// filling and checking run at memcpy/memcmp speed, so that checking every byte of large messages
// costs little next to the I/O it checks.

class pattern_tape {
public:
    explicit pattern_tape(std::size_t size) : size_(size), tape_(size + period) {
        std::uint64_t x = 0x9e3779b97f4a7c15ULL;
        for (auto &b : tape_) { // xorshift64
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b = static_cast<std::uint8_t>(x >> 56);
        }
    }

    const std::uint8_t *message(std::uint32_t conn, std::uint64_t seq) const {
        return tape_.data() + (conn * 1031ULL + seq * 61ULL) % period;
    }

    void fill(std::uint8_t *buf, std::uint32_t conn, std::uint64_t seq) const {
        std::memcpy(buf, message(conn, seq), size_);
    }

    // Checks `len` bytes that belong at `offset` of the echo of message `seq`.
    void check(const char *side, const std::uint8_t *buf, std::size_t len, std::uint32_t conn, std::uint64_t seq,
               std::size_t offset) const {
        const std::uint8_t *want = message(conn, seq) + offset;
        if (std::memcmp(buf, want, len) == 0) return;
        std::size_t i = 0;
        while (buf[i] == want[i])
            ++i;
        fail("%s: DATA MISMATCH on connection %u, message %llu, byte %zu: expected 0x%02x, got 0x%02x", side, conn,
             static_cast<unsigned long long>(seq), offset + i, want[i], buf[i]);
    }

private:
    static constexpr std::size_t period = 4093; // a prime: offsets of nearby messages differ
    std::size_t size_;
    std::vector<std::uint8_t> tape_;
};

// ---------------------------------------------------------------------------------------------
// Results.

struct run_result {
    std::string name_;                  // "demi" or "baseline"
    std::vector<std::uint64_t> rtt_ns_; // measured round trips
    double elapsed_s_ = 0;              // wall time of the measured phases
    std::string nodelay_ = "?";         // TCP_NODELAY seen on the client's sockets
    double client_cpu_s_ = 0;           // CPU time of the client during the measured phases
    double server_cpu_s_ = -1;          // CPU time of the server over its life (-1: unknown)
    double server_wall_s_ = 0;          // the server's life

    void merge(run_result &&other) {
        rtt_ns_.insert(rtt_ns_.end(), other.rtt_ns_.begin(), other.rtt_ns_.end());
        elapsed_s_ += other.elapsed_s_;
        client_cpu_s_ += other.client_cpu_s_;
        if (other.server_cpu_s_ >= 0) {
            server_cpu_s_ = std::max(server_cpu_s_, 0.0) + other.server_cpu_s_;
            server_wall_s_ += other.server_wall_s_;
        }
        if (other.nodelay_ != "?") nodelay_ = other.nodelay_;
    }
};

struct summary {
    double min_us_ = 0, p50_us_ = 0, p99_us_ = 0, p999_us_ = 0, max_us_ = 0, mean_us_ = 0;
    double msgs_per_s_ = 0, gbit_per_s_ = 0;
    double client_cores_ = 0, server_cores_ = -1; // CPU time / wall time (1.0 = one core busy)
    std::uint64_t n_ = 0;
};

double cpu_seconds(const rusage &ru) {
    auto tv = [](const timeval &t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
    return tv(ru.ru_utime) + tv(ru.ru_stime);
}

double self_cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return cpu_seconds(ru);
}

// Nearest-rank percentile of sorted samples.
double percentile_us(const std::vector<std::uint64_t> &sorted, double p) {
    if (sorted.empty()) return 0;
    auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
    if (rank == 0) rank = 1;
    return static_cast<double>(sorted[std::min(rank, sorted.size()) - 1]) / 1000.0;
}

summary summarize(run_result &r, std::size_t size) {
    summary s;
    std::sort(r.rtt_ns_.begin(), r.rtt_ns_.end());
    s.n_ = r.rtt_ns_.size();
    if (s.n_ == 0) return s;
    long double total = 0;
    for (auto v : r.rtt_ns_)
        total += static_cast<long double>(v);
    s.min_us_ = static_cast<double>(r.rtt_ns_.front()) / 1000.0;
    s.p50_us_ = percentile_us(r.rtt_ns_, 50);
    s.p99_us_ = percentile_us(r.rtt_ns_, 99);
    s.p999_us_ = percentile_us(r.rtt_ns_, 99.9);
    s.max_us_ = static_cast<double>(r.rtt_ns_.back()) / 1000.0;
    s.mean_us_ = static_cast<double>(total / static_cast<long double>(s.n_)) / 1000.0;
    s.msgs_per_s_ = r.elapsed_s_ > 0 ? static_cast<double>(s.n_) / r.elapsed_s_ : 0;
    s.gbit_per_s_ = s.msgs_per_s_ * static_cast<double>(size) * 8.0 / 1e9;
    s.client_cores_ = r.elapsed_s_ > 0 ? r.client_cpu_s_ / r.elapsed_s_ : 0;
    if (r.server_cpu_s_ >= 0 && r.server_wall_s_ > 0) s.server_cores_ = r.server_cpu_s_ / r.server_wall_s_;
    return s;
}

const char *libos_name() {
    const char *l = std::getenv("LIBOS");
    return (l != nullptr && *l != '\0') ? l : "catnap";
}

void print_summary(const options &o, const run_result &r, const summary &s) {
    const char *proto = o.udp_ ? "udp" : "tcp";
    const char *backend = r.name_ == "demi"  ? libos_name()
                          : o.baseline_spin_ ? "kernel+epoll, spinning"
                                             : "kernel+epoll";
    std::printf("%-8s (%s, %s): %llu round trips of %zu B over %u conn(s) in %.3f s, TCP_NODELAY=%s\n", r.name_.c_str(),
                backend, proto, static_cast<unsigned long long>(s.n_), o.size_, o.conns_, r.elapsed_s_,
                o.udp_ ? "n/a" : r.nodelay_.c_str());
    std::printf("  round trip us: min %.2f  p50 %.2f  p99 %.2f  p99.9 %.2f  max %.2f  mean %.2f\n", s.min_us_,
                s.p50_us_, s.p99_us_, s.p999_us_, s.max_us_, s.mean_us_);
    std::printf("  throughput   : %.0f msg/s  %.4f Gbit/s (payload, each direction)\n", s.msgs_per_s_, s.gbit_per_s_);
    if (s.server_cores_ >= 0) {
        std::printf("  cpu          : client %.2f cores, server %.2f cores (CPU time / wall time)\n", s.client_cores_,
                    s.server_cores_);
    } else {
        std::printf("  cpu          : client %.2f cores (CPU time / wall time)\n", s.client_cores_);
    }
}

void print_result_line(const options &o, const run_result &r, const summary &s) {
    std::printf("RESULT run=%s libos=%s proto=%s size=%zu conns=%u count=%llu p50_us=%.3f p99_us=%.3f "
                "p999_us=%.3f max_us=%.3f min_us=%.3f mean_us=%.3f msgs_per_s=%.1f gbit_per_s=%.6f nodelay=%s "
                "client_cores=%.3f server_cores=%.3f\n",
                r.name_.c_str(),
                r.name_ == "demi"  ? libos_name()
                : o.baseline_spin_ ? "kernel-spin"
                                   : "kernel",
                o.udp_ ? "udp" : "tcp", o.size_, o.conns_, static_cast<unsigned long long>(s.n_), s.p50_us_, s.p99_us_,
                s.p999_us_, s.max_us_, s.min_us_, s.mean_us_, s.msgs_per_s_, s.gbit_per_s_,
                o.udp_ ? "na" : r.nodelay_.c_str(), s.client_cores_, s.server_cores_);
}

// Round trips per connection: `total` split evenly, the remainder to the first connections.
std::vector<std::uint64_t> split_count(std::uint64_t total, std::uint32_t conns) {
    std::vector<std::uint64_t> per(conns, total / conns);
    for (std::uint64_t i = 0; i < total % conns; ++i)
        per[i] += 1;
    return per;
}

// ---------------------------------------------------------------------------------------------
// A set of pending Demi tokens for demi_wait_any, each with a caller-defined tag. Removal swaps
// the last entry into the hole, so the array stays dense without shifting.

template <typename Tag> class token_set {
public:
    void add(demi_qtoken_t qt, Tag tag) {
        tokens_.push_back(qt);
        tags_.push_back(tag);
    }
    bool empty() const { return tokens_.empty(); }
    std::size_t size() const { return tokens_.size(); }

    // Waits for one token; returns false on timeout. On success `qr` holds the result and `tag` the
    // tag of the completed token, which is removed from the set.
    bool wait(demi_qresult_t &qr, Tag &tag, const timespec *timeout) {
        int offset = -1;
        int rc = demi_wait_any(&qr, &offset, tokens_.data(), static_cast<int>(tokens_.size()), timeout);
        if (rc == ETIMEDOUT) return false;
        check_demi(rc, "demi_wait_any");
        if (offset < 0 || static_cast<std::size_t>(offset) >= tokens_.size())
            fail("demi_wait_any returned ready_offset %d for %zu tokens", offset, tokens_.size());
        if (qr.qr_qt != tokens_[static_cast<std::size_t>(offset)])
            fail("demi_wait_any: result token %llu differs from qts[%d] = %llu",
                 static_cast<unsigned long long>(qr.qr_qt), offset,
                 static_cast<unsigned long long>(tokens_[static_cast<std::size_t>(offset)]));
        auto i = static_cast<std::size_t>(offset);
        tag = tags_[i];
        tokens_[i] = tokens_.back();
        tags_[i] = tags_.back();
        tokens_.pop_back();
        tags_.pop_back();
        return true;
    }

private:
    std::vector<demi_qtoken_t> tokens_;
    std::vector<Tag> tags_;
};

std::uint32_t sga_total_len(const demi_sgarray_t &sga) {
    std::uint32_t n = 0;
    for (std::uint32_t i = 0; i < sga.sga_numsegs && i < DEMI_SGARRAY_MAXSIZE; ++i)
        n += sga.sga_segs[i].sgaseg_len;
    return n;
}

// Tells the pingpong parent (or the user) that the server listens, and on which port.
void announce_ready(const options &o, const sockaddr_in &bound, const char *what) {
    if (o.ready_fd_ >= 0) {
        std::string line = std::to_string(ntohs(bound.sin_port)) + "\n";
        if (write(o.ready_fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
            fail("cannot report readiness on fd %d: %s", o.ready_fd_, std::strerror(errno));
        close(o.ready_fd_);
    } else {
        std::printf("demi-perf server (%s, %s, %s) listening on %s\n", what,
                    std::string_view(what) == "demi" ? libos_name() : "kernel", o.udp_ ? "udp" : "tcp",
                    addr_text(bound).c_str());
        std::fflush(stdout);
    }
}

// ---------------------------------------------------------------------------------------------
// Demi echo server: accepts any number of connections; every popped sga is pushed back unchanged
// (zero-copy echo) and freed once its push has completed.

class demi_server {
public:
    explicit demi_server(const options &o) : opts_(o) {}

    void run(const deadline &limit) {
        sockaddr_in local = parse_addr(opts_.addr_);
        check_demi(demi_socket(&listen_qd_, AF_INET, opts_.udp_ ? SOCK_DGRAM : SOCK_STREAM, 0), "demi_socket");
        check_demi(demi_bind(listen_qd_, reinterpret_cast<const sockaddr *>(&local), sizeof local), "demi_bind");
        if (!opts_.udp_) check_demi(demi_listen(listen_qd_, 1024), "demi_listen");
        sockaddr_in bound{};
        socklen_t len = sizeof bound;
        check_demi(demi_getsockname(listen_qd_, reinterpret_cast<sockaddr *>(&bound), &len), "demi_getsockname");
        announce_ready(opts_, bound, "demi");

        if (opts_.udp_) {
            issue_pop(listen_qd_);
        } else {
            issue_accept();
        }
        demi_qresult_t qr{};
        op tag{};
        timespec ts{};
        // The waits end at least every 100 ms, to see a stop request (a signal does not interrupt a
        // busy-polling wait); a timeout costs the wait no extra clock read.
        constexpr long slice_ns = 100'000'000;
        while (!limit.expired() && stop_requested.load(std::memory_order_relaxed) == 0) {
            const timespec *left = limit.remaining(ts);
            if (left == nullptr || left->tv_sec > 0 || left->tv_nsec > slice_ns) ts = timespec{0, slice_ns};
            if (!pending_.wait(qr, tag, &ts)) continue;
            switch (tag.kind_) {
            case op_kind::accept:
                on_accept(qr);
                break;
            case op_kind::pop:
                on_pop(qr, tag);
                break;
            case op_kind::push:
                on_push(qr, tag);
                break;
            }
        }
    }

private:
    enum class op_kind : std::uint8_t { accept, pop, push };
    struct op {
        op_kind kind_ = op_kind::pop;
        int qd_ = -1;
        demi_sgarray_t sga_{}; // push: the sga to free once the push completed
    };
    struct conn_state {
        std::uint32_t pushes_ = 0; // pushes still pending
        bool closing_ = false;     // close once the pushes drained
    };

    void issue_accept() {
        demi_qtoken_t qt = 0;
        check_demi(demi_accept(&qt, listen_qd_), "demi_accept");
        pending_.add(qt, op{op_kind::accept, listen_qd_, {}});
    }

    void issue_pop(int qd) {
        demi_qtoken_t qt = 0;
        check_demi(demi_pop(&qt, qd), "demi_pop");
        pending_.add(qt, op{op_kind::pop, qd, {}});
    }

    void on_accept(const demi_qresult_t &qr) {
        if (qr.qr_opcode == DEMI_OPC_ACCEPT) {
            int qd = qr.qr_value.ares.qd;
            conns_.emplace(qd, conn_state{});
            if (opts_.verbose_) {
                int nodelay = -1;
                socklen_t l = sizeof nodelay;
                int rc = demi_getsockopt(qd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &l);
                std::fprintf(stderr, "demi-perf server: accepted qd %d from %s, TCP_NODELAY=%s\n", qd,
                             addr_text(qr.qr_value.ares.addr).c_str(),
                             rc == 0 ? std::to_string(nodelay).c_str() : errno_name(rc));
            }
            issue_pop(qd);
        } else if (qr.qr_opcode == DEMI_OPC_FAILED) {
            if (qr.qr_ret == ECANCELED) return; // listening queue closed
            std::fprintf(stderr, "demi-perf server: accept failed: %s (continuing)\n", errno_name(qr.qr_ret));
        } else {
            fail("server: accept completed with unexpected opcode %d", static_cast<int>(qr.qr_opcode));
        }
        issue_accept();
    }

    void on_pop(const demi_qresult_t &qr, const op &tag) {
        if (qr.qr_opcode == DEMI_OPC_FAILED) {
            if (qr.qr_ret != ECONNRESET && qr.qr_ret != ECANCELED)
                std::fprintf(stderr, "demi-perf server: pop on qd %d failed: %s\n", tag.qd_, errno_name(qr.qr_ret));
            if (opts_.udp_) {
                if (qr.qr_ret != ECANCELED) issue_pop(tag.qd_);
                return;
            }
            close_conn(tag.qd_);
            return;
        }
        if (qr.qr_opcode != DEMI_OPC_POP)
            fail("server: pop completed with unexpected opcode %d", static_cast<int>(qr.qr_opcode));
        demi_sgarray_t sga = qr.qr_value.sga;
        if (sga_total_len(sga) == 0) { // end of stream (or an empty datagram)
            if (sga.sga_buf != nullptr) check_demi(demi_sgafree(&sga), "demi_sgafree");
            if (opts_.udp_) {
                issue_pop(tag.qd_);
            } else {
                close_conn(tag.qd_);
            }
            return;
        }
        // Echo: push the very sga we were handed (no copy); it is freed when the push completes.
        demi_qtoken_t qt = 0;
        if (opts_.udp_) {
            sockaddr_in peer{};
            std::memcpy(&peer, reinterpret_cast<const char *>(&sga) + offsetof(demi_sgarray_t, sga_addr), sizeof peer);
            check_demi(demi_pushto(&qt, tag.qd_, &sga, reinterpret_cast<const sockaddr *>(&peer), sizeof peer),
                       "demi_pushto");
        } else {
            check_demi(demi_push(&qt, tag.qd_, &sga), "demi_push");
            conns_[tag.qd_].pushes_ += 1;
        }
        pending_.add(qt, op{op_kind::push, tag.qd_, sga});
        issue_pop(tag.qd_);
    }

    void on_push(const demi_qresult_t &qr, op &tag) {
        check_demi(demi_sgafree(&tag.sga_), "demi_sgafree (echoed sga)");
        if (qr.qr_opcode == DEMI_OPC_FAILED && qr.qr_ret != ECONNRESET && qr.qr_ret != ECANCELED && qr.qr_ret != EPIPE)
            std::fprintf(stderr, "demi-perf server: push on qd %d failed: %s\n", tag.qd_, errno_name(qr.qr_ret));
        if (opts_.udp_) return;
        auto it = conns_.find(tag.qd_);
        if (it == conns_.end()) return;
        it->second.pushes_ -= 1;
        if (it->second.closing_ && it->second.pushes_ == 0) {
            check_demi(demi_close(tag.qd_), "demi_close");
            conns_.erase(it);
        }
    }

    void close_conn(int qd) {
        auto it = conns_.find(qd);
        if (it == conns_.end()) return;
        if (it->second.pushes_ == 0) {
            check_demi(demi_close(qd), "demi_close");
            conns_.erase(it);
        } else {
            it->second.closing_ = true;
        }
    }

private:
    const options &opts_;
    int listen_qd_ = -1;
    token_set<op> pending_;
    std::unordered_map<int, conn_state> conns_;
};

// ---------------------------------------------------------------------------------------------
// Demi client: `conns` closed loops driven by one demi_wait_any.

class demi_client {
public:
    demi_client(const options &o, const sockaddr_in &server) : opts_(o), server_(server), pattern_(o.size_) {}

    demi_client(const demi_client &) = delete;
    demi_client &operator=(const demi_client &) = delete;

    ~demi_client() {
        for (auto &c : conns_) {
            for (auto &sga : c.held_)
                (void)demi_sgafree(&sga);
            if (c.tx_.sga_buf != nullptr) (void)demi_sgafree(&c.tx_);
            if (c.qd_ >= 0) (void)demi_close(c.qd_);
        }
    }

    // Opens the connections (TCP) or sockets (UDP). Returns TCP_NODELAY as seen on them.
    std::string open(const deadline &limit) {
        conns_.resize(opts_.conns_);
        token_set<std::uint32_t> connects;
        for (std::uint32_t i = 0; i < opts_.conns_; ++i) {
            auto &c = conns_[i];
            c.tx_ = demi_sgaalloc(opts_.size_);
            if (c.tx_.sga_buf == nullptr || c.tx_.sga_numsegs != 1 || c.tx_.sga_segs[0].sgaseg_len != opts_.size_)
                fail("demi_sgaalloc(%zu) returned no buffer or a buffer of the wrong size", opts_.size_);
            check_demi(demi_socket(&c.qd_, AF_INET, opts_.udp_ ? SOCK_DGRAM : SOCK_STREAM, 0), "demi_socket");
            if (opts_.udp_) {
                // Any local address and a free port: the server may be on another host (catnip).
                sockaddr_in local{};
                local.sin_family = AF_INET;
                local.sin_addr.s_addr = htonl(INADDR_ANY);
                local.sin_port = 0;
                check_demi(demi_bind(c.qd_, reinterpret_cast<const sockaddr *>(&local), sizeof local),
                           "demi_bind (client UDP socket)");
            } else {
                demi_qtoken_t qt = 0;
                check_demi(demi_connect(&qt, c.qd_, reinterpret_cast<const sockaddr *>(&server_), sizeof server_),
                           "demi_connect");
                connects.add(qt, i);
            }
        }
        demi_qresult_t qr{};
        std::uint32_t idx = 0;
        timespec ts{};
        while (!connects.empty()) {
            if (!connects.wait(qr, idx, limit.remaining(ts))) {
                if (limit.expired()) fail("timed out connecting to %s", addr_text(server_).c_str());
                continue;
            }
            if (qr.qr_opcode == DEMI_OPC_FAILED)
                fail("connect to %s failed: %s", addr_text(server_).c_str(), errno_name(qr.qr_ret));
            if (qr.qr_opcode != DEMI_OPC_CONNECT)
                fail("connect completed with unexpected opcode %d", static_cast<int>(qr.qr_opcode));
        }
        if (opts_.udp_) return "na";
        int nodelay = -1;
        socklen_t len = sizeof nodelay;
        int rc = demi_getsockopt(conns_[0].qd_, IPPROTO_TCP, TCP_NODELAY, &nodelay, &len);
        return rc == 0 ? std::to_string(nodelay != 0 ? 1 : 0) : std::string("?");
    }

    // Runs per_conn[i] round trips on connection i; records them in `rtt_ns` when not null.
    void run(const std::vector<std::uint64_t> &per_conn, std::vector<std::uint64_t> *rtt_ns, const deadline &limit) {
        std::uint64_t left_total = 0;
        for (std::uint32_t i = 0; i < conns_.size(); ++i) {
            conns_[i].remaining_ = per_conn[i];
            left_total += per_conn[i];
            if (per_conn[i] > 0) start_round(i);
        }
        std::uint64_t done = 0;
        demi_qresult_t qr{};
        op tag{};
        timespec ts{};
        while (!pending_.empty()) {
            if (!pending_.wait(qr, tag, limit.remaining(ts))) {
                if (limit.expired())
                    fail("timed out (--timeout %.0f s) after %llu of %llu round trips in this phase; "
                         "%zu operations still pending",
                         opts_.timeout_s_, static_cast<unsigned long long>(done),
                         static_cast<unsigned long long>(left_total), pending_.size());
                continue;
            }
            auto &c = conns_[tag.conn_];
            if (tag.is_push_) {
                if (qr.qr_opcode == DEMI_OPC_FAILED)
                    fail("push on connection %u failed: %s", tag.conn_, errno_name(qr.qr_ret));
                if (qr.qr_opcode != DEMI_OPC_PUSH)
                    fail("push completed with unexpected opcode %d", static_cast<int>(qr.qr_opcode));
                c.push_pending_ = false;
            } else {
                const auto now = steady::now(); // only a pop can end the echo: no clock read for a push
                if (qr.qr_opcode == DEMI_OPC_FAILED)
                    fail("pop on connection %u failed: %s", tag.conn_, errno_name(qr.qr_ret));
                if (qr.qr_opcode != DEMI_OPC_POP)
                    fail("pop completed with unexpected opcode %d", static_cast<int>(qr.qr_opcode));
                on_pop_data(tag.conn_, qr.qr_value.sga);
                if (c.received_ < opts_.size_) {
                    issue_pop(tag.conn_);
                } else {
                    c.echo_done_ = true;
                    if (rtt_ns != nullptr)
                        rtt_ns->push_back(static_cast<std::uint64_t>(
                            std::chrono::duration_cast<std::chrono::nanoseconds>(now - c.t0_).count()));
                    check_and_free(tag.conn_);
                }
            }
            // A round ends when the whole echo arrived and the push completed (the tx buffer may
            // only be rewritten then).
            if (c.echo_done_ && !c.push_pending_) {
                ++done;
                c.seq_ += 1;
                c.remaining_ -= 1;
                if (c.remaining_ > 0) start_round(tag.conn_);
            }
        }
    }

private:
    struct conn {
        int qd_ = -1;
        demi_sgarray_t tx_{};
        std::uint64_t seq_ = 0;
        std::uint64_t remaining_ = 0;
        std::size_t received_ = 0;
        bool push_pending_ = false;
        bool echo_done_ = false;
        steady::time_point t0_{};
        std::vector<demi_sgarray_t> held_; // popped pieces of the echo, checked once it is whole
    };
    struct op {
        std::uint32_t conn_ = 0;
        bool is_push_ = false;
    };

    void start_round(std::uint32_t i) {
        auto &c = conns_[i];
        pattern_.fill(static_cast<std::uint8_t *>(c.tx_.sga_segs[0].sgaseg_buf), i, c.seq_);
        c.received_ = 0;
        c.echo_done_ = false;
        c.push_pending_ = true;
        demi_qtoken_t qt = 0;
        c.t0_ = steady::now();
        if (opts_.udp_) {
            check_demi(demi_pushto(&qt, c.qd_, &c.tx_, reinterpret_cast<const sockaddr *>(&server_), sizeof server_),
                       "demi_pushto");
        } else {
            check_demi(demi_push(&qt, c.qd_, &c.tx_), "demi_push");
        }
        pending_.add(qt, op{i, true});
        issue_pop(i);
    }

    void issue_pop(std::uint32_t i) {
        demi_qtoken_t qt = 0;
        check_demi(demi_pop(&qt, conns_[i].qd_), "demi_pop");
        pending_.add(qt, op{i, false});
    }

    void on_pop_data(std::uint32_t i, demi_sgarray_t sga) {
        auto &c = conns_[i];
        std::uint32_t total = sga_total_len(sga);
        if (total == 0) {
            if (sga.sga_buf != nullptr) (void)demi_sgafree(&sga);
            fail("connection %u: the server closed the connection (pop returned end of stream) after %zu of %zu "
                 "bytes of message %llu",
                 i, c.received_, opts_.size_, static_cast<unsigned long long>(c.seq_));
        }
        if (opts_.udp_ && total != opts_.size_) {
            (void)demi_sgafree(&sga);
            fail("socket %u: received a datagram of %u bytes, expected %zu", i, total, opts_.size_);
        }
        if (c.received_ + total > opts_.size_) {
            (void)demi_sgafree(&sga);
            fail("connection %u: received %zu bytes for a %zu-byte message", i, c.received_ + total, opts_.size_);
        }
        // Kept until the echo is whole: the bytes are checked after the round trip is timed.
        c.held_.push_back(sga);
        c.received_ += total;
    }

    // Checks every byte of the echo, then frees the popped sgas (references the application owns).
    void check_and_free(std::uint32_t i) {
        auto &c = conns_[i];
        std::size_t offset = 0;
        for (auto &sga : c.held_) {
            for (std::uint32_t s = 0; s < sga.sga_numsegs && s < DEMI_SGARRAY_MAXSIZE; ++s) {
                const auto &seg = sga.sga_segs[s];
                pattern_.check("demi", static_cast<const std::uint8_t *>(seg.sgaseg_buf), seg.sgaseg_len, i, c.seq_,
                               offset);
                offset += seg.sgaseg_len;
            }
        }
        while (!c.held_.empty()) {
            demi_sgarray_t sga = c.held_.back();
            c.held_.pop_back();
            check_demi(demi_sgafree(&sga), "demi_sgafree (popped sga)");
        }
    }

    const options &opts_;
    sockaddr_in server_;
    pattern_tape pattern_;
    std::vector<conn> conns_;
    token_set<op> pending_;
};

// ---------------------------------------------------------------------------------------------
// Plain kernel sockets + epoll: the baseline. Same workload, same closed loop, same checks.

class fd_guard {
public:
    fd_guard() = default;
    explicit fd_guard(int fd) : fd_(fd) {}
    fd_guard(fd_guard &&o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    fd_guard &operator=(fd_guard &&o) noexcept {
        if (this != &o) {
            reset();
            fd_ = std::exchange(o.fd_, -1);
        }
        return *this;
    }
    fd_guard(const fd_guard &) = delete;
    fd_guard &operator=(const fd_guard &) = delete;
    ~fd_guard() { reset(); }
    int get() const { return fd_; }
    void reset() {
        if (fd_ >= 0) close(fd_);
        fd_ = -1;
    }

private:
    int fd_ = -1;
};

void set_nodelay(int fd) {
    int one = 1;
    check_sys(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one), "setsockopt(TCP_NODELAY)");
}

// epoll_wait that either blocks (up to the deadline) or, with `spin`, polls with a zero timeout
// until something is ready or the deadline passed.
int epoll_wait_until(int ep, epoll_event *events, int max, const deadline &limit, bool spin) {
    if (!spin) {
        // At most 100 ms, to see a stop request that came between the caller's check and the wait.
        int ms = limit.remaining_ms();
        if (ms < 0 || ms > 100) ms = 100;
        return epoll_wait(ep, events, max, ms);
    }
    for (unsigned i = 0;; ++i) {
        int n = epoll_wait(ep, events, max, 0);
        if (n != 0) return n;
        if ((i & 63) == 63 && (limit.expired() || stop_requested.load(std::memory_order_relaxed) != 0)) return 0;
    }
}

void epoll_set(int ep, int op, int fd, std::uint32_t events, std::uint64_t data) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = data;
    check_sys(epoll_ctl(ep, op, fd, &ev), "epoll_ctl");
}

class kernel_server {
public:
    explicit kernel_server(const options &o) : opts_(o) {}

    void run(const deadline &limit) {
        sockaddr_in local = parse_addr(opts_.addr_);
        listen_.reset();
        listen_ = fd_guard(socket(AF_INET, (opts_.udp_ ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        check_sys(listen_.get(), "socket");
        int one = 1;
        check_sys(setsockopt(listen_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), "setsockopt(SO_REUSEADDR)");
        check_sys(bind(listen_.get(), reinterpret_cast<const sockaddr *>(&local), sizeof local), "bind");
        if (!opts_.udp_) check_sys(listen(listen_.get(), 1024), "listen");
        sockaddr_in bound{};
        socklen_t len = sizeof bound;
        check_sys(getsockname(listen_.get(), reinterpret_cast<sockaddr *>(&bound), &len), "getsockname");
        ep_ = fd_guard(epoll_create1(EPOLL_CLOEXEC));
        check_sys(ep_.get(), "epoll_create1");
        epoll_set(ep_.get(), EPOLL_CTL_ADD, listen_.get(), EPOLLIN, listen_key);
        announce_ready(opts_, bound, "baseline");

        buf_.resize(std::max<std::size_t>(opts_.udp_ ? max_udp_payload + 1 : 256 * 1024, 1));
        std::vector<epoll_event> events(256);
        while (!limit.expired() && stop_requested.load(std::memory_order_relaxed) == 0) {
            int n = epoll_wait_until(ep_.get(), events.data(), static_cast<int>(events.size()), limit,
                                     opts_.baseline_spin_);
            if (n < 0 && errno == EINTR) continue;
            check_sys(n, "epoll_wait");
            for (int k = 0; k < n; ++k) {
                std::uint64_t key = events[static_cast<std::size_t>(k)].data.u64;
                if (key == listen_key) {
                    if (opts_.udp_) {
                        echo_datagram();
                    } else {
                        accept_all();
                    }
                } else {
                    on_conn_event(static_cast<int>(key), events[static_cast<std::size_t>(k)].events);
                }
            }
        }
    }

private:
    static constexpr std::uint64_t listen_key = ~0ULL;
    struct conn_state {
        fd_guard fd_;
        std::vector<std::uint8_t> out_; // bytes still to echo (a partial write)
        std::size_t out_off_ = 0;
    };

    void accept_all() {
        for (;;) {
            int fd = accept4(listen_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
                if (errno == ECONNABORTED) continue;
                check_sys(fd, "accept4");
            }
            set_nodelay(fd);
            conn_state st;
            st.fd_ = fd_guard(fd);
            conns_.emplace(fd, std::move(st));
            epoll_set(ep_.get(), EPOLL_CTL_ADD, fd, EPOLLIN, static_cast<std::uint64_t>(fd));
        }
    }

    void echo_datagram() {
        sockaddr_in from{};
        socklen_t flen = sizeof from;
        ssize_t n = recvfrom(listen_.get(), buf_.data(), buf_.size(), 0, reinterpret_cast<sockaddr *>(&from), &flen);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) return;
            check_sys(n, "recvfrom");
        }
        ssize_t w = sendto(listen_.get(), buf_.data(), static_cast<std::size_t>(n), 0,
                           reinterpret_cast<const sockaddr *>(&from), flen);
        if (w < 0 && errno != EAGAIN) std::fprintf(stderr, "demi-perf server: sendto: %s\n", std::strerror(errno));
    }

    void drop(int fd) {
        (void)epoll_ctl(ep_.get(), EPOLL_CTL_DEL, fd, nullptr);
        conns_.erase(fd);
    }

    void on_conn_event(int fd, std::uint32_t events) {
        auto it = conns_.find(fd);
        if (it == conns_.end()) return;
        auto &c = it->second;
        if (!c.out_.empty()) { // finish a partial echo before reading more (back-pressure)
            if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0) return;
            ssize_t w = send(fd, c.out_.data() + c.out_off_, c.out_.size() - c.out_off_, MSG_NOSIGNAL);
            if (w < 0) {
                if (errno == EAGAIN || errno == EINTR) return;
                drop(fd);
                return;
            }
            c.out_off_ += static_cast<std::size_t>(w);
            if (c.out_off_ == c.out_.size()) {
                c.out_.clear();
                c.out_off_ = 0;
                epoll_set(ep_.get(), EPOLL_CTL_MOD, fd, EPOLLIN, static_cast<std::uint64_t>(fd));
            }
            return;
        }
        ssize_t n = recv(fd, buf_.data(), buf_.size(), 0);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) return;
            drop(fd);
            return;
        }
        if (n == 0) {
            drop(fd);
            return;
        }
        auto len = static_cast<std::size_t>(n);
        ssize_t w = send(fd, buf_.data(), len, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno != EAGAIN && errno != EINTR) {
                drop(fd);
                return;
            }
            w = 0;
        }
        if (static_cast<std::size_t>(w) < len) {
            c.out_.assign(buf_.begin() + w, buf_.begin() + static_cast<std::ptrdiff_t>(len));
            c.out_off_ = 0;
            epoll_set(ep_.get(), EPOLL_CTL_MOD, fd, EPOLLOUT, static_cast<std::uint64_t>(fd));
        }
    }

    const options &opts_;
    fd_guard listen_;
    fd_guard ep_;
    std::vector<std::uint8_t> buf_;
    std::unordered_map<int, conn_state> conns_;
};

class kernel_client {
public:
    kernel_client(const options &o, const sockaddr_in &server) : opts_(o), server_(server), pattern_(o.size_) {}

    std::string open(const deadline &limit) {
        ep_ = fd_guard(epoll_create1(EPOLL_CLOEXEC));
        check_sys(ep_.get(), "epoll_create1");
        conns_.resize(opts_.conns_);
        std::uint32_t connecting = 0;
        for (std::uint32_t i = 0; i < opts_.conns_; ++i) {
            auto &c = conns_[i];
            c.tx_.resize(opts_.size_);
            c.rx_.resize(opts_.udp_ ? opts_.size_ + 1 : opts_.size_);
            c.fd_ =
                fd_guard(socket(AF_INET, (opts_.udp_ ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
            check_sys(c.fd_.get(), "socket");
            if (!opts_.udp_) set_nodelay(c.fd_.get());
            int rc = connect(c.fd_.get(), reinterpret_cast<const sockaddr *>(&server_), sizeof server_);
            if (rc < 0 && errno != EINPROGRESS) check_sys(rc, "connect");
            if (rc < 0) {
                epoll_set(ep_.get(), EPOLL_CTL_ADD, c.fd_.get(), EPOLLOUT, i);
                ++connecting;
            } else {
                epoll_set(ep_.get(), EPOLL_CTL_ADD, c.fd_.get(), EPOLLIN, i);
            }
        }
        std::vector<epoll_event> events(opts_.conns_);
        while (connecting > 0) {
            int n = epoll_wait(ep_.get(), events.data(), static_cast<int>(events.size()), limit.remaining_ms());
            if (n < 0 && errno == EINTR) continue;
            check_sys(n, "epoll_wait");
            if (n == 0 && limit.expired()) fail("baseline: timed out connecting to %s", addr_text(server_).c_str());
            for (int k = 0; k < n; ++k) {
                auto i = static_cast<std::uint32_t>(events[static_cast<std::size_t>(k)].data.u64);
                int err = 0;
                socklen_t l = sizeof err;
                check_sys(getsockopt(conns_[i].fd_.get(), SOL_SOCKET, SO_ERROR, &err, &l), "getsockopt(SO_ERROR)");
                if (err != 0)
                    fail("baseline: connect to %s failed: %s", addr_text(server_).c_str(), std::strerror(err));
                epoll_set(ep_.get(), EPOLL_CTL_MOD, conns_[i].fd_.get(), EPOLLIN, i);
                --connecting;
            }
        }
        if (opts_.udp_) return "na";
        int nodelay = 0;
        socklen_t l = sizeof nodelay;
        check_sys(getsockopt(conns_[0].fd_.get(), IPPROTO_TCP, TCP_NODELAY, &nodelay, &l), "getsockopt(TCP_NODELAY)");
        return std::to_string(nodelay != 0 ? 1 : 0);
    }

    void run(const std::vector<std::uint64_t> &per_conn, std::vector<std::uint64_t> *rtt_ns, const deadline &limit) {
        std::uint32_t active = 0;
        std::uint64_t left_total = 0, done = 0;
        for (std::uint32_t i = 0; i < conns_.size(); ++i) {
            conns_[i].remaining_ = per_conn[i];
            left_total += per_conn[i];
            if (per_conn[i] > 0) {
                ++active;
                start_round(i);
            }
        }
        std::vector<epoll_event> events(conns_.size());
        while (active > 0) {
            int n = epoll_wait_until(ep_.get(), events.data(), static_cast<int>(events.size()), limit,
                                     opts_.baseline_spin_);
            if (n < 0 && errno == EINTR) continue;
            check_sys(n, "epoll_wait");
            if (n == 0 && limit.expired())
                fail("baseline: timed out (--timeout %.0f s) after %llu of %llu round trips in this phase",
                     opts_.timeout_s_, static_cast<unsigned long long>(done),
                     static_cast<unsigned long long>(left_total));
            auto now = steady::now();
            for (int k = 0; k < n; ++k) {
                const auto &ev = events[static_cast<std::size_t>(k)];
                auto i = static_cast<std::uint32_t>(ev.data.u64);
                auto &c = conns_[i];
                if ((ev.events & EPOLLOUT) != 0 && c.sent_ < opts_.size_) send_more(i);
                if ((ev.events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0 && c.received_ < opts_.size_) {
                    if (!receive(i)) continue;
                    if (c.received_ == opts_.size_) {
                        if (rtt_ns != nullptr)
                            rtt_ns->push_back(static_cast<std::uint64_t>(
                                std::chrono::duration_cast<std::chrono::nanoseconds>(now - c.t0_).count()));
                        // Checked after the round trip is timed, as on the Demi side.
                        pattern_.check("baseline", c.rx_.data(), opts_.size_, i, c.seq_, 0);
                        ++done;
                        c.seq_ += 1;
                        c.remaining_ -= 1;
                        if (c.remaining_ > 0) {
                            start_round(i);
                        } else {
                            --active;
                        }
                    }
                }
            }
        }
    }

private:
    struct conn {
        fd_guard fd_;
        std::vector<std::uint8_t> tx_, rx_;
        std::size_t sent_ = 0, received_ = 0;
        std::uint64_t seq_ = 0, remaining_ = 0;
        bool want_out_ = false;
        steady::time_point t0_{};
    };

    void start_round(std::uint32_t i) {
        auto &c = conns_[i];
        pattern_.fill(c.tx_.data(), i, c.seq_);
        c.sent_ = 0;
        c.received_ = 0;
        c.t0_ = steady::now();
        if (opts_.udp_) {
            ssize_t w = sendto(c.fd_.get(), c.tx_.data(), opts_.size_, 0, reinterpret_cast<const sockaddr *>(&server_),
                               sizeof server_);
            check_sys(w, "baseline: sendto");
            c.sent_ = opts_.size_;
            return;
        }
        send_more(i);
    }

    void send_more(std::uint32_t i) {
        auto &c = conns_[i];
        ssize_t w = send(c.fd_.get(), c.tx_.data() + c.sent_, opts_.size_ - c.sent_, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno != EAGAIN && errno != EINTR) fail("baseline: send on connection %u: %s", i, std::strerror(errno));
            w = 0;
        }
        c.sent_ += static_cast<std::size_t>(w);
        bool want_out = c.sent_ < opts_.size_;
        if (want_out != c.want_out_) {
            c.want_out_ = want_out;
            epoll_set(ep_.get(), EPOLL_CTL_MOD, c.fd_.get(), EPOLLIN | (want_out ? EPOLLOUT : 0u), i);
        }
    }

    // One read per readiness event, like one pop per completion on the Demi side. Returns false
    // when nothing was read.
    bool receive(std::uint32_t i) {
        auto &c = conns_[i];
        ssize_t n = opts_.udp_ ? recv(c.fd_.get(), c.rx_.data(), c.rx_.size(), 0)
                               : recv(c.fd_.get(), c.rx_.data() + c.received_, opts_.size_ - c.received_, 0);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) return false;
            fail("baseline: recv on connection %u: %s", i, std::strerror(errno));
        }
        if (n == 0 && !opts_.udp_)
            fail("baseline: connection %u: the server closed the connection after %zu of %zu bytes", i, c.received_,
                 opts_.size_);
        auto len = static_cast<std::size_t>(n);
        if (opts_.udp_ && len != opts_.size_)
            fail("baseline: socket %u: received a datagram of %zu bytes, expected %zu", i, len, opts_.size_);
        c.received_ += len;
        return true;
    }

    const options &opts_;
    sockaddr_in server_;
    pattern_tape pattern_;
    fd_guard ep_;
    std::vector<conn> conns_;
};

// ---------------------------------------------------------------------------------------------
// One measured phase against one server: connect, warm up, measure, close.

template <typename Client>
run_result run_client_phase(const options &o, const char *name, const sockaddr_in &server, std::uint64_t count,
                            const deadline &limit) {
    run_result r;
    r.name_ = name;
    Client client(o, server);
    r.nodelay_ = client.open(limit);
    if (o.warmup_ > 0) client.run(std::vector<std::uint64_t>(o.conns_, o.warmup_), nullptr, limit);
    r.rtt_ns_.reserve(count);
    double cpu0 = self_cpu_seconds();
    auto t0 = steady::now();
    client.run(split_count(count, o.conns_), &r.rtt_ns_, limit);
    r.elapsed_s_ = std::chrono::duration<double>(steady::now() - t0).count();
    r.client_cpu_s_ = self_cpu_seconds() - cpu0;
    return r;
}

// ---------------------------------------------------------------------------------------------
// Child server processes for pingpong: /proc/self/exe is spawned in server mode; it reports its
// port on a pipe once it listens, and dies with its parent.

class child_server {
public:
    child_server(const options &o, bool baseline, const deadline &limit) {
        int fds[2];
        check_sys(pipe2(fds, 0), "pipe2");
        fd_guard rd(fds[0]), wr(fds[1]);
        check_sys(fcntl(rd.get(), F_SETFD, FD_CLOEXEC), "fcntl");

        std::vector<std::string> args = {"demi-perf",  "server",
                                         "--addr",     o.addr_,
                                         "--ready-fd", std::to_string(wr.get()),
                                         "--timeout",  std::to_string(static_cast<long>(limit.remaining_s()) + 10)};
        if (o.udp_) args.emplace_back("--udp");
        if (baseline) args.emplace_back(o.baseline_spin_ ? "--baseline-spin" : "--baseline");
        if (o.verbose_) args.emplace_back("--verbose");
        if (o.pin_) {
            args.emplace_back("--cpu");
            args.emplace_back("1");
        }
        std::vector<char *> argv;
        for (auto &a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        started_ = steady::now();
        int rc = posix_spawn(&pid_, "/proc/self/exe", nullptr, nullptr, argv.data(), environ);
        if (rc != 0) fail("cannot spawn the server process: %s", std::strerror(rc));
        wr.reset();

        // Read "PORT\n".
        std::string line;
        while (line.find('\n') == std::string::npos) {
            pollfd p{rd.get(), POLLIN, 0};
            int n = poll(&p, 1, std::min(limit.remaining_ms(), 30000));
            if (n < 0 && errno == EINTR) continue;
            check_sys(n, "poll");
            if (n == 0) fail("the %s server process did not become ready in time", baseline ? "baseline" : "demi");
            char buf[32];
            ssize_t r = read(rd.get(), buf, sizeof buf);
            if (r < 0 && errno == EINTR) continue;
            check_sys(r, "read");
            if (r == 0)
                fail("the %s server process exited before it was ready (its error is printed above)",
                     baseline ? "baseline" : "demi");
            line.append(buf, static_cast<std::size_t>(r));
        }
        port_ = static_cast<std::uint16_t>(std::strtoul(line.c_str(), nullptr, 10));
    }

    child_server(const child_server &) = delete;
    child_server &operator=(const child_server &) = delete;
    ~child_server() { stop(); }

    std::uint16_t port() const { return port_; }
    // CPU time and life of the stopped server.
    double cpu_s() const { return cpu_s_; }
    double wall_s() const { return wall_s_; }

    // Stops the server. Returns a complaint if it had died on its own before.
    std::string stop() {
        if (pid_ <= 0) return {};
        std::string complaint;
        int status = 0;
        rusage ru{};
        wall_s_ = std::chrono::duration<double>(steady::now() - started_).count();
        // The CPU time up to now: after SIGTERM the server still notices it (up to 100 ms of
        // polling) and tears its libOS down, which its rusage at exit would count too.
        double cpu_now = -1;
        clockid_t cid{};
        if (timespec t{}; clock_getcpuclockid(pid_, &cid) == 0 && clock_gettime(cid, &t) == 0)
            cpu_now = static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
        pid_t r = wait4(pid_, &status, WNOHANG, &ru);
        if (r == pid_) {
            complaint = "server process had exited on its own (status " + std::to_string(status) + ")";
            cpu_now = -1;
        } else {
            kill(pid_, SIGTERM);
            bool gone = false;
            for (int i = 0; i < 200 && !gone; ++i) { // up to 2 s, then SIGKILL
                gone = wait4(pid_, &status, WNOHANG, &ru) == pid_;
                if (!gone) usleep(10000);
            }
            if (!gone) {
                kill(pid_, SIGKILL);
                (void)wait4(pid_, &status, 0, &ru);
            }
        }
        cpu_s_ = cpu_now >= 0 ? cpu_now : cpu_seconds(ru);
        pid_ = -1;
        return complaint;
    }

private:
    pid_t pid_ = -1;
    std::uint16_t port_ = 0;
    steady::time_point started_{};
    double cpu_s_ = 0, wall_s_ = 0;
};

// Runs one phase in pingpong mode: spawns its server, runs the client, stops the server. Spawning
// per phase keeps an idle server (which may busy-poll) from stealing CPU from the other side.
run_result pingpong_phase(const options &o, bool baseline, std::uint64_t count, const deadline &limit) {
    child_server server(o, baseline, limit);
    sockaddr_in addr = parse_addr(o.addr_);
    if (addr.sin_addr.s_addr == htonl(INADDR_ANY)) addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(server.port());
    run_result r = baseline ? run_client_phase<kernel_client>(o, "baseline", addr, count, limit)
                            : run_client_phase<demi_client>(o, "demi", addr, count, limit);
    std::string complaint = server.stop();
    if (!complaint.empty()) std::fprintf(stderr, "demi-perf: warning: %s\n", complaint.c_str());
    r.server_cpu_s_ = server.cpu_s();
    r.server_wall_s_ = server.wall_s();
    return r;
}

void init_demi(int argc, char **argv) {
    demi_args args{};
    args.argc = argc;
    args.argv = argv;
    args.callback = nullptr;
    int rc = demi_init(&args);
    if (rc != 0) fail("demi_init failed for LIBOS=%s: %s (errno %d)", libos_name(), errno_name(rc), rc);
}

// Writes the runs' round trips, unsorted (summarize sorts them), as "name ns" lines.
void write_samples(const options &o, const std::vector<run_result> &runs) {
    if (o.samples_path_.empty()) return;
    std::FILE *f = std::fopen(o.samples_path_.c_str(), "w");
    if (f == nullptr) fail("--samples %s: %s", o.samples_path_.c_str(), std::strerror(errno));
    for (const auto &r : runs)
        for (auto v : r.rtt_ns_)
            std::fprintf(f, "%s %llu\n", r.name_.c_str(), static_cast<unsigned long long>(v));
    if (std::fclose(f) != 0) fail("--samples %s: %s", o.samples_path_.c_str(), std::strerror(errno));
}

void report(const options &o, std::vector<run_result> &runs) {
    write_samples(o, runs);
    std::vector<summary> sums;
    for (auto &r : runs)
        sums.push_back(summarize(r, o.size_));
    for (std::size_t i = 0; i < runs.size(); ++i)
        print_summary(o, runs[i], sums[i]);
    if (runs.size() == 2 && sums[1].p50_us_ > 0 && sums[1].p99_us_ > 0) {
        double r50 = sums[0].p50_us_ / sums[1].p50_us_;
        double r99 = sums[0].p99_us_ / sums[1].p99_us_;
        double rmsg = sums[1].msgs_per_s_ > 0 ? sums[0].msgs_per_s_ / sums[1].msgs_per_s_ : 0;
        std::printf("ratio demi/baseline: p50 %.3f  p99 %.3f  msg/s %.3f\n", r50, r99, rmsg);
        for (std::size_t i = 0; i < runs.size(); ++i)
            print_result_line(o, runs[i], sums[i]);
        std::printf("RESULT run=ratio libos=%s proto=%s size=%zu conns=%u p50=%.4f p99=%.4f msgs_per_s=%.4f\n",
                    libos_name(), o.udp_ ? "udp" : "tcp", o.size_, o.conns_, r50, r99, rmsg);
    } else {
        for (std::size_t i = 0; i < runs.size(); ++i)
            print_result_line(o, runs[i], sums[i]);
    }
}

// "N CPUs, load average L": other work on the machine skews latency, busy-polling most of all.
std::string host_load() {
    double load = -1;
    if (std::FILE *f = std::fopen("/proc/loadavg", "r")) {
        if (std::fscanf(f, "%lf", &load) != 1) load = -1;
        std::fclose(f);
    }
    char text[96];
    std::snprintf(text, sizeof text, "%ld CPUs online, load average %.2f", sysconf(_SC_NPROCESSORS_ONLN), load);
    return text;
}

extern "C" void on_alarm(int) {
    static const char msg[] = "demi-perf: hard time limit reached (a wait did not return): giving up\n";
    ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)ignored;
    _exit(1);
}

int run(int argc, char **argv) {
    options o = parse_args(argc, argv);
    if (!o.samples_path_.empty()) { // fail now, not after the run
        std::FILE *f = std::fopen(o.samples_path_.c_str(), "w");
        if (f == nullptr) fail("--samples %s: %s", o.samples_path_.c_str(), std::strerror(errno));
        std::fclose(f);
    }
    std::signal(SIGPIPE, SIG_IGN);
    pin_to_cpu(o.cpu_);

    if (o.mode_ == run_mode::server) {
        if (o.ready_fd_ >= 0) {
            // Spawned by pingpong: die with the parent.
            (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() == 1) return 1;
        }
        struct sigaction stop {};
        stop.sa_handler = on_stop; // no SA_RESTART: a blocked epoll_wait returns EINTR
        sigemptyset(&stop.sa_mask);
        (void)sigaction(SIGINT, &stop, nullptr);
        (void)sigaction(SIGTERM, &stop, nullptr);
        deadline limit = o.timeout_given_ ? deadline(o.timeout_s_) : deadline();
        if (o.baseline_) {
            kernel_server(o).run(limit);
        } else {
            init_demi(argc, argv);
            demi_server(o).run(limit);
        }
        return 0;
    }

    // Backstop in case a wait ignores its timeout: the process ends a little after --timeout.
    std::signal(SIGALRM, on_alarm);
    alarm(static_cast<unsigned>(o.timeout_s_) + 5);
    deadline limit(o.timeout_s_);

    std::printf("demi-perf %s: libos=%s proto=%s size=%zu count=%llu conns=%u warmup=%llu/conn%s\n",
                o.mode_ == run_mode::client ? "client" : "pingpong", libos_name(), o.udp_ ? "udp" : "tcp", o.size_,
                static_cast<unsigned long long>(o.count_), o.conns_, static_cast<unsigned long long>(o.warmup_),
                o.baseline_spin_                           ? " baseline=kernel+epoll(spin)"
                : o.baseline_ || !o.baseline_addr_.empty() ? " baseline=kernel+epoll"
                                                           : "");
    std::printf("host: %s\n", host_load().c_str());
    std::fflush(stdout);

    std::vector<run_result> runs;
    if (o.mode_ == run_mode::client) {
        init_demi(argc, argv);
        runs.push_back(run_client_phase<demi_client>(o, "demi", parse_addr(o.addr_), o.count_, limit));
        if (!o.baseline_addr_.empty())
            runs.push_back(
                run_client_phase<kernel_client>(o, "baseline", parse_addr(o.baseline_addr_), o.count_, limit));
    } else {
        if (o.pin_) pin_to_cpu(0);
        // The servers are spawned (exec'd) children, so demi_init here is safe before or after.
        init_demi(argc, argv);
        run_result demi, base;
        demi.name_ = "demi";
        base.name_ = "baseline";
        auto per_round = split_count(o.count_, o.rounds_);
        for (std::uint32_t round = 0; round < o.rounds_; ++round) {
            // Alternate which side goes first so that drift over time does not favour one.
            bool baseline_first = o.baseline_ && (round % 2 == 1);
            for (int k = 0; k < (o.baseline_ ? 2 : 1); ++k) {
                bool is_baseline = (k == 0) == baseline_first;
                run_result r = pingpong_phase(o, is_baseline, per_round[round], limit);
                if (o.verbose_) {
                    run_result copy = r;
                    summary s = summarize(copy, o.size_);
                    std::printf("  round %u %-8s p50 %.2f us  p99 %.2f us  %.0f msg/s\n", round, r.name_.c_str(),
                                s.p50_us_, s.p99_us_, s.msgs_per_s_);
                }
                (is_baseline ? base : demi).merge(std::move(r));
            }
        }
        runs.push_back(std::move(demi));
        if (o.baseline_) runs.push_back(std::move(base));
    }
    report(o, runs);
    return 0;
}

} // namespace
} // namespace demi::perf

int main(int argc, char **argv) {
    try {
        return demi::perf::run(argc, argv);
    } catch (const std::exception &e) {
        std::fflush(stdout);
        std::fprintf(stderr, "demi-perf: error: %s\n", e.what());
        return 1;
    }
}
