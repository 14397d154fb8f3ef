#include "net/stack/reassembly.hpp"

#include <cstring>

#include "common/log.hpp"
#include "memory/heap.hpp"

namespace demi::net {

namespace {
/// Headroom of a reassembled payload: an ICMP or UDP answer built over it fits in front.
constexpr size_t reassembled_headroom = 64;
} // namespace

void reassembler::discard(size_t index) {
    bytes_held_ -= datagrams_[index].data_.size();
    datagrams_.erase(datagrams_.begin() + static_cast<std::ptrdiff_t>(index));
}

reassembler::add_result reassembler::add(time_point now, const wire::ipv4_repr &ip,
                                          std::span<const std::byte> payload) {
    add_result res;
    const uint32_t first = ip.frag_offset_;
    const auto len = static_cast<uint32_t>(payload.size());
    // RFC 791 §3.2: every fragment but the last carries a multiple of 8 data octets; an empty one
    // carries nothing to place.
    if (len == 0 || (ip.more_frags_ && len % 8 != 0)) {
        DEMI_LOG(debug, "ipv4", "fragment dropped: length %u at offset %u (MF=%d)", len, first, ip.more_frags_);
        res.status_ = status::malformed;
        return res;
    }
    const uint32_t last = first + len - 1; // wire::ipv4_repr::parse bounds first + len by 65535

    size_t idx = 0;
    while (idx < datagrams_.size()) {
        const datagram &d = datagrams_[idx];
        if (d.src_ == ip.src_ && d.dst_ == ip.dst_ && d.protocol_ == ip.protocol_ && d.ident_ == ip.ident_) break;
        ++idx;
    }
    if (idx == datagrams_.size()) {
        if (datagrams_.size() >= cfg_.max_datagrams_) {
            DEMI_LOG(debug, "ipv4", "fragment dropped: %zu datagrams already being reassembled", datagrams_.size());
            res.status_ = status::no_memory;
            return res;
        }
        datagram d;
        d.src_ = ip.src_;
        d.dst_ = ip.dst_;
        d.protocol_ = ip.protocol_;
        d.ident_ = ip.ident_;
        // RFC 1122 §3.3.2: a fixed timeout from the first fragment's arrival.
        d.deadline_ = now + cfg_.timeout_;
        d.holes_.push_back(hole{0, infinity}); // RFC 815 §3: one hole from 0 to infinity
        datagrams_.push_back(std::move(d));
    }
    datagram &d = datagrams_[idx];

    // A known end bounds every fragment; a second last fragment must agree with it.
    if (d.total_len_ && (last >= *d.total_len_ || (!ip.more_frags_ && last + 1 != *d.total_len_))) {
        DEMI_LOG(debug, "ipv4", "datagram discarded: fragment [%u, %u] against total length %u", first, last,
                 *d.total_len_);
        discard(idx);
        res.status_ = status::malformed;
        return res;
    }
    if (!ip.more_frags_ && d.data_.size() > size_t{last} + 1) {
        DEMI_LOG(debug, "ipv4", "datagram discarded: last fragment ends at %u before held data", last);
        discard(idx);
        res.status_ = status::malformed;
        return res;
    }

    // RFC 815 §3 steps 1-3: find the hole this fragment fills. Unlike RFC 815, which lets a fragment
    // span several holes and overwrite data, we accept a fragment only inside one hole (see the header).
    size_t touched = 0;
    size_t hole_idx = 0;
    for (size_t i = 0; i < d.holes_.size(); ++i) {
        const hole &h = d.holes_[i];
        if (first > h.last_ || last < h.first_) continue;
        ++touched;
        hole_idx = i;
    }
    if (touched == 0) {
        if (!ip.more_frags_ && !d.total_len_) {
            // Ends a datagram whose bytes there were sent in other fragments: not a plain duplicate.
            DEMI_LOG(debug, "ipv4", "datagram discarded: last fragment [%u, %u] inside held data", first, last);
            discard(idx);
            res.status_ = status::overlap;
            return res;
        }
        DEMI_LOG(debug, "ipv4", "fragment dropped: duplicate [%u, %u] of ident %u", first, last, ip.ident_);
        res.status_ = status::duplicate;
        return res;
    }
    const hole h = d.holes_[hole_idx];
    if (touched > 1 || first < h.first_ || last > h.last_) {
        DEMI_LOG(debug, "ipv4", "datagram discarded: fragment [%u, %u] overlaps held data (ident %u)", first, last,
                 ip.ident_);
        discard(idx);
        res.status_ = status::overlap;
        return res;
    }
    if (!ip.more_frags_ && h.last_ != infinity && last != h.last_) {
        // The end would leave bytes of a finite hole after it: data beyond the end was held.
        DEMI_LOG(debug, "ipv4", "datagram discarded: last fragment ends at %u inside a hole", last);
        discard(idx);
        res.status_ = status::malformed;
        return res;
    }

    // Memory bound: the datagram's buffer grows to the fragment's end.
    const size_t new_size = std::max(d.data_.size(), size_t{last} + 1);
    const size_t growth = new_size - d.data_.size();
    if (bytes_held_ + growth > cfg_.max_bytes_) {
        DEMI_LOG(debug, "ipv4", "datagram discarded: %zu + %zu bytes over the reassembly bound %zu", bytes_held_,
                 growth, cfg_.max_bytes_);
        discard(idx);
        res.status_ = status::no_memory;
        return res;
    }
    if (growth != 0) {
        if (new_size > d.data_.capacity()) d.data_.reserve(new_size);
        d.data_.resize(new_size);
        bytes_held_ += growth;
    }
    std::memcpy(d.data_.data() + first, payload.data(), len);

    // RFC 815 §3 steps 4-6: the hole is replaced by what is left of it on either side; nothing is left
    // after the fragment without MF.
    d.holes_.erase(d.holes_.begin() + static_cast<std::ptrdiff_t>(hole_idx));
    if (first > h.first_) d.holes_.push_back(hole{h.first_, first - 1});
    if (last < h.last_ && ip.more_frags_) d.holes_.push_back(hole{last + 1, h.last_});
    if (!ip.more_frags_) d.total_len_ = last + 1;
    if (first == 0) d.first_header_ = ip;

    // RFC 815 §3 step 8: no holes left, the datagram is complete.
    if (!d.holes_.empty()) return res;
    auto buf = (allocate_ ? allocate_ : &mem::heap_allocate)(d.data_.size(), reassembled_headroom);
    if (!buf) {
        DEMI_LOG(debug, "ipv4", "datagram discarded: no buffer for %zu reassembled bytes", d.data_.size());
        discard(idx);
        res.status_ = status::no_memory;
        return res;
    }
    std::memcpy(buf->data(), d.data_.data(), d.data_.size());
    res.status_ = status::complete;
    res.ip_ = *d.first_header_;
    res.ip_.payload_len_ = static_cast<uint16_t>(d.data_.size());
    res.ip_.more_frags_ = false;
    res.ip_.frag_offset_ = 0;
    res.payload_ = std::move(*buf);
    discard(idx);
    return res;
}

size_t reassembler::expire(time_point now) {
    size_t n = 0;
    for (size_t i = 0; i < datagrams_.size();) {
        if (now >= datagrams_[i].deadline_) {
            DEMI_LOG(debug, "ipv4", "datagram discarded: reassembly timeout (ident %u, %zu bytes held)",
                     datagrams_[i].ident_, datagrams_[i].data_.size());
            discard(i);
            ++n;
        } else {
            ++i;
        }
    }
    return n;
}

std::optional<time_point> reassembler::poll_at() const noexcept {
    std::optional<time_point> t;
    for (const auto &d : datagrams_)
        if (!t || d.deadline_ < *t) t = d.deadline_;
    return t;
}

} // namespace demi::net
