// IPv4 fragment reassembly (RFC 791 §3.2, "Fragmentation and Reassembly") with the hole-descriptor
// bookkeeping of RFC 815, in bounded memory: at most max_bytes_ of fragment data and max_datagrams_
// datagrams at once, each given up on after a fixed timeout (RFC 1122 §3.3.2).
//
// Policy at each decision (all drops are counted by the caller and logged here at debug level):
// - A fragment whose bytes were all received before is a duplicate and ignored (the first copy wins).
// - A fragment that covers part of a hole and part of received data overlaps: the whole datagram is
//   discarded. RFC 791 lets later data overwrite earlier; overlapping fragments are however only ever
//   seen in attacks (teardrop, and the evasion tricks of RFC 1858 §3), so we follow RFC 5722's rule for
//   IPv6 and keep nothing of such a datagram.
// - A fragment past a known end, a second and different last fragment, or a non-last fragment whose
//   length is not a multiple of 8 (RFC 791 §3.2) is malformed; the first two discard the datagram.
// - A fragment that would take the held bytes over max_bytes_ discards its datagram; a fragment of a
//   new datagram when max_datagrams_ are being reassembled is dropped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/clock.hpp"
#include "net/stack/config.hpp"
#include "net/wire/ipv4.hpp"

#include <demi/buffer.hpp>

namespace demi::net {

class reassembler {
public:
    reassembler(const reassembly_config &cfg, buffer_allocator allocate) noexcept : cfg_(cfg), allocate_(allocate) {}

    enum class status : uint8_t {
        held,         ///< kept; the datagram is not complete yet
        complete,     ///< the datagram is complete: see add_result::datagram_
        duplicate,    ///< all its bytes were held already: ignored
        overlap,      ///< overlapped held data: the datagram was discarded
        malformed,    ///< inconsistent with the datagram (see above): dropped
        no_memory,    ///< over max_bytes_ or max_datagrams_, or the buffer allocation failed: dropped
    };
    struct add_result {
        status status_ = status::held;
        /// When complete: the first fragment's header with the total payload length, offset 0, MF clear.
        wire::ipv4_repr ip_;
        /// When complete: the reassembled payload (with headroom for an answer's headers).
        buffer payload_;
    };

    /// Takes one fragment (`ip.more_frags_` or `ip.frag_offset_` non-zero) and its payload.
    add_result add(time_point now, const wire::ipv4_repr &ip, std::span<const std::byte> payload);
    /// Discards datagrams whose timeout has passed; returns how many.
    size_t expire(time_point now);
    /// The earliest timeout of a datagram being reassembled.
    [[nodiscard]] std::optional<time_point> poll_at() const noexcept;

    [[nodiscard]] size_t bytes_held() const noexcept { return bytes_held_; }
    [[nodiscard]] size_t datagrams() const noexcept { return datagrams_.size(); }

private:
    /// RFC 815 §3: a hole [first_, last_] of missing bytes, inclusive; last_ == infinity until the
    /// fragment without MF arrives.
    struct hole {
        uint32_t first_;
        uint32_t last_;
    };
    static constexpr uint32_t infinity = UINT32_MAX;

    /// RFC 791 §3.2: fragments belong together when source, destination, protocol and identification
    /// match.
    struct datagram {
        ipv4_address src_;
        ipv4_address dst_;
        wire::ip_protocol protocol_;
        uint16_t ident_;
        time_point deadline_;
        std::vector<hole> holes_;
        std::vector<std::byte> data_; // sized to the largest fragment end seen so far
        std::optional<uint32_t> total_len_;
        std::optional<wire::ipv4_repr> first_header_; // of the fragment at offset 0
    };

    void discard(size_t index);

    reassembly_config cfg_;
    buffer_allocator allocate_;
    std::vector<datagram> datagrams_;
    size_t bytes_held_ = 0;
};

} // namespace demi::net
