#include "net/sim/bulk.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <vector>

#include "memory/heap.hpp"

namespace demi::sim {

namespace {

std::uint64_t mix(std::uint64_t z) noexcept {
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

bool any_fault(const phy::fault_params &f) noexcept {
    return f.drop > 0 || f.duplicate > 0 || f.reorder > 0 || f.delay > 0 || f.corrupt > 0;
}

std::string errno_text(const char *what, int code) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "%s: %s (%d)", what, std::strerror(code), code);
    return buf;
}

} // namespace

std::byte pattern_at(std::uint64_t seed, std::uint64_t offset) noexcept {
    return static_cast<std::byte>(mix(seed ^ mix(offset / 8)) >> (8 * (offset % 8)));
}

void fill_pattern(std::uint64_t seed, std::uint64_t offset, std::span<std::byte> out) noexcept {
    std::uint64_t word = mix(seed ^ mix(offset / 8));
    for (std::size_t i = 0; i < out.size(); ++i) {
        const std::uint64_t at = offset + i;
        if (at % 8 == 0) word = mix(seed ^ mix(at / 8));
        out[i] = static_cast<std::byte>(word >> (8 * (at % 8)));
    }
}

std::size_t check_pattern(std::uint64_t seed, std::uint64_t offset, std::span<const std::byte> data) noexcept {
    std::uint64_t word = mix(seed ^ mix(offset / 8));
    for (std::size_t i = 0; i < data.size(); ++i) {
        const std::uint64_t at = offset + i;
        if (at % 8 == 0) word = mix(seed ^ mix(at / 8));
        if (data[i] != static_cast<std::byte>(word >> (8 * (at % 8)))) return i;
    }
    return data.size();
}

phy::link_params default_link() noexcept {
    phy::link_params l;
    l.latency = std::chrono::microseconds(50);
    l.bits_per_second = 1'000'000'000;
    l.queue_frames = 1024;
    return l;
}

net::tcp::config default_tcp() noexcept {
    net::tcp::config c;
    c.rto_min_ = std::chrono::milliseconds(200);
    c.msl_ = std::chrono::seconds(1);
    return c;
}

double bulk_result::goodput_mbps() const noexcept {
    const double secs = std::chrono::duration<double>(transfer_time_).count();
    return secs > 0 ? static_cast<double>(received_) * 8 / secs / 1e6 : 0;
}

namespace {
// Checks `data` against the pattern at `offset`; on a difference, says where in *failure.
bool matches_pattern(const char *what, std::uint64_t seed, std::uint64_t offset, std::span<const std::byte> data,
                     std::string *failure) {
    const std::size_t bad = check_pattern(seed, offset, data);
    if (bad == data.size()) return true;
    char buf[96];
    std::snprintf(buf, sizeof buf, "%s differs from the pattern at offset %llu", what,
                  static_cast<unsigned long long>(offset + bad));
    *failure = buf;
    return false;
}
} // namespace

bulk_result run_bulk(const bulk_params &p) {
    bulk_result r;
    simulator sim(p.seed_);
    for (int i = 0; i < 2; ++i) {
        host_params hp;
        hp.cfg_.tcp_ = p.tcp_;
        hp.cfg_.ack_template_ = p.ack_template_;
        hp.cfg_.iface_.arp_.entry_ttl_ = p.arp_ttl_;
        hp.static_arp_ = p.static_arp_;
        hp.cfg_.iface_.caps_ = p.caps_;
        hp.link_ = p.link_;
        if (any_fault(p.faults_)) hp.tx_faults_ = p.faults_;
        if (!p.pcap_prefix_.empty()) hp.pcap_path_ = p.pcap_prefix_ + std::to_string(i) + ".pcap";
        if (auto h = sim.add_host(std::move(hp)); !h) {
            r.failure_ = errno_text("add_host", h.code());
            return r;
        }
    }
    net::host &client = sim.at(0);
    net::host &server = sim.at(1);
    constexpr std::uint16_t port = 5001;
    auto lst = server.tcp_listen(port, 16);
    if (!lst) {
        r.failure_ = errno_text("listen", lst.code());
        return r;
    }
    const time_point start = sim.now();
    auto cc = client.tcp_connect(start, sim.addr(1), port);
    if (!cc) {
        r.failure_ = errno_text("connect", cc.code());
        return r;
    }
    const net::conn_id c = *cc;
    std::optional<net::conn_id> s;
    std::uint64_t sent = 0;
    bool client_closed = false;
    bool server_eof = false;
    std::vector<std::byte> rbuf(64 * 1024);
    std::vector<std::byte> echo_buf(64 * 1024);
    std::deque<std::byte> echo_out; // echo_: read by the server, not yet taken by its send buffer

    // echo_: the server hands what it read back to its connection as far as the send buffer takes it.
    auto push_echo = [&]() -> bool {
        while (s && !echo_out.empty()) {
            const auto *k = server.connection(*s);
            if (k == nullptr) break;
            const std::size_t n = std::min<std::size_t>(echo_out.size(), p.chunk_);
            if (!k->can_take(n)) break;
            auto b = mem::heap_allocate(n, 128);
            if (!b) {
                r.failure_ = "out of memory";
                return false;
            }
            std::copy_n(echo_out.begin(), n, b->data());
            auto res = server.send(*s, std::move(*b));
            if (!res) {
                if (res.code() == EAGAIN) break;
                r.failure_ = errno_text("server send", res.code());
                return false;
            }
            echo_out.erase(echo_out.begin(), echo_out.begin() + static_cast<std::ptrdiff_t>(n));
        }
        return true;
    };
    // echo_: the client reads the echo and checks it against the pattern.
    auto read_echo = [&]() -> bool {
        while (!client_closed) {
            auto got = client.recv(c, echo_buf);
            if (!got) {
                if (got.code() == EAGAIN || got.code() == ENOTCONN) break;
                r.failure_ = errno_text("client recv", got.code());
                return false;
            }
            if (*got == 0) {
                r.failure_ = "the echo ended early";
                return false;
            }
            if (!matches_pattern("echo", p.seed_, r.echoed_, std::span(echo_buf).first(*got), &r.failure_)) return false;
            r.echoed_ += *got;
        }
        return true;
    };

    auto app = [&]() -> bool {
        // Client: push pattern chunks while the send buffer takes them, then close.
        while (!client_closed && sent < p.bytes_) {
            const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(p.chunk_, p.bytes_ - sent));
            if (client.connection(c) == nullptr) break;
            if (!client.connection(c)->can_take(n)) break;
            auto b = mem::heap_allocate(n, 128);
            if (!b) {
                r.failure_ = "out of memory";
                return true;
            }
            fill_pattern(p.seed_, sent, b->bytes());
            auto res = client.send(c, std::move(*b));
            if (!res) {
                if (res.code() == EAGAIN || res.code() == ENOTCONN) break; // not yet connected: later
                r.failure_ = errno_text("client send", res.code());
                return true;
            }
            sent += n;
        }
        if (p.echo_ && !read_echo()) return true;
        // A close in SYN-SENT would delete the TCB with the data (RFC 9293 §3.10.4): wait for the open.
        const auto *k = client.connection(c);
        const bool opened = k != nullptr && k->current_state() != net::tcp::state::syn_sent;
        if (!client_closed && sent == p.bytes_ && opened && (!p.echo_ || r.echoed_ == p.bytes_)) {
            (void)client.close(c);
            client_closed = true;
        }
        if (!client_closed && client.error(c) != 0) {
            r.failure_ = errno_text("client connection", client.error(c));
            return true;
        }
        // Server: accept, read and check.
        if (!s) {
            if (auto a = server.tcp_accept(*lst)) s = *a;
        }
        std::uint64_t reads = 0;
        while (s && !server_eof) {
            result<std::size_t> got = demi::error(EAGAIN);
            if (p.read_buffers_ && ++reads % 2 == 0) {
                // Zero-copy reads (a short one every fourth), copied here only to check the pattern.
                auto b = server.recv_buffer(*s, reads % 4 == 0 ? 1000 : rbuf.size());
                if (!b)
                    got = b.err();
                else {
                    if (!b->empty()) std::memcpy(rbuf.data(), b->data(), b->size());
                    got = b->size();
                }
            } else {
                got = server.recv(*s, rbuf);
            }
            if (!got) {
                if (got.code() == EAGAIN) break;
                r.failure_ = errno_text("server recv", got.code());
                return true;
            }
            if (*got == 0) {
                // With echo_ the client only closes once it has the whole echo: nothing is left here.
                server_eof = true;
                r.transfer_time_ = sim.now() - start;
                (void)server.close(*s);
                break;
            }
            if (!matches_pattern("data", p.seed_, r.received_, std::span(rbuf).first(*got), &r.failure_)) return true;
            r.received_ += *got;
            if (p.echo_) echo_out.insert(echo_out.end(), rbuf.begin(), rbuf.begin() + static_cast<std::ptrdiff_t>(*got));
        }
        if (p.echo_ && !server_eof && !push_echo()) return true;
        // Done when the receiver has everything and both handles have been released (both TCBs
        // CLOSED: the client's after TIME-WAIT).
        return server_eof && client.connection_count() == 0 && server.connection_count() == 0;
    };
    const bool finished = sim.run_until(app, p.limits_);
    r.steps_ = sim.steps();
    r.frames_ = sim.frames();
    r.frame_hash_ = sim.frame_hash();
    const auto ct = client.tcp_totals();
    const auto st = server.tcp_totals();
    r.retransmits_ = ct.retransmits_ + st.retransmits_;
    r.timeouts_ = ct.timeouts_ + st.timeouts_;
    r.fast_retransmits_ = ct.fast_retransmits_ + st.fast_retransmits_;
    r.fast_path_ = ct.fast_path_ + st.fast_path_;
    r.send_failures_ = client.stats().tcp_send_failures_ + server.stats().tcp_send_failures_;
    (void)sim.close_captures();
    if (!r.failure_.empty()) return r;
    if (!finished) {
        char buf[160];
        std::snprintf(buf, sizeof buf, "did not finish: %llu of %zu octets received, eof %d, %zu+%zu connections left",
                      static_cast<unsigned long long>(r.received_), p.bytes_, server_eof ? 1 : 0,
                      client.connection_count(), server.connection_count());
        r.failure_ = buf;
        return r;
    }
    if (r.received_ != p.bytes_) {
        r.failure_ = "end of stream before all octets arrived";
        return r;
    }
    if (p.echo_ && r.echoed_ != p.bytes_) {
        r.failure_ = "the echo is incomplete";
        return r;
    }
    r.ok_ = true;
    return r;
}

} // namespace demi::sim
