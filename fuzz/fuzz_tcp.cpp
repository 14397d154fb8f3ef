// libFuzzer target: TCP view, options and repr, with the pseudo-header of 10.0.0.1 -> 10.0.0.2.
#include "fuzz_util.hpp"

using namespace demi::wire;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    const auto in = fuzz::input(data, size);
    auto v = tcp_view::check(in);
    if (!v) return 0;
    fuzz::check(v->header_len() + v->payload().size() == in.size());
    for (const auto &caps : fuzz::caps_variants) {
        auto r = tcp_repr::parse(*v, fuzz::host_a, fuzz::host_b, caps);
        if (!r) continue;
        fuzz::check(r->options_.sack_count_ <= tcp_max_sack_blocks);
        fuzz::check(!r->options_.window_scale_ || *r->options_.window_scale_ <= tcp_max_window_scale);
        const std::size_t opt_len = r->options_.buffer_len();
        fuzz::check(opt_len <= 40 && opt_len % 4 == 0);
        std::vector<std::byte> out(r->buffer_len());
        r->emit(out, fuzz::host_a, fuzz::host_b);
        auto v2 = tcp_view::check(out);
        fuzz::check(v2.has_value() && v2->verify_checksum(fuzz::host_a, fuzz::host_b));
        auto r2 = tcp_repr::parse(*v2, fuzz::host_a, fuzz::host_b);
        fuzz::check(r2.has_value());
        fuzz::check(r2->src_port_ == r->src_port_ && r2->dst_port_ == r->dst_port_ && r2->seq_ == r->seq_ &&
                    r2->ack_ == r->ack_ && r2->flags_ == r->flags_ && r2->window_ == r->window_ &&
                    r2->urgent_ptr_ == r->urgent_ptr_ && fuzz::same(r2->payload_, r->payload_));
        // Options come back equal, except SACK blocks beyond what fits next to the others.
        tcp_options expected = r->options_;
        expected.sack_count_ = static_cast<std::uint8_t>(expected.sack_blocks_emitted());
        for (std::size_t i = expected.sack_count_; i < tcp_max_sack_blocks; ++i) expected.sack_blocks_[i] = {};
        fuzz::check(r2->options_ == expected);
        // Re-emitting in place (payload already where it goes) is a no-op.
        std::vector<std::byte> again = out;
        r2->emit(again, fuzz::host_a, fuzz::host_b);
        fuzz::check(again == out);
    }
    return 0;
}
