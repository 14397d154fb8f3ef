// Segment arrival (RFC 9293 §3.10.7), with the RFC 5961 checks on RST, SYN and ACK, PAWS and
// TS.Recent (RFC 7323 §4.3, §5.3), acknowledgment processing, fast retransmit (RFC 5681 §3.2,
// RFC 6582) and in-order delivery with reassembly of out-of-order data.
#include <algorithm>
#include <cerrno>

#include "common/log.hpp"
#include "net/stack/tcp/tcb.hpp"

namespace demi::net::tcp {

namespace flag = wire::tcp_flag;

void connection::reject(const char *why) {
    ++stats_.rejected_;
    DEMI_LOG(debug, "tcp", "%u->%u %s: segment rejected: %s", unsigned{tuple_.remote_.port_},
             unsigned{tuple_.local_.port_}, to_string(state_), why);
}

void connection::process(time_point now, const wire::ipv4_repr &, const wire::tcp_repr &seg,
                         std::span<const std::byte> payload, const buffer *frame) {
    ++stats_.segments_in_;
    if (cfg_.fast_path_ && fast_path_data(now, seg, payload, frame)) return; // fast_path.cpp: in-order data
    switch (state_) {
    case state::closed:
        // RFC 9293 §3.10.7.1: the owner answers with reset_for(); the TCB is gone.
        reject("connection closed");
        return;
    case state::listen:
        reject("LISTEN is handled by the listener");
        return;
    case state::syn_sent:
        process_syn_sent(now, seg, payload);
        return;
    default:
        break;
    }

    const seq32 seq(seg.seq_);
    const bool rst = seg.has(flag::rst);
    const bool syn = seg.has(flag::syn);
    const std::uint32_t seg_len =
        static_cast<std::uint32_t>(payload.size()) + (syn ? 1 : 0) + (seg.has(flag::fin) ? 1 : 0);

    // A retransmitted SYN in SYN-RECEIVED means our SYN-ACK was lost: send it again.
    if (state_ == state::syn_received && syn && !seg.has(flag::ack) && !rst && seq == irs_) {
        snd_nxt_ = iss_;
        return;
    }

    // RFC 7323 §5.3 (PAWS): a timestamp older than TS.Recent marks an old duplicate. RSTs are exempt.
    if (ts_ok_ && !rst && seg.options_.timestamp_ &&
        static_cast<std::int32_t>(seg.options_.timestamp_->tsval_ - ts_recent_) < 0) {
        reject("PAWS: old timestamp");
        ack_now_ = true;
        return;
    }

    // RFC 9293 §3.10.7.4 "first": the acceptability test (four cases on SEG.LEN and RCV.WND).
    const std::uint32_t wnd = recv_window();
    bool acceptable;
    if (seg_len == 0)
        acceptable = wnd == 0 ? seq == rcv_nxt_ : seq_in_window(seq, rcv_nxt_, wnd);
    else
        acceptable =
            wnd != 0 && (seq_in_window(seq, rcv_nxt_, wnd) || seq_in_window(seq + (seg_len - 1), rcv_nxt_, wnd));
    // RFC 9293 §3.10.7.4: with a zero window, a segment at RCV.NXT still carries a valid ACK or RST;
    // its data is trimmed away below.
    if (!acceptable && wnd == 0 && seq == rcv_nxt_) acceptable = true;
    if (!acceptable) {
        reject("not acceptable (RFC 9293 §3.10.7.4)");
        if (!rst) ack_now_ = true; // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
        // RFC 9293 §3.10.7.4 "eighth", TIME-WAIT: a retransmitted FIN restarts the 2 MSL timer.
        if (state_ == state::time_wait && seg.has(flag::fin) && !rst) enter_time_wait(now);
        return;
    }

    // RFC 7323 §4.3: TS.Recent follows the segment that the last ACK we sent acknowledged.
    if (ts_ok_ && seg.options_.timestamp_ && seq <= last_ack_sent_ &&
        static_cast<std::int32_t>(seg.options_.timestamp_->tsval_ - ts_recent_) >= 0)
        ts_recent_ = seg.options_.timestamp_->tsval_;

    // "second": RST. RFC 5961 §3.2: only a RST exactly at RCV.NXT resets; one elsewhere in the
    // window draws a challenge ACK.
    if (rst) {
        if (seq != rcv_nxt_) {
            challenge(now, "RST not at RCV.NXT: challenge ACK (RFC 5961 §3.2)");
            return;
        }
        switch (state_) {
        case state::syn_received:
            // RFC 9293 §3.10.7.4: from a passive open the connection goes away quietly (the
            // listener stays); from an active one the open is refused.
            if (passive_) {
                state_ = state::closed;
                rto_at_.reset();
            } else {
                fail(ECONNREFUSED);
            }
            break;
        case state::established:
        case state::fin_wait_1:
        case state::fin_wait_2:
        case state::close_wait:
            fail(ECONNRESET);
            break;
        default: // CLOSING, LAST-ACK, TIME-WAIT: the connection is simply gone
            fail(0);
            break;
        }
        return;
    }

    // "fourth": SYN. RFC 9293 §3.10.7.4, SYN-RECEIVED: "If the connection was initiated with a
    // passive OPEN, then return this connection to the LISTEN state and return" — the listener never
    // left LISTEN, so this connection goes away quietly (no RST, no error) and the SYN is dropped;
    // its retransmission reaches the listener. A simultaneous open (active) is handled as in the
    // synchronized states: RFC 5961 §4.2, a challenge ACK and never a reset.
    if (syn) {
        if (state_ == state::syn_received && passive_) {
            reject("SYN in SYN-RECEIVED from a passive open: back to LISTEN (RFC 9293 §3.10.7.4)");
            fail(0);
            return;
        }
        challenge(now, "SYN in a synchronized state: challenge ACK (RFC 5961 §4.2)");
        return;
    }

    // "fifth": ACK.
    if (!seg.has(flag::ack)) {
        reject("no ACK bit");
        return;
    }
    if (!check_ack(now, seg, !payload.empty())) return;
    if (state_ == state::closed) return;

    last_heard_ = now;
    if (cfg_.keepalive_ && (state_ == state::established || state_ == state::close_wait)) {
        keepalive_at_ = now + cfg_.keepalive_idle_;
        keepalive_sent_ = 0;
    }

    // "seventh" and "eighth": text and FIN.
    process_text(now, seq, payload, seg.has(flag::fin));
}

void connection::challenge(time_point now, const char *why) {
    reject(why);
    // RFC 5961 §7: at most challenge_ack_limit_ per challenge_ack_interval_, per connection.
    if (cfg_.challenge_ack_limit_ != 0) {
        if (challenges_ == 0 || now - challenge_since_ >= cfg_.challenge_ack_interval_) {
            challenge_since_ = now;
            challenges_ = 0;
        }
        if (challenges_ >= cfg_.challenge_ack_limit_) {
            ++stats_.challenge_acks_suppressed_;
            return;
        }
        ++challenges_;
    }
    challenge_ack_ = true;
    ++stats_.challenge_acks_;
}

void connection::keep_syn_data(std::span<const std::byte> payload) {
    // RFC 9293 §3.10.7.2-3: data on a SYN is queued for processing once ESTABLISHED. Keep what the
    // window holds (RFC 9293 §3.10.7.4 "first" trims the rest) and advance RCV.NXT over exactly that,
    // so an ACK never covers an octet that was dropped.
    const std::size_t n = std::min<std::size_t>(payload.size(), recv_window());
    if (n == 0) return;
    write_ring(static_cast<std::uint32_t>(syn_data_), payload.first(n));
    syn_data_ += n;
    rcv_nxt_ += static_cast<std::uint32_t>(n);
    stats_.syn_data_ += n;
}

void connection::on_established() {
    // The SYN's data becomes readable now (RFC 9293 §3.10.7.2: "after the connection is ESTABLISHED").
    if (syn_data_ != 0) {
        const std::size_t n = syn_data_;
        syn_data_ = 0;
        deliver_ring(n); // already written at the ring's unread end by keep_syn_data
    }
    // RFC 6298 §5.7: the timer expired waiting for the ACK of our SYN (or SYN-ACK) and the initial
    // RTO is below 3 s: the RTO is re-initialized to 3 s as data transmission begins (a later RTT
    // sample replaces it as usual).
    if (retries_ > 0 && cfg_.rto_initial_ < 3s) rto_.reinitialize(3s);
}

void connection::process_syn_sent(time_point now, const wire::tcp_repr &seg, std::span<const std::byte> payload) {
    // RFC 9293 §3.10.7.3.
    const seq32 seq(seg.seq_);
    const seq32 ack(seg.ack_);
    const bool has_ack = seg.has(flag::ack);
    if (has_ack && (ack <= iss_ || ack > snd_max_)) {
        // "first": an unacceptable ACK draws <SEQ=SEG.ACK><CTL=RST> unless it is itself a RST.
        reject("SYN-SENT: ACK outside (ISS, SND.NXT]");
        if (!seg.has(flag::rst)) rst_seq_ = ack;
        return;
    }
    if (seg.has(flag::rst)) {
        // "second": with an acceptable ACK the peer refused; without an ACK ignore it (RFC 5961 §3.2
        // keeps this rule for SYN-SENT).
        if (has_ack) {
            fail(ECONNREFUSED);
        } else {
            reject("SYN-SENT: RST without ACK");
        }
        return;
    }
    if (!seg.has(flag::syn)) {
        reject("SYN-SENT: neither SYN nor RST");
        return;
    }
    // "fourth": the SYN. Data carried with it is queued (RFC 9293 §3.10.7.3: "Data or controls that
    // were queued for transmission may be included ... process the rest of the segment").
    irs_ = seq;
    rcv_nxt_ = seq + 1;
    take_options(seg);
    // RFC 7323 §2.2: the window of a SYN segment is never scaled.
    snd_wnd_ = max_snd_wnd_ = seg.window_;
    snd_wl1_ = seq;
    snd_wl2_ = ack;
    if (has_ack) {
        // Our SYN is acknowledged: ESTABLISHED, and <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.
        if (ts_ok_ && seg.options_.timestamp_ && seg.options_.timestamp_->tsecr_ != 0)
            rto_.sample(std::chrono::milliseconds(ts_now(now) - seg.options_.timestamp_->tsecr_));
        else if (rtt_probe_ && retries_ == 0)
            rto_.sample(now - rtt_probe_->second); // Karn: only a SYN sent once gives a sample
        rtt_probe_.reset();
        snd_una_ = ack;
        state_ = state::established;
        on_established();
        rto_at_.reset();
        first_retx_at_.reset(); // the SYN's: the first data starts its own count
        retries_ = 0;
        ack_now_ = true;
        last_heard_ = now;
        if (cfg_.keepalive_) keepalive_at_ = now + cfg_.keepalive_idle_;
        // RFC 9293 §3.10.7.3: "If there are other controls or text in the segment, then continue
        // processing at the sixth step" — the text (and a FIN) as in ESTABLISHED.
        if (!payload.empty() || seg.has(flag::fin)) process_text(now, seq + 1, payload, seg.has(flag::fin));
    } else {
        // Simultaneous open: SYN-RECEIVED, and our SYN goes again as a SYN-ACK with the same ISS. Its
        // data waits for ESTABLISHED (RFC 9293 §3.10.7.3).
        state_ = state::syn_received;
        snd_nxt_ = iss_;
        keep_syn_data(payload);
    }
}

void connection::update_window(const wire::tcp_repr &seg) {
    snd_wnd_ = std::uint32_t{seg.window_} << snd_shift_;
    snd_wl1_ = seq32(seg.seq_);
    snd_wl2_ = seq32(seg.ack_);
    max_snd_wnd_ = std::max(max_snd_wnd_, snd_wnd_);
    if (snd_wnd_ > 0) {
        persist_at_.reset();
        persist_backoff_ = 0;
    }
}

bool connection::check_ack(time_point now, const wire::tcp_repr &seg, bool has_data) {
    const seq32 ack(seg.ack_);
    const seq32 seq(seg.seq_);
    if (state_ == state::syn_received) {
        // RFC 9293 §3.10.7.4 "fifth", SYN-RECEIVED: SND.UNA < SEG.ACK =< SND.NXT establishes;
        // otherwise <SEQ=SEG.ACK><CTL=RST>.
        if (!(snd_una_ < ack && ack <= snd_max_)) {
            reject("SYN-RECEIVED: ACK outside (SND.UNA, SND.NXT]");
            rst_seq_ = ack;
            return false;
        }
        state_ = fin_queued_ ? state::fin_wait_1 : state::established;
        on_established();
        update_window(seg);
        if (cfg_.keepalive_) keepalive_at_ = now + cfg_.keepalive_idle_;
    }

    // RFC 5961 §5.2: acceptable when SND.UNA - MAX.SND.WND =< SEG.ACK =< SND.NXT.
    if (ack > snd_max_) {
        challenge(now, "ACK for data not yet sent (RFC 5961 §5.2)");
        return false;
    }
    if (ack < snd_una_ - std::max<std::uint32_t>(max_snd_wnd_, 1)) {
        challenge(now, "ACK older than SND.UNA - MAX.SND.WND (RFC 5961 §5.2)");
        return false;
    }

    // RFC 5681 §2: a duplicate ACK acknowledges nothing new, carries no data, SYN or FIN, leaves
    // the window as it was, and arrives while data is outstanding. Answers to zero-window probes
    // (RFC 9293 §3.8.6.1) are not loss signals.
    const bool dup = ack == snd_una_ && !has_data && !seg.has(flag::fin) && flight() > 0 && snd_wnd_ != 0 &&
                     !persist_at_ && (std::uint32_t{seg.window_} << snd_shift_) == snd_wnd_;

    // RFC 6675 §5: every ACK updates the scoreboard. Its §2 duplicate ACK is one that SACKs octets
    // not SACKed before while data is outstanding, whether or not it also moves SND.UNA. A peer that
    // agreed to SACK but sends plain duplicates is still heard through RFC 5681's definition.
    std::uint32_t newly_sacked = 0;
    const seq32 una_before = snd_una_;
    const std::uint32_t sacked_before = sack_ok_ ? sb_.sacked_bytes() : 0;
    const std::uint64_t recoveries_before = stats_.sack_recoveries_;
    if (sack_ok_) {
        // RFC 2018 §8: a receiver may discard SACKed data (renege). A cumulative ACK that ends at or
        // inside a SACKed run shows it did: the scoreboard is no longer to be trusted and is dropped.
        // This is the check that lets it be kept across a timeout (RFC 6675 §5.1, Errata 1610).
        if (ack > snd_una_ && sb_.is_sacked(ack)) {
            reject("ACK ends inside SACKed data: the receiver reneged (RFC 2018 §8)");
            sb_.clear();
            rxt_log_.clear();
        }
        newly_sacked = sb_.update(seq_max(ack, snd_una_), snd_max_,
                                  std::span(seg.options_.sack_blocks_.data(), seg.options_.sack_count_));
    }
    const bool sack_dup = sack_ok_ && flight() > 0 && (newly_sacked > 0 || (dup && seg.options_.sack_count_ == 0));

    // RFC 9293 §3.10.7.4 "fifth": update the send window from the newest segment (SND.WL1/WL2).
    if (snd_una_ <= ack && (snd_wl1_ < seq || (snd_wl1_ == seq && snd_wl2_ <= ack))) update_window(seg);

    const bool advanced = ack > snd_una_;
    if (advanced) on_new_ack(now, seg, ack);
    if (sack_ok_) {
        if (sack_dup) on_sack_dup_ack(now);
        if (sack_recovering()) {
            // A retransmission that SACKs of later segments show lost goes again (retransmit_log).
            rxt_log_.acked(snd_una_, sb_);
            if (newly_sacked > 0) stats_.lost_retransmits_ += rxt_log_.detect(sb_);
        }
        if (in_recovery_) {
            // RFC 9937 DeliveredData: SND.UNA's advance plus the change in SACKed octets (which drops
            // when the advance covers SACKed ones); on the ACK that begins recovery only the latter,
            // since the advance acknowledged what was sent before the loss was seen (it may even end
            // the recovery before). After the lost retransmissions have left pipe, so that their
            // resending comes out of PRR's count. An ACK that SACKs anything new is taken to report
            // further loss (data above a hole), so only a plain advance of SND.UNA is a safe ACK.
            const bool began = stats_.sack_recoveries_ != recoveries_before;
            const std::int64_t delivered = (began ? 0 : std::int64_t{seq_distance(una_before, snd_una_)}) +
                                           std::int64_t{sb_.sacked_bytes()} - std::int64_t{sacked_before};
            if (delivered > 0) prr_update(static_cast<std::uint32_t>(delivered), advanced && newly_sacked == 0);
        }
        // The path delivers: a later tail loss probe may go (RFC 8985 §7).
        if (newly_sacked > 0 || advanced) {
            probes_out_ = 0;
            if (flight() > 0)
                arm_probe(now);
            else
                probe_at_.reset();
        }
    } else if (dup) {
        on_dup_ack(now);
    }

    switch (state_) {
    case state::fin_wait_1:
        if (fin_acked()) {
            state_ = state::fin_wait_2;
            rto_at_.reset();
        }
        break;
    case state::closing:
        if (fin_acked()) enter_time_wait(now);
        break;
    case state::last_ack:
        if (fin_acked()) {
            fail(0); // RFC 9293 §3.10.7.4: our FIN is acknowledged; delete the TCB
            return false;
        }
        break;
    default:
        break;
    }
    return true;
}

void connection::on_new_ack(time_point now, const wire::tcp_repr &seg, seq32 ack) {
    const std::uint32_t flight_before = flight();
    const seq32 old_una = snd_una_;
    // Octets of queued data this ACK covers (the SYN and FIN occupy sequence space but no buffer).
    const seq32 lo = seq_max(old_una, send_base_);
    const seq32 hi = seq_min(ack, data_end());
    std::uint32_t data_acked = 0;
    if (hi > lo) {
        data_acked = static_cast<std::uint32_t>(hi - lo);
        drop_acked(data_acked);
        send_base_ = send_base_ + data_acked;
    }
    const std::uint32_t acked = static_cast<std::uint32_t>(ack - old_una);
    snd_una_ = ack;
    if (snd_nxt_ < snd_una_) snd_nxt_ = snd_una_;

    // RTT (RFC 7323 §4.1 with timestamps; otherwise RFC 6298 §3 with Karn's algorithm).
    if (ts_ok_ && seg.options_.timestamp_ && seg.options_.timestamp_->tsecr_ != 0) {
        rto_.sample(std::chrono::milliseconds(ts_now(now) - seg.options_.timestamp_->tsecr_));
    } else if (rtt_probe_ && ack > rtt_probe_->first) {
        rto_.sample(now - rtt_probe_->second);
        rtt_probe_.reset();
    }
    retries_ = 0;
    // RFC 6298 §5.2-5.3: stop the timer when all is acknowledged, restart it otherwise.
    if (snd_una_ == snd_max_) {
        rto_at_.reset();
        first_retx_at_.reset();
    } else {
        rto_at_ = now + rto_.rto();
        first_retx_at_ = now;
    }

    if (in_recovery_ && sack_ok_) {
        // RFC 6675 §5 (A): a cumulative ACK beyond RecoveryPoint ends recovery, and cwnd is the
        // ssthresh set on entry (RFC 9937 §6; until then PRR set it on every ACK, prr_update). (B): a
        // partial ACK changes pipe, recomputed when sending.
        if (ack >= recover_) {
            cc_->set_cwnd(cc_->ssthresh());
            in_recovery_ = false;
            dup_acks_ = 0;
            rxt_log_.clear();
        }
    } else if (in_recovery_) {
        if (ack >= recover_) {
            // RFC 6582 §3.2 step 3, full acknowledgment: deflate to min(ssthresh, FlightSize + SMSS).
            cc_->set_cwnd(std::min(cc_->ssthresh(), std::max(flight(), eff_mss()) + eff_mss()));
            in_recovery_ = false;
            dup_acks_ = 0;
        } else {
            // RFC 6582 §3.2 step 3, partial acknowledgment: retransmit the next hole, deflate by the
            // amount acknowledged and add back one SMSS if that was at least one SMSS.
            fast_retx_pending_ = true;
            std::uint32_t c = cc_->cwnd();
            c = c > acked ? c - acked : 0;
            if (acked >= eff_mss()) c += eff_mss();
            cc_->set_cwnd(c);
        }
    } else {
        dup_acks_ = 0;
        cc_->on_ack(now, data_acked, flight_before, rto_.srtt());
        // RFC 6675 §5.1: the data outstanding at the timeout is all acknowledged; a new recovery may
        // start from here.
        if (rto_recovery_ && ack >= recover_) {
            rto_recovery_ = false;
            rxt_log_.clear();
        }
    }
}

void connection::on_dup_ack(time_point now) {
    ++dup_acks_;
    ++stats_.dup_acks_;
    if (in_recovery_) {
        // RFC 5681 §3.2 step 4: each further duplicate means a segment left the network.
        cc_->set_cwnd(cc_->cwnd() + eff_mss());
        return;
    }
    // RFC 5681 §3.2 step 2 and RFC 6582 §3.2 step 2: on the third duplicate, unless the ACK does
    // not cover more than "recover" (a loss already dealt with): SEG.ACK > recover is SND.UNA >=
    // recover_, recover_ being recover + 1 (see tcb.hpp). Before the third, RFC 3042 limited transmit
    // (limited_transmit_room()) sends new data.
    if (dup_acks_ == 3 && snd_una_ >= recover_) {
        cc_->on_loss(now, flight());
        recover_ = snd_max_;
        in_recovery_ = true;
        fast_retx_pending_ = true;
        rtt_probe_.reset();
        ++stats_.fast_retransmits_;
        // RFC 5681 §3.2 step 3: inflate by the three segments that have left.
        cc_->set_cwnd(cc_->ssthresh() + 3 * eff_mss());
    }
}

void connection::on_sack_dup_ack(time_point now) {
    ++stats_.dup_acks_;
    if (in_recovery_) return; // RFC 6675 §5 (B): the scoreboard already holds what it said
    ++dup_acks_;
    // RFC 6675 §5.1: after a timeout no new recovery before HighACK reaches RecoveryPoint.
    if (snd_una_ < recover_) return;
    // RFC 6675 §5 steps (1)-(2): DupThresh duplicates, or enough SACKed above SND.UNA that IsLost()
    // holds for it (several segments shorter than SMSS, or one ACK SACKing several).
    if (dup_acks_ < dup_thresh && !sb_.is_lost(snd_una_, eff_mss())) return;
    // Step (4): RecoveryPoint = HighData; ssthresh and cwnd from the congestion controller (RFC 6675
    // (4.2) says FlightSize / 2, which is NewReno's choice; CUBIC uses beta, RFC 9438 §4.6); the
    // segment at SND.UNA goes first (4.3), then NextSeg() as cwnd - pipe allows (4.5).
    cc_->on_loss(now, flight());
    recover_ = snd_max_;
    in_recovery_ = true;
    high_rxt_ = snd_una_;
    rxt_log_.clear();
    // PRR's initialization (RFC 9937 §6): RecoverFS is the FlightSize as recovery begins, SND.NXT -
    // SND.UNA, as in RFC 6937; RFC 9937 uses pipe, which loss can empty (a burst lost whole, the rest
    // SACKed) and which a scoreboard dropped for reneging makes jump, so that ssthresh / RecoverFS
    // would be a growth factor. The ACK's own delivered octets are then counted by prr_update.
    prr_delivered_ = 0;
    prr_out_ = 0;
    recover_fs_ = flight();
    // (4.3): HighRxt and RescueRxt become the end of the segment retransmitted first (dispatch sets
    // HighRxt as it sends): the one at SND.UNA, up to the first SACKed run.
    rescue_end_ = snd_una_ + una_hole_len(seg_mss());
    fast_retx_pending_ = true;
    rtt_probe_.reset();
    ++stats_.fast_retransmits_;
    ++stats_.sack_recoveries_;
}

std::uint32_t connection::limited_transmit_room() const noexcept {
    // RFC 3042 §2: on each of the first two duplicate ACKs (DupThresh - 1, RFC 6675 §5 step (3)) one
    // new segment may go if the peer's window allows, while FlightSize stays within cwnd + 2 * SMSS;
    // cwnd itself does not change. Not in recovery, where NextSeg() or NewReno decide.
    if (in_recovery_ || rto_recovery_ || dup_acks_ == 0) return 0;
    return std::min(dup_acks_, dup_thresh - 1) * eff_mss();
}

void connection::schedule_ack(time_point now, bool full_segment) {
    // RFC 1122 §4.2.3.2 and RFC 5681 §4.2: an ACK for at least every second full-sized segment,
    // and none held longer than the delayed-ACK time.
    if (cfg_.delayed_ack_ == duration::zero()) {
        ack_now_ = true;
        return;
    }
    if (full_segment && ++unacked_full_ >= 2) {
        ack_now_ = true;
        return;
    }
    if (!delack_at_) delack_at_ = now + cfg_.delayed_ack_;
}

void connection::process_text(time_point now, seq32 seq, std::span<const std::byte> data, bool fin) {
    const bool receiving = state_ == state::established || state_ == state::fin_wait_1 || state_ == state::fin_wait_2;
    if (!receiving) {
        // RFC 9293 §3.10.7.4 "seventh": after the peer's FIN, text is ignored; "eighth": FIN again
        // in these states changes nothing (TIME-WAIT restarts its timer).
        if (fin && state_ == state::time_wait) {
            ack_now_ = true;
            enter_time_wait(now);
        }
        if (!data.empty() || fin) ack_now_ = true;
        return;
    }
    // Trim what was already received.
    if (seq < rcv_nxt_) {
        const std::uint32_t cut = std::min<std::uint32_t>(static_cast<std::uint32_t>(rcv_nxt_ - seq),
                                                          static_cast<std::uint32_t>(data.size()));
        data = data.subspan(cut);
        seq = seq + cut;
        if (seq < rcv_nxt_) fin = false; // an old FIN
    }
    // Trim to the window: RFC 9293 §3.10.7.4 "first" keeps only what fits.
    const std::uint32_t wnd = recv_window();
    const std::uint32_t off = static_cast<std::uint32_t>(seq - rcv_nxt_);
    if (off + data.size() > wnd) {
        data = data.first(wnd > off ? wnd - off : 0);
        fin = false;
        ack_now_ = true;
    }
    if (data.empty() && !fin) return;

    if (off == 0) {
        if (!data.empty()) {
            deliver_copy(data);
            rcv_nxt_ += static_cast<std::uint32_t>(data.size());
        }
        if (!ooo_.empty()) {
            // The gap closed: deliver what was held and ACK at once (RFC 5681 §4.2).
            const seq32 next = ooo_.advance(rcv_nxt_);
            deliver_ring(static_cast<std::uint32_t>(next - rcv_nxt_));
            rcv_nxt_ = next;
            ack_now_ = true;
        }
        if (fin || (ooo_fin_ && *ooo_fin_ == rcv_nxt_)) {
            process_fin(now);
        } else if (!data.empty()) {
            schedule_ack(now, data.size() >= eff_mss());
        }
        return;
    }
    // Out of order (RFC 9293 §3.10.7.4 "seventh"): keep it if the reassembly has room, and ACK at
    // once so the sender sees the duplicate ACKs (RFC 5681 §4.2, RFC 1122 §4.2.2.21).
    ++stats_.ooo_segments_;
    if (!data.empty()) {
        if (ooo_.add(seq, seq + static_cast<std::uint32_t>(data.size()))) {
            write_ring(off, data);
            sack_rx_.note(seq, ooo_); // RFC 2018 §4: this block is reported first
        } else {
            reject("reassembly full");
            ++stats_.ooo_dropped_;
            fin = false;
        }
    }
    if (fin) ooo_fin_ = seq + static_cast<std::uint32_t>(data.size());
    ack_now_ = true;
}

void connection::process_fin(time_point now) {
    // RFC 9293 §3.10.7.4 "eighth": advance RCV.NXT over the FIN and acknowledge it.
    ooo_fin_.reset();
    ooo_.clear();
    rcv_nxt_ += 1;
    fin_received_ = true;
    ack_now_ = true;
    switch (state_) {
    case state::established:
        state_ = state::close_wait;
        break;
    case state::fin_wait_1:
        // Our FIN acknowledged too: TIME-WAIT; otherwise a simultaneous close: CLOSING.
        if (fin_acked())
            enter_time_wait(now);
        else
            state_ = state::closing;
        break;
    case state::fin_wait_2:
        enter_time_wait(now);
        break;
    default:
        break;
    }
}

} // namespace demi::net::tcp
