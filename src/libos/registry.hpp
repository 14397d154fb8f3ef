// An internal hook of the libOS registry (not installed): lets a test program make a backend that is
// not one of Demikernel's libOSes reachable through demi::libos::create (and so through the C ABI),
// e.g. tests/conformance registers "inetstack" (the user-space stack over a loopback device).
#pragma once

#include "runtime/backend.hpp"

namespace demi::detail {

/// Adds `name` -> `make` to the registry. False (and nothing changes) if the name is taken, by one of
/// the built-in names (catnap, catnip, catpowder, catmem, catcollar, catmint) or an earlier call.
/// Not thread-safe: call before any libos::create, e.g. from a static initializer.
bool register_libos(const char *name, rt::backend_factory make);

} // namespace demi::detail
