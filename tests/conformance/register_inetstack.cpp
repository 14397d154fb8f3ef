// Makes the inetstack libOS — Demi's user-space TCP/IP stack, here over a loopback device (no NIC,
// no privileges) — reachable by the name "inetstack" in this test program, so the suite runs on it
// exactly as on catnap. Not a Demikernel libOS name, and registered only here (src/libos/registry.hpp).
#include "libos/inetstack/inetstack.hpp"
#include "libos/registry.hpp"

namespace {
const bool registered = demi::detail::register_libos("inetstack", &demi::inetstack::make_loopback);
} // namespace
