// Packet captures in the classic libpcap format (LINKTYPE_ETHERNET, microsecond
// timestamps), which tshark, tcpdump and wireshark read: pcap_file writes one,
// pcap_writer is a device over a device that records every frame transmitted
// through it and every frame received from it.
//
// Format (libpcap file format, the "classic" one, not pcapng): a 24-byte global
// header — magic 0xa1b2c3d4, version 2.4, thiszone 0, sigfigs 0, snaplen,
// network (1 = Ethernet) — then per frame a 16-byte record header — ts_sec,
// ts_usec, incl_len, orig_len — and incl_len bytes. We write every field
// little-endian (readers detect the byte order from the magic), so files are
// byte-identical on any host.
//
// Timestamps are the injected clock's time since its epoch (a manual_clock
// starting at 0 gives captures dated 1970-01-01, which is fine for reading
// them).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "net/phy/device.hpp"

namespace demi::phy {

inline constexpr uint32_t pcap_magic_usec = 0xa1b2c3d4;
inline constexpr uint32_t pcap_linktype_ethernet = 1;
inline constexpr size_t pcap_file_header_len = 24;
inline constexpr size_t pcap_record_header_len = 16;

/// An open capture file. Records are buffered and written in batches of up to
/// 64 KiB; the first write error is kept (sticky) and returned by every later
/// call, and logged once.
class pcap_file {
public:
    static constexpr uint32_t default_snaplen = 262144;

    /// Creates (or truncates) `path` and writes the global header. The errno of
    /// open(2) or write(2) on failure.
    [[nodiscard]] static result<pcap_file> create(const char *path, uint32_t snaplen = default_snaplen) noexcept;
    /// Takes ownership of an open, writable fd (a pipe, a socket, a file) and
    /// writes the global header.
    [[nodiscard]] static result<pcap_file> adopt(int fd, uint32_t snaplen = default_snaplen) noexcept;

    pcap_file(pcap_file &&o) noexcept;
    pcap_file &operator=(pcap_file &&o) noexcept;
    pcap_file(const pcap_file &) = delete;
    pcap_file &operator=(const pcap_file &) = delete;
    /// Flushes and closes; a failure here is logged (call close() to see it).
    ~pcap_file();

    /// Appends one record: `frame` captured at `ts`, cut to snaplen.
    result<void> write(time_point ts, std::span<const std::byte> frame) noexcept;
    /// Writes the buffered records to the fd.
    result<void> flush() noexcept;
    /// Flushes and closes the fd; the first error of either (or an earlier sticky
    /// one).
    result<void> close() noexcept;

    /// The first write error, if any.
    [[nodiscard]] result<void> status() const noexcept;
    [[nodiscard]] uint64_t records() const noexcept { return records_; }
    [[nodiscard]] uint32_t snaplen() const noexcept { return snaplen_; }

private:
    friend class pcap_writer;
    static constexpr size_t flush_threshold = 64 * 1024;

    pcap_file(int fd, uint32_t snaplen) noexcept : fd_(fd), snaplen_(snaplen) {}
    /// Appends a record to the in-memory buffer only (no write to the fd).
    void stage(time_point ts, std::span<const std::byte> frame) noexcept;
    /// Bytes buffered, and dropping staged bytes from `pos` on (records staged
    /// but not to be kept).
    [[nodiscard]] size_t staged_bytes() const noexcept { return buf_.size(); }
    void unstage_from(size_t pos, uint64_t records) noexcept;
    result<void> flush_if_full() noexcept;
    result<void> write_all(std::span<const std::byte> bytes) noexcept;

    int fd_ = -1;
    uint32_t snaplen_ = default_snaplen;
    int error_ = 0;
    uint64_t records_ = 0;
    std::vector<std::byte> buf_;
};

/// A device over a device that records every frame it transmits (those the
/// inner device took) and every frame it receives in a pcap_file, stamped with
/// the injected clock's time. A write failure does not stop the frames: it is
/// logged, counted and reported by status().
class pcap_writer final : public device {
public:
    pcap_writer(device &inner, const clock_source &clock, pcap_file file) noexcept;
    /// Creates the capture file at `path` (errno on failure) and the writer over
    /// `inner`.
    [[nodiscard]] static result<std::unique_ptr<pcap_writer>> open(device &inner, const clock_source &clock,
                                                                   const char *path) noexcept;

    size_t transmit(std::span<buffer> frames) noexcept override;
    size_t receive(std::span<buffer> out) noexcept override;
    [[nodiscard]] wire::ethernet_address mac() const noexcept override { return inner_.mac(); }
    [[nodiscard]] size_t mtu() const noexcept override { return inner_.mtu(); }
    [[nodiscard]] checksum_caps caps() const noexcept override { return inner_.caps(); }
    [[nodiscard]] bool peer_gone() const noexcept override { return inner_.peer_gone(); }

    /// The first write error, if any.
    [[nodiscard]] result<void> status() const noexcept { return file_.status(); }
    result<void> flush() noexcept { return file_.flush(); }
    result<void> close() noexcept { return file_.close(); }
    [[nodiscard]] uint64_t records() const noexcept { return file_.records(); }

private:
    device &inner_;
    const clock_source &clock_;
    pcap_file file_;
    std::vector<size_t> ends_; // per offered frame, the staged size after its record
};

} // namespace demi::phy
