// A connection storm: 1,000 concurrent connections between two hosts, each carrying its own small
// message, every message verified and every connection closed cleanly.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "memory/heap.hpp"
#include "net/sim/bulk.hpp"
#include "net/sim/simulator.hpp"
#include "seed.hpp"

namespace demi::sim {
namespace {

constexpr std::size_t message_len = 2000;

void run_storm(std::uint64_t seed, std::size_t count, const std::optional<phy::fault_params> &faults) {
    simulator sim(seed);
    for (int i = 0; i < 2; ++i) {
        host_params hp;
        hp.cfg_.tcp_ = default_tcp();
        hp.link_ = default_link();
        hp.tx_faults_ = faults;
        ASSERT_TRUE(sim.add_host(std::move(hp)));
    }
    net::host &client = sim.at(0);
    net::host &server = sim.at(1);
    auto l = server.tcp_listen(443, count);
    ASSERT_TRUE(l);

    // Each message: its index (4 octets), then the pattern for seed + index.
    std::vector<net::conn_id> conns;
    for (std::size_t i = 0; i < count; ++i) {
        auto c = client.tcp_connect(sim.now(), sim.addr(1), 443);
        ASSERT_TRUE(c) << c.err().message();
        auto b = mem::heap_allocate(message_len, 128);
        ASSERT_TRUE(b);
        const auto idx = static_cast<std::uint32_t>(i);
        std::memcpy(b->data(), &idx, 4);
        fill_pattern(seed + i, 4, b->bytes().subspan(4));
        // Data queued in SYN-SENT goes out once the connection is established (RFC 9293 §3.10.2).
        ASSERT_TRUE(client.send(*c, std::move(*b)));
        conns.push_back(*c);
    }

    std::map<std::uint32_t, std::vector<std::byte>> open; // server connection -> octets so far
    std::vector<bool> verified(count, false);
    std::size_t done = 0;
    std::vector<std::byte> tmp(4096);
    std::string failure;
    std::vector<bool> closed(count, false);
    const bool finished = sim.run_until(
        [&] {
            // A close in SYN-SENT would delete the TCB with its data (RFC 9293 §3.10.4): close each
            // connection once it is open.
            for (std::size_t i = 0; i < count; ++i) {
                if (closed[i]) continue;
                const auto *k = client.connection(conns[i]);
                if (k == nullptr || k->current_state() == net::tcp::state::syn_sent) continue;
                if (k->error() != 0) failure = "client connection failed: " + std::to_string(k->error());
                (void)client.close(conns[i]);
                closed[i] = true;
            }
            while (auto a = server.tcp_accept(*l))
                open.emplace(static_cast<std::uint32_t>(*a), std::vector<std::byte>{});
            for (auto it = open.begin(); it != open.end();) {
                const net::conn_id s{it->first};
                bool eof = false;
                for (;;) {
                    auto n = server.recv(s, tmp);
                    if (!n) {
                        if (n.code() != EAGAIN) failure = std::string("server recv: ") + n.err().message();
                        break;
                    }
                    if (*n == 0) {
                        eof = true;
                        break;
                    }
                    it->second.insert(it->second.end(), tmp.begin(), tmp.begin() + *n);
                }
                if (!eof) {
                    ++it;
                    continue;
                }
                const auto &m = it->second;
                std::uint32_t idx = 0;
                if (m.size() != message_len) {
                    failure = "a message of " + std::to_string(m.size()) + " octets";
                } else {
                    std::memcpy(&idx, m.data(), 4);
                    if (idx >= count || verified[idx]) {
                        failure = "bad or repeated index " + std::to_string(idx);
                    } else if (check_pattern(seed + idx, 4, std::span(m).subspan(4)) != message_len - 4) {
                        failure = "message " + std::to_string(idx) + " corrupted";
                    } else {
                        verified[idx] = true;
                        ++done;
                    }
                }
                (void)server.close(s);
                it = open.erase(it);
            }
            return !failure.empty() ||
                   (done == count && client.connection_count() == 0 && server.connection_count() == 0);
        },
        {.max_steps_ = 2'000'000, .max_time_ = std::chrono::minutes(10)});
    ASSERT_TRUE(failure.empty()) << failure;
    EXPECT_TRUE(finished) << done << " of " << count << " verified; " << client.connection_count() << " + "
                          << server.connection_count() << " connections left";
    EXPECT_EQ(done, count);
    for (const auto c : conns) EXPECT_EQ(client.connection(c), nullptr);
}

TEST(storm, thousand_connections) {
    const std::uint64_t seed = test::seed_or(1000);
    SCOPED_TRACE(test::seed_text(seed));
    run_storm(seed, 1000, std::nullopt);
}

TEST(storm, hundred_connections_with_loss) {
    const std::uint64_t seed = test::seed_or(1001);
    SCOPED_TRACE(test::seed_text(seed));
    phy::fault_params f;
    f.drop = 0.05;
    f.reorder = 0.02;
    f.reorder_timeout = std::chrono::microseconds(200);
    run_storm(seed, 100, f);
}

} // namespace
} // namespace demi::sim
