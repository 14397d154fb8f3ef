// libFuzzer target: ICMPv4 view and repr.
#include "fuzz_util.hpp"

using namespace demi::wire;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    const auto in = fuzz::input(data, size);
    auto v = icmpv4_view::check(in);
    if (!v) return 0;
    for (const auto &caps : fuzz::caps_variants) {
        auto r = icmpv4_repr::parse(*v, caps);
        if (!r) continue;
        std::vector<std::byte> out(r->buffer_len());
        fuzz::check(out.size() == in.size());
        r->emit(out, checksum_caps::software());
        auto r2 = icmpv4_repr::parse(*icmpv4_view::check(out));
        fuzz::check(r2.has_value());
        fuzz::check(r2->type_ == r->type_ && r2->code_ == r->code_ && r2->ident_ == r->ident_ &&
                    r2->seq_no_ == r->seq_no_ && r2->next_hop_mtu_ == r->next_hop_mtu_ &&
                    fuzz::same(r2->data_, r->data_));
        // An echo with a correct checksum comes back byte for byte. (0xffff also verifies where the
        // computed value is 0: one's complement has two zeros.)
        if (r->type_ != icmpv4_type::dst_unreachable && v->verify_checksum() && v->checksum() != 0xffff)
            fuzz::check(fuzz::same(out, in));
        // The reply to an echo request is a valid echo reply.
        if (r->type_ == icmpv4_type::echo_request) {
            r->echo_reply().emit(out);
            fuzz::check(icmpv4_repr::parse(*icmpv4_view::check(out)).has_value());
        }
    }
    return 0;
}
