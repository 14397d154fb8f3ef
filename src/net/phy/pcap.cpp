#include "net/phy/pcap.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "common/log.hpp"

namespace demi::phy {

namespace {
void put32le(std::vector<std::byte> &out, uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::byte>(v >> (8 * i)));
}
void put16le(std::vector<std::byte> &out, uint16_t v) {
    out.push_back(static_cast<std::byte>(v));
    out.push_back(static_cast<std::byte>(v >> 8));
}
} // namespace

result<pcap_file> pcap_file::create(const char *path, uint32_t snaplen) noexcept {
    if (path == nullptr || snaplen == 0) return error(EINVAL);
    const int fd = ::open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return error(errno);
    return adopt(fd, snaplen);
}

result<pcap_file> pcap_file::adopt(int fd, uint32_t snaplen) noexcept {
    if (fd < 0 || snaplen == 0) return error(EINVAL);
    pcap_file f(fd, snaplen);
    f.buf_.reserve(flush_threshold + 2048);
    put32le(f.buf_, pcap_magic_usec);
    put16le(f.buf_, 2); // version 2.4
    put16le(f.buf_, 4);
    put32le(f.buf_, 0); // thiszone: timestamps are UTC
    put32le(f.buf_, 0); // sigfigs
    put32le(f.buf_, snaplen);
    put32le(f.buf_, pcap_linktype_ethernet);
    // The header goes out now, so an unwritable target fails here rather than at
    // the first frame.
    if (auto r = f.flush(); !r) {
        f.error_ = 0; // reported through the return value; keep the destructor quiet
        f.buf_.clear();
        return r.err();
    }
    return f;
}

pcap_file::pcap_file(pcap_file &&o) noexcept
    : fd_(std::exchange(o.fd_, -1)), snaplen_(o.snaplen_), error_(o.error_), records_(o.records_),
      buf_(std::move(o.buf_)) {
    o.buf_.clear();
}

pcap_file &pcap_file::operator=(pcap_file &&o) noexcept {
    if (this != &o) {
        (void)close();
        fd_ = std::exchange(o.fd_, -1);
        snaplen_ = o.snaplen_;
        error_ = o.error_;
        records_ = o.records_;
        buf_ = std::move(o.buf_);
        o.buf_.clear();
    }
    return *this;
}

pcap_file::~pcap_file() {
    // close() logs the error the first time it is seen; nothing more to do here.
    (void)close();
}

void pcap_file::stage(time_point ts, std::span<const std::byte> frame) noexcept {
    // Timestamps before the clock's epoch are clamped to it.
    const int64_t ns = std::max<int64_t>(0, ts.time_since_epoch().count());
    const auto incl = static_cast<uint32_t>(std::min<size_t>(frame.size(), snaplen_));
    put32le(buf_, static_cast<uint32_t>(ns / 1'000'000'000));
    put32le(buf_, static_cast<uint32_t>(ns % 1'000'000'000 / 1000));
    put32le(buf_, incl);
    put32le(buf_, static_cast<uint32_t>(frame.size()));
    buf_.insert(buf_.end(), frame.begin(), frame.begin() + incl);
    ++records_;
}

void pcap_file::unstage_from(size_t pos, uint64_t records) noexcept {
    buf_.resize(std::min(pos, buf_.size()));
    records_ -= std::min(records, records_);
}

result<void> pcap_file::write(time_point ts, std::span<const std::byte> frame) noexcept {
    if (error_ != 0) return error(error_);
    if (fd_ < 0) return error(EBADF);
    stage(ts, frame);
    return flush_if_full();
}

result<void> pcap_file::flush_if_full() noexcept {
    if (buf_.size() < flush_threshold) return ok();
    return flush();
}

result<void> pcap_file::flush() noexcept {
    if (error_ != 0) return error(error_);
    if (buf_.empty()) return ok();
    if (fd_ < 0) return error(EBADF);
    auto r = write_all(buf_);
    buf_.clear();
    return r;
}

result<void> pcap_file::write_all(std::span<const std::byte> bytes) noexcept {
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            // A short write of 0 bytes would loop forever; call it ENOSPC like a full
            // disk. EAGAIN on a non-blocking fd is an error too: a capture does not
            // wait.
            error_ = n < 0 ? errno : ENOSPC;
            DEMI_LOG(error, "pcap", "writing the capture failed: %s; later records are lost", std::strerror(error_));
            return error(error_);
        }
        bytes = bytes.subspan(static_cast<size_t>(n));
    }
    return ok();
}

result<void> pcap_file::status() const noexcept {
    if (error_ != 0) return error(error_);
    return ok();
}

result<void> pcap_file::close() noexcept {
    if (fd_ < 0) return status();
    auto r = flush();
    if (::close(fd_) != 0 && r) {
        error_ = errno;
        DEMI_LOG(error, "pcap", "closing the capture failed: %s", std::strerror(error_));
        r = error(error_);
    }
    fd_ = -1;
    return r;
}

pcap_writer::pcap_writer(device &inner, const clock_source &clock, pcap_file file) noexcept
    : inner_(inner), clock_(clock), file_(std::move(file)) {}

result<std::unique_ptr<pcap_writer>> pcap_writer::open(device &inner, const clock_source &clock,
                                                       const char *path) noexcept {
    auto f = pcap_file::create(path);
    if (!f) return f.err();
    std::unique_ptr<pcap_writer> w(new (std::nothrow) pcap_writer(inner, clock, std::move(*f)));
    if (!w) return error(ENOMEM);
    return w;
}

size_t pcap_writer::transmit(std::span<buffer> frames) noexcept {
    if (file_.status().has_value() && file_.fd_ >= 0 && !frames.empty()) {
        // Only the frames the inner device takes are recorded, but once taken they
        // may already be freed: stage a record for every offered frame first, then
        // cut the staged bytes back to the records of the frames that were taken.
        const time_point now = clock_.now();
        const size_t mark = file_.staged_bytes();
        ends_.clear();
        for (const buffer &f : frames) {
            file_.stage(now, f.bytes());
            ends_.push_back(file_.staged_bytes());
        }
        const size_t sent = inner_.transmit(frames);
        file_.unstage_from(sent == 0 ? mark : ends_[sent - 1], frames.size() - sent);
        (void)file_.flush_if_full(); // an error stays in status() and was logged
        return sent;
    }
    return inner_.transmit(frames);
}

size_t pcap_writer::receive(std::span<buffer> out) noexcept {
    const size_t n = inner_.receive(out);
    if (n > 0 && file_.status().has_value() && file_.fd_ >= 0) {
        const time_point now = clock_.now();
        for (size_t i = 0; i < n; ++i) file_.stage(now, out[i].bytes());
        (void)file_.flush_if_full();
    }
    return n;
}

} // namespace demi::phy
