#include "net/phy/pcap.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include "net/phy/sim_network.hpp"
#include "net/wire/arp.hpp"
#include "test_util.hpp"

namespace demi::phy {
namespace {

using namespace std::chrono_literals;
using test::fake_device;
using test::mac_a;
using test::mac_b;
using test::make_frame;

/// A file path under the test's temporary directory, removed at scope exit.
struct temp_path {
    std::string path;
    explicit temp_path(const char *name) {
        const char *dir = std::getenv("TMPDIR");
        path = std::string(dir && *dir ? dir : "/tmp") + "/demi-phy-" + std::to_string(::getpid()) + "-" + name;
    }
    ~temp_path() { std::remove(path.c_str()); }
};

std::vector<uint8_t> read_file(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void put32(std::vector<uint8_t> &v, uint32_t x) {
    for (int i = 0; i < 4; ++i) v.push_back(static_cast<uint8_t>(x >> (8 * i)));
}

void append_record(std::vector<uint8_t> &v, uint32_t sec, uint32_t usec, const buffer &f) {
    put32(v, sec);
    put32(v, usec);
    put32(v, static_cast<uint32_t>(f.size()));
    put32(v, static_cast<uint32_t>(f.size()));
    for (size_t i = 0; i < f.size(); ++i) v.push_back(std::to_integer<uint8_t>(f.data()[i]));
}

const std::vector<uint8_t> file_header = {
    0xd4, 0xc3, 0xb2, 0xa1, // magic, little-endian
    0x02, 0x00, 0x04, 0x00, // version 2.4
    0x00, 0x00, 0x00, 0x00, // thiszone
    0x00, 0x00, 0x00, 0x00, // sigfigs
    0x00, 0x00, 0x04, 0x00, // snaplen 262144
    0x01, 0x00, 0x00, 0x00, // LINKTYPE_ETHERNET
};

TEST(Pcap, BytesExactForKnownFrames) {
    temp_path tmp("exact.pcap");
    manual_clock clock(time_point{} + 1'500'250'999ns); // 1 s 500250 µs (+999 ns, cut)
    fake_device inner;
    auto w = pcap_writer::open(inner, clock, tmp.path.c_str());
    ASSERT_TRUE(w) << std::strerror(w.code());
    buffer tx = make_frame(mac_b, mac_a, 60, 0x40);
    const buffer tx_copy = *mem::heap_copy(tx.bytes());
    ASSERT_EQ((*w)->transmit(std::span(&tx, 1)), 1u);
    clock.set(time_point{} + 4'294'967'295s + 999'999us); // the last second classic pcap can hold
    inner.inbox.push_back(make_frame(mac_a, mac_b, 61, 0x80));
    buffer rx[2];
    ASSERT_EQ((*w)->receive(rx), 1u);
    EXPECT_EQ((*w)->records(), 2u);
    ASSERT_TRUE((*w)->close());

    std::vector<uint8_t> expected = file_header;
    append_record(expected, 1, 500250, tx_copy);
    append_record(expected, 0xffffffffu, 999999, rx[0]);
    EXPECT_EQ(read_file(tmp.path), expected);
}

TEST(Pcap, SaysWhenTheLinksPeerHasLeft) {
    temp_path tmp("gone.pcap");
    manual_clock clock;
    fake_device inner;
    auto w = pcap_writer::open(inner, clock, tmp.path.c_str());
    ASSERT_TRUE(w);
    EXPECT_FALSE((*w)->peer_gone());
    inner.gone = true;
    EXPECT_TRUE((*w)->peer_gone());
}

TEST(Pcap, RecordsOnlyTheFramesTheDeviceTook) {
    temp_path tmp("taken.pcap");
    manual_clock clock;
    fake_device inner;
    inner.accept_limit = 1;
    auto w = pcap_writer::open(inner, clock, tmp.path.c_str());
    ASSERT_TRUE(w);
    buffer frames[3] = {make_frame(mac_b, mac_a, 60, 1), make_frame(mac_b, mac_a, 70, 2),
                        make_frame(mac_b, mac_a, 80, 3)};
    const buffer first = *mem::heap_copy(frames[0].bytes());
    ASSERT_EQ((*w)->transmit(frames), 1u);
    inner.accept_limit = 0;
    ASSERT_EQ((*w)->transmit(std::span(frames).subspan(1)), 0u);
    EXPECT_EQ((*w)->records(), 1u);
    ASSERT_TRUE((*w)->flush());
    std::vector<uint8_t> expected = file_header;
    append_record(expected, 0, 0, first);
    EXPECT_EQ(read_file(tmp.path), expected);
}

TEST(Pcap, SnaplenCutsLongFrames) {
    temp_path tmp("snap.pcap");
    auto f = pcap_file::create(tmp.path.c_str(), 64);
    ASSERT_TRUE(f);
    buffer big = make_frame(mac_b, mac_a, 1514);
    ASSERT_TRUE(f->write(time_point{}, big.bytes()));
    ASSERT_TRUE(f->close());
    const auto bytes = read_file(tmp.path);
    ASSERT_EQ(bytes.size(), 24u + 16u + 64u);
    EXPECT_EQ(bytes[16], 64);                              // snaplen in the header
    EXPECT_EQ(bytes[24 + 8], 64);                          // incl_len
    EXPECT_EQ(bytes[24 + 12] | bytes[24 + 13] << 8, 1514); // orig_len
}

TEST(Pcap, OpenFailureReturnsErrno) {
    auto r = pcap_file::create("/nonexistent-dir-demi/x.pcap");
    EXPECT_EQ(r.code(), ENOENT);
    fake_device inner;
    manual_clock clock;
    EXPECT_EQ(pcap_writer::open(inner, clock, "/nonexistent-dir-demi/x.pcap").code(), ENOENT);
    // A target that cannot take even the header fails at creation, not later.
    if (::access("/dev/full", W_OK) == 0) {
        EXPECT_EQ(pcap_file::create("/dev/full").code(), ENOSPC);
    }
    EXPECT_EQ(pcap_file::adopt(-1).code(), EINVAL);
}

TEST(Pcap, WriteFailureIsReportedNotSilent) {
    // A non-blocking pipe nobody reads: it takes the header, then fills up
    // (EAGAIN).
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
    auto f = pcap_file::adopt(fds[1]);
    ASSERT_TRUE(f);
    manual_clock clock;
    fake_device inner;
    pcap_writer w(inner, clock, std::move(*f));
    for (int i = 0; i < 2000 && w.status(); ++i) {
        buffer fr = make_frame(mac_b, mac_a, 1514);
        ASSERT_EQ(w.transmit(std::span(&fr, 1)), 1u);
    }
    EXPECT_EQ(w.status().code(), EAGAIN);
    // The frames still flow; the capture says it is broken.
    buffer fr = make_frame(mac_b, mac_a, 60);
    EXPECT_EQ(w.transmit(std::span(&fr, 1)), 1u);
    EXPECT_EQ(w.flush().code(), EAGAIN);
    EXPECT_EQ(w.close().code(), EAGAIN);
    ::close(fds[0]);
}

TEST(Pcap, WriterOverASimulatedLink) {
    temp_path tmp("sim.pcap");
    manual_clock clock;
    link_params p;
    p.latency = 3us;
    sim_link link(clock, mac_a, mac_b, p);
    auto wa = pcap_writer::open(link.a(), clock, tmp.path.c_str());
    ASSERT_TRUE(wa);
    buffer f = make_frame(mac_b, mac_a, 60);
    ASSERT_EQ((*wa)->transmit(std::span(&f, 1)), 1u);
    buffer reply = make_frame(mac_a, mac_b, 60);
    ASSERT_EQ(link.b().transmit(std::span(&reply, 1)), 1u);
    clock.set(time_point{} + 3us);
    buffer out[4];
    ASSERT_EQ((*wa)->receive(out), 1u);
    EXPECT_EQ((*wa)->records(), 2u);
    ASSERT_TRUE((*wa)->close());
    const auto bytes = read_file(tmp.path);
    ASSERT_EQ(bytes.size(), 24u + 2 * (16u + 60u));
    EXPECT_EQ(bytes[24 + 16 + 60 + 4], 3); // second record: 3 µs
}

bool have_tshark() { return std::system("command -v tshark >/dev/null 2>&1") == 0; }

TEST(Pcap, TsharkReadsTheFile) {
    if (!have_tshark())
        GTEST_SKIP() << "tshark not installed (Debian package tshark); the "
                        "byte-exact tests cover the format";
    temp_path tmp("tshark.pcap");
    temp_path out("tshark.txt");
    manual_clock clock(time_point{} + 1700000000s);
    auto f = pcap_file::create(tmp.path.c_str());
    ASSERT_TRUE(f);
    // An ARP request for 10.77.0.1 from 10.77.0.2, built with src/net/wire.
    buffer frame = *mem::heap_allocate(wire::ethernet_min_frame_len);
    std::fill(frame.data(), frame.data() + frame.size(), std::byte{0});
    wire::ethernet_repr{mac_a, wire::ethernet_address::broadcast(), wire::ethertype::arp}.emit(frame.bytes());
    wire::arp_repr arp{wire::arp_operation::request, mac_a, wire::ipv4_address{10, 77, 0, 2}, wire::ethernet_address{},
                       wire::ipv4_address{10, 77, 0, 1}};
    arp.emit(frame.bytes().subspan(ethernet_header_len));
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(f->write(clock.now(), frame.bytes()));
        clock.advance(1500us);
    }
    ASSERT_TRUE(f->close());
    temp_path err("tshark.err");
    // stdout: one summary line per frame; stderr: only tshark's notice about
    // running as root, if any.
    const std::string cmd = "tshark -r '" + tmp.path + "' > '" + out.path + "' 2> '" + err.path + "'";
    const int status = std::system(cmd.c_str());
    const auto text_bytes = read_file(out.path);
    const std::string text(text_bytes.begin(), text_bytes.end());
    const auto err_bytes = read_file(err.path);
    const std::string err_text(err_bytes.begin(), err_bytes.end());
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << text << err_text;
    for (const char *bad : {"rror", "damaged", "cut short", "corrupt"})
        EXPECT_EQ(err_text.find(bad), std::string::npos) << err_text;
    EXPECT_NE(text.find("Who has 10.77.0.1? Tell 10.77.0.2"), std::string::npos) << text;
    EXPECT_NE(text.find("0.001500"), std::string::npos) << text; // microsecond timestamps
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 3) << text;
}

} // namespace
} // namespace demi::phy
