#include "net/stack/host.hpp"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <utility>

#include "common/log.hpp"
#include "net/stack/header_sum.hpp"
#include "net/wire/endian.hpp"
#include "net/wire/tcp.hpp"

namespace demi::net {

namespace {

using header_sum::fold_complement;
using header_sum::halves;
using header_sum::sum_words;
using header_sum::word_at;

/// Room before a TCP segment for the Ethernet and IPv4 headers the interface prepends.
constexpr std::size_t tcp_headroom = 14 + 60;
/// Frames offered to the device at once.
constexpr std::size_t tx_batch_max = 64;

// four_tuple's defaulted == compiles to a memcmp call; ports first, addresses as 32-bit words.
bool same_tuple(const tcp::four_tuple &a, const tcp::four_tuple &b) noexcept {
    return a.remote_.port_ == b.remote_.port_ && a.local_.port_ == b.local_.port_ &&
           std::bit_cast<std::uint32_t>(a.remote_.addr_.octets()) ==
               std::bit_cast<std::uint32_t>(b.remote_.addr_.octets()) &&
           std::bit_cast<std::uint32_t>(a.local_.addr_.octets()) ==
               std::bit_cast<std::uint32_t>(b.local_.addr_.octets());
}

void add_stats(tcp::connection_stats &to, const tcp::connection_stats &s) noexcept {
    to.segments_in_ += s.segments_in_;
    to.segments_out_ += s.segments_out_;
    to.rejected_ += s.rejected_;
    to.retransmits_ += s.retransmits_;
    to.fast_retransmits_ += s.fast_retransmits_;
    to.timeouts_ += s.timeouts_;
    to.challenge_acks_ += s.challenge_acks_;
    to.dup_acks_ += s.dup_acks_;
    to.ooo_segments_ += s.ooo_segments_;
    to.ooo_dropped_ += s.ooo_dropped_;
    to.sack_recoveries_ += s.sack_recoveries_;
    to.sack_retransmits_ += s.sack_retransmits_;
    to.lost_retransmits_ += s.lost_retransmits_;
    to.rescue_retransmits_ += s.rescue_retransmits_;
    to.probes_ += s.probes_;
    to.challenge_acks_suppressed_ += s.challenge_acks_suppressed_;
    to.syn_data_ += s.syn_data_;
    to.fast_path_ += s.fast_path_;
}

interface_config with_mac(interface_config c, const phy::device &dev) {
    if (c.mac_ == ethernet_address{}) c.mac_ = dev.mac();
    return c;
}

} // namespace

std::size_t host::tuple_hash::operator()(const tcp::four_tuple &t) const noexcept {
    std::uint64_t z = (std::uint64_t{t.local_.addr_.to_host()} << 32) ^ t.remote_.addr_.to_host();
    z ^= (std::uint64_t{t.local_.port_} << 16 | t.remote_.port_) * 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return static_cast<std::size_t>(z ^ (z >> 31));
}

host::host(host_config cfg, phy::device &dev, rng &random)
    : cfg_(std::move(cfg)), dev_(dev), rng_(random), iface_(with_mac(cfg_.iface_, dev), random), isn_(random) {
    iface_.set_tcp_hook(this);
    rx_.resize(std::max<std::size_t>(cfg_.rx_batch_, 1));
    tx_batch_.reserve(tx_batch_max);
    tx_scratch_.reserve(tx_batch_max);
}

host::~host() {
    iface_.set_tcp_hook(nullptr);
}

// ---- driving ----

void host::receive(time_point now) {
    for (;;) {
        const std::size_t n = dev_.receive(rx_);
        for (std::size_t i = 0; i < n; ++i) iface_.receive(std::move(rx_[i]), now);
        if (n < rx_.size()) break;
    }
    // The ACKs (and other segments) the batch made, built straight for the device.
    if (!tx_batch_.empty()) transmit_batch();
}

void host::poll(time_point now) {
    // Every connection with something to do sends what it has; a connection that reached CLOSED is
    // reaped after its last dispatch (which may carry the RST of an abort, RFC 9293 §3.10.5).
    poll_now_ = now;
    if (tx_backlog_.empty()) tx_progress_at_ = now; // nothing pushed back: the device keeps up
    else flush_tx();                                // what the device pushed back last time goes first
    while (!timers_.empty() && timers_.front().at_ <= now) {
        const timer_entry t = timers_.front();
        std::pop_heap(timers_.begin(), timers_.end(), std::greater<>{});
        timers_.pop_back();
        auto it = conns_.find(t.id_);
        if (it == conns_.end() || it->second.timer_at_ != t.at_) continue; // gone, or given another time
        it->second.timer_at_ = time_point::max();
        touch(it->second);
    }
    dead_.clear();
    if (!active_.empty()) {
        // In id order, as a pass over every connection would go: one order of frames everywhere (the
        // order turned to start where back-pressure paused the last round, so every connection gets
        // its turn while the device keeps pushing back).
        dispatching_.swap(active_);
        const std::size_t n = dispatching_.size(); // dispatches add to active_, never to dispatching_
        if (n > 1) {
            std::sort(dispatching_.begin(), dispatching_.end());
            if (resume_at_ != 0) // back-pressure paused the last round here: its turn comes first
                std::rotate(dispatching_.begin(),
                            std::lower_bound(dispatching_.begin(), dispatching_.end(), resume_at_), dispatching_.end());
        }
        const std::uint32_t *const ids = dispatching_.data();
        std::size_t k = 0;
        for (; k < n; ++k) {
            if (!may_dispatch()) [[unlikely]]
                break;
            const std::uint32_t id = ids[k];
            conn_entry *const ep = find(conn_id{id});
            if (ep == nullptr) continue;
            conn_entry &e = *ep;
            e.active_ = false;
            ++stats_.tcp_dispatches_;
            if (!e.reported_) {
                e.reported_ = true;
                dispatched_.push_back(id);
            }
            const tcp::four_tuple t = e.conn_.tuple();
            e.conn_.dispatch(now,
                             [&](const wire::tcp_repr &r, std::span<const std::byte>) { send_segment(now, t, r, &e); });
            if (e.conn_.is_closed())
                dead_.push_back(id);
            else
                schedule(e);
        }
        if (k < n) [[unlikely]]
            pause_dispatch(k);
        else
            resume_at_ = 0;
        dispatching_.clear();
    }
    for (const std::uint32_t id : dead_) {
        auto it = conns_.find(id);
        if (it != conns_.end()) reap(conn_id{id}, it->second);
    }
    // Frames go to the device in batches: tx_batch_ collects the segments sent directly (send_segment)
    // and then the interface's queue. Order: a segment goes directly only while the interface's queue
    // and the backlog are empty, so everything in tx_batch_ precedes what they hold; the backlog only
    // holds what the device pushed back, and while it holds anything new frames queue behind it.
    iface_.poll(now, [this](buffer &&f) { take_frame(std::move(f)); });
    if (!tx_batch_.empty()) transmit_batch();
}

void host::schedule(conn_entry &e) {
    const auto at = e.conn_.poll_at();
    if (!at || *at >= e.timer_at_) return;
    e.timer_at_ = *at;
    timers_.push_back({*at, e.id_});
    std::push_heap(timers_.begin(), timers_.end(), std::greater<>{});
    // Entries outdated by an earlier time are skipped when they come up; should they pile up (a
    // far deadline, such as keepalive's, met again and again), the heap is made anew from the
    // connections' own times.
    if (timers_.size() > 2 * conns_.size() + 64) {
        timers_.clear();
        for (const auto &[cid, ce] : conns_)
            if (ce.timer_at_ != time_point::max()) timers_.push_back({ce.timer_at_, cid});
        std::make_heap(timers_.begin(), timers_.end(), std::greater<>{});
    }
}

result<void> host::set_user(conn_id c, void *user) noexcept {
    conn_entry *e = find(c);
    if (e == nullptr) return demi::error(EBADF);
    e->user_ = user;
    return ok();
}

void host::take_dispatched(std::vector<void *> &out) {
    out.clear();
    for (const std::uint32_t id : dispatched_) {
        // An entry with a user is never erased (its user closes it first), so a reaped connection's
        // user still hears of it.
        conn_entry *e = find(conn_id{id});
        if (e == nullptr) continue;
        e->reported_ = false;
        if (e->user_ != nullptr) out.push_back(e->user_);
    }
    dispatched_.clear();
}

void host::pause_dispatch(std::size_t k) {
    // Back-pressure: dispatching_[k, end) stay active (their flag is still set) and go at a later
    // round, once the device has taken some of the backlog; the first of them goes first.
    stats_.tcp_dispatches_paused_ += dispatching_.size() - k;
    resume_at_ = dispatching_[k];
    for (; k < dispatching_.size(); ++k) active_.push_back(dispatching_[k]);
}

bool host::may_dispatch_waiting() {
    const std::size_t pause = cfg_.tx_backlog_pause_;
    if (pause == 0) return true;
    if (iface_.tx_queued() >= pause) send_queued();
    if (tx_backlog_.empty() || tx_backlog_.size() + iface_.tx_queued() < pause) return true;
    // A device that has taken nothing for tx_stall_limit (a link down, a parked port) gets no pause:
    // the connections' timers must run (retransmission back-off, keepalive, TIME-WAIT, a close), and
    // what they send meanwhile is dropped at the bounds, as the link would.
    return poll_now_ - tx_progress_at_ >= tx_stall_limit;
}

void host::send_queued() {
    if (!tx_backlog_.empty()) flush_tx();
    iface_.take_queued([this](buffer &&f) { take_frame(std::move(f)); });
    if (!tx_batch_.empty()) transmit_batch();
}

void host::take_frame(buffer &&f) {
    if (!tx_backlog_.empty()) {
        if (tx_backlog_.size() >= cfg_.max_tx_backlog_) {
            ++stats_.tx_backlog_drops_;
            return;
        }
        tx_backlog_.push_back(std::move(f));
        return;
    }
    tx_batch_.push_back(std::move(f));
    if (tx_batch_.size() == tx_batch_max) transmit_batch();
}

void host::transmit_batch() {
    const std::size_t n = tx_batch_.size();
    const std::size_t taken = dev_.transmit(tx_batch_); // (no backlog here: poll() counts that as progress)
    for (std::size_t i = taken; i < n; ++i) {
        if (tx_backlog_.size() >= cfg_.max_tx_backlog_) {
            ++stats_.tx_backlog_drops_;
            continue;
        }
        tx_backlog_.push_back(std::move(tx_batch_[i]));
    }
    tx_batch_.clear();
}

void host::flush_tx() {
    while (!tx_backlog_.empty()) {
        tx_scratch_.clear();
        const std::size_t n = std::min<std::size_t>(tx_backlog_.size(), tx_batch_max);
        for (std::size_t i = 0; i < n; ++i) tx_scratch_.push_back(std::move(tx_backlog_[i]));
        const std::size_t taken = dev_.transmit(tx_scratch_);
        if (taken != 0) tx_progress_at_ = poll_now_;
        // Frames the device left with us go back to the front, in order.
        for (std::size_t i = 0; i < n; ++i) tx_backlog_.pop_front();
        for (std::size_t i = n; i > taken; --i) tx_backlog_.push_front(std::move(tx_scratch_[i - 1]));
        if (taken < n) break;
    }
    tx_scratch_.clear();
}

std::optional<time_point> host::poll_at() const noexcept {
    std::optional<time_point> at = iface_.poll_at();
    auto take = [&](std::optional<time_point> t) {
        if (t && (!at || *t < *at)) at = t;
    };
    if (!tx_backlog_.empty() || !active_.empty()) take(time_point::min());
    // The first deadline (an entry skipped when it comes up only makes this earlier than need be).
    if (!timers_.empty()) take(timers_.front().at_);
    return at;
}

// ---- TCP input ----

void host::on_tcp(time_point now, const wire::ipv4_repr &ip, const buffer &segment) {
    ++stats_.tcp_segments_in_;
    auto view = wire::tcp_view::check(std::span<const std::byte>(segment.bytes()));
    if (!view) {
        ++stats_.tcp_malformed_drops_;
        return;
    }
    auto seg = wire::tcp_repr::parse(*view, ip.src_, ip.dst_, iface_.config().caps_);
    if (!seg) {
        ++stats_.tcp_malformed_drops_;
        DEMI_LOG(debug, "host", "TCP segment dropped: %s", seg.err().message());
        return;
    }
    const tcp::four_tuple t{{ip.dst_, seg->dst_port_}, {ip.src_, seg->src_port_}};
    conn_entry *e = last_rx_ != nullptr && same_tuple(last_rx_tuple_, t) ? last_rx_ : nullptr;
    if (e == nullptr) {
        if (auto it = by_tuple_.find(t); it != by_tuple_.end()) {
            e = find(it->second);
            if (e != nullptr) {
                last_rx_ = e;
                last_rx_tuple_ = t;
            }
        }
    }
    {
        if (e != nullptr && !e->conn_.is_closed()) {
            e->conn_.process(now, ip, *seg, seg->payload_, &segment);
            touch(*e);
            // RFC 1122 §4.2.3.2, RFC 5681 §4.2: an ACK for at least every second full-sized segment.
            // One device batch may hold many segments of this connection; send what is due now
            // instead of one stretch ACK for the whole batch at the next poll.
            if (e->conn_.due(now) && may_dispatch()) {
                const tcp::four_tuple ct = e->conn_.tuple();
                e->conn_.dispatch(
                    now, [&](const wire::tcp_repr &r, std::span<const std::byte>) { send_segment(now, ct, r, e); });
            }
            return;
        }
    }
    // A 4-tuple without a (live) connection: LISTEN (RFC 9293 §3.10.7.2) or CLOSED (§3.10.7.1).
    if (auto lp = by_port_.find(seg->dst_port_); lp != by_port_.end() && iface_.is_local(ip.dst_)) {
        listen_entry &le = listeners_.at(static_cast<std::uint32_t>(lp->second));
        auto out = le.lst_.process(now, ip, *seg, seg->payload_);
        if (out.conn_) {
            const conn_id id = add_connection(std::move(*out.conn_), lp->second);
            le.pending_.push_back(id);
        }
        if (out.reply_) {
            ++stats_.tcp_resets_sent_;
            send_segment(now, t, *out.reply_);
        }
        return;
    }
    if (auto rst = tcp::reset_for(*seg, seg->payload_.size())) {
        ++stats_.tcp_resets_sent_;
        send_segment(now, t, *rst);
    }
}

namespace {

constexpr std::size_t eth_ip_len = 14 + 20;
constexpr std::size_t tcp_at = eth_ip_len;
static_assert(tcp_headroom >= eth_ip_len);

// A segment the template can build: ACK or ACK+PSH, no urgent pointer, and no options but timestamps
// (the template's length says whether it has them); data or none.
bool template_shape(const wire::tcp_repr &r) noexcept {
    const auto &o = r.options_;
    return (r.flags_ & ~wire::tcp_flag::psh) == wire::tcp_flag::ack && r.urgent_ptr_ == 0 && !o.mss_ &&
           !o.window_scale_ && !o.sack_permitted_ && o.sack_count_ == 0;
}

void put16(std::byte *p, std::uint16_t v) noexcept {
    wire::store_be16(p, v);
}
void put32(std::byte *p, std::uint32_t v) noexcept {
    wire::store_be32(p, v);
}

} // namespace

void host::send_segment(time_point now, const tcp::four_tuple &t, const wire::tcp_repr &r, conn_entry *ce) {
    const bool ack_shape = ce != nullptr && cfg_.ack_template_ && template_shape(r);
    if (ack_shape && send_ack_from_template(now, r, *ce)) return;
    const std::size_t len = r.buffer_len();
    auto b = iface_.allocate(len, tcp_headroom);
    if (!b) {
        ++stats_.tcp_send_failures_;
        return;
    }
    r.emit(b->bytes(), t.local_.addr_, t.remote_.addr_, iface_.config().caps_);
    // Straight to the device's next batch when nothing waits before it (see poll()).
    buffer direct;
    if (!iface_.send_ipv4(now, t.remote_.addr_, wire::ip_protocol::tcp, std::move(*b),
                          tx_backlog_.empty() ? &direct : nullptr)) {
        ++stats_.tcp_send_failures_;
        return;
    }
    if (direct) {
        if (ack_shape) make_ack_template(now, t, r, direct, *ce);
        tx_batch_.push_back(std::move(direct));
        if (tx_batch_.size() == tx_batch_max) transmit_batch();
    }
}

void host::make_ack_template(time_point now, const tcp::four_tuple &t, const wire::tcp_repr &r, const buffer &frame,
                             conn_entry &ce) {
    ack_template &a = ce.ack_;
    a.len_ = 0;
    const bool ts = r.options_.timestamp_.has_value();
    const std::size_t len = ts ? ack_template::max_len : tcp_at + 20; // the headers only
    const std::byte *f = frame.data();
    // The layouts this code patches: a 20-byte IPv4 header, and NOP NOP kind 8 length 10 when timestamped.
    if (frame.size() != len + r.payload_.size() || f[14] != std::byte{0x45}) return;
    if (ts && (f[tcp_at + 20] != std::byte{1} || f[tcp_at + 21] != std::byte{1} || f[tcp_at + 22] != std::byte{8} ||
               f[tcp_at + 23] != std::byte{10}))
        return;
    const auto until = iface_.next_hop_valid_until(t.remote_.addr_, now);
    if (!until || now >= *until) return;
    std::memcpy(a.frame_.data(), f, len);
    std::byte *p = a.frame_.data();
    // IPv4: every word but total length (16), ident (18) and checksum (24).
    a.ip_base_ = sum_words(p + 14, 2) + sum_words(p + 20, 4) + sum_words(p + 26, 8);
    // Pseudo header (RFC 9293 §3.1): source, destination, protocol (the TCP length is added per
    // segment); then the TCP words that stay: ports, urgent pointer, the option kinds.
    a.pseudo_ = sum_words(p + 26, 8) + 6;
    a.tcp_base_ = a.pseudo_ + sum_words(p + tcp_at, 4) + sum_words(p + tcp_at + 18, 2) +
                  (ts ? sum_words(p + tcp_at + 20, 4) : 0);
    a.until_ = *until;
    a.arp_gen_ = iface_.arp_generation();
    a.len_ = static_cast<std::uint8_t>(len);
}

bool host::send_ack_from_template(time_point now, const wire::tcp_repr &r, conn_entry &ce) {
    const ack_template &a = ce.ack_;
    // Anything the template does not hold for sure goes the generic way (which rebuilds the template).
    if (a.len_ == 0 || r.options_.timestamp_.has_value() != (a.len_ == ack_template::max_len) || !tx_backlog_.empty() ||
        !iface_.direct_ready() || now >= a.until_ || iface_.arp_generation() != a.arp_gen_)
        return false;
    const std::size_t hlen = a.len_;
    const std::size_t n = r.payload_.size();
    const std::size_t len = hlen + n;
    if (len - 14 > 0xffff) return false;
    auto b = iface_.allocate(len, tcp_headroom - eth_ip_len);
    if (!b) return false;
    std::byte *p = b->data();
    // Fixed-size copies (no call) of the headers, then the data.
    if (hlen == ack_template::max_len)
        std::memcpy(p, a.frame_.data(), ack_template::max_len);
    else
        std::memcpy(p, a.frame_.data(), tcp_at + 20);
    if (n != 0) std::memcpy(p + hlen, r.payload_.data(), n);
    const auto &caps = iface_.config().caps_;
    // IPv4: total length and ident; the checksum when computed (offloaded: the template's zero).
    const auto total = static_cast<std::uint16_t>(len - 14);
    put16(p + 16, total);
    const std::uint16_t ident = iface_.take_ipv4_ident();
    put16(p + 18, ident);
    if (wire::computes(caps.ipv4_)) put16(p + 24, fold_complement(std::uint64_t{a.ip_base_} + total + ident));
    // TCP: seq, ack, flags, window, timestamps; the checksum when computed, else the pseudo-header
    // seed or zero, as tcp_repr::emit writes them.
    std::byte *tcp = p + tcp_at;
    const auto tcp_len = static_cast<std::uint16_t>(len - tcp_at);
    put32(tcp + 4, r.seq_);
    put32(tcp + 8, r.ack_);
    tcp[13] = static_cast<std::byte>(r.flags_);
    put16(tcp + 14, r.window_);
    if (wire::computes(caps.tcp_)) {
        std::uint64_t sum = std::uint64_t{a.tcp_base_} + tcp_len + word_at(tcp + 12) + halves(r.seq_) + halves(r.ack_) +
                            r.window_;
        if (r.options_.timestamp_) sum += halves(r.options_.timestamp_->tsval_) + halves(r.options_.timestamp_->tsecr_);
        // The data starts at an even offset of the segment (20 or 32): its sum adds as is.
        if (n != 0) sum += wire::ones_complement_sum(r.payload_);
        if (r.options_.timestamp_) {
            put32(tcp + 24, r.options_.timestamp_->tsval_);
            put32(tcp + 28, r.options_.timestamp_->tsecr_);
        }
        put16(tcp + 16, fold_complement(sum));
    } else {
        if (r.options_.timestamp_) {
            put32(tcp + 24, r.options_.timestamp_->tsval_);
            put32(tcp + 28, r.options_.timestamp_->tsecr_);
        }
        put16(tcp + 16, caps.tx_pseudo_header_seed_
                            ? static_cast<std::uint16_t>(~fold_complement(std::uint64_t{a.pseudo_} + tcp_len))
                            : 0);
    }
    iface_.count_direct();
    tx_batch_.push_back(std::move(*b));
    if (tx_batch_.size() == tx_batch_max) transmit_batch();
    return true;
}

// ---- connection table ----

conn_id host::add_connection(tcp::connection c, std::optional<listener_id> from) {
    const conn_id id{next_conn_++};
    const tcp::four_tuple t = c.tuple();
    const auto key = static_cast<std::uint32_t>(id);
    auto it = conns_.emplace(key, conn_entry{std::move(c), key, {}, from, false, true}).first;
    touch(it->second); // its SYN (or, made by a listener, its SYN-ACK) goes at the next poll
    by_tuple_[t] = id;
    last_rx_ = nullptr;
    ++stats_.connections_opened_;
    return id;
}

void host::reap(conn_id id, conn_entry &e) {
    last_rx_ = nullptr;
    last_found_ = nullptr;
    if (e.in_table_) {
        auto it = by_tuple_.find(e.conn_.tuple());
        if (it != by_tuple_.end() && it->second == id) by_tuple_.erase(it);
        e.in_table_ = false;
    }
    bool release = e.user_closed_;
    if (e.from_) {
        // Made by a listener and never accepted: nobody holds the id.
        if (auto lt = listeners_.find(static_cast<std::uint32_t>(*e.from_)); lt != listeners_.end()) {
            auto &p = lt->second.pending_;
            p.erase(std::remove(p.begin(), p.end(), id), p.end());
            lt->second.lst_.release();
        }
        release = true;
    }
    if (release) {
        add_stats(reclaimed_totals_, e.conn_.stats());
        ++stats_.connections_reclaimed_;
        conns_.erase(static_cast<std::uint32_t>(id));
    }
}

host::conn_entry *host::find(conn_id c) noexcept {
    return const_cast<conn_entry *>(std::as_const(*this).find(c));
}

const host::conn_entry *host::find(conn_id c) const noexcept {
    const auto key = static_cast<std::uint32_t>(c);
    if (last_found_ != nullptr && last_found_id_ == key) return last_found_;
    auto it = conns_.find(key);
    if (it == conns_.end()) return nullptr;
    last_found_ = &it->second;
    last_found_id_ = key;
    return last_found_;
}

// ---- the socket API ----

result<listener_id> host::tcp_listen(std::uint16_t port, std::size_t backlog) {
    if (port == 0 || backlog == 0) return demi::error(EINVAL);
    if (by_port_.contains(port)) return demi::error(EADDRINUSE);
    const listener_id id{next_listener_++};
    tcp::listener lst({iface_.addr(), port}, backlog, cfg_.tcp_,
                      [this](const tcp::four_tuple &t, time_point now) { return isn_(t, now); });
    listeners_.emplace(static_cast<std::uint32_t>(id), listen_entry{std::move(lst), {}});
    by_port_.emplace(port, id);
    return id;
}

result<conn_id> host::tcp_accept(listener_id l) {
    auto it = listeners_.find(static_cast<std::uint32_t>(l));
    if (it == listeners_.end()) return demi::error(EBADF);
    auto &p = it->second.pending_;
    for (auto pi = p.begin(); pi != p.end(); ++pi) {
        conn_entry *e = find(*pi);
        if (e == nullptr) continue;
        const tcp::state s = e->conn_.current_state();
        if (s == tcp::state::syn_received || s == tcp::state::closed) continue;
        const conn_id id = *pi;
        e->from_.reset();
        p.erase(pi);
        it->second.lst_.release();
        return id;
    }
    return demi::error(EAGAIN);
}

result<void> host::tcp_listen_set_syn_retries(listener_id l, unsigned n) {
    auto it = listeners_.find(static_cast<std::uint32_t>(l));
    if (it == listeners_.end()) return demi::error(EBADF);
    it->second.lst_.set_syn_retries(n);
    for (const conn_id c : it->second.pending_)
        if (conn_entry *e = find(c); e != nullptr && e->conn_.current_state() == tcp::state::syn_received)
            e->conn_.set_syn_retries(n); // read at its next retransmission timeout
    return ok();
}

result<unsigned> host::tcp_listen_syn_retries(listener_id l) const {
    auto it = listeners_.find(static_cast<std::uint32_t>(l));
    if (it == listeners_.end()) return demi::error(EBADF);
    return it->second.lst_.syn_retries();
}

std::optional<listener_id> host::tcp_listener_on(std::uint16_t port) const {
    auto it = by_port_.find(port);
    if (it == by_port_.end()) return std::nullopt;
    return it->second;
}

result<void> host::tcp_unlisten(listener_id l) {
    auto it = listeners_.find(static_cast<std::uint32_t>(l));
    if (it == listeners_.end()) return demi::error(EBADF);
    for (const conn_id c : it->second.pending_) {
        if (conn_entry *e = find(c)) {
            e->from_.reset();
            e->user_closed_ = true;
            e->conn_.abort();
            touch(*e);
        }
    }
    by_port_.erase(it->second.lst_.local().port_);
    listeners_.erase(it);
    return ok();
}

result<conn_id> host::tcp_connect(time_point now, ipv4_address addr, std::uint16_t port, std::uint16_t local_port) {
    if (port == 0 || addr.is_unspecified()) return demi::error(EINVAL);
    tcp::four_tuple t{{iface_.source_for(addr), local_port}, {addr, port}};
    if (local_port != 0) {
        if (by_tuple_.contains(t)) return demi::error(EADDRINUSE);
    } else {
        // RFC 6056 §3.3.1 (Algorithm 1): a random start, then the next free port in the range.
        const std::uint32_t first = cfg_.ephemeral_first_;
        const std::uint32_t count = std::uint32_t{cfg_.ephemeral_last_} - first + 1;
        const std::uint32_t start = static_cast<std::uint32_t>(rng_.below(count));
        bool found = false;
        for (std::uint32_t i = 0; i < count && !found; ++i) {
            t.local_.port_ = static_cast<std::uint16_t>(first + (start + i) % count);
            found = !by_tuple_.contains(t) && !by_port_.contains(t.local_.port_);
        }
        if (!found) return demi::error(EADDRNOTAVAIL);
    }
    return add_connection(tcp::connection::connect(t, cfg_.tcp_, isn_(t, now), now), std::nullopt);
}

result<void> host::send(conn_id c, buffer b) {
    conn_entry *e = find(c);
    if (e == nullptr || e->user_closed_) return demi::error(EBADF);
    auto r = e->conn_.push(std::move(b));
    if (r) touch(*e);
    return r;
}

result<std::size_t> host::recv(conn_id c, std::span<std::byte> out) {
    conn_entry *e = find(c);
    if (e == nullptr || e->user_closed_) return demi::error(EBADF);
    tcp::connection &k = e->conn_;
    if (k.readable() > 0) {
        touch(*e); // reading may open the window: an update may be due
        return k.recv(out);
    }
    if (k.error() != 0) return demi::error(k.error());
    if (k.eof()) return std::size_t{0};
    if (k.is_closed()) return demi::error(ENOTCONN);
    return demi::error(EAGAIN);
}

result<buffer> host::recv_buffer(conn_id c, std::size_t max) {
    conn_entry *e = find(c);
    if (e == nullptr || e->user_closed_) return demi::error(EBADF);
    if (max == 0) return demi::error(EINVAL);
    tcp::connection &k = e->conn_;
    if (k.readable() > 0) {
        touch(*e); // reading may open the window: an update may be due
        if (buffer b = k.recv_buffer(max)) return b;
        // The front octets were copied into the receive buffer: copy them out into a buffer of their own.
        const std::size_t n = std::min(max, k.readable());
        auto b = iface_.allocate(n, 0);
        if (!b) return b.err();
        b->trim_back(b->size() - k.recv(b->bytes()));
        return b;
    }
    if (k.error() != 0) return demi::error(k.error());
    if (k.eof()) return buffer{};
    if (k.is_closed()) return demi::error(ENOTCONN);
    return demi::error(EAGAIN);
}

result<void> host::close(conn_id c) {
    conn_entry *e = find(c);
    if (e == nullptr || e->user_closed_) return demi::error(EBADF);
    e->user_closed_ = true;
    e->conn_.close();
    touch(*e);
    return ok();
}

result<void> host::abort(conn_id c) {
    conn_entry *e = find(c);
    if (e == nullptr || e->user_closed_) return demi::error(EBADF);
    e->user_closed_ = true;
    e->conn_.abort();
    touch(*e);
    return ok();
}

result<void> host::tcp_set_options(conn_id c, time_point now, const tcp_conn_options &o) {
    conn_entry *e = find(c);
    if (e == nullptr) return demi::error(EBADF);
    e->conn_.set_nodelay(o.nodelay_);
    e->conn_.set_keepalive_timing(o.keepalive_idle_, o.keepalive_interval_, o.keepalive_probes_, now,
                                  o.keepalive_idle_set_);
    e->conn_.set_keepalive(o.keepalive_, now);
    e->conn_.set_syn_retries(o.syn_retries_);
    e->conn_.set_user_timeout(o.user_timeout_, now);
    touch(*e); // the timers may have moved
    return ok();
}

const tcp::connection *host::connection(conn_id c) const noexcept {
    const conn_entry *e = find(c);
    return e == nullptr ? nullptr : &e->conn_;
}

int host::error(conn_id c) const noexcept {
    const conn_entry *e = find(c);
    return e == nullptr ? EBADF : e->conn_.error();
}

bool host::delivering() const noexcept {
    if (!tx_backlog_.empty()) return true;
    for (const auto &[id, e] : conns_) {
        const tcp::state st = e.conn_.current_state();
        if (st == tcp::state::fin_wait_1 || st == tcp::state::closing || st == tcp::state::last_ack) return true;
        if ((st == tcp::state::established || st == tcp::state::close_wait) && e.conn_.send_queued() != 0) return true;
    }
    return false;
}

tcp::connection_stats host::tcp_totals() const noexcept {
    tcp::connection_stats s = reclaimed_totals_;
    for (const auto &[id, e] : conns_) add_stats(s, e.conn_.stats());
    return s;
}

} // namespace demi::net
