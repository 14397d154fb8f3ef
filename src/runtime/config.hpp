// Configuration: a YAML file with Demikernel's keys (named by CONFIG_PATH), then environment
// overrides. Every error names the file, the key and the problem.
#pragma once

#include "common/result.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace demi::rt {

struct tcp_socket_options {
    bool nodelay = true;           ///< tcp_socket_options.nodelay
    bool keepalive = false;        ///< tcp_socket_options.keepalive.enabled
    uint32_t keepalive_time_ms = 0; ///< tcp_socket_options.keepalive.time_millis
    uint32_t keepalive_interval_ms = 0; ///< tcp_socket_options.keepalive.interval
    bool linger = false;           ///< tcp_socket_options.linger.enabled
    uint32_t linger_seconds = 0;   ///< tcp_socket_options.linger.time_seconds
};

struct config {
    std::string source = "<defaults>"; ///< where it came from (for messages)

    // demikernel.*
    std::optional<uint32_t> local_ipv4_addr;              ///< network byte order
    std::optional<std::array<uint8_t, 6>> local_link_addr;

    // raw_socket.*
    std::string linux_interface_name;

    // dpdk.*
    std::vector<std::string> eal_init;

    tcp_socket_options tcp;

    // inetstack_config.*
    uint32_t mtu = 1500;
    uint32_t mss = 0; ///< 0 (not given): the MTU less 40 bytes of IPv4 and TCP headers
    std::map<std::string, std::string> arp_table; ///< MAC -> IPv4, as written

    // demi.* (Demi's own keys)
    uint32_t poll_spin_us = 200; ///< busy-poll this long with nothing to do before sleeping in the device

    /// Every scalar of the file, by dotted key ("dpdk.eal_init.0"), for backends with keys of their own.
    std::map<std::string, std::string> raw;
};

/// Parses YAML text; `source` names it in messages. EINVAL (with *why set) on any problem.
result<config> parse_config(const std::string &text, const std::string &source, std::string *why);

/// Loads `path` (empty: built-in defaults), then applies environment overrides when `use_env`.
/// On error prints one line naming file, key and problem to stderr and returns EINVAL.
result<config> load_config(const std::string &path, bool use_env);

/// A backend's own integer key (from `cfg.raw`): true with *out untouched when the key is absent, true
/// with *out set when its value is a decimal integer in lo..hi, else false with an error naming the
/// file, the key and the range on the log.
bool read_raw_u32(const config &cfg, const char *key, uint32_t lo, uint32_t hi, uint32_t *out);

/// Parses "aa:bb:cc:dd:ee:ff".
std::optional<std::array<uint8_t, 6>> parse_mac(const std::string &s);
/// Parses a dotted IPv4 address into network byte order.
std::optional<uint32_t> parse_ipv4(const std::string &s);

} // namespace demi::rt
