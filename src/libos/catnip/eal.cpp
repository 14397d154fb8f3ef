// Starting the EAL (see eal.hpp).
#include "libos/catnip/eal.hpp"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>

#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string_view>

namespace demi::catnip {

namespace {

// The EAL is process state by DPDK's design (rte_eal_init runs once per process, even after a
// failure), so what happened to it is process state too. Guarded: catnip instances may start on
// different threads.
struct eal_state {
    std::mutex mu;
    bool attempted = false;
    int code = 0; // 0 started, else the errno of the failed attempt
    std::vector<std::string> args;
};

eal_state &state() {
    static eal_state s;
    return s;
}

std::string joined(const std::vector<std::string> &args) {
    std::string s;
    for (const auto &a : args) s += (s.empty() ? "" : " ") + a;
    return s;
}

// Every EAL process has a runtime directory, <base>/<file prefix> (/var/run/dpdk/demi-1234 for root),
// holding at least DPDK's telemetry socket, which DPDK leaves behind when the process ends. Ours is
// removed at a normal exit; those of processes started with the default prefix (demi-<pid>) that
// ended otherwise (killed) are removed by the next catnip process to start.
void remove_runtime_dir(const std::filesystem::path &dir) noexcept {
    std::error_code ec;
    std::filesystem::directory_iterator it(dir, ec), end;
    for (; !ec && it != end; it.increment(ec))
        if (!it->is_directory(ec)) std::filesystem::remove(it->path(), ec); // a symlink itself, not its target
    std::filesystem::remove(dir, ec); // only if it is empty now
}

std::filesystem::path &own_runtime_dir() {
    static std::filesystem::path dir;
    return dir;
}

void remove_own_runtime_dir() noexcept {
    if (!own_runtime_dir().empty()) remove_runtime_dir(own_runtime_dir());
}

// The pid of a default-prefix directory name, demi-<pid> (decimal, no leading zero); 0 otherwise.
long default_prefix_pid(const std::string &name) noexcept {
    constexpr std::string_view prefix = "demi-";
    if (name.size() <= prefix.size() || name.size() > prefix.size() + 9 ||
        name.compare(0, prefix.size(), prefix) != 0 || name[prefix.size()] == '0')
        return 0;
    long pid = 0;
    for (size_t i = prefix.size(); i < name.size(); ++i) {
        if (name[i] < '0' || name[i] > '9') return 0;
        pid = pid * 10 + (name[i] - '0');
    }
    return pid;
}

// Whether something may listen on the directory's telemetry socket. DPDK's telemetry thread does for
// as long as its EAL process lives, in whatever pid namespace that process is (the pid in the name
// means something only there). Only two answers say nobody does: connect() refused (a socket left by
// an ended process, or a file that is no socket) and no socket at all (telemetry was off); anything
// else, including not being able to ask, keeps the directory.
bool telemetry_may_answer(const std::filesystem::path &dir) noexcept {
    const std::string path = (dir / "dpdk_telemetry.v2").string();
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (path.size() >= sizeof a.sun_path) return true;
    std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
    // Non-blocking: a listener whose backlog is full answers EAGAIN instead of stalling demi_init.
    const int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return true;
    const int rc = ::connect(fd, reinterpret_cast<const sockaddr *>(&a), sizeof a);
    const int e = errno;
    ::close(fd);
    return rc == 0 || (e != ECONNREFUSED && e != ENOENT); // EAGAIN, EPROTOTYPE: someone is there
}

void sweep_stale_runtime_dirs(const std::filesystem::path &base) noexcept {
    std::error_code ec;
    std::filesystem::directory_iterator it(base, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
        const long pid = default_prefix_pid(it->path().filename().string());
        if (pid == 0 || pid == static_cast<long>(getpid())) continue;
        // Only a real directory of our own user (not a symlink planted in a shared base like /tmp/dpdk).
        struct stat st {};
        if (lstat(it->path().c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid()) continue;
        if (kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue; // alive, or not ours to know
        // No such pid here, but the directory may be shared with a live process of another pid
        // namespace (a container's): its telemetry socket still answers.
        if (telemetry_may_answer(it->path())) continue;
        DEMI_LOG(debug, "catnip", "removing %s, left by an EAL process that has ended", it->path().c_str());
        remove_runtime_dir(it->path());
    }
}

} // namespace

result<void> eal_start(const rt::config &cfg) {
    auto args = eal_arguments(cfg, current_eal_environment());
    auto &st = state();
    std::lock_guard lock(st.mu);
    if (st.attempted) {
        if (args != st.args) {
            DEMI_LOG(error, "catnip", "EAL already started with '%s'; cannot start it again with '%s'",
                     joined(st.args).c_str(), joined(args).c_str());
            return error(EALREADY);
        }
        if (st.code != 0) return error(st.code);
        return ok();
    }
    st.attempted = true;
    st.args = args;

    std::vector<std::string> storage;
    storage.reserve(args.size() + 1);
    storage.emplace_back("demi");
    storage.insert(storage.end(), args.begin(), args.end());
    // rte_eal_init may permute argv and keeps pointers into it: the strings live as long as the process.
    static std::vector<std::string> kept;
    kept = storage;
    static std::vector<char *> argv;
    argv.clear();
    for (auto &s : kept) argv.push_back(s.data());
    argv.push_back(nullptr);

    DEMI_LOG(info, "catnip", "starting the DPDK EAL: %s", joined(args).c_str());
    const int rc = rte_eal_init(static_cast<int>(kept.size()), argv.data());
    // Only a primary that started owns its directory: a failed start may have found another
    // process's (the same prefix), and a secondary shares its primary's.
    if (const char *dir = rte_eal_get_runtime_dir();
        rc >= 0 && rte_eal_process_type() == RTE_PROC_PRIMARY && dir != nullptr && dir[0] != '\0') {
        own_runtime_dir() = dir;
        std::atexit(remove_own_runtime_dir);
        sweep_stale_runtime_dirs(own_runtime_dir().parent_path());
    }
    if (rc < 0) {
        const int e = rte_errno > 0 ? rte_errno : EINVAL;
        st.code = e;
        DEMI_LOG(error, "catnip", "DPDK EAL initialisation failed with '%s': %s (set DEMI_LOG=debug for DPDK's own log)",
                 joined(args).c_str(), rte_strerror(e));
        return error(e);
    }
    if (rte_eth_dev_count_avail() == 0) {
        // The EAL stays up (it cannot be started twice); the next eal_start says the same.
        st.code = ENODEV;
        const bool vdev = std::any_of(args.begin(), args.end(), [](const std::string &a) { return a.rfind("--vdev", 0) == 0; });
        if (vdev)
            DEMI_LOG(error, "catnip",
                     "no DPDK port: the device(s) given did not start (a wrong vdev argument or socket path? "
                     "DPDK says why with DEMI_LOG=debug) (EAL arguments: '%s')",
                     joined(args).c_str());
        else
        DEMI_LOG(error, "catnip",
                 "no DPDK port: give a vdev in dpdk.eal_init or DEMI_DPDK_EAL_INIT, e.g. "
                 "--vdev=net_memif0,role=server,socket=/tmp/demi.sock,socket-abstract=no (EAL arguments: '%s')",
                 joined(args).c_str());
        return error(ENODEV);
    }
    DEMI_LOG(info, "catnip", "DPDK EAL started, %u port(s)", rte_eth_dev_count_avail());
    return ok();
}

std::vector<std::string> eal_started_arguments() {
    auto &st = state();
    std::lock_guard lock(st.mu);
    return st.attempted && st.code == 0 ? st.args : std::vector<std::string>{};
}

} // namespace demi::catnip
