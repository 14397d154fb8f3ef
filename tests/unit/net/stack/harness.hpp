// Two interfaces wired back to back: frames one emits are captured and fed to the other's receive,
// under a manual clock. Helpers build frames byte by byte with the wire reprs.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <string_view>
#include <vector>

#include "memory/heap.hpp"
#include "net/stack/interface.hpp"
#include "net/wire/wire.hpp"

namespace demi::net::test {

using bytes_t = std::vector<std::byte>;
using namespace std::chrono_literals;

inline const ethernet_address mac_a{0x02, 0, 0, 0, 0, 0x0a};
inline const ethernet_address mac_b{0x02, 0, 0, 0, 0, 0x0b};
inline const ethernet_address mac_gw{0x02, 0, 0, 0, 0, 0xfe};
inline const ipv4_address ip_a{10, 0, 0, 1};
inline const ipv4_address ip_b{10, 0, 0, 2};
inline const ipv4_address ip_gw{10, 0, 0, 254};

inline bytes_t to_bytes(std::string_view s) {
    bytes_t b(s.size());
    std::memcpy(b.data(), s.data(), s.size());
    return b;
}
inline bytes_t to_bytes(std::span<const std::byte> s) { return bytes_t(s.begin(), s.end()); }
inline bytes_t hex(std::string_view h) {
    bytes_t out;
    int hi = -1;
    for (char c : h) {
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0) continue;
        if (hi < 0) {
            hi = v;
        } else {
            out.push_back(static_cast<std::byte>(hi * 16 + v));
            hi = -1;
        }
    }
    return out;
}
inline buffer to_buffer(std::span<const std::byte> b, size_t headroom = mem::default_headroom) {
    auto r = mem::heap_copy(b, headroom);
    EXPECT_TRUE(r.has_value());
    return std::move(*r);
}

inline interface_config config_a() {
    interface_config c;
    c.mac_ = mac_a;
    c.addr_ = ip_a;
    c.prefix_len_ = 24;
    return c;
}
inline interface_config config_b() {
    interface_config c;
    c.mac_ = mac_b;
    c.addr_ = ip_b;
    c.prefix_len_ = 24;
    return c;
}

/// An Ethernet frame around an IPv4 header (checksum computed) and `payload`.
inline bytes_t ipv4_frame(ethernet_address src_mac, ethernet_address dst_mac, const wire::ipv4_repr &ip,
                          std::span<const std::byte> payload) {
    bytes_t f(14 + 20 + payload.size());
    wire::ethernet_repr{src_mac, dst_mac, wire::ethertype::ipv4}.emit(f);
    wire::ipv4_repr h = ip;
    h.payload_len_ = static_cast<uint16_t>(payload.size());
    h.emit(std::span<std::byte>(f).subspan(14));
    if (!payload.empty()) std::memcpy(f.data() + 34, payload.data(), payload.size());
    return f;
}

/// A UDP datagram (header + data) with its checksum.
inline bytes_t udp_datagram_bytes(ipv4_address src, ipv4_address dst, uint16_t sport, uint16_t dport,
                                  std::span<const std::byte> data) {
    bytes_t d(8 + data.size());
    wire::udp_repr{sport, dport, data}.emit(d, src, dst);
    return d;
}

inline wire::ipv4_repr ip_header(ipv4_address src, ipv4_address dst, wire::ip_protocol p, uint16_t ident = 0x1234) {
    wire::ipv4_repr ip;
    ip.src_ = src;
    ip.dst_ = dst;
    ip.protocol_ = p;
    ip.ident_ = ident;
    ip.ttl_ = 64;
    return ip;
}

/// A captured frame: who sent it and its bytes.
struct captured {
    char from;
    bytes_t bytes;
};

class link_test : public ::testing::Test {
protected:
    link_test() : link_test(config_a(), config_b()) {}
    link_test(interface_config ca, interface_config cb) : rng_a_(1), rng_b_(2) { make(std::move(ca), std::move(cb)); }

    void make(interface_config ca, interface_config cb) {
        a_ = std::make_unique<interface>(std::move(ca), rng_a_);
        b_ = std::make_unique<interface>(std::move(cb), rng_b_);
    }

    /// Polls both sides until neither has a frame left, delivering each frame to the other side
    /// (unless `connected_` is false) and recording it.
    void pump() {
        for (int round = 0; round < 100; ++round) {
            bool any = false;
            a_->poll(now_, [&](buffer &&f) {
                any = true;
                frames_.push_back({'a', to_bytes(f.bytes())});
                if (connected_) b_->receive(std::move(f), now_);
            });
            b_->poll(now_, [&](buffer &&f) {
                any = true;
                frames_.push_back({'b', to_bytes(f.bytes())});
                if (connected_) a_->receive(std::move(f), now_);
            });
            if (!any) return;
        }
        ADD_FAILURE() << "frames kept flowing";
    }
    void advance(duration d) {
        now_ += d;
        pump();
    }
    /// Frames recorded from one side.
    std::vector<bytes_t> from(char side) const {
        std::vector<bytes_t> r;
        for (const auto &c : frames_)
            if (c.from == side) r.push_back(c.bytes);
        return r;
    }
    /// Polls `x` alone, returning what it emits (not delivered anywhere).
    static std::vector<bytes_t> drain(interface &x, time_point now) {
        std::vector<bytes_t> out;
        x.poll(now, [&](buffer &&f) { out.push_back(to_bytes(f.bytes())); });
        return out;
    }
    void inject(interface &x, std::span<const std::byte> frame) { x.receive(to_buffer(frame), now_); }

    rng rng_a_;
    rng rng_b_;
    std::unique_ptr<interface> a_;
    std::unique_ptr<interface> b_;
    time_point now_{std::chrono::seconds(1000)};
    bool connected_ = true;
    std::vector<captured> frames_;
};

inline std::string dump(std::span<const std::byte> b) {
    std::string s;
    char tmp[4];
    for (auto x : b) {
        std::snprintf(tmp, sizeof tmp, "%02x", std::to_integer<unsigned>(x));
        s += tmp;
    }
    return s;
}

} // namespace demi::net::test
