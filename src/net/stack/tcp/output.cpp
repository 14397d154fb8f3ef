// What to send and when: timers (retransmission, persist, delayed ACK, TIME-WAIT, keepalive),
// SYN and SYN-ACK, data within min(SND.WND, cwnd) with Nagle, FIN, ACKs and RSTs.
#include <algorithm>
#include <array>
#include <cerrno>

#include "common/log.hpp"
#include "net/stack/tcp/tcb.hpp"

namespace demi::net::tcp {

namespace flag = wire::tcp_flag;

std::uint16_t connection::window_field(bool syn) const noexcept {
    const std::uint32_t wnd = recv_window();
    // RFC 7323 §2.2: the window of a SYN is not scaled; later ones are shifted by our scale.
    return static_cast<std::uint16_t>(std::min<std::uint32_t>(syn ? wnd : wnd >> rcv_shift_, 0xffff));
}

std::uint32_t connection::sack_option_len() const noexcept {
    if (!sack_ok_ || ooo_.empty()) return 0;
    // The blocks send_segment would fill (as many as fit next to the other options).
    std::array<wire::tcp_sack_block, wire::tcp_max_sack_blocks> blocks{};
    const std::size_t room = ts_ok_ ? 3 : wire::tcp_max_sack_blocks;
    const std::size_t n = sack_rx_.fill(ooo_, std::span(blocks.data(), room));
    return n == 0 ? 0 : static_cast<std::uint32_t>(4 + 8 * n); // NOP NOP kind length, 8 octets a block
}

void connection::send_segment(time_point now, emitter &e, std::uint8_t flags, seq32 seq,
                              std::span<const std::byte> data) {
    if (in_recovery_ && sack_ok_) prr_out_ += data.size(); // RFC 9937 prr_out: every octet sent in recovery
    wire::tcp_repr r;
    r.src_port_ = tuple_.local_.port_;
    r.dst_port_ = tuple_.remote_.port_;
    r.seq_ = seq.value();
    r.flags_ = flags;
    const bool syn = (flags & flag::syn) != 0;
    if ((flags & flag::ack) != 0) r.ack_ = rcv_nxt_.value();
    if ((flags & flag::rst) == 0) {
        r.window_ = window_field(syn);
        if (syn) {
            // Our SYN offers what the config allows; a SYN-ACK only what the peer's SYN offered
            // (RFC 7323 §2.2, §3.2).
            const bool offer = state_ == state::syn_sent;
            r.options_.mss_ = cfg_.mss_;
            if (offer ? cfg_.window_scaling_ : ws_ok_) r.options_.window_scale_ = rcv_shift_;
            if (offer ? cfg_.timestamps_ : ts_ok_)
                r.options_.timestamp_ = wire::tcp_timestamp{ts_now(now), offer ? 0u : ts_recent_};
            // RFC 2018 §2: SACK-permitted only in a SYN; a SYN-ACK only answers one.
            r.options_.sack_permitted_ = offer ? cfg_.sack_ : sack_ok_;
        } else {
            if (ts_ok_) r.options_.timestamp_ = wire::tcp_timestamp{ts_now(now), ts_recent_};
            // RFC 2018 §4: every ACK sent while out-of-order data is held carries SACK blocks, as many
            // as fit next to the other options (3 with timestamps, 4 without; RFC 2018 §3).
            if (sack_ok_ && (flags & flag::ack) != 0 && !ooo_.empty()) {
                const std::size_t room = ts_ok_ ? 3 : wire::tcp_max_sack_blocks;
                r.options_.sack_count_ =
                    static_cast<std::uint8_t>(sack_rx_.fill(ooo_, std::span(r.options_.sack_blocks_.data(), room)));
            }
        }
    }
    r.payload_ = data;
    if ((flags & flag::ack) != 0) {
        last_ack_sent_ = rcv_nxt_;
        adv_wnd_ = syn ? r.window_ : std::uint32_t{r.window_} << rcv_shift_;
        ack_now_ = false;
        challenge_ack_ = false;
        delack_at_.reset();
        unacked_full_ = 0;
    }
    ++stats_.segments_out_;
    e.call_(e.ctx_, r, data);
}

void connection::arm_rto(time_point now) {
    if (!rto_at_) rto_at_ = now + rto_.rto();
    if (!first_retx_at_) first_retx_at_ = now;
}

std::uint32_t connection::next_data_len() const noexcept {
    const bool sending = state_ == state::established || state_ == state::close_wait ||
                         state_ == state::fin_wait_1 || state_ == state::closing || state_ == state::last_ack;
    if (!sending) return 0;
    if (sack_recovering()) return 0; // RFC 6675 §5 (C): NextSeg() decides, see sack_next_seg()
    const std::uint32_t avail = seq_distance(snd_nxt_, data_end());
    if (avail == 0) return 0;
    const seq32 win_end = snd_una_ + std::min(snd_wnd_, cc_->cwnd() + limited_transmit_room());
    const std::uint32_t room = seq_distance(snd_nxt_, win_end);
    const std::uint32_t mss = seg_mss();
    const std::uint32_t len = std::min({avail, room, mss});
    if (len == 0) return 0;
    const bool in_flight = snd_nxt_ != snd_una_;
    if (len < mss && in_flight) {
        // RFC 1122 §4.2.3.4 (Nagle): with data unacknowledged, a short segment waits unless it is the
        // last before our FIN, or nodelay is set.
        if (len == avail && !cfg_.nodelay_ && !fin_queued_) return 0;
        // Sender SWS avoidance: a window-limited short segment waits for at least half the largest
        // window the peer offered.
        if (len < avail && len < max_snd_wnd_ / 2) return 0;
    }
    return len;
}

void connection::run_timers(time_point now) {
    if (time_wait_at_ && now >= *time_wait_at_) {
        // RFC 9293 §3.10.8: the 2 MSL wait is over; delete the TCB.
        time_wait_at_.reset();
        state_ = state::closed;
        return;
    }
    if (rto_at_ && now >= *rto_at_) {
        rto_at_.reset();
        retransmit_timeout(now);
        if (state_ == state::closed) return;
    }
    if (probe_at_ && now >= *probe_at_) {
        probe_at_.reset();
        probe_pending_ = flight() > 0;
    }
    if (delack_at_ && now >= *delack_at_) {
        delack_at_.reset();
        ack_now_ = true;
    }
    if (keepalive_at_ && now >= *keepalive_at_) {
        // RFC 1122 §4.2.3.6: probe an idle connection; fail it when enough probes go unanswered, or,
        // with TCP_USER_TIMEOUT set, as Linux: when a probe is out and the peer has been silent that long.
        const bool gave_up = cfg_.user_timeout_ != duration::zero()
                                 ? keepalive_sent_ > 0 && now - last_heard_ >= cfg_.user_timeout_
                                 : keepalive_sent_ >= cfg_.keepalive_probes_;
        if (gave_up) {
            fail(ETIMEDOUT);
            return;
        }
        ++keepalive_sent_;
        keepalive_probe_ = true;
        keepalive_at_ = now + cfg_.keepalive_interval_;
    }
}

void connection::dispatch_impl(time_point now, emitter &e) {
    // An ESTABLISHED connection with nothing to do but perhaps an ACK, the common case of a poll and
    // of the ACK for received data: no timer due, nothing to send (all queued data sent, no RST,
    // retransmission or probe pending), not in recovery, the peer's window open, a timer running if
    // data is in flight, and a tail loss probe armed or not wanted (nothing in flight). Every step
    // below would then do nothing but the last (the pending ACK); this says so with a few loads.
    const auto due = [now](const std::optional<time_point> &t) { return t && now >= *t; };
    if (state_ == state::established && !rst_seq_ && !fast_retx_pending_ && !keepalive_probe_ && !probe_pending_ &&
        !in_recovery_ && !rto_recovery_ && !persist_at_ && !time_wait_at_ && snd_wnd_ != 0 && snd_nxt_ == data_end() &&
        !due(rto_at_) && !due(delack_at_) && !due(keepalive_at_) && !due(probe_at_) &&
        (rto_at_ || snd_una_ == snd_max_) && (probe_at_ || snd_una_ == snd_max_)) {
        if (ack_now_ || challenge_ack_) send_segment(now, e, flag::ack, snd_nxt_, {});
        return;
    }
    run_timers(now);
    if (rst_seq_) {
        send_segment(now, e, flag::rst, *rst_seq_, {});
        rst_seq_.reset();
    }
    if (state_ == state::closed || state_ == state::listen) return;

    // SYN (SYN-SENT) or SYN-ACK (SYN-RECEIVED), first sent or after a timeout rewound SND.NXT.
    if ((state_ == state::syn_sent || state_ == state::syn_received) && snd_nxt_ == iss_) {
        send_segment(now, e, state_ == state::syn_sent ? flag::syn : flag::syn | flag::ack, iss_, {});
        if (retries_ > 0) ++stats_.retransmits_;
        snd_nxt_ = iss_ + 1;
        snd_max_ = seq_max(snd_max_, snd_nxt_);
        if (!rtt_probe_ && retries_ == 0) rtt_probe_ = std::pair{iss_, now};
        arm_rto(now);
    }

    // Persist timer (RFC 9293 §3.8.6.1): with a zero window, probe with one octet of new data.
    if (persist_at_ && now >= *persist_at_) {
        // TCP_USER_TIMEOUT bounds how long queued data may wait behind a zero window too, counted
        // from the first probe (as Linux).
        if (persist_backoff_ == 0) {
            persist_since_ = now;
        } else if (cfg_.user_timeout_ != duration::zero() && now - persist_since_ >= cfg_.user_timeout_) {
            fail(ETIMEDOUT);
            return;
        }
        ++persist_backoff_;
        duration next = rto_.rto();
        for (unsigned i = 0; i < persist_backoff_ && next < cfg_.rto_max_; ++i) next *= 2;
        persist_at_ = now + std::min(next, cfg_.rto_max_);
        // As Linux, the next probe no later than the user timeout's end (at least 1 ms from now).
        if (cfg_.user_timeout_ != duration::zero())
            persist_at_ = std::min(*persist_at_, std::max(persist_since_ + cfg_.user_timeout_, now + std::chrono::milliseconds(1)));
        if (seq_distance(snd_una_, data_end()) > 0) {
            const std::uint32_t off = static_cast<std::uint32_t>(snd_una_ - send_base_);
            send_segment(now, e, flag::ack, snd_una_, send_bytes(off, 1));
            snd_nxt_ = seq_max(snd_nxt_, snd_una_ + 1);
            snd_max_ = seq_max(snd_max_, snd_nxt_);
        }
    }

    // Fast retransmit (RFC 5681 §3.2 step 3) or a partial ACK in recovery (RFC 6582 §3.2 step 3).
    if (fast_retx_pending_) {
        fast_retx_pending_ = false;
        // RFC 6675 (4.3) with SACK: the segment at SND.UNA, not past the first SACKed run; HighRxt follows.
        const std::uint32_t len = una_hole_len(seg_mss());
        if (sack_ok_) {
            high_rxt_ = seq_max(high_rxt_, snd_una_ + len);
            if (len > 0) rxt_log_.sent(snd_una_, snd_una_ + len, snd_max_);
        }
        if (len > 0) {
            const std::uint32_t off = static_cast<std::uint32_t>(snd_una_ - send_base_);
            const bool fin = fin_queued_ && snd_una_ + len == data_end() && snd_max_ > data_end();
            send_segment(now, e, flag::ack | (fin ? flag::fin : 0), snd_una_, send_bytes(off, len));
            ++stats_.retransmits_;
            rto_at_ = now + rto_.rto();
        }
    }

    // RFC 6675 §5 (C): in SACK recovery, holes and new data as cwnd - pipe allows.
    if (sack_recovering()) sack_send(now, e);

    // New data (or data again after a timeout), then FIN.
    for (;;) {
        if (const std::uint32_t len = next_data_len(); len > 0) {
            const std::uint32_t off = static_cast<std::uint32_t>(snd_nxt_ - send_base_);
            const bool last = snd_nxt_ + len == data_end();
            const bool fin = last && fin_queued_;
            const bool retx = snd_nxt_ < snd_max_;
            std::uint8_t flags = flag::ack;
            if (last) flags |= flag::psh;
            if (fin) flags |= flag::fin;
            send_segment(now, e, flags, snd_nxt_, send_bytes(off, len));
            if (retx)
                ++stats_.retransmits_;
            else if (!rtt_probe_ && !ts_ok_)
                rtt_probe_ = std::pair{snd_nxt_, now};
            snd_nxt_ += len + (fin ? 1 : 0);
            snd_max_ = seq_max(snd_max_, snd_nxt_);
            arm_rto(now);
            continue;
        }
        const bool may_fin = state_ == state::fin_wait_1 || state_ == state::closing || state_ == state::last_ack;
        if (may_fin && fin_queued_ && snd_nxt_ == data_end()) {
            // RFC 9293 §3.10.4: the FIN follows the last octet.
            if (snd_nxt_ < snd_max_) ++stats_.retransmits_;
            send_segment(now, e, flag::fin | flag::ack, snd_nxt_, {});
            snd_nxt_ += 1;
            snd_max_ = seq_max(snd_max_, snd_nxt_);
            arm_rto(now);
        }
        break;
    }

    if (probe_pending_) send_probe(now, e); // RFC 8985 §7.3 (recovery.cpp)

    // Start the persist timer when a zero window holds back data and nothing is in flight.
    const bool synchronized = state_ != state::syn_sent && state_ != state::syn_received;
    if (synchronized && snd_wnd_ == 0 && seq_distance(snd_nxt_, data_end()) > 0 && flight() <= 1 && !persist_at_ &&
        seq_distance(snd_una_, data_end()) > 0) {
        rto_at_.reset();
        persist_at_ = now + rto_.rto();
    }
    // While the window is shut the persist timer owns the clock; otherwise data in flight is timed.
    if (!persist_at_ && flight() > 0 && !rto_at_) arm_rto(now);
    // RFC 8985 §7.2: a tail loss probe is scheduled once data is in flight (recovery.cpp).
    if (rto_at_ && !probe_at_ && flight() > 0) arm_probe(now);

    if (keepalive_probe_) {
        // RFC 1122 §4.2.3.6: <SEQ=SND.NXT-1><CTL=ACK>, no data, draws an ACK from a live peer.
        keepalive_probe_ = false;
        send_segment(now, e, flag::ack, snd_nxt_ - 1, {});
    }
    // A pending ACK not carried by a segment above; a challenge ACK (RFC 5961 §3.2, §4.2, §5.2) has the
    // same form, <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.
    if (ack_now_ || challenge_ack_) send_segment(now, e, flag::ack, snd_nxt_, {});
}

bool connection::has_work_now() const noexcept {
    return ack_now_ || challenge_ack_ || fast_retx_pending_ || keepalive_probe_ || probe_pending_ ||
           (sack_recovering() && sack_next_seg()) ||
           ((state_ == state::syn_sent || state_ == state::syn_received) && snd_nxt_ == iss_) ||
           next_data_len() > 0 ||
           ((state_ == state::fin_wait_1 || state_ == state::closing || state_ == state::last_ack) && fin_queued_ &&
            snd_nxt_ == data_end());
}

std::optional<time_point> connection::poll_at() const noexcept {
    if (rst_seq_) return time_point::min();
    if (state_ == state::closed) return std::nullopt;
    // ESTABLISHED with every flag clear, not recovering and all queued data sent (the state after
    // nearly every dispatch) has no work but by the clock: has_work_now()'s walk would say so.
    const bool quiet = state_ == state::established && !ack_now_ && !challenge_ack_ && !fast_retx_pending_ &&
                       !keepalive_probe_ && !probe_pending_ && !in_recovery_ && !rto_recovery_ &&
                       snd_nxt_ == data_end();
    if (!quiet && has_work_now()) return time_point::min();
    std::optional<time_point> at;
    for (const std::optional<time_point> *t : {&rto_at_, &persist_at_, &delack_at_, &time_wait_at_, &keepalive_at_, &probe_at_})
        if (*t && (!at || **t < *at)) at = *t;
    return at;
}

bool connection::due(time_point now) const noexcept {
    // poll_at() <= now, without computing the minimum: the timers first (a compare each), then the
    // work that needs no timer.
    if (rst_seq_) return true;
    if (state_ == state::closed) return false;
    for (const std::optional<time_point> *t : {&rto_at_, &persist_at_, &delack_at_, &time_wait_at_, &keepalive_at_, &probe_at_})
        if (*t && **t <= now) return true;
    return has_work_now();
}

} // namespace demi::net::tcp
