#include "net/stack/interface.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "common/log.hpp"
#include "net/stack/header_sum.hpp"
#include "net/wire/arp.hpp"
#include "net/wire/ethernet.hpp"
#include "net/wire/icmpv4.hpp"
#include "net/wire/udp.hpp"

namespace demi::net {

namespace {
constexpr size_t eth_len = wire::ethernet_repr::buffer_len();
constexpr size_t ipv4_len = wire::ipv4_repr::buffer_len();
constexpr size_t udp_len = wire::udp_view::header_len;
/// Headroom of buffers the stack allocates for its own packets.
constexpr size_t own_headroom = eth_len + ipv4_len;

/// Why a wire parser refused a header, for the debug log.
const char *reason(demi::error e) noexcept {
    if (e == wire::err::truncated) return "truncated";
    if (e == wire::err::malformed) return "malformed";
    if (e == wire::err::bad_checksum) return "bad checksum";
    if (e == wire::err::unsupported) return "not supported";
    return e.message();
}
} // namespace

interface::interface(interface_config cfg, rng &random)
    : cfg_(std::move(cfg)), pool_(2048), rng_(&random), arp_(cfg_.arp_), reasm_(cfg_.reassembly_, cfg_.allocate_), udp_(cfg_.udp_),
      // RFC 791 §3.2 / RFC 6864 §4.1: the identification need only be unique per source, destination
      // and protocol while a datagram may be alive; a counter from a random start does that and does
      // not reveal how many datagrams we sent.
      next_ident_(static_cast<uint16_t>(random.next())) {
    for (const auto &[ip, mac] : cfg_.static_arp_) arp_.add_static(ip, mac);
}

bool interface::is_broadcast(ipv4_address a) const noexcept {
    if (a.is_broadcast()) return true;
    // The subnet's directed broadcast (RFC 919; RFC 1122 §3.2.1.3); /31 and /32 have none (RFC 3021).
    if (cfg_.prefix_len_ >= 31) return false;
    const uint32_t mask = ipv4_address::netmask(cfg_.prefix_len_).to_host();
    return a.to_host() == ((cfg_.addr_.to_host() & mask) | ~mask);
}

result<buffer> interface::allocate(size_t size, size_t headroom) {
    // Allocators refuse empty buffers; an empty payload is a one-byte buffer trimmed to nothing.
    const size_t n = size == 0 ? 1 : size;
    auto b = cfg_.allocate_ ? cfg_.allocate_(n, headroom) : pool_.allocate(n, headroom);
    if (!b) {
        ++stats_.tx_alloc_failures_;
        DEMI_LOG(debug, "net", "no buffer for %zu bytes: %s", size, b.err().message());
        return b.err();
    }
    if (size == 0) b->trim_back(1);
    return b;
}

result<buffer> interface::with_headroom(buffer payload, size_t headroom) {
    // In place only when nobody else holds the block: another view of it (an application's handle, a
    // second send of the same buffer still queued) must not see headers written into the headroom.
    if (payload.valid() && payload.headroom() >= headroom && payload.use_count() == 1) return payload;
    auto b = allocate(payload.size(), headroom);
    if (!b) return b;
    if (!payload.empty()) std::memcpy(b->data(), payload.data(), payload.size());
    return b;
}

demi::error interface::drop_tx_queue_full() noexcept {
    ++stats_.tx_queue_full_drops_;
    DEMI_LOG(debug, "eth", "frame dropped: transmit queue full (%zu)", tx_.size());
    return error(ENOBUFS);
}

result<void> interface::transmit(buffer packet, ethernet_address dst, wire::ethertype type, buffer *direct) {
    if (direct != nullptr && tx_.empty() && packet.headroom() >= eth_len && packet.use_count() == 1) {
        // Nothing queued before it: the caller hands it to the device (with_headroom's conditions hold).
        packet.prepend(eth_len);
        wire::ethernet_repr eth{cfg_.mac_, dst, type};
        eth.emit(packet.bytes());
        ++stats_.tx_frames_;
        *direct = std::move(packet);
        return ok();
    }
    if (tx_.size() >= cfg_.max_tx_queue_) return drop_tx_queue_full();
    auto frame = with_headroom(std::move(packet), eth_len);
    if (!frame) return frame.err();
    frame->prepend(eth_len);
    wire::ethernet_repr eth{cfg_.mac_, dst, type};
    eth.emit(frame->bytes());
    tx_.push_back(std::move(*frame));
    return ok();
}

void interface::send_arp(wire::arp_operation op, ethernet_address dst_mac, ethernet_address target_mac,
                         ipv4_address target_ip) {
    auto b = allocate(wire::arp_repr::buffer_len(), eth_len);
    if (!b) return;
    wire::arp_repr arp{op, cfg_.mac_, cfg_.addr_, target_mac, target_ip};
    arp.emit(b->bytes());
    if (transmit(std::move(*b), dst_mac, wire::ethertype::arp)) {
        if (op == wire::arp_operation::request)
            ++stats_.arp_requests_sent_;
        else
            ++stats_.arp_replies_sent_;
    }
}

// ---- receive ----

void interface::receive(buffer frame, time_point now) {
    ++stats_.rx_frames_;
    const std::span<const std::byte> bytes = frame.bytes();
    auto eth_v = wire::ethernet_view::check(bytes);
    if (!eth_v) {
        ++stats_.rx_malformed_drops_;
        DEMI_LOG(debug, "eth", "frame dropped: %zu bytes, shorter than a header", bytes.size());
        return;
    }
    auto eth = wire::ethernet_repr::parse(*eth_v);
    if (!eth) {
        ++stats_.rx_unsupported_drops_;
        DEMI_LOG(debug, "eth", "frame dropped: not Ethernet II (type/length 0x%04x)", eth_v->ethertype_raw());
        return;
    }
    // Only frames to our address or broadcast: no multicast group is joined.
    if (eth->dst_ != cfg_.mac_ && !eth->dst_.is_broadcast()) {
        ++stats_.rx_not_for_us_drops_;
        DEMI_LOG(debug, "eth", "frame dropped: destination %s is not ours", eth->dst_.to_string().c_str());
        return;
    }
    switch (eth->ethertype_) {
    case wire::ethertype::arp:
        receive_arp(eth_v->payload(), now);
        return;
    case wire::ethertype::ipv4:
        receive_ipv4(frame, eth_len, now);
        return;
    default:
        ++stats_.rx_unsupported_drops_;
        DEMI_LOG(debug, "eth", "frame dropped: EtherType 0x%04x not handled", eth_v->ethertype_raw());
        return;
    }
}

void interface::receive_arp(std::span<const std::byte> packet, time_point now) {
    auto v = wire::arp_view::check(packet);
    if (!v) {
        ++stats_.rx_malformed_drops_;
        DEMI_LOG(debug, "arp", "packet dropped: truncated (%zu bytes)", packet.size());
        return;
    }
    auto arp = wire::arp_repr::parse(*v);
    if (!arp) {
        ++stats_.rx_unsupported_drops_;
        DEMI_LOG(debug, "arp", "packet dropped: not IPv4 over Ethernet (hrd %u, pro 0x%04x)", v->hardware_type(),
                 v->protocol_type());
        return;
    }
    const ipv4_address spa = arp->sender_protocol_addr_;
    const ethernet_address sha = arp->sender_hardware_addr_;
    if (!sha.is_unicast() || spa == cfg_.addr_ || (!spa.is_unspecified() && !spa.is_unicast())) {
        // A group hardware address must never be learned; someone else claiming our address is a
        // conflict (RFC 5227 §2.4) that we only log.
        ++stats_.rx_malformed_drops_;
        DEMI_LOG(debug, "arp", "packet dropped: sender %s / %s not acceptable", spa.to_string().c_str(),
                 sha.to_string().c_str());
        return;
    }
    const bool for_us = arp->target_protocol_addr_ == cfg_.addr_;
    // RFC 826 "Packet Reception": update the sender if known (merge), add it if the packet is for us.
    // An ARP probe (sender 0.0.0.0, RFC 5227 §2.1.1) teaches nothing but is answered.
    bool merged = false;
    if (!spa.is_unspecified()) {
        released_.clear();
        merged = arp_.learn(spa, sha, now, for_us, released_);
        // RFC 1122 §2.3.2.2: the packets held while resolving go out now.
        const ethernet_address to = arp_.lookup(spa, now).value_or(sha);
        for (auto &p : released_) (void)transmit(std::move(p), to, wire::ethertype::ipv4);
        released_.clear();
    }
    if (for_us) {
        // RFC 826: answer a request for our address, swapping sender and target.
        if (arp->operation_ == wire::arp_operation::request) send_arp(wire::arp_operation::reply, sha, sha, spa);
        return;
    }
    if (!merged) {
        ++stats_.rx_not_for_us_drops_;
        DEMI_LOG(debug, "arp", "packet dropped: for %s, not us", arp->target_protocol_addr_.to_string().c_str());
    }
}

void interface::deliver_local(time_point now) {
    // Only what was queued before: datagrams built while these are delivered wait for the next poll.
    const bool offloaded = !wire::computes(cfg_.caps_.ipv4_) || !wire::computes(cfg_.caps_.tcp_) ||
                           !wire::computes(cfg_.caps_.udp_);
    for (size_t n = local_.size(); n > 0 && !local_.empty(); --n) {
        buffer p = std::move(local_.front());
        local_.pop_front();
        ++stats_.local_delivered_;
        if (offloaded) fill_offloaded_checksums(p);
        receive_ipv4(p, 0, now, true);
    }
}

void interface::fill_offloaded_checksums(const buffer &packet) const noexcept {
    // A local datagram never reaches the device that would fill the checksums its transmit offload
    // left out, so they are computed here and the receive path checks them like any other.
    auto v = wire::ipv4_view_mut::check(packet.bytes());
    if (!v) return; // the receive path drops and counts it
    const auto put16 = [](std::byte *at, uint16_t x) {
        at[0] = std::byte(static_cast<uint8_t>(x >> 8));
        at[1] = std::byte(static_cast<uint8_t>(x));
    };
    const std::span<std::byte> hdr = v->header();
    if (!wire::computes(cfg_.caps_.ipv4_)) {
        put16(hdr.data() + 10, 0);
        put16(hdr.data() + 10, wire::internet_checksum(hdr));
    }
    const std::span<std::byte> l4 = v->payload();
    const auto proto = std::to_integer<uint8_t>(hdr[9]);
    const bool tcp = proto == static_cast<uint8_t>(wire::ip_protocol::tcp) && l4.size() >= 20 &&
                     !wire::computes(cfg_.caps_.tcp_);
    const bool udp = proto == static_cast<uint8_t>(wire::ip_protocol::udp) && l4.size() >= 8 &&
                     !wire::computes(cfg_.caps_.udp_);
    if ((!tcp && !udp) || v->is_fragment()) return;
    std::byte *field = l4.data() + (tcp ? 16 : 6);
    put16(field, 0);
    auto acc = wire::ipv4_pseudo_header(v->src(), v->dst(), proto, static_cast<uint16_t>(l4.size()));
    acc.add(l4);
    uint16_t c = acc.checksum();
    if (udp && c == 0) c = 0xffff; // RFC 768: a computed zero is sent as all ones
    put16(field, c);
}

void interface::receive_ipv4(const buffer &frame, size_t offset, time_point now, bool local) {
    const std::span<const std::byte> bytes = frame.bytes().subspan(offset);
    auto v = wire::ipv4_view::check(bytes);
    if (!v) {
        ++stats_.rx_malformed_drops_;
        DEMI_LOG(debug, "ipv4", "packet dropped: %s", reason(v.err()));
        return;
    }
    // The header checksum is verified unless the device did it (caps_.ipv4_, RFC 1122 §3.2.1.2).
    auto ip = wire::ipv4_repr::parse(*v, cfg_.caps_);
    if (!ip) {
        if (ip.err() == wire::err::bad_checksum) {
            ++stats_.rx_bad_checksum_drops_;
            DEMI_LOG(debug, "ipv4", "packet dropped: bad header checksum 0x%04x", v->checksum());
        } else {
            ++stats_.rx_malformed_drops_;
            DEMI_LOG(debug, "ipv4", "packet dropped: %s", reason(ip.err()));
        }
        return;
    }
    // RFC 1122 §3.2.1.3: a datagram whose source is a broadcast or multicast address is discarded.
    if (!ip->src_.is_unspecified() && (!ip->src_.is_unicast() || is_broadcast(ip->src_))) {
        ++stats_.rx_malformed_drops_;
        DEMI_LOG(debug, "ipv4", "packet dropped: source %s is not unicast", ip->src_.to_string().c_str());
        return;
    }
    // A host does not forward (RFC 1122 §3.3.1): only our address and broadcasts are accepted, and
    // 127.0.0.0/8 from ourselves (local delivery); from the wire it is dropped (RFC 1122 §3.2.1.3).
    if (ip->dst_ != cfg_.addr_ && !is_broadcast(ip->dst_) && !(local && ip->dst_.is_loopback())) {
        ++stats_.rx_not_for_us_drops_;
        DEMI_LOG(debug, "ipv4", "packet dropped: destination %s is not ours", ip->dst_.to_string().c_str());
        return;
    }
    if (v->is_fragment()) {
        ++stats_.frag_received_;
        auto r = reasm_.add(now, *ip, v->payload());
        switch (r.status_) {
        case reassembler::status::held:
            return;
        case reassembler::status::complete:
            ++stats_.frag_reassembled_;
            // The fragments' headers are gone; ICMP errors quote the reassembled header instead.
            dispatch(now, r.ip_, {}, std::move(r.payload_));
            return;
        default:
            ++stats_.frag_drops_; // logged with its reason by the reassembler
            return;
        }
    }
    dispatch(now, *ip, v->header(), frame.slice(offset + v->header_len(), ip->payload_len_));
}

void interface::dispatch(time_point now, const wire::ipv4_repr &ip, std::span<const std::byte> header,
                         buffer payload) {
    switch (ip.protocol_) {
    case wire::ip_protocol::icmp:
        receive_icmp(now, ip, payload);
        return;
    case wire::ip_protocol::udp:
        receive_udp(now, ip, header, payload);
        return;
    case wire::ip_protocol::tcp:
        if (tcp_ == nullptr) {
            ++stats_.tcp_no_handler_drops_;
            DEMI_LOG(debug, "ipv4", "TCP segment dropped: no TCP handler");
            return;
        }
        ++stats_.tcp_delivered_;
        tcp_->on_tcp(now, ip, payload);
        return;
    default:
        ++stats_.rx_unsupported_drops_;
        DEMI_LOG(debug, "ipv4", "packet dropped: protocol %u not handled", static_cast<unsigned>(ip.protocol_));
        // RFC 1122 §3.2.2.1: a host SHOULD answer with protocol unreachable.
        send_unreachable(now, ip, header, payload.bytes(), wire::icmpv4_unreachable::protocol_unreachable);
        return;
    }
}

void interface::receive_icmp(time_point now, const wire::ipv4_repr &ip, const buffer &payload) {
    auto v = wire::icmpv4_view::check(std::span<const std::byte>(payload.bytes()));
    if (!v) {
        ++stats_.rx_malformed_drops_;
        DEMI_LOG(debug, "icmp", "message dropped: truncated (%zu bytes)", payload.size());
        return;
    }
    auto msg = wire::icmpv4_repr::parse(*v, cfg_.caps_);
    if (!msg) {
        if (msg.err() == wire::err::bad_checksum)
            ++stats_.rx_bad_checksum_drops_;
        else if (msg.err() == wire::err::unsupported)
            ++stats_.rx_unsupported_drops_;
        else
            ++stats_.rx_malformed_drops_;
        DEMI_LOG(debug, "icmp", "message dropped: type %u code %u: %s", v->type_raw(), v->code(), reason(msg.err()));
        return;
    }
    switch (msg->type_) {
    case wire::icmpv4_type::echo_request: {
        // RFC 1122 §3.2.2.6: an echo request to a broadcast address MAY be silently discarded; we do
        // (no smurf amplification).
        if (is_broadcast(ip.dst_)) {
            ++stats_.rx_not_for_us_drops_;
            DEMI_LOG(debug, "icmp", "echo request dropped: sent to broadcast %s", ip.dst_.to_string().c_str());
            return;
        }
        // RFC 792: the reply carries the request's identifier, sequence number and data unchanged.
        const wire::icmpv4_repr reply = msg->echo_reply();
        auto b = allocate(reply.buffer_len(), own_headroom);
        if (!b) return;
        reply.emit(b->bytes(), cfg_.caps_);
        if (send_ipv4(now, ip.src_, wire::ip_protocol::icmp, std::move(*b))) ++stats_.icmp_echo_replies_sent_;
        return;
    }
    case wire::icmpv4_type::echo_reply: {
        auto it = std::find_if(pings_.begin(), pings_.end(), [&](const outstanding_ping &p) {
            return p.dst_ == ip.src_ && p.ident_ == msg->ident_ && p.seq_no_ == msg->seq_no_ &&
                   std::equal(p.data_.begin(), p.data_.end(), msg->data_.begin(), msg->data_.end());
        });
        if (it == pings_.end()) {
            ++stats_.rx_not_for_us_drops_;
            DEMI_LOG(debug, "icmp", "echo reply dropped: no ping from us matches id %u seq %u", msg->ident_,
                     msg->seq_no_);
            return;
        }
        echo_replies_.push_back(echo_reply{ip.src_, it->ident_, it->seq_no_, it->sent_, now, it->data_.size()});
        pings_.erase(it);
        return;
    }
    case wire::icmpv4_type::dst_unreachable:
        // Counted for now; passing it to the transport (RFC 1122 §4.2.3.9 for TCP) is future work.
        ++stats_.icmp_unreachable_received_;
        DEMI_LOG(debug, "icmp", "destination unreachable (code %u) from %s", msg->code_, ip.src_.to_string().c_str());
        return;
    }
}

void interface::receive_udp(time_point now, const wire::ipv4_repr &ip, std::span<const std::byte> header,
                            const buffer &payload) {
    auto v = wire::udp_view::check(std::span<const std::byte>(payload.bytes()));
    if (!v) {
        ++stats_.rx_malformed_drops_;
        DEMI_LOG(debug, "udp", "datagram dropped: %s", reason(v.err()));
        return;
    }
    auto udp = wire::udp_repr::parse(*v, ip.src_, ip.dst_, cfg_.caps_);
    if (!udp) {
        if (udp.err() == wire::err::bad_checksum)
            ++stats_.rx_bad_checksum_drops_;
        else
            ++stats_.rx_malformed_drops_;
        DEMI_LOG(debug, "udp", "datagram dropped: %s", reason(udp.err()));
        return;
    }
    udp_datagram d{udp_endpoint{ip.src_, udp->src_port_}, udp_endpoint{ip.dst_, udp->dst_port_},
                   payload.slice(udp_len, udp->payload_.size())};
    switch (udp_.deliver(std::move(d))) {
    case udp_table::deliver_status::delivered:
        ++stats_.udp_delivered_;
        return;
    case udp_table::deliver_status::queue_full:
        ++stats_.udp_queue_full_drops_; // logged by the table
        return;
    case udp_table::deliver_status::no_socket:
        ++stats_.udp_no_port_drops_;
        DEMI_LOG(debug, "udp", "datagram dropped: no socket on port %u", udp->dst_port_);
        // RFC 1122 §4.1.3.1: a host SHOULD send port unreachable (not for broadcasts, see below).
        send_unreachable(now, ip, header, payload.bytes(), wire::icmpv4_unreachable::port_unreachable);
        return;
    }
}

void interface::send_unreachable(time_point now, const wire::ipv4_repr &ip, std::span<const std::byte> header,
                                 std::span<const std::byte> data, wire::icmpv4_unreachable code) {
    // RFC 1122 §3.2.2: no ICMP error about a datagram sent to a broadcast or multicast address, or
    // whose source does not name a single host. (About an ICMP error neither, but those are never
    // answered with this: only UDP and unknown protocols are.)
    if (is_broadcast(ip.dst_) || !ip.dst_.is_unicast() || !ip.src_.is_unicast() || is_broadcast(ip.src_) ||
        ip.src_.is_loopback()) {
        DEMI_LOG(debug, "icmp", "no destination unreachable for %s -> %s", ip.src_.to_string().c_str(),
                 ip.dst_.to_string().c_str());
        return;
    }
    // RFC 792: the quote is the datagram's header and at least its first 64 bits of data; RFC 1812
    // §4.3.2.3 allows as much as keeps the ICMP datagram within 576 bytes.
    std::array<std::byte, wire::icmpv4_max_error_data_len> quote{};
    size_t n = 0;
    if (header.empty()) {
        wire::ipv4_repr h = ip; // reassembled: quote its header as it would have been sent whole
        h.emit(std::span<std::byte>(quote).first(ipv4_len), wire::checksum_caps::software());
        n = ipv4_len;
    } else {
        n = std::min(header.size(), quote.size());
        std::memcpy(quote.data(), header.data(), n);
    }
    const size_t take = std::min(data.size(), quote.size() - n);
    if (take != 0) std::memcpy(quote.data() + n, data.data(), take);
    n += take;

    wire::icmpv4_repr msg;
    msg.type_ = wire::icmpv4_type::dst_unreachable;
    msg.code_ = static_cast<uint8_t>(code);
    msg.data_ = std::span<const std::byte>(quote).first(n);
    auto b = allocate(msg.buffer_len(), own_headroom);
    if (!b) return;
    msg.emit(b->bytes(), cfg_.caps_);
    if (send_ipv4(now, ip.src_, wire::ip_protocol::icmp, std::move(*b))) ++stats_.icmp_unreachable_sent_;
}

// ---- send ----

result<void> interface::send_ipv4(time_point now, ipv4_address dst, wire::ip_protocol protocol, buffer payload,
                                   buffer *direct) {
    if (is_local(dst)) {
        if (payload.size() + ipv4_len > mtu_for(dst)) return error(EMSGSIZE);
        return send_local(dst, protocol, std::move(payload));
    }
    ethernet_address dst_mac;
    ipv4_address next_hop;
    bool resolved = false;
    if (is_broadcast(dst)) {
        dst_mac = ethernet_address::broadcast(); // RFC 894: IP broadcast goes to the link broadcast
        resolved = true;
    } else if (!dst.is_unicast()) {
        // Multicast (RFC 1112 mapping) is not supported.
        return error(EINVAL);
    } else if (dst.same_subnet(cfg_.addr_, cfg_.prefix_len_)) {
        next_hop = dst;
    } else if (!cfg_.gateway_.is_unspecified()) {
        next_hop = cfg_.gateway_; // off-subnet: the frame goes to the default gateway (RFC 1122 §3.3.1.1)
    } else {
        return error(ENETUNREACH);
    }

    if (payload.size() + ipv4_len > cfg_.mtu_) return send_fragments(now, dst, protocol, payload, next_hop, resolved, dst_mac);

    auto packet = with_headroom(std::move(payload), eth_len + ipv4_len);
    if (!packet) return packet.err();
    packet->prepend(ipv4_len);
    ipv4_header(cfg_.addr_, dst, protocol, packet->size() - ipv4_len, next_ident_++).emit(packet->bytes(), cfg_.caps_);
    return to_next_hop(now, std::move(*packet), next_hop, resolved, dst_mac, direct);
}

wire::ipv4_repr interface::ipv4_header(ipv4_address src, ipv4_address dst, wire::ip_protocol protocol,
                                       size_t payload_len, uint16_t ident) const noexcept {
    wire::ipv4_repr ip;
    ip.src_ = src;
    ip.dst_ = dst;
    ip.protocol_ = protocol;
    ip.payload_len_ = static_cast<uint16_t>(payload_len);
    ip.ttl_ = cfg_.ttl_;
    ip.ident_ = ident;
    return ip;
}

result<void> interface::send_fragments(time_point now, ipv4_address dst, wire::ip_protocol protocol,
                                       const buffer &payload, ipv4_address next_hop, bool resolved,
                                       ethernet_address dst_mac) {
    // RFC 791 §3.2 / RFC 1122 §3.3.3: a datagram larger than the MTU goes out in fragments of one
    // identification, each carrying a multiple of 8 octets but the last, MF on all but the last. TCP
    // never needs it (segments are sized by the MSS), so a TCP payload this large is a caller's error.
    if (protocol == wire::ip_protocol::tcp || payload.size() > 65535 - ipv4_len) return error(EMSGSIZE);
    const size_t per = ((cfg_.mtu_ - ipv4_len) / 8) * 8;
    if (per == 0) return error(EMSGSIZE);
    const uint16_t ident = next_ident_++;
    for (size_t off = 0; off < payload.size(); off += per) {
        const size_t n = std::min(per, payload.size() - off);
        auto frag = allocate(n, eth_len + ipv4_len);
        if (!frag) return frag.err();
        std::memcpy(frag->data(), payload.data() + off, n);
        frag->prepend(ipv4_len);
        wire::ipv4_repr ip = ipv4_header(cfg_.addr_, dst, protocol, n, ident);
        ip.more_frags_ = off + n < payload.size();
        ip.frag_offset_ = static_cast<uint32_t>(off);
        ip.emit(frag->bytes(), cfg_.caps_);
        ++stats_.frag_sent_;
        // A fragment lost here loses the datagram, as a lost fragment on the wire would.
        if (auto r = to_next_hop(now, std::move(*frag), next_hop, resolved, dst_mac, nullptr); !r) return r;
    }
    return ok();
}

result<void> interface::to_next_hop(time_point now, buffer packet, ipv4_address next_hop, bool resolved,
                                    ethernet_address dst_mac, buffer *direct) {
    if (!resolved) {
        if (auto mac = arp_.lookup(next_hop, now)) {
            dst_mac = *mac;
        } else {
            // RFC 1122 §2.3.2.2: hold the datagram while the next hop is resolved.
            switch (arp_.enqueue(next_hop, std::move(packet), now)) {
            case arp_cache::enqueue_status::queued_request_now:
                send_arp(wire::arp_operation::request, ethernet_address::broadcast(), ethernet_address{}, next_hop);
                return ok();
            case arp_cache::enqueue_status::queued:
                return ok();
            case arp_cache::enqueue_status::queued_dropped_oldest:
                ++stats_.arp_unresolved_drops_;
                DEMI_LOG(debug, "arp", "oldest held packet dropped: pending queue for %s full",
                         next_hop.to_string().c_str());
                return ok();
            case arp_cache::enqueue_status::too_many_pending:
                ++stats_.arp_unresolved_drops_;
                DEMI_LOG(debug, "arp", "packet dropped: pending queue for %s full", next_hop.to_string().c_str());
                return error(ENOBUFS);
            }
        }
    }
    return transmit(std::move(packet), dst_mac, wire::ethertype::ipv4, direct);
}

result<void> interface::send_local(ipv4_address dst, wire::ip_protocol protocol, buffer payload) {
    if (local_.size() >= cfg_.max_tx_queue_) {
        ++stats_.tx_queue_full_drops_;
        return error(ENOBUFS);
    }
    auto packet = with_headroom(std::move(payload), eth_len + ipv4_len);
    if (!packet) return packet.err();
    packet->prepend(ipv4_len);
    ipv4_header(source_for(dst), dst, protocol, packet->size() - ipv4_len, next_ident_++)
        .emit(packet->bytes(), cfg_.caps_);
    local_.push_back(std::move(*packet));
    return ok();
}

std::optional<ipv4_address> interface::unicast_next_hop(ipv4_address dst) const noexcept {
    // The routing of send_ipv4 for a unicast destination.
    if (is_broadcast(dst) || !dst.is_unicast() || dst.is_loopback() || dst == cfg_.addr_) return std::nullopt;
    if (dst.same_subnet(cfg_.addr_, cfg_.prefix_len_)) return dst;
    if (!cfg_.gateway_.is_unspecified()) return cfg_.gateway_;
    return std::nullopt;
}

std::optional<time_point> interface::next_hop_valid_until(ipv4_address dst, time_point now) const noexcept {
    const auto hop = unicast_next_hop(dst);
    if (!hop) return std::nullopt;
    return arp_.valid_until(*hop, now);
}

result<void> interface::udp_sendto(time_point now, udp_socket_id id, udp_endpoint dst, buffer payload) {
    auto local = udp_.local(id);
    if (!local) return local.err();
    if (dst.port_ == 0) return error(EINVAL);
    // A datagram larger than the MTU is fragmented by send_ipv4 (RFC 791); 65535 is IPv4's bound.
    if (payload.size() + udp_len + ipv4_len > 65535) return error(EMSGSIZE);
    if (local->port_ == 0) {
        // Like BSD sockets: the first send of an unbound socket binds it to INADDR_ANY and an ephemeral port.
        local = udp_.bind(id, ipv4_address{}, 0, cfg_.addr_, *rng_);
        if (!local) return local.err();
    }
    if (udp_header_template *t = udp_template_for(now, id, dst, payload.size()))
        return send_from_udp_template(*t, std::move(payload));
    if (payload.size() + udp_len + ipv4_len <= cfg_.mtu_) {
        // Datagrams to one of the socket's recent destinations reuse its headers (udp_template_cache):
        // made on a destination's second datagram (or again once the ARP entry they were made from
        // has gone), so a socket sending to ever new destinations does not build one per datagram.
        udp_template_cache &c = *udp_.header_templates(id);
        if (udp_header_template *t = c.find(dst)) {
            if (build_udp_template(*t, local->port_, dst, now)) return send_from_udp_template(*t, std::move(payload));
        } else {
            c.add(dst);
        }
    }
    auto dgram = with_headroom(std::move(payload), udp_headroom);
    if (!dgram) return dgram.err();
    dgram->prepend(udp_len);
    wire::udp_repr udp{local->port_, dst.port_, dgram->bytes().subspan(udp_len)};
    udp.emit(dgram->bytes(), source_for(dst.addr_), dst.addr_, cfg_.caps_); // the payload is in place: not copied
    return send_ipv4(now, dst.addr_, wire::ip_protocol::udp, std::move(*dgram));
}

udp_header_template *interface::udp_template_for(time_point now, udp_socket_id id, udp_endpoint dst,
                                                 size_t size) noexcept {
    udp_template_cache *c = udp_.header_templates(id);
    if (c == nullptr) return nullptr;
    udp_header_template *t = c->find(dst);
    // A template exists only for a bound socket and a destination with a port (checked when built).
    if (t == nullptr || t->len_ == 0 || now >= t->until_ || t->arp_gen_ != arp_.generation() ||
        size + udp_len + ipv4_len > cfg_.mtu_)
        return nullptr;
    return t;
}

bool interface::build_udp_template(udp_header_template &t, uint16_t src_port, udp_endpoint dst, time_point now) {
    t.len_ = 0;
    // Nothing for local, broadcast, unroutable or unresolved destinations: those go the generic way.
    const auto hop = unicast_next_hop(dst.addr_);
    if (!hop) return false;
    const auto until = arp_.valid_until(*hop, now);
    const auto mac = arp_.lookup(*hop, now);
    if (!until || now >= *until || !mac) return false;
    // The headers the generic path writes for an empty datagram, by the same emitters.
    std::byte *p = t.frame_.data();
    wire::ethernet_repr{cfg_.mac_, *mac, wire::ethertype::ipv4}.emit(std::span(p, eth_len));
    std::byte *ip = p + eth_len;
    ipv4_header(cfg_.addr_, dst.addr_, wire::ip_protocol::udp, udp_len, 0).emit(std::span(ip, ipv4_len), cfg_.caps_);
    std::byte *udp = ip + ipv4_len;
    wire::udp_repr{src_port, dst.port_, {}}.emit(std::span(udp, udp_len), cfg_.addr_, dst.addr_, cfg_.caps_);
    using header_sum::sum_words;
    // IPv4: every word but total length (2), ident (4) and checksum (10).
    t.ip_base_ = sum_words(ip, 2) + sum_words(ip + 6, 4) + sum_words(ip + 12, 8);
    // Pseudo header: source, destination, protocol (the UDP length is added per datagram).
    t.pseudo_ = sum_words(ip + 12, 8) + static_cast<uint32_t>(wire::ip_protocol::udp);
    t.udp_base_ = t.pseudo_ + sum_words(udp, 4);
    t.dst_ = dst;
    t.until_ = *until;
    t.arp_gen_ = arp_.generation();
    t.len_ = static_cast<uint8_t>(udp_header_template::max_len);
    return true;
}

result<void> interface::send_from_udp_template(const udp_header_template &t, buffer payload) {
    if (tx_.size() >= cfg_.max_tx_queue_) return drop_tx_queue_full();
    auto b = with_headroom(std::move(payload), udp_headroom);
    if (!b) return b.err();
    const size_t n = b->size();
    b->prepend(udp_header_template::max_len);
    std::byte *p = b->data();
    std::memcpy(p, t.frame_.data(), udp_header_template::max_len);
    using header_sum::fold_complement;
    std::byte *ip = p + eth_len;
    const auto total = static_cast<uint16_t>(ipv4_len + udp_len + n);
    const uint16_t ident = next_ident_++;
    wire::store_be16(ip + 2, total);
    wire::store_be16(ip + 4, ident);
    if (wire::computes(cfg_.caps_.ipv4_))
        wire::store_be16(ip + 10, fold_complement(uint64_t{t.ip_base_} + total + ident));
    std::byte *udp = ip + ipv4_len;
    const auto len = static_cast<uint16_t>(udp_len + n);
    wire::store_be16(udp + 4, len);
    if (wire::computes(cfg_.caps_.udp_)) {
        // The length counts twice (pseudo header and UDP header); the data starts at an even offset.
        const std::uint64_t sum =
            uint64_t{t.udp_base_} + 2u * len + wire::ones_complement_sum(std::span(udp + udp_len, n));
        const uint16_t c = fold_complement(sum);
        wire::store_be16(udp + 6, c == 0 ? 0xffff : c); // RFC 768: a computed zero is sent as all ones
    } else {
        // As udp_repr::emit: the pseudo-header seed for the device, or zero.
        wire::store_be16(udp + 6, cfg_.caps_.tx_pseudo_header_seed_
                                      ? static_cast<uint16_t>(~fold_complement(uint64_t{t.pseudo_} + len))
                                      : 0);
    }
    tx_.push_back(std::move(*b));
    ++stats_.udp_template_sends_;
    return ok();
}

result<void> interface::udp_sendto(time_point now, udp_socket_id id, udp_endpoint dst,
                                   std::span<const std::byte> data) {
    if (data.size() + udp_len + ipv4_len > 65535) return error(EMSGSIZE);
    auto b = allocate(data.size(), udp_headroom);
    if (!b) return b.err();
    if (!data.empty()) std::memcpy(b->data(), data.data(), data.size());
    return udp_sendto(now, id, dst, std::move(*b));
}

result<void> interface::ping(time_point now, ipv4_address dst, uint16_t ident, uint16_t seq_no,
                             std::span<const std::byte> data) {
    wire::icmpv4_repr req;
    req.type_ = wire::icmpv4_type::echo_request;
    req.ident_ = ident;
    req.seq_no_ = seq_no;
    req.data_ = data;
    if (req.buffer_len() + ipv4_len > cfg_.mtu_) return error(EMSGSIZE);
    auto b = allocate(req.buffer_len(), own_headroom);
    if (!b) return b.err();
    req.emit(b->bytes(), cfg_.caps_);
    DEMI_TRY(send_ipv4(now, dst, wire::ip_protocol::icmp, std::move(*b)));
    if (cfg_.max_outstanding_pings_ == 0) return ok();
    while (pings_.size() >= cfg_.max_outstanding_pings_) pings_.pop_front();
    pings_.push_back(outstanding_ping{dst, ident, seq_no, now, std::vector<std::byte>(data.begin(), data.end())});
    return ok();
}

std::optional<echo_reply> interface::take_echo_reply() {
    if (echo_replies_.empty()) return std::nullopt;
    echo_reply r = echo_replies_.front();
    echo_replies_.pop_front();
    return r;
}

// ---- timers ----

void interface::run_timers(time_point now) {
    arp_work_.clear();
    arp_.poll(now, arp_work_);
    for (ipv4_address ip : arp_work_.requests_)
        send_arp(wire::arp_operation::request, ethernet_address::broadcast(), ethernet_address{}, ip);
    for (const auto &[ip, dropped] : arp_work_.failed_) {
        ++stats_.arp_resolution_failures_;
        stats_.arp_unresolved_drops_ += dropped;
        DEMI_LOG(debug, "arp", "%zu packets dropped: %s did not answer ARP", dropped, ip.to_string().c_str());
    }
    stats_.frag_timeouts_ += reasm_.expire(now);
}

std::optional<time_point> interface::poll_at() const noexcept {
    if (!tx_.empty() || !local_.empty()) return time_point::min();
    auto a = arp_.poll_at();
    auto r = reasm_.poll_at();
    if (a && r) return std::min(*a, *r);
    return a ? a : r;
}

} // namespace demi::net
