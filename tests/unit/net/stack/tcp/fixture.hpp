// The TCP test fixture: a connection between "us" (10.0.0.1:80) and a scripted peer (10.0.0.2:5000),
// a manual clock, a template segment from the peer, and send/expect helpers that check the exact
// reprs the connection emits.
#pragma once

#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <vector>

#include "memory/heap.hpp"
#include "net/stack/tcp/listener.hpp"
#include "net/stack/tcp/tcb.hpp"

namespace demi::net::tcp::test {

namespace f = wire::tcp_flag;

inline constexpr std::uint32_t our_iss = 1000;
inline constexpr std::uint32_t peer_iss = 5000;

struct sent {
    wire::tcp_repr r_;
    std::vector<std::byte> data_;
};

inline std::vector<std::byte> text(const std::string &s) {
    std::vector<std::byte> v;
    for (char c : s) v.push_back(static_cast<std::byte>(c));
    return v;
}
inline std::vector<std::byte> filled(std::size_t n, int seed = 0) {
    std::vector<std::byte> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>((i + static_cast<std::size_t>(seed)) * 7 + 3);
    return v;
}

class tcp_test : public ::testing::Test {
protected:
    tcp_test() {
        cfg_.window_scaling_ = false;
        cfg_.timestamps_ = false;
        cfg_.recv_buffer_ = 65535;
        cfg_.delayed_ack_ = duration::zero();
        ip_.src_ = tuple_.remote_.addr_;
        ip_.dst_ = tuple_.local_.addr_;
    }

    /// Keepalive on (SO_KEEPALIVE) with this timing (else the defaults), for connections made after.
    void keepalive_config(duration idle, duration interval = config{}.keepalive_interval_,
                          unsigned probes = config{}.keepalive_probes_) {
        cfg_.keepalive_ = true;
        cfg_.keepalive_idle_ = idle;
        cfg_.keepalive_interval_ = interval;
        cfg_.keepalive_probes_ = probes;
    }

    // ---- driving ----
    void dispatch() {
        conn_->dispatch(now_, [this](const wire::tcp_repr &r, std::span<const std::byte> p) {
            out_.push_back({r, {p.begin(), p.end()}});
        });
    }
    void advance(duration d) {
        now_ += d;
        dispatch();
    }
    /// The template segment from the peer.
    [[nodiscard]] wire::tcp_repr seg(std::uint8_t flags, std::uint32_t seq, std::uint32_t ack = 0,
                                     std::uint16_t window = 65535) const {
        wire::tcp_repr r;
        r.src_port_ = tuple_.remote_.port_;
        r.dst_port_ = tuple_.local_.port_;
        r.flags_ = flags;
        r.seq_ = seq;
        r.ack_ = ack;
        r.window_ = window;
        return r;
    }
    void send(wire::tcp_repr r, const std::vector<std::byte> &payload = {}) {
        r.payload_ = payload;
        conn_->process(now_, ip_, r, payload);
        dispatch();
    }
    /// The next emitted segment; checks flags, seq, ack (when ACK is set) and the payload length.
    sent expect(std::uint8_t flags, std::uint32_t seq, std::uint32_t ack, std::size_t len = 0) {
        if (out_.empty()) {
            ADD_FAILURE() << "expected a segment, none sent";
            return {};
        }
        sent s = std::move(out_.front());
        out_.pop_front();
        EXPECT_EQ(unsigned{s.r_.flags_}, unsigned{flags});
        EXPECT_EQ(s.r_.seq_, seq);
        if ((flags & f::ack) != 0) {
            EXPECT_EQ(s.r_.ack_, ack);
        }
        EXPECT_EQ(s.data_.size(), len);
        EXPECT_EQ(s.r_.payload_.size(), len);
        EXPECT_EQ(s.r_.src_port_, tuple_.local_.port_);
        EXPECT_EQ(s.r_.dst_port_, tuple_.remote_.port_);
        return s;
    }
    void expect_nothing() {
        EXPECT_TRUE(out_.empty()) << out_.size() << " unexpected segment(s), first flags "
                                  << (out_.empty() ? 0u : unsigned{out_.front().r_.flags_}) << " seq "
                                  << (out_.empty() ? 0u : out_.front().r_.seq_);
        out_.clear();
    }
    result<void> push(const std::vector<std::byte> &d) {
        auto b = mem::heap_copy(d);
        EXPECT_TRUE(b);
        return conn_->push(std::move(*b));
    }
    std::vector<std::byte> read_all() {
        std::vector<std::byte> v(conn_->readable());
        v.resize(conn_->recv(v));
        return v;
    }

    // ---- fixtures by state ----
    void syn_sent() {
        conn_.emplace(connection::connect(tuple_, cfg_, seq32(our_iss), now_));
        dispatch();
        expect(f::syn, our_iss, 0);
        ASSERT_EQ(conn_->current_state(), state::syn_sent);
    }
    void syn_received() {
        wire::tcp_repr s = seg(f::syn, peer_iss);
        s.options_.mss_ = 1460;
        conn_.emplace(connection::accept_syn(tuple_, cfg_, seq32(our_iss), now_, s));
        dispatch();
        expect(f::syn | f::ack, our_iss, peer_iss + 1);
        ASSERT_EQ(conn_->current_state(), state::syn_received);
    }
    void established() {
        syn_received();
        send(seg(f::ack, peer_iss + 1, our_iss + 1));
        expect_nothing();
        ASSERT_EQ(conn_->current_state(), state::established);
    }
    /// We closed first; our FIN (seq 1001) is out and unacknowledged.
    void fin_wait_1() {
        established();
        conn_->close();
        dispatch();
        expect(f::fin | f::ack, our_iss + 1, peer_iss + 1);
        ASSERT_EQ(conn_->current_state(), state::fin_wait_1);
    }
    void fin_wait_2() {
        fin_wait_1();
        send(seg(f::ack, peer_iss + 1, our_iss + 2));
        expect_nothing();
        ASSERT_EQ(conn_->current_state(), state::fin_wait_2);
    }
    /// The peer closed first: its FIN (seq 5001) is acknowledged.
    void close_wait() {
        established();
        send(seg(f::fin | f::ack, peer_iss + 1, our_iss + 1));
        expect(f::ack, our_iss + 1, peer_iss + 2);
        ASSERT_EQ(conn_->current_state(), state::close_wait);
    }
    void last_ack() {
        close_wait();
        conn_->close();
        dispatch();
        expect(f::fin | f::ack, our_iss + 1, peer_iss + 2);
        ASSERT_EQ(conn_->current_state(), state::last_ack);
    }
    /// Simultaneous close: both FINs crossed.
    void closing() {
        fin_wait_1();
        send(seg(f::fin | f::ack, peer_iss + 1, our_iss + 1));
        expect(f::ack, our_iss + 2, peer_iss + 2);
        ASSERT_EQ(conn_->current_state(), state::closing);
    }
    void time_wait() {
        fin_wait_2();
        send(seg(f::fin | f::ack, peer_iss + 1, our_iss + 2));
        expect(f::ack, our_iss + 2, peer_iss + 2);
        ASSERT_EQ(conn_->current_state(), state::time_wait);
    }

    config cfg_;
    time_point now_{std::chrono::seconds(100)};
    four_tuple tuple_{{wire::ipv4_address{10, 0, 0, 1}, 80}, {wire::ipv4_address{10, 0, 0, 2}, 5000}};
    wire::ipv4_repr ip_;
    std::optional<connection> conn_;
    std::deque<sent> out_;
};

} // namespace demi::net::tcp::test
