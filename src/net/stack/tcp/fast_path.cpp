// Header prediction (Jacobson, "4BSD header prediction", 1990; RFC 7323 Appendix A notes how it
// coexists with timestamps): the segment a receiving ESTABLISHED connection sees most, the next
// in-order data, handled with the few checks it needs — whether it acknowledges nothing new (a pure
// receiver) or new data of ours outside any loss recovery (the two directions of a request-response
// exchange, each segment carrying data and the ACK of the last one). It does exactly what the
// general path of input.cpp does for that segment and nothing else; any segment that does not match
// every condition is left to the general path. tcp::config::fast_path_ turns it off for the tests
// that compare the two paths frame by frame.
#include "net/stack/tcp/tcb.hpp"

namespace demi::net::tcp {

namespace flag = wire::tcp_flag;

bool connection::fast_path_data(time_point now, const wire::tcp_repr &seg, std::span<const std::byte> payload,
                                const buffer *frame) {
    // The segment: ACK (and perhaps PSH) only; the next octet expected; data that fits the window
    // whole; no SACK blocks; the peer's window as it was, non-zero (no persist state to leave); and it
    // acknowledges nothing new, or new data of ours (up to SND.MAX) while no SACK recovery runs.
    if (state_ != state::established) return false;
    if ((seg.flags_ & ~flag::psh) != flag::ack) return false;
    const seq32 seq(seg.seq_);
    const seq32 ack(seg.ack_);
    if (seq != rcv_nxt_ || ack < snd_una_ || ack > snd_max_) return false;
    const bool advanced = ack > snd_una_;
    if (advanced && sack_recovering()) return false;
    if (payload.empty() || payload.size() > recv_window()) return false;
    if (seg.options_.sack_count_ != 0 || (std::uint32_t{seg.window_} << snd_shift_) != snd_wnd_ || snd_wnd_ == 0)
        return false;
    // Nothing held out of order (the new data would close no gap) and no SACK state to update.
    if (!ooo_.empty() || ooo_fin_ || (sack_ok_ && !sb_.empty())) return false;
    // RFC 7323 §5.3 (PAWS) must pass: with timestamps on, the segment carries one, not older than
    // TS.Recent.
    if (ts_ok_) {
        if (!seg.options_.timestamp_) return false;
        const std::uint32_t tsval = seg.options_.timestamp_->tsval_;
        if (static_cast<std::int32_t>(tsval - ts_recent_) < 0) return false;
        // RFC 7323 §4.3: TS.Recent follows the segment the last ACK we sent acknowledged.
        if (seq <= last_ack_sent_) ts_recent_ = tsval;
    }
    // RFC 9293 §3.10.7.4 "fifth": SND.WL1/WL2 follow the newest segment (the window is unchanged).
    if (snd_wl1_ < seq || (snd_wl1_ == seq && snd_wl2_ <= ack)) {
        snd_wl1_ = seq;
        snd_wl2_ = ack;
        persist_at_.reset();
        persist_backoff_ = 0;
    }
    if (advanced) {
        // As check_ack for a new ACK with an empty scoreboard and no SACK blocks: the general ACK
        // step, and the tail loss probe re-armed (RFC 8985 §7) when SACK is on.
        on_new_ack(now, seg, ack);
        if (sack_ok_) {
            probes_out_ = 0;
            if (flight() > 0)
                arm_probe(now);
            else
                probe_at_.reset();
        }
    }
    last_heard_ = now;
    if (cfg_.keepalive_) {
        keepalive_at_ = now + cfg_.keepalive_idle_;
        keepalive_sent_ = 0;
    }
    // "seventh": the text, in order and whole; kept in the frame when it can be, else copied.
    if (frame == nullptr || !deliver_held(*frame, payload)) deliver_copy(payload);
    rcv_nxt_ += static_cast<std::uint32_t>(payload.size());
    schedule_ack(now, payload.size() >= eff_mss());
    ++stats_.fast_path_;
    return true;
}

} // namespace demi::net::tcp
