// libFuzzer target: the Internet checksum. Properties: any split of the data sums the same as the
// whole (RFC 1071 §2), and an RFC 1624 incremental update equals a full recompute.
#include "fuzz_util.hpp"

using namespace demi::wire;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    if (size < 4) return 0;
    // Bytes 0-1: split points; 2-3: a replacement word; the rest: the data.
    const std::size_t split_a = data[0], split_b = data[1];
    const std::uint16_t new_word = static_cast<std::uint16_t>(data[2] << 8 | data[3]);
    auto buf = fuzz::input(data + 4, size - 4);
    const std::span<const std::byte> s(buf);

    const std::uint16_t whole = ones_complement_sum(s);
    const std::size_t i = std::min(split_a, s.size());
    const std::size_t j = std::min(i + split_b, s.size());
    checksum_accumulator acc;
    acc.add(s.first(i)).add(s.subspan(i, j - i)).add(s.subspan(j));
    fuzz::check(acc.sum() == whole);

    // Treat the first word as the checksum field and the word at the split as the one that changes.
    if (buf.size() < 4 || buf.size() % 2 != 0) return 0;
    const std::size_t at = 2 + ((i / 2) * 2) % (buf.size() - 2);
    store_be16(buf.data(), 0);
    const std::uint16_t ck = internet_checksum(buf);
    // RFC 1624 §3: eqn. 3 and a recompute disagree only when the data sums to zero, i.e. is all zero.
    bool all_zero = true;
    const std::uint16_t old_word = load_be16(buf.data() + at);
    store_be16(buf.data() + at, new_word);
    for (std::size_t k = 2; k < buf.size(); ++k) all_zero = all_zero && buf[k] == std::byte{0};
    if (!all_zero) fuzz::check(checksum_update16(ck, old_word, new_word) == internet_checksum(buf));
    return 0;
}
