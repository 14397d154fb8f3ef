// Construction, user calls (RFC 9293 §3.10.1-3.10.5) and the send and receive buffers.
#include "net/stack/tcp/tcb.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace demi::net::tcp {

const char *to_string(state s) noexcept {
    switch (s) {
    case state::closed:
        return "CLOSED";
    case state::listen:
        return "LISTEN";
    case state::syn_sent:
        return "SYN-SENT";
    case state::syn_received:
        return "SYN-RECEIVED";
    case state::established:
        return "ESTABLISHED";
    case state::fin_wait_1:
        return "FIN-WAIT-1";
    case state::fin_wait_2:
        return "FIN-WAIT-2";
    case state::close_wait:
        return "CLOSE-WAIT";
    case state::closing:
        return "CLOSING";
    case state::last_ack:
        return "LAST-ACK";
    case state::time_wait:
        return "TIME-WAIT";
    }
    return "?";
}

std::optional<wire::tcp_repr> reset_for(const wire::tcp_repr &seg, std::size_t payload_len) noexcept {
    // RFC 9293 §3.10.7.1: an incoming RST is discarded, never answered.
    if (seg.has(wire::tcp_flag::rst)) return std::nullopt;
    wire::tcp_repr r;
    r.src_port_ = seg.dst_port_;
    r.dst_port_ = seg.src_port_;
    if (seg.has(wire::tcp_flag::ack)) {
        r.seq_ = seg.ack_;
        r.flags_ = wire::tcp_flag::rst;
    } else {
        const std::uint32_t len = static_cast<std::uint32_t>(payload_len) + (seg.has(wire::tcp_flag::syn) ? 1 : 0) +
                                  (seg.has(wire::tcp_flag::fin) ? 1 : 0);
        r.seq_ = 0;
        r.ack_ = seg.seq_ + len;
        r.flags_ = wire::tcp_flag::rst | wire::tcp_flag::ack;
    }
    return r;
}

namespace {
// RFC 7323 §2.3: the smallest shift that lets the advertised window cover the receive buffer.
std::uint8_t shift_for(std::size_t buf) noexcept {
    std::uint8_t s = 0;
    while (s < wire::tcp_max_window_scale && (buf >> s) > 0xffff) ++s;
    return s;
}
} // namespace

connection::connection(const four_tuple &t, const config &c, seq32 iss, time_point now)
    : tuple_(t), cfg_(c), iss_(iss), snd_una_(iss), snd_nxt_(iss), snd_max_(iss), send_base_(iss + 1),
      rto_({c.rto_initial_, c.rto_min_, c.rto_max_}), cc_(make_congestion_control(c.cc_, c.mss_)), recover_(iss),
      last_heard_(now) {
    if (cfg_.delayed_ack_ > 200ms) cfg_.delayed_ack_ = 200ms; // the bound; RFC 1122 §4.2.3.2 allows 0.5 s
    if (cfg_.recv_buffer_ == 0) cfg_.recv_buffer_ = 1;
    if (!cfg_.window_scaling_ && cfg_.recv_buffer_ > 0xffff) cfg_.recv_buffer_ = 0xffff;
    if (cfg_.recv_buffer_ > (std::size_t{0xffff} << wire::tcp_max_window_scale))
        cfg_.recv_buffer_ = std::size_t{0xffff} << wire::tcp_max_window_scale;
    ring_.resize(cfg_.recv_buffer_);
    rxq_.resize(rx_chunks);
    rcv_shift_ = cfg_.window_scaling_ ? shift_for(cfg_.recv_buffer_) : 0;
    // RFC 7323 §5.4: a per-connection random offset for TSval; the ISN is already one.
    ts_offset_ = iss.value();
}

connection connection::connect(const four_tuple &t, const config &c, seq32 iss, time_point now) {
    connection conn(t, c, iss, now);
    conn.state_ = state::syn_sent; // RFC 9293 §3.10.1: the SYN goes out on the next dispatch
    return conn;
}

connection connection::accept_syn(const four_tuple &t, const config &c, seq32 iss, time_point now,
                                  const wire::tcp_repr &syn, std::span<const std::byte> payload) {
    connection conn(t, c, iss, now);
    conn.passive_ = true;
    // RFC 9293 §3.10.7.2: RCV.NXT = SEG.SEQ + 1, IRS = SEG.SEQ; the SYN-ACK follows.
    conn.state_ = state::syn_received;
    conn.irs_ = seq32(syn.seq_);
    conn.rcv_nxt_ = conn.irs_ + 1;
    conn.last_ack_sent_ = conn.rcv_nxt_;
    conn.take_options(syn);
    // RFC 7323 §2.2: the window field of a SYN is never scaled.
    conn.snd_wnd_ = conn.max_snd_wnd_ = syn.window_;
    conn.snd_wl1_ = conn.irs_;
    conn.snd_wl2_ = iss;
    // RFC 9293 §3.10.7.2: "any other control or text should be queued for processing later after the
    // connection is ESTABLISHED"; the SYN-ACK acknowledges it (and only what was kept).
    conn.keep_syn_data(payload);
    return conn;
}

void connection::take_options(const wire::tcp_repr &syn) {
    // RFC 9293 §3.7.1: without an MSS option the peer takes 536.
    const std::uint16_t peer = syn.options_.mss_.value_or(536);
    snd_mss_ = std::max<std::uint16_t>(std::min(peer, cfg_.mss_), 64);
    // RFC 7323 §2.2: scaling is on only when both SYNs carry the option.
    ws_ok_ = cfg_.window_scaling_ && syn.options_.window_scale_.has_value();
    snd_shift_ = ws_ok_ ? std::min(*syn.options_.window_scale_, wire::tcp_max_window_scale) : 0;
    if (!ws_ok_) {
        rcv_shift_ = 0;
        if (ring_.size() > 0xffff) ring_.resize(0xffff);
    }
    // RFC 7323 §3.2: timestamps only when both SYNs carry them.
    ts_ok_ = cfg_.timestamps_ && syn.options_.timestamp_.has_value();
    if (ts_ok_) ts_recent_ = syn.options_.timestamp_->tsval_;
    // RFC 2018 §2: SACK only when both SYNs carry SACK-permitted.
    sack_ok_ = cfg_.sack_ && syn.options_.sack_permitted_;
    // The congestion window counts segments of the size we will really send.
    cc_ = make_congestion_control(cfg_.cc_, eff_mss());
}

std::uint32_t connection::ts_now(time_point now) const noexcept {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    return static_cast<std::uint32_t>(ms) + ts_offset_;
}

std::uint32_t connection::pipe() const noexcept {
    if (!sack_ok_) return flight();
    if (!in_recovery_ && !rto_recovery_) return sb_.pipe(snd_una_, snd_max_, snd_una_, eff_mss());
    // After a timeout everything outstanding then counts as lost (RFC 6675 §5.1); retransmissions
    // found lost (retransmit_log) are no longer in the network.
    const std::uint32_t p = sb_.pipe(snd_una_, snd_max_, high_rxt_, eff_mss(), rto_recovery_ ? recover_ : snd_una_);
    const std::uint32_t gone = rxt_log_.lost_octets(sb_, snd_una_);
    return p > gone ? p - gone : 0;
}

std::uint32_t connection::una_hole_len(std::uint32_t max) const noexcept {
    const std::uint32_t len = std::min(seq_distance(snd_una_, data_end()), max);
    if (!sack_ok_) return len;
    if (sb_.is_sacked(snd_una_)) return 0;
    for (std::size_t i = 0; i < sb_.size(); ++i)
        if (sb_[i].start_ > snd_una_) return std::min(len, seq_distance(snd_una_, sb_[i].start_));
    return len;
}

std::uint32_t connection::recv_window() const noexcept {
    return static_cast<std::uint32_t>(ring_.size() - unread_ - syn_data_);
}

std::size_t connection::send_space() const noexcept {
    return send_queued_ >= cfg_.send_buffer_ ? 0 : cfg_.send_buffer_ - send_queued_;
}

result<void> connection::push(buffer b) {
    if (state_ == state::closed) return demi::error(error_ ? error_ : ENOTCONN);
    if (state_ == state::listen) return demi::error(ENOTCONN);
    if (fin_queued_) return demi::error(EPIPE); // RFC 9293 §3.10.2: no SEND after CLOSE
    if (b.empty()) return demi::error(EINVAL);
    if (!can_take(b.size())) return demi::error(EAGAIN); // a bounded send buffer (see can_take)
    if (b.size() > 0x7fffffff) return demi::error(EINVAL);
    send_queued_ += b.size();
    send_q_.push_back({std::move(b), 0});
    return ok();
}

void connection::drop_acked(std::uint32_t octets) {
    send_queued_ -= octets;
    while (octets > 0 && !send_q_.empty()) {
        pushed &p = send_q_.front();
        const std::size_t left = p.buf_.size() - p.sent_off_;
        if (octets >= left) {
            octets -= static_cast<std::uint32_t>(left);
            send_q_.pop_front();
            ++pushes_completed_; // every byte of this push is acknowledged
        } else {
            p.sent_off_ += octets;
            octets = 0;
        }
    }
}

std::span<const std::byte> connection::send_bytes(std::uint32_t offset, std::uint32_t len) {
    std::size_t i = 0;
    std::size_t off = offset;
    while (i < send_q_.size() && off >= send_q_[i].buf_.size() - send_q_[i].sent_off_) {
        off -= send_q_[i].buf_.size() - send_q_[i].sent_off_;
        ++i;
    }
    if (i == send_q_.size()) return {};
    const pushed &first = send_q_[i];
    const std::size_t first_left = first.buf_.size() - first.sent_off_ - off;
    if (len <= first_left) return {first.buf_.data() + first.sent_off_ + off, len};
    // The segment spans pushes: gather it.
    scratch_.resize(len);
    std::size_t done = 0;
    for (; i < send_q_.size() && done < len; ++i, off = 0) {
        const pushed &p = send_q_[i];
        const std::size_t n = std::min<std::size_t>(len - done, p.buf_.size() - p.sent_off_ - off);
        std::memcpy(scratch_.data() + done, p.buf_.data() + p.sent_off_ + off, n);
        done += n;
    }
    return {scratch_.data(), done};
}

void connection::write_ring(std::uint32_t offset, std::span<const std::byte> data) {
    const std::size_t cap = ring_.size();
    std::size_t pos = (ring_head_ + ring_unread_ + offset) % cap;
    const std::size_t first = std::min(data.size(), cap - pos);
    std::memcpy(ring_.data() + pos, data.data(), first);
    if (first < data.size()) std::memcpy(ring_.data(), data.data() + first, data.size() - first);
}

void connection::deliver_ring(std::size_t n) {
    ring_unread_ += n;
    unread_ += n;
    // A ring chunk at the back grows; otherwise a new one (a slot is always left for it: deliver_held).
    if (rxq_count_ != 0) {
        rx_chunk &back = rxq_[(rxq_head_ + rxq_count_ - 1) % rx_chunks];
        if (!back.buf_) {
            back.len_ += n;
            return;
        }
    }
    rxq_[(rxq_head_ + rxq_count_) % rx_chunks].len_ = n;
    ++rxq_count_;
}

void connection::deliver_copy(std::span<const std::byte> data) {
    write_ring(0, data);
    deliver_ring(data.size());
}

bool connection::deliver_held(const buffer &frame, std::span<const std::byte> data) {
    // Only while nothing is held out of order (ring positions), with a slot left for a ring chunk, and
    // when the data is at least half of the frame's block: what a peer's tiny segments would pin
    // stays bounded by twice the receive window.
    if (!ooo_.empty() || rxq_count_ + 2 > rx_chunks || frame.block() == nullptr ||
        2 * data.size() < frame.block()->capacity)
        return false;
    buffer b = frame.within_block(data.data(), data.size());
    if (!b) return false;
    rx_chunk &c = rxq_[(rxq_head_ + rxq_count_) % rx_chunks];
    c.buf_ = std::move(b);
    c.len_ = data.size();
    ++rxq_count_;
    unread_ += data.size();
    return true;
}

buffer connection::recv_buffer(std::size_t max) {
    if (rxq_count_ == 0 || max == 0) return {};
    rx_chunk &c = rxq_[rxq_head_];
    if (!c.buf_) return {};
    buffer b;
    if (max >= c.len_) {
        b = std::move(c.buf_);
        c.buf_.reset();
        rxq_head_ = (rxq_head_ + 1) % rx_chunks;
        --rxq_count_;
    } else {
        b = c.buf_.slice(0, max);
        c.buf_.trim_front(max);
        c.len_ -= max;
    }
    unread_ -= b.size();
    after_read(b.size());
    return b;
}

std::size_t connection::recv(std::span<std::byte> out) {
    const std::size_t n = std::min(out.size(), unread_);
    if (n == 0) return 0;
    const std::size_t cap = ring_.size();
    std::size_t done = 0;
    while (done < n) {
        rx_chunk &c = rxq_[rxq_head_];
        const std::size_t take = std::min(n - done, c.len_);
        if (c.buf_) {
            std::memcpy(out.data() + done, c.buf_.data(), take);
            c.buf_.trim_front(take);
        } else {
            const std::size_t first = std::min(take, cap - ring_head_);
            std::memcpy(out.data() + done, ring_.data() + ring_head_, first);
            if (first < take) std::memcpy(out.data() + done + first, ring_.data(), take - first);
            ring_head_ = (ring_head_ + take) % cap;
            ring_unread_ -= take;
        }
        c.len_ -= take;
        done += take;
        if (c.len_ == 0) {
            c.buf_.reset();
            rxq_head_ = (rxq_head_ + 1) % rx_chunks;
            --rxq_count_;
        }
    }
    unread_ -= n;
    after_read(n);
    return n;
}

void connection::after_read(std::size_t) {
    const std::size_t cap = ring_.size();
    // RFC 1122 §4.2.3.3 (receiver SWS avoidance): announce a reopened window once it has grown by
    // min(half the buffer, one MSS) over what the peer last saw.
    const bool receiving = state_ == state::established || state_ == state::fin_wait_1 || state_ == state::fin_wait_2;
    const std::uint32_t wnd = recv_window();
    const std::uint32_t step = std::min<std::uint32_t>(static_cast<std::uint32_t>(cap / 2), snd_mss_);
    if (receiving && wnd >= adv_wnd_ + step) ack_now_ = true;
}

void connection::close() {
    switch (state_) {
    case state::syn_sent:
        // RFC 9293 §3.10.4: delete the TCB; no error for a user's own close.
        state_ = state::closed;
        rto_at_.reset();
        break;
    case state::syn_received:
        // RFC 9293 §3.10.4: the FIN follows once established.
        fin_queued_ = true;
        break;
    case state::established:
        fin_queued_ = true;
        state_ = state::fin_wait_1;
        break;
    case state::close_wait:
        fin_queued_ = true;
        state_ = state::last_ack;
        break;
    default:
        break; // already closing, or closed
    }
}

void connection::abort() {
    switch (state_) {
    case state::syn_received:
    case state::established:
    case state::fin_wait_1:
    case state::fin_wait_2:
    case state::close_wait:
        // RFC 9293 §3.10.5: <SEQ=SND.NXT><CTL=RST>.
        rst_seq_ = snd_nxt_;
        break;
    default:
        break;
    }
    state_ = state::closed;
    send_q_.clear();
    send_queued_ = 0;
    rto_at_.reset();
    persist_at_.reset();
    delack_at_.reset();
    time_wait_at_.reset();
    keepalive_at_.reset();
}

void connection::set_keepalive(bool on, time_point now) noexcept {
    if (on == cfg_.keepalive_) return;
    cfg_.keepalive_ = on;
    keepalive_sent_ = 0;
    keepalive_probe_ = false;
    if (on && (state_ == state::established || state_ == state::close_wait))
        keepalive_at_ = now + cfg_.keepalive_idle_;
    else
        keepalive_at_.reset();
}

void connection::set_keepalive_timing(duration idle, duration interval, unsigned probes, time_point now,
                                      bool idle_set) noexcept {
    // As Linux's TCP_KEEPIDLE: the idle time counts from when the peer was last heard, probing or
    // not (at once if that is past). The socket layer passes the same values again after any of its
    // options changed: those move nothing unless the idle time changed or was the option set.
    if (keepalive_at_ && (idle_set || idle != cfg_.keepalive_idle_)) keepalive_at_ = std::max(now, last_heard_ + idle);
    cfg_.keepalive_idle_ = idle;
    cfg_.keepalive_interval_ = interval;
    cfg_.keepalive_probes_ = probes;
}

void connection::fail(int err) {
    error_ = err;
    state_ = state::closed;
    rto_at_.reset();
    persist_at_.reset();
    delack_at_.reset();
    time_wait_at_.reset();
    keepalive_at_.reset();
    ack_now_ = challenge_ack_ = false;
}

void connection::enter_time_wait(time_point now) {
    // RFC 9293 §3.10.7.4 "eighth": start (or restart) the 2 MSL timer; nothing else is timed now.
    state_ = state::time_wait;
    time_wait_at_ = now + 2 * cfg_.msl_;
    rto_at_.reset();
    persist_at_.reset();
    keepalive_at_.reset();
    delack_at_.reset();
}

} // namespace demi::net::tcp
