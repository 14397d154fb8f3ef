// Bulk transfers between two simulated hosts, verified octet by octet against the seeded pattern, on
// a clean link and with each kind of fault; and the determinism check: the same seed gives the same
// frames byte for byte.
#include <gtest/gtest.h>

#include <filesystem>
#include <ostream>
#include <string>

#include "net/sim/bulk.hpp"
#include "seed.hpp"

namespace demi::sim {
namespace {

struct bulk_case {
    const char *name_;
    std::size_t bytes_;
    phy::fault_params faults_;
    bool read_buffers_ = false; // the receiver also reads with host::recv_buffer (zero copy)
};

phy::fault_params loss(double p) {
    phy::fault_params f;
    f.drop = p;
    return f;
}

phy::fault_params reorder() {
    phy::fault_params f;
    f.reorder = 0.05;
    f.reorder_timeout = std::chrono::microseconds(200);
    return f;
}

phy::fault_params duplicate() {
    phy::fault_params f;
    f.duplicate = 0.05;
    return f;
}

phy::fault_params corrupt() {
    phy::fault_params f;
    f.corrupt = 0.02;
    return f;
}

phy::fault_params everything() {
    phy::fault_params f;
    f.drop = 0.03;
    f.duplicate = 0.02;
    f.reorder = 0.03;
    f.corrupt = 0.01;
    f.delay = 0.02;
    f.delay_min = std::chrono::microseconds(10);
    f.delay_max = std::chrono::milliseconds(2);
    f.reorder_timeout = std::chrono::microseconds(200);
    return f;
}

// gtest prints the case by name rather than as bytes.
void PrintTo(const bulk_case &c, std::ostream *os) {
    *os << c.name_;
}

class bulk : public ::testing::TestWithParam<bulk_case> {};

TEST_P(bulk, arrives_byte_exact) {
    const bulk_case &c = GetParam();
    bulk_params p;
    p.seed_ = test::seed_or(0x5eed0000 + c.bytes_);
    p.bytes_ = c.bytes_;
    p.faults_ = c.faults_;
    p.read_buffers_ = c.read_buffers_;
    SCOPED_TRACE(test::seed_text(p.seed_));
    const bulk_result r = run_bulk(p);
    ASSERT_TRUE(r.ok_) << r.failure_;
    EXPECT_EQ(r.received_, c.bytes_);
    if (c.faults_.drop > 0) {
        EXPECT_GT(r.retransmits_, 0u);
    }
    std::printf("[ sim      ] %s: %zu octets in %.3f s simulated (%.1f Mbit/s), %llu retransmits, %llu frames\n",
                c.name_, c.bytes_, std::chrono::duration<double>(r.transfer_time_).count(), r.goodput_mbps(),
                static_cast<unsigned long long>(r.retransmits_), static_cast<unsigned long long>(r.frames_));
}

INSTANTIATE_TEST_SUITE_P(
    scenarios, bulk,
    ::testing::Values(bulk_case{"clean", 4u << 20, {}}, bulk_case{"loss_1", 2u << 20, loss(0.01)},
                      bulk_case{"loss_5", 2u << 20, loss(0.05)}, bulk_case{"loss_10", 1u << 20, loss(0.10)},
                      bulk_case{"reorder", 2u << 20, reorder()}, bulk_case{"duplicate", 2u << 20, duplicate()},
                      bulk_case{"corrupt", 2u << 20, corrupt()}, bulk_case{"all_faults", 1u << 20, everything()},
                      bulk_case{"clean_recv_buffer", 2u << 20, {}, true},
                      bulk_case{"all_faults_recv_buffer", 1u << 20, everything(), true}),
    [](const auto &info) { return std::string(info.param.name_); });

TEST(determinism, same_seed_same_frames) {
    bulk_params p;
    p.seed_ = test::seed_or(42);
    p.bytes_ = 256 * 1024;
    p.faults_ = everything();
    SCOPED_TRACE(test::seed_text(p.seed_));
    const bulk_result a = run_bulk(p);
    const bulk_result b = run_bulk(p);
    ASSERT_TRUE(a.ok_) << a.failure_;
    ASSERT_TRUE(b.ok_) << b.failure_;
    EXPECT_EQ(a.frame_hash_, b.frame_hash_);
    EXPECT_EQ(a.frames_, b.frames_);
    EXPECT_EQ(a.steps_, b.steps_);
    EXPECT_EQ(a.transfer_time_, b.transfer_time_);

    bulk_params q = p;
    q.seed_ = p.seed_ + 1;
    const bulk_result c = run_bulk(q);
    ASSERT_TRUE(c.ok_) << c.failure_;
    EXPECT_NE(a.frame_hash_, c.frame_hash_) << "a different seed should give different frames";
}

// The hosts' ACK template (host_config::ack_template_) must give the frames the generic path gives,
// byte for byte and at the same times: every frame of a transfer is hashed, with and without it, for
// random sequence numbers, windows and timestamps (seeds), with and without timestamps, each fault
// kind (SACK ACKs, window updates, retransmissions mixed in) and each way of handling checksums.
TEST(ack_template, same_frames_as_generic_path) {
    const std::uint64_t base = test::seed_or(11);
    SCOPED_TRACE(test::seed_text(base));
    // Offloaded: the simulated link computes no checksums, so receivers must not verify them either
    // (and corruption would then go unnoticed: no corruption faults for these).
    const wire::checksum_caps tx_seed = wire::checksum_caps::offloaded(); // seeded with the pseudo-header sum
    wire::checksum_caps tx_zero = tx_seed;                                // not seeded
    tx_zero.tx_pseudo_header_seed_ = false;
    const wire::checksum_caps caps[] = {wire::checksum_caps::software(), tx_seed, tx_zero};
    const phy::fault_params faults[] = {phy::fault_params{}, loss(0.02), reorder(), everything()};
    std::uint64_t n = 0;
    // Resolved by ARP with entries that expire every few milliseconds, mid-transfer: the template must
    // not outlive the entry it was built with (nor be used while the next hop is being resolved again).
    for (const auto &f : {phy::fault_params{}, loss(0.02), everything()}) {
        for (const auto ttl : {std::chrono::microseconds(700), std::chrono::microseconds(3000)}) {
            bulk_params p;
            p.seed_ = base + 100 + n++;
            p.bytes_ = 256 * 1024;
            p.faults_ = f;
            p.static_arp_ = false;
            p.arp_ttl_ = ttl;
            SCOPED_TRACE(n);
            const bulk_result with = run_bulk(p);
            p.ack_template_ = false;
            const bulk_result without = run_bulk(p);
            ASSERT_TRUE(with.ok_) << with.failure_;
            ASSERT_TRUE(without.ok_) << without.failure_;
            EXPECT_EQ(with.frames_, without.frames_);
            EXPECT_EQ(with.frame_hash_, without.frame_hash_);
        }
    }
    for (const auto &c : caps) {
        for (const auto &f : faults) {
            if (f.corrupt > 0 && !wire::computes(c.tcp_)) continue;
            for (const bool ts : {true, false}) {
                bulk_params p;
                p.seed_ = base + n++;
                p.bytes_ = 128 * 1024;
                p.faults_ = f;
                p.caps_ = c;
                p.tcp_.timestamps_ = ts;
                p.read_buffers_ = (n % 2) == 0;
                SCOPED_TRACE(n);
                const bulk_result with = run_bulk(p);
                p.ack_template_ = false;
                const bulk_result without = run_bulk(p);
                ASSERT_TRUE(with.ok_) << with.failure_;
                ASSERT_TRUE(without.ok_) << without.failure_;
                EXPECT_EQ(with.frames_, without.frames_);
                EXPECT_EQ(with.frame_hash_, without.frame_hash_);
            }
        }
    }
}

// Header prediction (tcp::config::fast_path_) must do what the general path does: an echo (each
// segment carries data and the ACK of the other direction's) and a one-way transfer, hashed frame by
// frame with and without it, over each fault kind, with and without timestamps and SACK. And it must
// actually run: most segments of a clean transfer take it.
TEST(fast_path, same_frames_as_general_path) {
    const std::uint64_t base = test::seed_or(31);
    SCOPED_TRACE(test::seed_text(base));
    const phy::fault_params faults[] = {phy::fault_params{}, loss(0.02), reorder(), everything()};
    std::uint64_t n = 0;
    for (const bool echo : {true, false}) {
        for (const auto &f : faults) {
            for (const bool ts : {true, false}) {
                for (const bool sack : {true, false}) {
                    bulk_params p;
                    p.seed_ = base + n++;
                    p.bytes_ = 192 * 1024;
                    p.chunk_ = (n % 3 == 0) ? 700 : 16 * 1024; // short writes: segments shorter than the MSS
                    p.echo_ = echo;
                    p.faults_ = f;
                    p.tcp_.timestamps_ = ts;
                    p.tcp_.sack_ = sack;
                    p.tcp_.nodelay_ = true;
                    p.read_buffers_ = (n % 2) == 0;
                    SCOPED_TRACE(n);
                    const bulk_result with = run_bulk(p);
                    p.tcp_.fast_path_ = false;
                    const bulk_result without = run_bulk(p);
                    ASSERT_TRUE(without.ok_) << without.failure_;
                    ASSERT_TRUE(with.ok_) << with.failure_;
                    EXPECT_EQ(with.echoed_, echo ? p.bytes_ : 0u);
                    // Data segments that carry SACK blocks (an echo under loss) still fit the MTU.
                    EXPECT_EQ(with.send_failures_, 0u);
                    EXPECT_EQ(without.send_failures_, 0u);
                    EXPECT_EQ(with.frames_, without.frames_);
                    EXPECT_EQ(with.frame_hash_, without.frame_hash_);
                    EXPECT_EQ(without.fast_path_, 0u);
                    if (&f == &faults[0]) { // no faults
                        // Most data segments in order: at least a third of all frames took the fast path.
                        EXPECT_GT(with.fast_path_ * 3, with.frames_) << with.fast_path_ << " of " << with.frames_;
                    }
                }
            }
        }
    }
}

TEST(capture, pcap_files_written) {
    bulk_params p;
    p.seed_ = test::seed_or(43);
    p.bytes_ = 64 * 1024;
    SCOPED_TRACE(test::seed_text(p.seed_));
    const auto dir = std::filesystem::temp_directory_path() / ("demi_sim_pcap_" + std::to_string(p.seed_));
    std::filesystem::create_directories(dir);
    p.pcap_prefix_ = (dir / "host").string();
    const bulk_result r = run_bulk(p);
    ASSERT_TRUE(r.ok_) << r.failure_;
    for (int i = 0; i < 2; ++i) {
        const auto f = dir / ("host" + std::to_string(i) + ".pcap");
        ASSERT_TRUE(std::filesystem::exists(f)) << f;
        // The 24-octet file header and a record (16-octet header + frame) per frame sent and received.
        EXPECT_GT(std::filesystem::file_size(f), 24u + 16u * r.frames_ / 2);
    }
    std::filesystem::remove_all(dir);
}

} // namespace
} // namespace demi::sim
