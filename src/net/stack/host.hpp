// A host: one network interface (ARP, IPv4, ICMP, UDP) on one layer-1 device, with the TCP core plugged
// in through the interface's tcp_hook, and a small socket-like API over TCP connections.
//
// Driven by the caller like the rest of the stack (DESIGN.md §2-3): receive(now) takes every frame the
// device has ready, poll(now) runs the interface's timers and the dispatch() of every connection with
// something to do (touched since the last poll, or its deadline come) and hands the frames built to
// the device, poll_at() is a lower bound of the next deadline. No clock is read; ISNs and ephemeral
// ports come from the rng given at construction.
//
// Demultiplexing (RFC 9293 §3.10.7): a segment goes to the connection with its 4-tuple, else to the
// listener on its destination port, else it is answered with tcp::reset_for() (RFC 9293 §3.10.7.1).
//
// Lifetime of a connection handle: it stays valid until the application has called close() or abort()
// on it *and* the TCB has reached CLOSED (so the error code of a failed connection stays readable until
// the application lets go). A connection made by a listener and not yet accepted is reclaimed by the
// host if it dies first. Once a TCB is CLOSED it no longer takes segments: they meet a listener or a RST.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "memory/pool.hpp"
#include "net/phy/device.hpp"
#include "net/stack/config.hpp"
#include "net/stack/interface.hpp"
#include "net/stack/tcp/listener.hpp"
#include "net/stack/tcp/tcb.hpp"
#include "net/stack/tcp_hook.hpp"

#include <demi/buffer.hpp>

namespace demi::net {

/// Names a TCP connection of one host (never reused by that host).
enum class conn_id : std::uint32_t {};
/// Names a listening endpoint of one host (never reused by that host).
enum class listener_id : std::uint32_t {};

struct host_config {
    interface_config iface_;
    /// Settings of every connection this host makes (active and passive).
    tcp::config tcp_;
    /// Ephemeral ports for tcp_connect without a local port (RFC 6335 §6).
    std::uint16_t ephemeral_first_ = 49152;
    std::uint16_t ephemeral_last_ = 65535;
    /// Frames taken from the device per receive() batch.
    std::size_t rx_batch_ = 64;
    /// Frames kept while the device pushes back; more are dropped and counted.
    std::size_t max_tx_backlog_ = 4096;
    /// TCP back-pressure: while the device pushes back and at least this many frames wait for it (the
    /// backlog and the interface's queue behind it), the connections not yet dispatched wait for a
    /// later round: their segments would only pile up behind the device, or be dropped past
    /// max_tx_backlog_ (or the interface's max_tx_queue_) and retransmitted. 0: no pause.
    std::size_t tx_backlog_pause_ = 256;
    /// ACKs and data segments of a connection (flags ACK or ACK+PSH, no options but timestamps) are
    /// built from a copy of the headers of its last generically built one (see host::send_segment);
    /// false builds every segment generically (the frames are the same).
    bool ack_template_ = true;
};

/// What a socket's options decide for its connection (setsockopt); the host's tcp::config gives the
/// defaults.
struct tcp_conn_options {
    bool nodelay_ = tcp::config{}.nodelay_;                           // TCP_NODELAY
    bool keepalive_ = tcp::config{}.keepalive_;                       // SO_KEEPALIVE
    duration keepalive_idle_ = tcp::config{}.keepalive_idle_;         // TCP_KEEPIDLE
    duration keepalive_interval_ = tcp::config{}.keepalive_interval_; // TCP_KEEPINTVL
    unsigned keepalive_probes_ = tcp::config{}.keepalive_probes_;     // TCP_KEEPCNT
    unsigned syn_retries_ = tcp::config{}.syn_retries_;               // TCP_SYNCNT
    duration user_timeout_ = tcp::config{}.user_timeout_;             // TCP_USER_TIMEOUT
    bool keepalive_idle_set_ = false; // the call that passes these is a TCP_KEEPIDLE setsockopt
};

struct host_stats {
    std::uint64_t tcp_segments_in_ = 0;
    std::uint64_t tcp_malformed_drops_ = 0; // a TCP header or checksum that does not parse or verify
    std::uint64_t tcp_resets_sent_ = 0;     // RSTs for segments that matched nothing (or a listener)
    std::uint64_t tcp_send_failures_ = 0;   // send_ipv4 or buffer allocation refused a segment
    std::uint64_t tx_backlog_drops_ = 0;    // frames dropped because the device kept pushing back
    std::uint64_t connections_opened_ = 0;
    std::uint64_t connections_reclaimed_ = 0;
    std::uint64_t tcp_dispatches_ = 0; // connections poll() dispatched (only those with something to do)
    std::uint64_t tcp_dispatches_paused_ = 0; // dispatches put off to a later round by back-pressure
};

class host final : private tcp_hook {
public:
    /// `dev` and `random` must outlive the host. The interface's MAC is taken from the device when the
    /// configuration leaves it zero.
    host(host_config cfg, phy::device &dev, rng &random);
    host(const host &) = delete;
    host &operator=(const host &) = delete;
    ~host() override;

    // ---- driving ----

    /// Takes every frame the device has ready and hands it to the interface (and so to TCP).
    void receive(time_point now);
    /// Runs the interface's timers, the dispatch() of every connection with something to do (touched
    /// by a segment or a user call since the last poll, or its next deadline come), and transmits
    /// what was built.
    void poll(time_point now);
    /// Transmits the frames the interface has queued (a UDP datagram just sent), behind what the device
    /// pushed back before, and nothing else: no timer, no connection's output, no local delivery
    /// (the next poll() does those), so it needs no time.
    void send_queued();
    /// No later than the earliest time poll() has work (earlier than or equal to the last now when it
    /// has some now; a deadline since moved later may make it earlier than need be).
    [[nodiscard]] std::optional<time_point> poll_at() const noexcept;
    /// A connection was touched since the last poll() (by a segment, a local delivery, a user call):
    /// the next poll() has work for it.
    [[nodiscard]] bool any_active() const noexcept { return !active_.empty(); }
    /// Whoever waits on the connection (a socket), given back by take_dispatched(); nullptr: nobody.
    /// EBADF for an unknown or released id.
    result<void> set_user(conn_id c, void *user) noexcept;
    /// The users of the connections poll() dispatched since the last call (each at most once, in
    /// the order first dispatched) into `out` (its old content dropped): those whose state may have
    /// moved (data, window, state, error), so they may look.
    void take_dispatched(std::vector<void *> &out);
    [[nodiscard]] bool any_dispatched() const noexcept { return !dispatched_.empty(); }

    // ---- TCP sockets ----

    /// LISTEN on our address and `port` (RFC 9293 §3.10.1). EADDRINUSE if a listener has the port,
    /// EINVAL for port 0 or a zero backlog.
    result<listener_id> tcp_listen(std::uint16_t port, std::size_t backlog);
    /// An established connection made by the listener; EAGAIN when none is ready, EBADF for a bad id.
    result<conn_id> tcp_accept(listener_id l);
    /// Stops listening; connections not yet accepted are aborted.
    result<void> tcp_unlisten(listener_id l);
    /// TCP_SYNCNT on a listener: the SYN-ACK retransmissions before a connection it made (in
    /// SYN-RECEIVED) is given up, for those it makes and those still waiting for their handshake's
    /// ACK. EBADF for a bad id.
    result<void> tcp_listen_set_syn_retries(listener_id l, unsigned n);
    /// The SYN-ACK retransmissions a listener gives the connections it makes: its TCP_SYNCNT, else
    /// tcp::config::synack_retries_. EBADF for a bad id.
    [[nodiscard]] result<unsigned> tcp_listen_syn_retries(listener_id l) const;
    /// The listener on local port `port`, if any.
    [[nodiscard]] std::optional<listener_id> tcp_listener_on(std::uint16_t port) const;
    /// Active open to `addr`:`port` from `local_port` (0: a random free ephemeral port, RFC 6056 §3.3.1).
    /// EADDRINUSE if the 4-tuple is taken, EADDRNOTAVAIL when no ephemeral port is free.
    result<conn_id> tcp_connect(time_point now, ipv4_address addr, std::uint16_t port, std::uint16_t local_port = 0);
    /// Queues `b` to send (tcp::connection::push): EAGAIN when the send buffer is full, the connection's
    /// error (ECONNRESET, ECONNREFUSED, ETIMEDOUT) once it failed, EPIPE after close().
    result<void> send(conn_id c, buffer b);
    /// Copies received in-order data into `out`. Returns the octets copied; 0 at end of stream (the
    /// peer's FIN and all data read); EAGAIN when nothing is there yet; the connection's error once it
    /// failed; ENOTCONN when closed without an error and without a FIN.
    result<std::size_t> recv(conn_id c, std::span<std::byte> out);
    /// Received in-order data as a buffer, up to `max` octets (max > 0), without a copy when the data is
    /// kept in the received frame (the buffer then refers to the frame's block, which stays alive while
    /// the buffer does); otherwise a new buffer holding a copy. Empty buffer at end of stream; the
    /// errors of recv(); EINVAL for max 0; ENOMEM when no buffer could be had for a copy.
    result<buffer> recv_buffer(conn_id c, std::size_t max);
    /// Graceful close (RFC 9293 §3.10.4); the handle is released once the TCB reaches CLOSED.
    result<void> close(conn_id c);
    /// RST and release (RFC 9293 §3.10.5).
    result<void> abort(conn_id c);
    /// A connection's TCP_NODELAY, SO_KEEPALIVE and its timing, TCP_SYNCNT and TCP_USER_TIMEOUT
    /// (tcp::connection::set_nodelay, set_keepalive_timing, set_keepalive, set_syn_retries,
    /// set_user_timeout), the stack's configuration being only their default; EBADF for an unknown or
    /// released id.
    result<void> tcp_set_options(conn_id c, time_point now, const tcp_conn_options &o);
    /// The settings every new connection starts from.
    [[nodiscard]] const tcp::config &tcp_defaults() const noexcept { return cfg_.tcp_; }

    /// The connection's TCB (read-only), nullptr for an unknown or released id.
    [[nodiscard]] const tcp::connection *connection(conn_id c) const noexcept;
    /// 0 or the connection's error; EBADF for an unknown or released id.
    [[nodiscard]] int error(conn_id c) const noexcept;
    [[nodiscard]] std::size_t connection_count() const noexcept { return conns_.size(); }

    // ---- the rest ----

    [[nodiscard]] net::interface &iface() noexcept { return iface_; }
    [[nodiscard]] const net::interface &iface() const noexcept { return iface_; }
    [[nodiscard]] const host_stats &stats() const noexcept { return stats_; }
    /// Sums of every live connection's counters plus those of reclaimed ones (every connection_stats field).
    [[nodiscard]] tcp::connection_stats tcp_totals() const noexcept;
    /// True while the host still owes the network something: a connection with data not yet
    /// acknowledged or a FIN not yet acknowledged (FIN-WAIT-1, CLOSING, LAST-ACK), or frames the device
    /// has not taken. A libOS going away keeps polling while this holds (bounded), as a kernel keeps
    /// delivering after a process exits.
    [[nodiscard]] bool delivering() const noexcept;

private:
    struct tuple_hash {
        std::size_t operator()(const tcp::four_tuple &t) const noexcept;
    };
    // The headers (Ethernet + IPv4 + TCP, no options or timestamps only) of a segment send_ipv4 built,
    // with the one's-complement sums of the fields that do not change from one segment to the next.
    struct ack_template {
        static constexpr std::size_t max_len = 14 + 20 + 32;
        std::array<std::byte, max_len> frame_{};
        std::uint8_t len_ = 0; // 0: no template; 54 (no options) or 66 (timestamps)
        time_point until_{};   // the next hop's ARP entry expires
        std::uint64_t arp_gen_ = 0;
        std::uint32_t ip_base_ = 0;  // IPv4 header words but total length, ident and checksum
        std::uint32_t pseudo_ = 0;   // pseudo header but the TCP length
        std::uint32_t tcp_base_ = 0; // pseudo_ and the TCP words but seq, ack, offset+flags, window,
                                     // checksum, TSval, TSecr
    };
    struct conn_entry {
        tcp::connection conn_;
        std::uint32_t id_ = 0;            // its key in conns_
        ack_template ack_;
        std::optional<listener_id> from_; // the listener that made it, until accepted
        bool user_closed_ = false;        // close() or abort() was called
        bool in_table_ = true;            // still in by_tuple_
        bool active_ = false;             // in active_: poll() dispatches it
        time_point timer_at_ = time_point::max(); // its entry in timers_ (max: none)
        bool reported_ = false;           // in dispatched_ since the last take_dispatched()
        void *user_ = nullptr;            // set_user()
    };
    // A connection's next deadline (tcp::connection::poll_at) as last scheduled: a min-heap of these
    // wakes it for poll() when the time comes. Entries whose connection has since been given another
    // time (timer_at_ differs) or has gone are skipped when they come up.
    struct timer_entry {
        time_point at_;
        std::uint32_t id_;
        friend bool operator>(const timer_entry &a, const timer_entry &b) noexcept {
            return a.at_ != b.at_ ? a.at_ > b.at_ : a.id_ > b.id_;
        }
    };
    struct listen_entry {
        tcp::listener lst_;
        std::deque<conn_id> pending_; // made and not accepted, oldest first
    };

    void on_tcp(time_point now, const wire::ipv4_repr &ip, const buffer &segment) override;
    void send_segment(time_point now, const tcp::four_tuple &t, const wire::tcp_repr &r, conn_entry *ce = nullptr);
    /// The segment `r` from `ce`'s template; false when the template cannot build it (nothing was sent).
    bool send_ack_from_template(time_point now, const wire::tcp_repr &r, conn_entry &ce);
    void make_ack_template(time_point now, const tcp::four_tuple &t, const wire::tcp_repr &r, const buffer &frame,
                           conn_entry &ce);
    conn_id add_connection(tcp::connection c, std::optional<listener_id> from);
    /// Something happened to the connection (a segment, a user call): poll() dispatches it.
    void touch(conn_entry &e) {
        if (e.active_) return;
        e.active_ = true;
        active_.push_back(e.id_);
    }
    /// After a dispatch: the connection's next deadline into timers_, if earlier than the one it has.
    void schedule(conn_entry &e);
    /// Drops a CLOSED connection from the tuple table, and the entry itself when nobody needs it more.
    void reap(conn_id id, conn_entry &e);
    void flush_tx();
    /// Before a connection's output: hands the interface's queue to the device once it holds
    /// tx_backlog_pause_ frames (TCP data, which shares its block with the send buffer, always queues
    /// there, so one round of many connections could overflow it), then says whether output may go
    /// on: not while the device has left frames with the host and they and the frames queued behind
    /// them number tx_backlog_pause_ or more. Inline for the common case: nothing waits.
    bool may_dispatch() { return (tx_backlog_.empty() && iface_.tx_idle()) || may_dispatch_waiting(); }
    bool may_dispatch_waiting();
    /// A device that took no frame for this long is stalled (a dead link, not a slow receiver, which
    /// can leave a memif ring full for tens of ms): back-pressure does not hold TCP then.
    static constexpr duration tx_stall_limit = std::chrono::seconds(1);
    /// poll() stops at dispatching_[k]: the rest wait for a later round.
    void pause_dispatch(std::size_t k);
    /// A frame from the interface's queue: to tx_batch_ (sent when full), or behind the backlog.
    void take_frame(buffer &&f);
    /// Offers tx_batch_ to the device; what it leaves goes to the backlog (bounded).
    void transmit_batch();
    [[nodiscard]] conn_entry *find(conn_id c) noexcept;
    [[nodiscard]] const conn_entry *find(conn_id c) const noexcept;

    host_config cfg_;
    phy::device &dev_;
    rng &rng_;
    net::interface iface_;
    tcp::isn_generator isn_;
    // Ordered by id, so every pass over the connections (and so the frames) has one order everywhere.
    std::map<std::uint32_t, conn_entry> conns_;
    std::unordered_map<tcp::four_tuple, conn_id, tuple_hash> by_tuple_;
    std::map<std::uint32_t, listen_entry> listeners_;
    std::unordered_map<std::uint16_t, listener_id> by_port_;
    std::uint32_t next_conn_ = 1;
    std::uint32_t next_listener_ = 1;
    std::vector<buffer> rx_;          // reused receive batch
    std::deque<buffer> tx_backlog_;   // frames the device has not taken yet
    std::vector<buffer> tx_batch_;    // frames for the device: always empty between calls (see poll())
    std::vector<buffer> tx_scratch_;  // reused by flush_tx
    std::vector<std::uint32_t> dead_; // reused: ids to reap after a pass
    // Only the connections with something to do are dispatched: those touched since the last poll()
    // and those whose deadline came (timers_), so a poll costs what the busy connections need, not a
    // pass over every connection.
    std::vector<std::uint32_t> active_, dispatching_;
    std::vector<timer_entry> timers_; // a min-heap (std::greater)
    std::vector<std::uint32_t> dispatched_; // since the last take_dispatched()
    std::uint32_t resume_at_ = 0;           // the first connection back-pressure left undispatched (0: none)
    time_point poll_now_{};                 // the time of the last poll()
    time_point tx_progress_at_{};           // when the device last took a frame or had nothing pushed back (poll times)
    // The last connection a segment or a user call found: most traffic hits one connection many times in
    // a row. Reset whenever an entry leaves conns_ or by_tuple_.
    conn_entry *last_rx_ = nullptr;
    tcp::four_tuple last_rx_tuple_{};
    mutable const conn_entry *last_found_ = nullptr;
    mutable std::uint32_t last_found_id_ = 0;
    host_stats stats_;
    tcp::connection_stats reclaimed_totals_;
};

} // namespace demi::net
