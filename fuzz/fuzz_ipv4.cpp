// libFuzzer target: IPv4 header view and repr.
#include "fuzz_util.hpp"

using namespace demi::wire;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    const auto in = fuzz::input(data, size);
    auto v = ipv4_view::check(in);
    if (!v) return 0;
    fuzz::check(v->header_len() >= 20 && v->header_len() <= v->bytes().size() && v->bytes().size() <= in.size());
    (void)v->verify_checksum();
    for (const auto &caps : fuzz::caps_variants) {
        auto r = ipv4_repr::parse(*v, caps);
        if (!r) continue;
        // Emit the header and the same payload, parse again: the same repr.
        std::vector<std::byte> out(r->buffer_len() + r->payload_len_);
        r->emit(out, caps);
        std::memcpy(out.data() + r->buffer_len(), v->payload().data(), v->payload().size());
        auto v2 = ipv4_view::check(out);
        fuzz::check(v2.has_value());
        auto r2 = ipv4_repr::parse(*v2, caps);
        fuzz::check(r2.has_value() && *r2 == *r);
        // Without options or the reserved flag, and with a correct checksum, the header comes back
        // byte for byte. (0xffff also verifies where the computed value is 0: one's complement has two
        // zeros.)
        if (v->header_len() == 20 && !v->reserved_flag() && v->verify_checksum() && v->checksum() != 0xffff &&
            caps.ipv4_ == checksum_mode::both)
            fuzz::check(fuzz::same(std::span(out).first(20), v->header()));
    }
    return 0;
}
