#include "runtime/config.hpp"

#include "common/log.hpp"

#include <arpa/inet.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace demi::rt {

std::optional<std::array<uint8_t, 6>> parse_mac(const std::string &s) {
    std::array<uint8_t, 6> mac{};
    unsigned v[6];
    char tail;
    if (std::sscanf(s.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6 &&
        std::sscanf(s.c_str(), "%2x-%2x-%2x-%2x-%2x-%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
        return std::nullopt;
    for (int i = 0; i < 6; ++i) mac[i] = static_cast<uint8_t>(v[i]);
    return mac;
}

std::optional<uint32_t> parse_ipv4(const std::string &s) {
    in_addr a{};
    if (inet_pton(AF_INET, s.c_str(), &a) != 1) return std::nullopt;
    return a.s_addr;
}

namespace {

struct parse_error {
    std::string key, problem;
};

void flatten(const YAML::Node &n, const std::string &prefix, std::map<std::string, std::string> &out) {
    if (n.IsNull()) {
        if (!prefix.empty()) out[prefix] = ""; // `key:` with no value: checked like any other
    } else if (n.IsScalar()) {
        out[prefix] = n.Scalar();
    } else if (n.IsSequence()) {
        for (size_t i = 0; i < n.size(); ++i) flatten(n[i], prefix + "." + std::to_string(i), out);
    } else if (n.IsMap()) {
        for (const auto &kv : n) {
            const std::string k = kv.first.as<std::string>();
            flatten(kv.second, prefix.empty() ? k : prefix + "." + k, out);
        }
    }
}

bool parse_bool(const std::string &v, bool *out) {
    if (v == "true" || v == "True" || v == "TRUE" || v == "yes" || v == "1" || v == "on") return *out = true, true;
    if (v == "false" || v == "False" || v == "FALSE" || v == "no" || v == "0" || v == "off") return (*out = false), true;
    return false;
}

bool parse_u32(const std::string &v, uint32_t *out) {
    if (v.empty()) return false;
    char *end = nullptr;
    errno = 0;
    // Decimal only: "010" is ten, not eight.
    unsigned long long x = std::strtoull(v.c_str(), &end, 10);
    if (errno != 0 || *end != '\0' || x > 0xffffffffull || v[0] == '-' || v[0] == '+' || v[0] == ' ') return false;
    *out = static_cast<uint32_t>(x);
    return true;
}

// Applies one dotted key to the typed fields. Returns a problem description, or "" when fine.
std::string apply(config &c, const std::string &key, const std::string &v) {
    auto want_bool = [&](bool *dst) { return parse_bool(v, dst) ? std::string() : "'" + v + "' is not a boolean"; };
    auto want_u32 = [&](uint32_t *dst) {
        return parse_u32(v, dst) ? std::string() : "'" + v + "' is not a non-negative 32-bit integer";
    };
    if (key == "demikernel.local_ipv4_addr") {
        auto a = parse_ipv4(v);
        if (!a) return "'" + v + "' is not an IPv4 address";
        c.local_ipv4_addr = *a;
    } else if (key == "demikernel.local_link_addr") {
        auto m = parse_mac(v);
        if (!m) return "'" + v + "' is not a MAC address (aa:bb:cc:dd:ee:ff)";
        c.local_link_addr = *m;
    } else if (key == "raw_socket.linux_interface_name") {
        c.linux_interface_name = v;
    } else if (key == "dpdk.eal_init") {
        return "must be a list of strings, not '" + v + "'";
    } else if (key.rfind("dpdk.eal_init.", 0) == 0) {
        uint32_t idx = 0;
        if (!parse_u32(key.substr(sizeof("dpdk.eal_init.") - 1), &idx) || idx > 1024) return "not a list of strings";
        if (c.eal_init.size() <= idx) c.eal_init.resize(idx + 1);
        c.eal_init[idx] = v;
    } else if (key == "tcp_socket_options.nodelay") {
        return want_bool(&c.tcp.nodelay);
    } else if (key == "tcp_socket_options.keepalive.enabled") {
        return want_bool(&c.tcp.keepalive);
    } else if (key == "tcp_socket_options.keepalive.time_millis") {
        return want_u32(&c.tcp.keepalive_time_ms);
    } else if (key == "tcp_socket_options.keepalive.interval") {
        return want_u32(&c.tcp.keepalive_interval_ms);
    } else if (key == "tcp_socket_options.linger.enabled") {
        return want_bool(&c.tcp.linger);
    } else if (key == "tcp_socket_options.linger.time_seconds") {
        return want_u32(&c.tcp.linger_seconds);
    } else if (key == "inetstack_config.mtu") {
        if (auto p = want_u32(&c.mtu); !p.empty()) return p;
        if (c.mtu < 68 || c.mtu > 9216) return "MTU " + v + " is outside 68..9216";
    } else if (key == "inetstack_config.mss") {
        if (auto p = want_u32(&c.mss); !p.empty()) return p;
        if (c.mss < 64 || c.mss > 9176) return "MSS " + v + " is outside 64..9176";
    } else if (key.rfind("inetstack_config.arp_table.", 0) == 0) {
        const std::string mac = key.substr(sizeof("inetstack_config.arp_table.") - 1);
        if (!parse_mac(mac)) return "ARP entry key '" + mac + "' is not a MAC address";
        if (!parse_ipv4(v)) return "ARP entry value '" + v + "' is not an IPv4 address";
        c.arp_table[mac] = v;
    } else if (key == "demi.poll_spin_us") {
        return want_u32(&c.poll_spin_us);
    }
    return {};
}

} // namespace

result<config> parse_config(const std::string &text, const std::string &source, std::string *why) {
    config c;
    c.source = source;
    YAML::Node root;
    try {
        root = YAML::Load(text);
    } catch (const YAML::Exception &e) {
        *why = source + ": line " + std::to_string(e.mark.line + 1) + ": " + e.msg;
        return error(EINVAL);
    }
    if (!root.IsNull() && !root.IsMap()) {
        *why = source + ": the top level must be a mapping of sections (demikernel:, dpdk:, ...)";
        return error(EINVAL);
    }
    try {
        flatten(root, "", c.raw);
    } catch (const YAML::Exception &e) {
        *why = source + ": " + e.msg;
        return error(EINVAL);
    }
    for (const auto &[key, value] : c.raw) {
        if (auto problem = apply(c, key, value); !problem.empty()) {
            *why = source + ": key " + key + ": " + problem;
            return error(EINVAL);
        }
    }
    return c;
}

result<config> load_config(const std::string &path, bool use_env) {
    config c;
    std::string why;
    if (!path.empty()) {
        std::ifstream in(path);
        if (!in) {
            std::fprintf(stderr, "demi: config %s: cannot open: %s\n", path.c_str(), std::strerror(errno));
            return error(EINVAL);
        }
        std::stringstream ss;
        ss << in.rdbuf();
        auto r = parse_config(ss.str(), path, &why);
        if (!r) {
            std::fprintf(stderr, "demi: config %s\n", why.c_str());
            return error(EINVAL);
        }
        c = std::move(*r);
    }
    if (use_env) {
        // Environment overrides, each named after the key it replaces.
        static constexpr struct {
            const char *env, *key;
        } overrides[] = {
            {"DEMI_LOCAL_IPV4_ADDR", "demikernel.local_ipv4_addr"},
            {"DEMI_LOCAL_LINK_ADDR", "demikernel.local_link_addr"},
            {"DEMI_INTERFACE_NAME", "raw_socket.linux_interface_name"},
            {"DEMI_TCP_NODELAY", "tcp_socket_options.nodelay"},
            {"DEMI_MTU", "inetstack_config.mtu"},
            {"DEMI_MSS", "inetstack_config.mss"},
            {"DEMI_POLL_SPIN_US", "demi.poll_spin_us"},
        };
        for (const auto &o : overrides) {
            const char *v = std::getenv(o.env);
            if (v == nullptr) continue;
            if (auto problem = apply(c, o.key, v); !problem.empty()) {
                std::fprintf(stderr, "demi: config environment %s (key %s): %s\n", o.env, o.key, problem.c_str());
                return error(EINVAL);
            }
            c.raw[o.key] = v;
        }
    }
    return c;
}

bool read_raw_u32(const config &cfg, const char *key, uint32_t lo, uint32_t hi, uint32_t *out) {
    auto it = cfg.raw.find(key);
    if (it == cfg.raw.end()) return true;
    uint32_t x = 0;
    if (!parse_u32(it->second, &x) || x < lo || x > hi) {
        DEMI_LOG(error, "config", "config %s: key %s: '%s' is not an integer in %u..%u", cfg.source.c_str(), key,
                 it->second.c_str(), lo, hi);
        return false;
    }
    *out = x;
    return true;
}

} // namespace demi::rt
