// libFuzzer target: Ethernet II header view and repr.
#include "fuzz_util.hpp"

using namespace demi::wire;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    const auto in = fuzz::input(data, size);
    auto v = ethernet_view::check(in);
    if (!v) return 0;
    (void)v->payload().size();
    auto r = ethernet_repr::parse(*v);
    if (!r) return 0;
    // Every header field is kept: the header re-emits byte for byte.
    std::byte out[ethernet_repr::buffer_len()];
    r->emit(out);
    fuzz::check(fuzz::same(out, std::span(in).first(ethernet_repr::buffer_len())));
    return 0;
}
