// libFuzzer target: ARP view and repr (IPv4 over Ethernet).
#include "fuzz_util.hpp"

using namespace demi::wire;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    const auto in = fuzz::input(data, size);
    auto v = arp_view::check(in);
    if (!v) return 0;
    // The generic accessors stay inside the checked bytes whatever hln and pln say.
    std::size_t total = 0;
    for (auto s : {v->sender_hardware_addr(), v->sender_protocol_addr(), v->target_hardware_addr(),
                   v->target_protocol_addr()})
        for (std::byte b : s) total += std::to_integer<std::size_t>(b);
    (void)total;
    auto r = arp_repr::parse(*v);
    if (!r) return 0;
    // The repr accepts only what it can reproduce exactly.
    std::byte out[arp_repr::buffer_len()];
    r->emit(out);
    fuzz::check(fuzz::same(out, std::span(in).first(arp_repr::buffer_len())));
    return 0;
}
