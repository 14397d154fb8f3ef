// The TCP connection: its transmission control block (RFC 9293 §3.3.1) and state machine. A pure
// function of (state, now, segment) (DESIGN.md §3): process() takes a parsed segment and the time,
// updates the state and notes what must be sent; dispatch() hands each segment to send now to a
// callback; poll_at() says when the next timer falls due. No clock, no RNG, no device in here: the
// ISN comes in as a value, time as a parameter.
//
// Files: input.cpp (segment arrival, RFC 9293 §3.10.7), output.cpp (what to send, timers),
// recovery.cpp (retransmission timeout, SACK loss recovery's sending side), tcb.cpp (user calls,
// buffers), rto.cpp, congestion.cpp, reassembly.cpp, sack.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include <demi/buffer.hpp>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "net/stack/tcp/congestion.hpp"
#include "net/stack/tcp/reassembly.hpp"
#include "net/stack/tcp/rto.hpp"
#include "net/stack/tcp/sack.hpp"
#include "net/stack/tcp/seq.hpp"
#include "net/wire/ipv4.hpp"
#include "net/wire/tcp.hpp"

namespace demi::net::tcp {

using namespace std::chrono_literals;

/// RFC 9293 §3.3.2.
enum class state : std::uint8_t {
    closed,
    listen,
    syn_sent,
    syn_received,
    established,
    fin_wait_1,
    fin_wait_2,
    close_wait,
    closing,
    last_ack,
    time_wait,
};
[[nodiscard]] const char *to_string(state s) noexcept;

struct endpoint {
    wire::ipv4_address addr_;
    std::uint16_t port_ = 0;
    friend bool operator==(const endpoint &, const endpoint &) noexcept = default;
};

struct four_tuple {
    endpoint local_;
    endpoint remote_;
    friend bool operator==(const four_tuple &, const four_tuple &) noexcept = default;
};

/// Per-connection settings (the socket options a runtime exposes).
struct config {
    /// The MSS we announce (RFC 9293 §3.7.1) and the largest segment we send.
    std::uint16_t mss_ = 1460;
    std::size_t send_buffer_ = 256 * 1024;
    /// Also the largest window we advertise.
    std::size_t recv_buffer_ = 256 * 1024;
    bool window_scaling_ = true; // RFC 7323 §2
    bool timestamps_ = true;     // RFC 7323 §3
    bool sack_ = true;           // RFC 2018 SACK, and with it RFC 6675 loss recovery
    bool nodelay_ = false;       // Nagle (RFC 1122 §4.2.3.4) is on unless this is set
    cc_algorithm cc_ = cc_algorithm::cubic;
    /// TIME-WAIT lasts 2 * msl_ (RFC 9293 §3.4.2).
    duration msl_ = 30s;
    /// Delayed ACK (RFC 1122 §4.2.3.2): at most this long, clamped to 200 ms; zero ACKs every segment.
    duration delayed_ack_ = 40ms;
    duration rto_initial_ = 1s; // RFC 6298 §2.1
    duration rto_min_ = 1s;     // RFC 6298 §2.4
    duration rto_max_ = 60s;    // RFC 6298 §2.5
    /// Retransmissions of a SYN or SYN-ACK before the open fails with ETIMEDOUT (TCP_SYNCNT; Linux's
    /// tcp_syn_retries).
    unsigned syn_retries_ = 6;
    /// What a listener gives the connections it makes for syn_retries_ (their SYN-ACK retransmissions)
    /// unless TCP_SYNCNT is set on it (listener::set_syn_retries): Linux's tcp_synack_retries.
    unsigned synack_retries_ = 5;
    /// Retransmissions of data or FIN before the connection fails with ETIMEDOUT (RFC 1122 §4.2.3.5 R2).
    unsigned max_retransmits_ = 15;
    /// If non-zero, data unacknowledged for this long fails the connection with ETIMEDOUT (RFC 5482).
    duration user_timeout_ = duration::zero();
    bool keepalive_ = false; // RFC 1122 §4.2.3.6
    duration keepalive_idle_ = 2h;
    duration keepalive_interval_ = 75s;
    unsigned keepalive_probes_ = 9;
    /// RFC 5961 §7: at most this many challenge ACKs per challenge_ack_interval_, per connection (0: no
    /// limit). Linux's default budget, 1000 per second, but counted per connection rather than per
    /// host: a host-wide counter is observable by an off-path attacker (CVE-2016-5696).
    unsigned challenge_ack_limit_ = 1000;
    duration challenge_ack_interval_ = 1s;
    /// Header prediction (fast_path.cpp) for the segments it covers; false sends every segment down
    /// the general path (the same result, for tests that prove it).
    bool fast_path_ = true;
};

/// Counters for tests and statistics.
struct connection_stats {
    std::uint64_t segments_in_ = 0;
    std::uint64_t segments_out_ = 0;
    std::uint64_t rejected_ = 0;
    std::uint64_t retransmits_ = 0;
    std::uint64_t fast_retransmits_ = 0;
    std::uint64_t timeouts_ = 0;
    std::uint64_t challenge_acks_ = 0;
    std::uint64_t dup_acks_ = 0;
    std::uint64_t ooo_segments_ = 0;
    std::uint64_t ooo_dropped_ = 0;
    /// Loss recoveries entered with SACK (RFC 6675 §5), and segments resent from the scoreboard.
    std::uint64_t sack_recoveries_ = 0;
    std::uint64_t sack_retransmits_ = 0;
    /// Retransmissions found lost through SACK (retransmit_log) and sent again before the timer.
    std::uint64_t lost_retransmits_ = 0;
    /// RFC 6675 NextSeg() rule (4) rescue retransmissions.
    std::uint64_t rescue_retransmits_ = 0;
    /// Tail loss probes sent (RFC 8985 §7).
    std::uint64_t probes_ = 0;
    /// Of those, probes that resent the hole at SND.UNA because the last segment was SACKed.
    std::uint64_t probe_hole_retransmits_ = 0;
    /// Challenge ACKs not sent because of the RFC 5961 §7 limit.
    std::uint64_t challenge_acks_suppressed_ = 0;
    /// Octets that arrived on a SYN or SYN-ACK and were kept (RFC 9293 §3.10.7.2-3).
    std::uint64_t syn_data_ = 0;
    /// Segments header prediction took (fast_path.cpp), of segments_in_.
    std::uint64_t fast_path_ = 0;
};

/// The RST to answer a segment that reaches no connection (RFC 9293 §3.10.7.1): none for a RST;
/// <SEQ=SEG.ACK><CTL=RST> if it has ACK; otherwise <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
[[nodiscard]] std::optional<wire::tcp_repr> reset_for(const wire::tcp_repr &seg, std::size_t payload_len) noexcept;

class connection {
public:
    /// Active open (RFC 9293 §3.10.1): SYN-SENT with the SYN ready to send.
    [[nodiscard]] static connection connect(const four_tuple &t, const config &c, seq32 iss, time_point now);
    /// Passive open: a LISTEN socket received `syn` (RFC 9293 §3.10.7.2); SYN-RECEIVED with the SYN-ACK
    /// ready to send. The listener decides whether to create it.
    /// `payload` is the data on the SYN: kept (as far as the window allows) and delivered once
    /// ESTABLISHED; the SYN-ACK acknowledges what was kept, never more.
    [[nodiscard]] static connection accept_syn(const four_tuple &t, const config &c, seq32 iss, time_point now,
                                               const wire::tcp_repr &syn, std::span<const std::byte> payload = {});

    connection(connection &&) noexcept = default;
    connection &operator=(connection &&) noexcept = default;
    ~connection() = default;

    // ---- the segment interface (input.cpp, output.cpp) ----

    /// A segment for this connection arrived (RFC 9293 §3.10.7). `payload` is its data. When `frame` is
    /// given and its block holds `payload`, in-order data may be kept by reference to that block instead
    /// of being copied (read back with recv_buffer(); the block stays alive until then).
    void process(time_point now, const wire::ipv4_repr &ip, const wire::tcp_repr &seg,
                 std::span<const std::byte> payload, const buffer *frame = nullptr);
    /// Runs expired timers, then calls `emit(const wire::tcp_repr &, std::span<const std::byte> payload)`
    /// for each segment to send now. The repr's payload_ is the same span; both are valid only during
    /// the call.
    template <class Emit>
    void dispatch(time_point now, Emit &&emit) {
        using fn_t = std::remove_reference_t<Emit>;
        emitter e{&emit, [](void *ctx, const wire::tcp_repr &r, std::span<const std::byte> p) {
                      (*static_cast<fn_t *>(ctx))(r, p);
                  }};
        dispatch_impl(now, e);
    }
    /// The next time dispatch() has work to do by the clock; none when only a segment or a user call
    /// can change anything. Earlier than now when a segment is waiting to go.
    [[nodiscard]] std::optional<time_point> poll_at() const noexcept;
    /// Whether dispatch() has work at `now` (poll_at() <= now, more cheaply).
    [[nodiscard]] bool due(time_point now) const noexcept;

    // ---- user calls (tcb.cpp; RFC 9293 §3.10.2-3.10.5) ----

    /// Queues `b` for sending. EAGAIN unless can_take(b.size()); EPIPE after close(); ENOTCONN when
    /// closed. The push completes (pushes_completed() counts it) when all its bytes are acknowledged.
    result<void> push(buffer b);
    /// Whether a push of n octets is taken now: when it fits the send buffer, or when at most half
    /// the buffer is queued (so a push larger than the buffer, or than its free half, always
    /// progresses, and is taken while the previous data is still in flight: waiting for the buffer to
    /// empty would drain the pipe before every such push, and its tail's delayed ACK would stall the
    /// stream until a tail loss probe). Queued octets stay below half the buffer plus one push.
    [[nodiscard]] bool can_take(std::size_t n) const noexcept {
        return send_queued_ + n <= cfg_.send_buffer_ || send_queued_ <= cfg_.send_buffer_ / 2;
    }
    /// Copies in-order received data into `out`; returns the octets copied.
    std::size_t recv(std::span<std::byte> out);
    /// Without a copy: up to `max` octets of the in-order data at the front when they are kept by
    /// reference to a received frame (see process()); an empty buffer when nothing is readable or the
    /// front octets were copied into the receive buffer (read those with recv()).
    buffer recv_buffer(std::size_t max);
    /// RFC 9293 §3.10.4: no more data from us; a FIN follows the queued data.
    void close();
    /// RFC 9293 §3.10.5: a RST is sent (in synchronized states) and the connection is closed.
    void abort();
    /// TCP_NODELAY: on, a short segment no longer waits for the data in flight to be acknowledged
    /// (RFC 1122 §4.2.3.4); what Nagle was holding leaves at the next dispatch().
    void set_nodelay(bool on) noexcept { cfg_.nodelay_ = on; }
    /// SO_KEEPALIVE (RFC 1122 §4.2.3.6): turned on in ESTABLISHED or CLOSE-WAIT, the first probe is due
    /// keepalive_idle_ after `now` (as if the peer was last heard now); off, no probe is pending and
    /// the unanswered-probe count starts again. Turning on a connection that has not been established
    /// yet arms the timer when it is.
    void set_keepalive(bool on, time_point now) noexcept;
    /// TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT: the idle time before the first probe, the time between
    /// probes, and the unanswered probes that fail the connection (ETIMEDOUT). A changed idle time,
    /// or any idle time when `idle_set` (the application set TCP_KEEPIDLE, whatever its value), moves
    /// an armed keepalive to that long after the peer was last heard (never earlier than `now`), as
    /// Linux does: set while probing, the next probe goes at once. A changed interval applies from
    /// the next probe.
    void set_keepalive_timing(duration idle, duration interval, unsigned probes, time_point now,
                              bool idle_set = false) noexcept;
    /// TCP_USER_TIMEOUT (RFC 5482), as Linux: zero is off; otherwise data (or a SYN) unacknowledged
    /// this long after it was first sent, once retransmitted (checked at a retransmission timeout,
    /// whose timer then runs out no later than this; not in SYN-RECEIVED; it replaces the
    /// retransmission count once synchronized), data held this long behind a zero window (from the
    /// first probe; the probe timer runs out no later than this), or a peer this long silent with a
    /// keepalive probe out (instead of TCP_KEEPCNT) fails the connection with ETIMEDOUT. A change
    /// applies to a retransmission timer running now.
    void set_user_timeout(duration d, time_point now) noexcept {
        cfg_.user_timeout_ = d;
        clamp_rto_to_user_timeout(now);
    }
    /// TCP_SYNCNT: retransmissions of the SYN before an active open fails with ETIMEDOUT; read at each
    /// retransmission timeout, so a change while opening counts the retransmissions made.
    void set_syn_retries(unsigned n) noexcept { cfg_.syn_retries_ = n; }
    [[nodiscard]] bool nodelay() const noexcept { return cfg_.nodelay_; }
    [[nodiscard]] bool keepalive() const noexcept { return cfg_.keepalive_; }

    // ---- observers ----
    [[nodiscard]] state current_state() const noexcept { return state_; }
    /// 0, or ECONNRESET / ECONNREFUSED / ETIMEDOUT once the connection failed.
    [[nodiscard]] int error() const noexcept { return error_; }
    [[nodiscard]] bool is_closed() const noexcept { return state_ == state::closed; }
    [[nodiscard]] const four_tuple &tuple() const noexcept { return tuple_; }
    [[nodiscard]] std::uint64_t pushes_completed() const noexcept { return pushes_completed_; }
    [[nodiscard]] std::size_t readable() const noexcept { return unread_; }
    /// The peer's FIN has arrived and every byte before it has been read.
    [[nodiscard]] bool eof() const noexcept { return fin_received_ && unread_ == 0; }
    /// Octets queued and not yet acknowledged.
    [[nodiscard]] std::size_t send_queued() const noexcept { return send_queued_; }
    [[nodiscard]] std::size_t send_space() const noexcept;
    [[nodiscard]] const connection_stats &stats() const noexcept { return stats_; }
    [[nodiscard]] const rto_estimator &rto() const noexcept { return rto_; }
    [[nodiscard]] const congestion_control &cc() const noexcept { return *cc_; }
    [[nodiscard]] std::uint16_t send_mss() const noexcept { return snd_mss_; }
    [[nodiscard]] std::uint32_t send_window() const noexcept { return snd_wnd_; }
    [[nodiscard]] std::uint32_t recv_window() const noexcept;
    [[nodiscard]] seq32 snd_una() const noexcept { return snd_una_; }
    [[nodiscard]] seq32 snd_nxt() const noexcept { return snd_nxt_; }
    [[nodiscard]] seq32 rcv_nxt() const noexcept { return rcv_nxt_; }
    [[nodiscard]] bool window_scaling() const noexcept { return ws_ok_; }
    [[nodiscard]] bool timestamps() const noexcept { return ts_ok_; }
    /// Both SYNs carried SACK-permitted (RFC 2018 §2).
    [[nodiscard]] bool sack_permitted() const noexcept { return sack_ok_; }
    /// The sender's record of what the peer SACKed (RFC 6675 §3).
    [[nodiscard]] const sack_scoreboard &scoreboard() const noexcept { return sb_; }
    /// In fast recovery (RFC 6582) or SACK-based loss recovery (RFC 6675 §5).
    [[nodiscard]] bool in_recovery() const noexcept { return in_recovery_; }
    /// Filling in the data outstanding at a retransmission timeout, with SACK (RFC 6675 §5.1).
    [[nodiscard]] bool in_rto_recovery() const noexcept { return rto_recovery_; }
    /// RFC 6582 "recover" + 1 / RFC 6675 RecoveryPoint + 1 (an exclusive end like SND.MAX).
    [[nodiscard]] seq32 recovery_point() const noexcept { return recover_; }
    [[nodiscard]] const retransmit_log &retransmissions() const noexcept { return rxt_log_; }
    /// RFC 6675 §4 SetPipe(): octets estimated in the network (without SACK: SND.MAX - SND.UNA).
    [[nodiscard]] std::uint32_t pipe() const noexcept;
    [[nodiscard]] std::uint8_t send_scale() const noexcept { return snd_shift_; }
    [[nodiscard]] std::uint8_t recv_scale() const noexcept { return rcv_shift_; }
    [[nodiscard]] const reassembly &out_of_order() const noexcept { return ooo_; }
    /// Whether this connection was opened passively (from a listener).
    [[nodiscard]] bool passive() const noexcept { return passive_; }

private:
    struct emitter {
        void *ctx_;
        void (*call_)(void *, const wire::tcp_repr &, std::span<const std::byte>);
    };
    struct pushed {
        buffer buf_;
        std::size_t sent_off_ = 0; // octets of buf_ already acknowledged
    };

    connection(const four_tuple &t, const config &c, seq32 iss, time_point now);

    // fast_path.cpp: header prediction; true when the segment was fully handled.
    bool fast_path_data(time_point now, const wire::tcp_repr &seg, std::span<const std::byte> payload,
                        const buffer *frame);

    // input.cpp
    void process_syn_sent(time_point now, const wire::tcp_repr &seg, std::span<const std::byte> payload);
    /// Keeps the data of a SYN received in a non-synchronized state (RFC 9293 §3.10.7.2-3).
    void keep_syn_data(std::span<const std::byte> payload);
    /// SYN data becomes readable once ESTABLISHED; RFC 6298 §5.7 after a SYN timeout.
    void on_established();
    /// A challenge ACK (RFC 5961 §3.2, §4.2, §5.2) within the RFC 5961 §7 limit.
    void challenge(time_point now, const char *why);
    bool check_ack(time_point now, const wire::tcp_repr &seg, bool has_data);
    void on_new_ack(time_point now, const wire::tcp_repr &seg, seq32 ack);
    void on_dup_ack(time_point now);
    void on_sack_dup_ack(time_point now);
    /// RFC 9937 §6: on an ACK in SACK fast recovery (the one that starts it included) that delivered
    /// `delivered` octets (SND.UNA's advance and the change in SACKed octets), cwnd = pipe + sndcnt.
    /// `safe_ack`: SND.UNA advanced and the ACK reported no further loss.
    void prr_update(std::uint32_t delivered, bool safe_ack) noexcept;
    void process_text(time_point now, seq32 seq, std::span<const std::byte> data, bool fin);
    void process_fin(time_point now);
    void take_options(const wire::tcp_repr &syn);
    void update_window(const wire::tcp_repr &seg);
    void fail(int err);
    void enter_time_wait(time_point now);
    void reject(const char *why);

    // output.cpp
    void dispatch_impl(time_point now, emitter &e);
    void run_timers(time_point now);
    void send_segment(time_point now, emitter &e, std::uint8_t flags, seq32 seq, std::span<const std::byte> data);
    [[nodiscard]] std::span<const std::byte> send_bytes(std::uint32_t offset, std::uint32_t len);
    [[nodiscard]] std::uint16_t window_field(bool syn) const noexcept;
    void arm_rto(time_point now);
    void retransmit_timeout(time_point now);
    /// Brings a running retransmission timer in to the user timeout's end once it counts (recovery.cpp).
    void clamp_rto_to_user_timeout(time_point now) noexcept;
    /// TCP_USER_TIMEOUT is set and counts: data was retransmitted (a timeout or a tail loss probe),
    /// not in SYN-RECEIVED.
    [[nodiscard]] bool user_timeout_counting() const noexcept;
    void schedule_ack(time_point now, bool full_segment);
    /// The payload octets the send loop would put in the next new-data segment now (0: none or held).
    [[nodiscard]] std::uint32_t next_data_len() const noexcept;
    /// RFC 6675 §4 NextSeg() while in SACK recovery with room in cwnd - pipe: a hole to resend
    /// (retx_ true) or new data at SND.NXT; none when nothing may go.
    struct next_seg {
        seq32 seq_;
        std::uint32_t len_ = 0; // sequence space: may end with our FIN after a timeout
        bool retx_ = false;
        bool rescue_ = false; // rule (4)
    };
    [[nodiscard]] std::optional<next_seg> sack_next_seg() const noexcept;
    void sack_send(time_point now, emitter &e);
    /// In SACK loss recovery, fast (RFC 6675 §5) or after a timeout (§5.1): NextSeg() sends.
    [[nodiscard]] bool sack_recovering() const noexcept { return sack_ok_ && (in_recovery_ || rto_recovery_); }
    /// RFC 3042: octets beyond cwnd that new data may use on the first two duplicate ACKs.
    [[nodiscard]] std::uint32_t limited_transmit_room() const noexcept;
    /// RFC 8985 §7.2: schedules a tail loss probe (SACK only, with an RTT sample), backed off by the
    /// probes already outstanding.
    void arm_probe(time_point now);
    /// RFC 8985 §7.3: one segment regardless of cwnd — new data if any, else the last one again.
    void send_probe(time_point now, emitter &e);
    /// Payload octets per segment: the send MSS less the timestamp option (RFC 9293 §3.7.1).
    [[nodiscard]] std::uint32_t eff_mss() const noexcept { return snd_mss_ - (ts_ok_ ? 12u : 0u); }
    /// The most data a segment sent now may carry: eff_mss() less the SACK option send_segment adds
    /// while out-of-order data is held (RFC 6691: options come out of the MSS; a full-sized data
    /// segment of a connection receiving out of order would otherwise exceed the MTU).
    [[nodiscard]] std::uint32_t seg_mss() const noexcept {
        return sack_ok_ && !ooo_.empty() ? eff_mss() - sack_option_len() : eff_mss();
    }
    /// Octets of the hole at SND.UNA one retransmission may carry: at most `max`, not past the data
    /// nor (with SACK) the first SACKed run above SND.UNA; 0 when SND.UNA itself is SACKed.
    [[nodiscard]] std::uint32_t una_hole_len(std::uint32_t max) const noexcept;
    /// Something to send now that no timer decides (an ACK owed, data the windows allow, a FIN...).
    [[nodiscard]] bool has_work_now() const noexcept;
    /// Octets of the SACK option send_segment would add now (0 without blocks).
    [[nodiscard]] std::uint32_t sack_option_len() const noexcept;

    // tcb.cpp
    void drop_acked(std::uint32_t octets);
    void write_ring(std::uint32_t offset, std::span<const std::byte> data);
    /// In-order data at RCV.NXT copied after the ring's unread octets (RCV.NXT is the caller's).
    void deliver_copy(std::span<const std::byte> data);
    /// `n` octets already in the ring (written out of order) became in-order data.
    void deliver_ring(std::size_t n);
    /// In-order data kept by reference; false (nothing done) when it cannot be.
    bool deliver_held(const buffer &frame, std::span<const std::byte> data);
    /// After the application took `n` octets: window update (RFC 1122 §4.2.3.3).
    void after_read(std::size_t n);
    [[nodiscard]] seq32 data_end() const noexcept { return send_base_ + static_cast<std::uint32_t>(send_queued_); }
    [[nodiscard]] bool fin_acked() const noexcept { return fin_queued_ && snd_una_ > data_end(); }
    [[nodiscard]] std::uint32_t flight() const noexcept { return seq_distance(snd_una_, snd_max_); }
    [[nodiscard]] std::uint32_t ts_now(time_point now) const noexcept;

    four_tuple tuple_;
    config cfg_;
    state state_ = state::closed;
    int error_ = 0;
    bool passive_ = false;

    // Send sequence space (RFC 9293 §3.3.1).
    seq32 iss_;
    seq32 snd_una_;
    seq32 snd_nxt_;
    seq32 snd_max_; // the highest SND.NXT so far: a timeout rewinds snd_nxt_ to snd_una_
    seq32 snd_wl1_;
    seq32 snd_wl2_;
    std::uint32_t snd_wnd_ = 0;
    std::uint32_t max_snd_wnd_ = 0; // RFC 5961 §5.2 MAX.SND.WND
    std::uint16_t snd_mss_ = 536;   // RFC 9293 §3.7.1: 536 when the peer sends no MSS option
    std::uint8_t snd_shift_ = 0;
    seq32 send_base_; // the sequence number of the first octet in send_q_
    std::deque<pushed> send_q_;
    std::size_t send_queued_ = 0;
    std::uint64_t pushes_completed_ = 0;
    bool fin_queued_ = false;
    std::vector<std::byte> scratch_; // a segment spanning several pushes is gathered here

    // Receive sequence space.
    seq32 irs_;
    seq32 rcv_nxt_;
    std::uint8_t rcv_shift_ = 0;
    // In-order data not yet read is a queue of chunks, each either octets kept by reference to a
    // received frame (buf_ valid) or octets in ring_ (copied; ring chunks are read from ring_head_ on).
    // Out-of-order data always goes to ring_, after its unread octets; while any is held, in-order data
    // is copied too, so ring positions stay those of sequence numbers.
    struct rx_chunk {
        buffer buf_;
        std::size_t len_ = 0;
    };
    static constexpr std::size_t rx_chunks = 128;
    std::vector<std::byte> ring_;
    std::size_t ring_head_ = 0;   // first unread octet in the ring
    std::size_t ring_unread_ = 0; // in-order octets in the ring not yet read
    std::size_t unread_ = 0;      // in-order octets not yet read, in the ring or held
    std::vector<rx_chunk> rxq_;   // rx_chunks slots, circular
    std::size_t rxq_head_ = 0;
    std::size_t rxq_count_ = 0;
    std::size_t syn_data_ = 0;    // octets of a SYN's data after unread_ (in the ring), readable once ESTABLISHED
    reassembly ooo_;
    std::optional<seq32> ooo_fin_; // a FIN that arrived beyond RCV.NXT
    bool fin_received_ = false;
    std::uint32_t adv_wnd_ = 0; // the window in the last segment sent

    // Options (RFC 7323).
    bool ws_ok_ = false;
    bool ts_ok_ = false;
    bool sack_ok_ = false;   // RFC 2018 §2
    sack_history sack_rx_;   // receiver: blocks to report
    sack_scoreboard sb_;     // sender: blocks reported
    seq32 high_rxt_;         // RFC 6675 HighRxt + 1
    seq32 rescue_end_;       // RFC 6675 RescueRxt + 1
    retransmit_log rxt_log_; // retransmissions in this recovery, to find lost ones
    std::uint32_t ts_recent_ = 0;
    seq32 last_ack_sent_;
    std::uint32_t ts_offset_ = 0;

    // ACK policy.
    bool ack_now_ = false;
    unsigned unacked_full_ = 0;
    std::optional<time_point> delack_at_;
    bool challenge_ack_ = false;
    time_point challenge_since_{}; // RFC 5961 §7: the start of the current interval
    unsigned challenges_ = 0;      // challenge ACKs sent in it
    std::optional<seq32> rst_seq_; // a RST <SEQ=x><CTL=RST> to send (RFC 9293 §3.10.7.3-4, §3.10.5)
    bool keepalive_probe_ = false;

    // Retransmission and recovery.
    rto_estimator rto_;
    std::optional<time_point> rto_at_;
    unsigned retries_ = 0;
    std::optional<time_point> first_retx_at_;               // when the oldest unacknowledged data was first sent
    std::optional<std::pair<seq32, time_point>> rtt_probe_; // Karn's algorithm without timestamps
    std::unique_ptr<congestion_control> cc_;
    unsigned dup_acks_ = 0;
    bool in_recovery_ = false;
    bool rto_recovery_ = false; // RFC 6675 §5.1: after a timeout, until SND.UNA reaches recover_
    // RFC 6582 §3.2 "recover" and RFC 6675 RecoveryPoint, both "the highest sequence number
    // transmitted", kept + 1 (SND.MAX at the time). RFC 6582's "the Cumulative Acknowledgment field
    // covers more than recover" is SEG.ACK > recover (its step 1 sets recover = ISS, and the first
    // data, SEG.ACK = ISS + 1, must be able to enter fast retransmit), i.e. SEG.ACK >= recover_: the
    // same test as its step 3 "full acknowledgment" and RFC 6675 §5.1 "HighACK >= RecoveryPoint".
    seq32 recover_;
    bool fast_retx_pending_ = false;
    // RFC 9937 Proportional Rate Reduction in SACK fast recovery (prr_update): octets delivered to
    // the receiver and sent since it began, and the FlightSize then (RecoverFS).
    std::uint64_t prr_delivered_ = 0;
    std::uint64_t prr_out_ = 0;
    std::uint32_t recover_fs_ = 0;
    // Tail loss probe (RFC 8985 §7), with SACK: when no ACK delivers anything for 2 * SRTT, one
    // segment goes so that its SACK (or ACK) reveals the loss. Unlike RFC 8985 (one probe, then the
    // RTO), further probes follow with the probe timeout doubled each time, as long as they fall
    // before the RTO: a lost probe or a lost ACK of it costs 2 PTO, not an RTO with backoff.
    std::optional<time_point> probe_at_;
    bool probe_pending_ = false;
    unsigned probes_out_ = 0; // sent since something was last delivered

    // Other timers.
    std::optional<time_point> persist_at_;
    unsigned persist_backoff_ = 0;
    time_point persist_since_{}; // the first zero-window probe (while persist_backoff_ > 0)
    std::optional<time_point> time_wait_at_;
    std::optional<time_point> keepalive_at_;
    unsigned keepalive_sent_ = 0;
    time_point last_heard_{};

    connection_stats stats_;
};

} // namespace demi::net::tcp
