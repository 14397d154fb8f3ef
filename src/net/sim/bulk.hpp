// The bulk-transfer scenario shared by the simulator tests and bench/sim_goodput: host 0 connects to
// host 1 and sends `bytes_` octets of a seeded pattern, then closes; host 1 accepts, reads and checks
// every octet against the pattern at its offset, and closes at end of stream. With echo_, host 1 also
// sends every octet back as it reads it, and host 0 checks the echo and closes once it has all of it
// (data and ACKs then share segments both ways). Faults apply to the frames both hosts transmit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "common/clock.hpp"
#include "net/phy/fault_injector.hpp"
#include "net/phy/sim_network.hpp"
#include "net/sim/simulator.hpp"
#include "net/stack/tcp/tcb.hpp"

namespace demi::sim {

/// The octet at `offset` of the pattern for `seed` (eight octets per splitmix64 draw).
[[nodiscard]] std::byte pattern_at(std::uint64_t seed, std::uint64_t offset) noexcept;
/// Fills `out` with the pattern from `offset` on.
void fill_pattern(std::uint64_t seed, std::uint64_t offset, std::span<std::byte> out) noexcept;
/// The first offset where `data` differs from the pattern at `offset`, or data.size().
[[nodiscard]] std::size_t check_pattern(std::uint64_t seed, std::uint64_t offset,
                                        std::span<const std::byte> data) noexcept;

/// A 1 Gbit/s link with 50 us one-way latency: what the scenarios use unless told otherwise.
[[nodiscard]] phy::link_params default_link() noexcept;
/// TCP settings for the scenarios: the defaults with Linux's 200 ms minimum RTO and a short TIME-WAIT.
[[nodiscard]] net::tcp::config default_tcp() noexcept;

struct bulk_params {
    std::uint64_t seed_ = 1;
    std::size_t bytes_ = 1 << 20;
    phy::fault_params faults_{}; // on both hosts' transmitted frames; all zero: no injector
    phy::link_params link_ = default_link();
    net::tcp::config tcp_ = default_tcp();
    std::size_t chunk_ = 64 * 1024; // octets per send()
    run_limits limits_{.max_steps_ = 20'000'000, .max_time_ = std::chrono::hours(2)};
    std::string pcap_prefix_;   // non-empty: captures <prefix>0.pcap and <prefix>1.pcap
    bool read_buffers_ = false; // the receiver alternates host::recv_buffer (some reads short) and host::recv
    bool echo_ = false;         // host 1 sends back what it reads (see above)
    bool ack_template_ = true;  // host_config::ack_template_ of both hosts
    bool static_arp_ = true;    // false: the hosts resolve each other by ARP, keeping learned entries ...
    duration arp_ttl_ = std::chrono::seconds(60); // ... this long
    wire::checksum_caps caps_{};                  // the interfaces' checksum handling (both hosts)
};

struct bulk_result {
    bool ok_ = false;     // every octet arrived, in order and intact, and both sides closed
    std::string failure_; // why not, when !ok_
    std::uint64_t received_ = 0;
    std::uint64_t echoed_ = 0; // with echo_: octets of the echo host 0 read and checked
    duration transfer_time_{};      // simulated: connect() to the receiver's end of stream
    std::uint64_t retransmits_ = 0; // segments both hosts' TCP sent again (any cause)
    std::uint64_t timeouts_ = 0;    // retransmission timer expirations, both hosts
    std::uint64_t fast_retransmits_ = 0;
    std::uint64_t fast_path_ = 0;     // segments header prediction took, both hosts
    std::uint64_t send_failures_ = 0; // segments the hosts built and could not send (host_stats)
    std::uint64_t frames_ = 0; // frames put on the wire by both hosts
    std::uint64_t frame_hash_ = 0;
    std::uint64_t steps_ = 0;
    [[nodiscard]] double goodput_mbps() const noexcept;
};

[[nodiscard]] bulk_result run_bulk(const bulk_params &p);

} // namespace demi::sim
