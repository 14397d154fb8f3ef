// All of Demi's wire formats (DESIGN.md §3): typed views over bytes and plain value reprs, one header
// per protocol, no state.
#pragma once

#include "net/wire/address.hpp"
#include "net/wire/arp.hpp"
#include "net/wire/checksum.hpp"
#include "net/wire/endian.hpp"
#include "net/wire/errors.hpp"
#include "net/wire/ethernet.hpp"
#include "net/wire/icmpv4.hpp"
#include "net/wire/ipv4.hpp"
#include "net/wire/tcp.hpp"
#include "net/wire/udp.hpp"
