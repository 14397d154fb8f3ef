// Loss recovery on the send side: the retransmission timeout (RFC 6298 §5) and, with SACK, what to
// send while recovering (RFC 6675 §4 NextSeg() and §5 (C)), also after a timeout (§5.1), and how
// much (RFC 9937 PRR, prr_update). The ACK side (entering and leaving recovery, the scoreboard,
// RFC 6582 NewReno) is in input.cpp.
#include <algorithm>
#include <cerrno>

#include "common/log.hpp"
#include "net/stack/tcp/tcb.hpp"

namespace demi::net::tcp {

namespace flag = wire::tcp_flag;

void connection::clamp_rto_to_user_timeout(time_point now) noexcept {
    // As Linux: once retransmitting, the timer runs out no later than the user timeout, so the
    // connection fails then rather than at the end of a backed-off RTO (at least 1 ms from now).
    // A half-open connection of a listener (SYN-RECEIVED) is its SYN-ACK retries' alone.
    if (!user_timeout_counting() || !rto_at_) return;
    const time_point limit = std::max(*first_retx_at_ + cfg_.user_timeout_, now + std::chrono::milliseconds(1));
    if (limit < *rto_at_) rto_at_ = limit;
}

bool connection::user_timeout_counting() const noexcept {
    // Linux counts only after a retransmission timeout; a tail loss probe counts as one here, since
    // the probes back off several times (Linux sends one) and would push the RTO out.
    return cfg_.user_timeout_ != duration::zero() && (retries_ > 0 || probes_out_ > 0) && first_retx_at_ &&
           state_ != state::syn_received;
}

void connection::retransmit_timeout(time_point now) {
    ++stats_.timeouts_;
    const bool opening = state_ == state::syn_sent || state_ == state::syn_received;
    // TCP_USER_TIMEOUT (RFC 5482), as Linux: unacknowledged that long since first sent, once
    // retransmitted, in any state but SYN-RECEIVED (an active open fails at whichever comes first,
    // it or TCP_SYNCNT); set, it replaces the retransmission count of a synchronized connection.
    const bool user_timed_out = user_timeout_counting() && now - *first_retx_at_ >= cfg_.user_timeout_;
    const bool out_of_retries = opening ? retries_ >= cfg_.syn_retries_
                                        : cfg_.user_timeout_ == duration::zero() && retries_ >= cfg_.max_retransmits_;
    if (out_of_retries || user_timed_out) {
        DEMI_LOG(debug, "tcp", "%u->%u %s: connection timed out", unsigned{tuple_.local_.port_},
                 unsigned{tuple_.remote_.port_}, to_string(state_));
        fail(ETIMEDOUT);
        return;
    }
    ++retries_;
    // RFC 6298 §5.5-5.6: back off and restart; §5.4: retransmit the earliest unacknowledged segment.
    rto_.back_off();
    rto_at_ = now + rto_.rto();
    clamp_rto_to_user_timeout(now);
    rtt_probe_.reset(); // Karn's algorithm
    if (opening) {
        snd_nxt_ = iss_;
        return;
    }
    cc_->on_timeout(now, flight());
    probe_at_.reset();
    probe_pending_ = false;
    probes_out_ = 0;
    // RFC 6675 §5.1 (and RFC 6582 §3.2 step 4): RecoveryPoint / recover = HighData, recovery ends,
    // and no new one starts before SND.UNA reaches it.
    in_recovery_ = false;
    fast_retx_pending_ = false;
    dup_acks_ = 0;
    recover_ = snd_max_;
    rxt_log_.clear();
    if (sack_ok_) {
        // RFC 6675 §5.1: the scoreboard is kept (RFC 2018 §8's reneging is detected in check_ack(),
        // which then drops it: Errata 1610) and "a relatively straightforward approach to filling in
        // the sequence space reported as missing" follows: every octet outstanding now and not SACKed
        // is lost, and goes again in order, from SND.UNA, as cwnd - pipe allows (sack_next_seg()).
        // New data follows as in recovery; SND.NXT stays at SND.MAX.
        rto_recovery_ = true;
        high_rxt_ = snd_una_;
        arm_probe(now); // should the retransmission be lost, a probe's SACK shows it
        return;
    }
    // Without SACK: go-back-N; everything after SND.UNA goes again as the window allows.
    snd_nxt_ = snd_una_;
}

void connection::arm_probe(time_point now) {
    // RFC 8985 §7.2: PTO = 2 * SRTT (at least 1 ms), plus the worst-case delayed ACK (WCDelAckT, 200 ms) when one
    // segment is in flight; never later than the RTO. TLP needs SACK (RFC 8985 §7) and an RTT sample.
    probe_at_.reset();
    const bool sending = state_ == state::established || state_ == state::close_wait || state_ == state::fin_wait_1 ||
                         state_ == state::closing || state_ == state::last_ack;
    // A shut window is the persist timer's business (RFC 9293 §3.8.6.1).
    if (!sack_ok_ || !sending || !rto_.has_sample() || probes_out_ > 16 || snd_wnd_ == 0 || persist_at_) return;
    // With timestamps RTT samples have the TSval clock's 1 ms granularity (RFC 6298's G), so SRTT
    // below that is imprecise and may read zero: the PTO is at least 1 ms.
    duration pto = std::max<duration>(2 * rto_.srtt(), 1ms);
    if (flight() <= eff_mss()) pto += 200ms;
    pto *= 1u << probes_out_;
    const time_point at = now + pto;
    if (rto_at_ && at >= *rto_at_) return; // the RTO comes first
    probe_at_ = at;
}

void connection::send_probe(time_point now, emitter &e) {
    probe_pending_ = false;
    const bool sending = state_ == state::established || state_ == state::close_wait || state_ == state::fin_wait_1 ||
                         state_ == state::closing || state_ == state::last_ack;
    if (!sending || flight() == 0) return;
    ++probes_out_;
    ++stats_.probes_;
    const std::uint32_t smss = seg_mss();
    const std::uint32_t avail = seq_distance(snd_nxt_, data_end());
    const std::uint32_t room = seq_distance(snd_nxt_, snd_una_ + snd_wnd_);
    if (snd_nxt_ == snd_max_ && std::min(avail, room) > 0) {
        // RFC 8985 §7.3: "If the sender can transmit a new, previously unsent segment, it does so";
        // cwnd is not consulted.
        const std::uint32_t len = std::min({avail, room, smss});
        const std::uint32_t off = static_cast<std::uint32_t>(snd_nxt_ - send_base_);
        const bool last = snd_nxt_ + len == data_end();
        const bool fin = last && fin_queued_;
        send_segment(now, e, flag::ack | (last ? flag::psh : 0) | (fin ? flag::fin : 0), snd_nxt_,
                     send_bytes(off, len));
        snd_nxt_ += len + (fin ? 1 : 0);
        snd_max_ = seq_max(snd_max_, snd_nxt_);
    } else {
        // Otherwise the highest-sequence segment sent goes again (with our FIN if that was sent)...
        const seq32 data_top = seq_min(snd_max_, data_end());
        seq32 from = seq_max(snd_una_, data_top - std::min(seq_distance(snd_una_, data_top), smss));
        seq32 to = data_top;
        bool fin = fin_queued_ && snd_max_ > data_end();
        const std::uint32_t hole = una_hole_len(smss);
        if (!sack_recovering() && from > snd_una_ && hole > 0 &&
            sb_.sacked_in(from, data_top) == seq_distance(from, data_top)) {
            // ... unless the peer has SACKed it: its ACK would then tell nothing that duplicate ACKs
            // count (RFC 8985 relies on RACK here, which this stack does not have), and a tail loss
            // with fewer than DupThresh segments after it would wait for the RTO. The first unSACKed
            // segment goes instead: the hole at SND.UNA, up to the first SACKed run. (In recovery
            // NextSeg() and the rescue retransmission see to holes.)
            from = snd_una_;
            to = snd_una_ + hole;
            fin = false;
            ++stats_.probe_hole_retransmits_;
        }
        const std::uint32_t off = static_cast<std::uint32_t>(from - send_base_);
        send_segment(now, e, flag::ack | (fin ? flag::fin : 0), from, send_bytes(off, seq_distance(from, to)));
        ++stats_.retransmits_;
    }
    // RFC 8985 §7.3: the RTO timer is restarted after the probe (a probe is a retransmission for
    // the user timeout too: probes backing off must not push its end out); the next probe, backed off.
    rto_at_ = now + rto_.rto();
    clamp_rto_to_user_timeout(now);
    arm_probe(now);
}

void connection::prr_update(std::uint32_t delivered, bool safe_ack) noexcept {
    // RFC 9937 §6. While pipe is above ssthresh, sending follows delivery in proportion
    // ssthresh / RecoverFS, so that pipe comes down to ssthresh by the end of recovery whatever the
    // losses; below it (more was lost), the reduction bound: as much as was delivered (PRR-CRB), one
    // segment more on an ACK that advanced SND.UNA with no further loss (PRR-SSRB), and never past
    // ssthresh. cwnd = pipe + sndcnt: sack_send() sends while a segment fits under it, and what a
    // whole segment does not cover waits for the next ACK (prr_delivered - prr_out carries it).
    prr_delivered_ += delivered;
    const std::uint64_t p = pipe();
    const std::uint64_t ss = cc_->ssthresh();
    const std::uint64_t mss = eff_mss();
    std::uint64_t sndcnt = 0;
    if (p > ss) {
        // CEIL(prr_delivered * ssthresh / RecoverFS), and never more than was delivered: a reduction.
        const std::uint64_t fs = std::max<std::uint64_t>(recover_fs_, 1);
        const std::uint64_t allowed = std::min((prr_delivered_ * ss + fs - 1) / fs, prr_delivered_);
        sndcnt = allowed > prr_out_ ? allowed - prr_out_ : 0;
    } else {
        std::uint64_t limit = std::max<std::uint64_t>(prr_delivered_ > prr_out_ ? prr_delivered_ - prr_out_ : 0, delivered);
        if (safe_ack) limit += mss;
        sndcnt = std::min(ss - p, limit);
    }
    // The fast retransmit goes whatever the count (output's fast_retx_pending_).
    if (prr_out_ == 0 && sndcnt == 0) sndcnt = mss;
    cc_->set_cwnd(static_cast<std::uint32_t>(std::min<std::uint64_t>(p + sndcnt, 0xffffffffu)));
}

std::optional<connection::next_seg> connection::sack_next_seg() const noexcept {
    const bool sending = state_ == state::established || state_ == state::close_wait || state_ == state::fin_wait_1 ||
                         state_ == state::closing || state_ == state::last_ack;
    if (!sending) return std::nullopt;
    // RFC 6675 §5 (C): only while cwnd - pipe >= 1 SMSS.
    const std::uint32_t smss = eff_mss();
    if (std::uint64_t{pipe()} + smss > cc_->cwnd()) return std::nullopt;
    // Before the rules: a retransmission found lost (retransmit_log) goes again; it was judged lost
    // once by rule (1) or the timeout, and later segments have since arrived.
    if (const auto again = rxt_log_.next_lost(sb_, snd_una_, smss)) return next_seg{again->start_, again->len_, true};
    // Rule (1): the first hole above HighRxt that IsLost() says is lost; after a timeout, every
    // unSACKed octet below RecoveryPoint (RFC 6675 §5.1).
    const auto hole = sb_.next_hole(snd_una_, high_rxt_, smss, rto_recovery_ ? recover_ : snd_una_);
    if (hole && hole->lost_ && hole->len_ > 0) return next_seg{hole->start_, hole->len_, true};
    // Rule (2): new data, within the peer's window (sender SWS avoidance as in next_data_len()).
    const std::uint32_t avail = seq_distance(snd_nxt_, data_end());
    const std::uint32_t room = seq_distance(snd_nxt_, snd_una_ + snd_wnd_);
    const std::uint32_t len = std::min({avail, room, smss});
    if (len > 0 && (len == avail || len == smss || len >= max_snd_wnd_ / 2)) return next_seg{snd_nxt_, len, false};
    // Rule (3): a hole not yet judged lost, below SACKed data.
    if (hole && hole->len_ > 0) return next_seg{hole->start_, hole->len_, true};
    // Rule (4), the rescue retransmission: once per recovery (HighACK > RescueRxt), the segment
    // holding the highest unSACKed octet, so that a loss at the tail of the window is repaired
    // without waiting for the timer. Only in fast recovery: after a timeout, rule (1) covers it all.
    if (in_recovery_ && snd_una_ > rescue_end_) {
        if (const auto last = sb_.last_hole(snd_una_, snd_max_, smss)) {
            next_seg n{last->start_, last->len_, true};
            n.rescue_ = true;
            return n;
        }
    }
    return std::nullopt;
}

void connection::sack_send(time_point now, emitter &e) {
    // Each pass sends a segment that adds to pipe (a resent hole becomes counted below HighRxt, new
    // data above SND.MAX), so the loop ends when cwnd is used up or nothing is left; a rescue
    // retransmission adds nothing to pipe but can happen once per recovery.
    const std::uint32_t max_len = seg_mss();
    while (auto next = sack_next_seg()) {
        if (next->len_ > max_len) {
            // Room for the SACK option (seg_mss()): the segment's first octets, or for the rescue
            // retransmission its last ones.
            if (next->rescue_) next->seq_ = next->seq_ + (next->len_ - max_len);
            next->len_ = max_len;
        }
        if (next->retx_) {
            // A hole may end with our FIN (after a timeout the FIN is outstanding too): the octets
            // before it are data, and the FIN flag stands for the last sequence number.
            const seq32 end = next->seq_ + next->len_;
            const bool fin = fin_queued_ && snd_max_ > data_end() && next->seq_ <= data_end() && end > data_end();
            const std::uint32_t dlen = seq_distance(next->seq_, seq_min(end, data_end()));
            const std::uint32_t off = static_cast<std::uint32_t>(next->seq_ - send_base_);
            send_segment(now, e, flag::ack | (fin ? flag::fin : 0), next->seq_, send_bytes(off, dlen));
            if (next->rescue_) {
                // Rule (4): RescueRxt = RecoveryPoint; HighRxt is not updated.
                rescue_end_ = recover_;
                ++stats_.rescue_retransmits_;
            } else {
                // (C.2): HighRxt is the end of the retransmitted segment; the log learns of it.
                rxt_log_.resent(next->seq_, end);
                rxt_log_.sent(next->seq_, end, snd_max_);
                high_rxt_ = seq_max(high_rxt_, end);
            }
            ++stats_.retransmits_;
            ++stats_.sack_retransmits_;
        } else {
            const std::uint32_t off = static_cast<std::uint32_t>(snd_nxt_ - send_base_);
            const bool last = snd_nxt_ + next->len_ == data_end();
            const bool fin = last && fin_queued_;
            std::uint8_t flags = flag::ack;
            if (last) flags |= flag::psh;
            if (fin) flags |= flag::fin;
            send_segment(now, e, flags, snd_nxt_, send_bytes(off, next->len_));
            if (snd_nxt_ < snd_max_) ++stats_.retransmits_;
            snd_nxt_ += next->len_ + (fin ? 1 : 0);
            snd_max_ = seq_max(snd_max_, snd_nxt_);
        }
        arm_rto(now);
    }
}

} // namespace demi::net::tcp
