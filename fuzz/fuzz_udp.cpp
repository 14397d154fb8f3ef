// libFuzzer target: UDP view and repr, with the pseudo-header of 10.0.0.1 -> 10.0.0.2.
#include "fuzz_util.hpp"

using namespace demi::wire;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    const auto in = fuzz::input(data, size);
    auto v = udp_view::check(in);
    if (!v) return 0;
    fuzz::check(v->bytes().size() == v->length());
    for (const auto &caps : fuzz::caps_variants) {
        auto r = udp_repr::parse(*v, fuzz::host_a, fuzz::host_b, caps);
        if (!r) continue;
        std::vector<std::byte> out(r->buffer_len());
        fuzz::check(out.size() == v->length());
        r->emit(out, fuzz::host_a, fuzz::host_b);
        auto v2 = udp_view::check(out);
        fuzz::check(v2.has_value() && v2->verify_checksum(fuzz::host_a, fuzz::host_b));
        auto r2 = udp_repr::parse(*v2, fuzz::host_a, fuzz::host_b);
        fuzz::check(r2.has_value() && r2->src_port_ == r->src_port_ && r2->dst_port_ == r->dst_port_ &&
                    fuzz::same(r2->payload_, r->payload_));
        // A datagram that carried a correct (non-zero) checksum comes back byte for byte.
        if (v->checksum() != 0 && v->verify_checksum(fuzz::host_a, fuzz::host_b))
            fuzz::check(fuzz::same(out, v->bytes()));
    }
    return 0;
}
