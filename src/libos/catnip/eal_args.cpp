// Building the EAL's argv: no DPDK call here (see eal.hpp).
#include "libos/catnip/eal.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string_view>

namespace demi::catnip {

namespace {

std::vector<std::string> split_words(const std::string &s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string w; in >> w;) out.push_back(w);
    return out;
}

// True if an argument is `opt` itself or `opt=...` (long options), or starts with `opt` for a
// one-letter option given with its value attached ("-m1024").
bool names(const std::string &arg, std::string_view opt) {
    if (arg == opt) return true;
    if (arg.size() > opt.size() && arg.compare(0, opt.size(), opt) == 0) {
        if (opt.size() == 2 && opt[0] == '-' && opt[1] != '-') return true; // -m1024, -a0000:01:00.0
        return arg[opt.size()] == '=';
    }
    return false;
}

bool any_of(const std::vector<std::string> &args, std::initializer_list<std::string_view> opts) {
    return std::any_of(args.begin(), args.end(), [&](const std::string &a) {
        return std::any_of(opts.begin(), opts.end(), [&](std::string_view o) { return names(a, o); });
    });
}

} // namespace

std::vector<std::string> eal_arguments(const rt::config &cfg, const eal_environment &env) {
    std::vector<std::string> args;
    if (env.eal_init_env && !split_words(*env.eal_init_env).empty())
        args = split_words(*env.eal_init_env);
    else
        for (const auto &a : cfg.eal_init)
            if (!a.empty()) args.push_back(a);

    if (!any_of(args, {"-a", "-b", "--allow", "--block", "--pci-whitelist", "--pci-blacklist", "--no-pci"}))
        args.emplace_back("--no-pci");
    if (!any_of(args, {"--in-memory", "--no-huge", "-m", "--socket-mem", "--huge-dir", "--legacy-mem",
                       "--single-file-segments"})) {
        if (env.free_hugepages_2m >= min_free_hugepages) {
            args.emplace_back("--in-memory");
        } else {
            // --in-memory does not go with --no-huge (which implies --legacy-mem); --no-shconf leaves no
            // shared config files behind instead.
            args.emplace_back("--no-huge");
            args.emplace_back("-m");
            args.emplace_back("1024");
            if (!any_of(args, {"--no-shconf"})) args.emplace_back("--no-shconf");
        }
    }
    if (!any_of(args, {"--file-prefix"})) args.push_back("--file-prefix=demi-" + std::to_string(env.pid));
    if (!any_of(args, {"--log-level"})) {
        // DPDK levels: 4 error, 6 notice, 7 info, 8 debug.
        int lvl = 4;
        if (env.log_level == log::level::info) lvl = 6;
        if (env.log_level == log::level::debug) lvl = 7;
        if (env.log_level == log::level::trace) lvl = 8;
        args.push_back("--log-level=" + std::to_string(lvl));
    }
    return args;
}

eal_environment current_eal_environment() {
    eal_environment e;
    if (const char *v = std::getenv("DEMI_DPDK_EAL_INIT")) e.eal_init_env = v;
    std::ifstream f("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages");
    if (!(f >> e.free_hugepages_2m)) e.free_hugepages_2m = 0;
    e.pid = static_cast<long>(::getpid());
    e.log_level = log::threshold();
    return e;
}

} // namespace demi::catnip
