#include "net/wire/ethernet.hpp"

namespace demi::wire {

result<ethernet_repr> ethernet_repr::parse(const ethernet_view &v) noexcept {
    if (v.ethertype_raw() < ethertype_min) return err::unsupported;
    return ethernet_repr{v.src(), v.dst(), v.ethertype()};
}

void ethernet_repr::emit(std::span<std::byte> out) const noexcept {
    detail::require(out.size() >= buffer_len());
    dst_.write(out.data());
    src_.write(out.data() + 6);
    store_be16(out.data() + 12, static_cast<std::uint16_t>(ethertype_));
}

} // namespace demi::wire
