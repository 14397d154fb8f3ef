// catnip: the DPDK libOS. The EAL (eal.hpp), an mbuf pool (mbuf_pool.hpp) and one ethdev port
// (dpdk_device.hpp) under the inetstack layer's sockets (libos/inetstack): Demi's own TCP/IP stack,
// no kernel on the data path.
#pragma once

#include <memory>

#include "common/result.hpp"
#include "runtime/backend.hpp"
#include "runtime/config.hpp"

namespace demi::catnip {

/// Starts the EAL if it does not run yet, opens the port (once per process, with the first instance's
/// configuration; it stays open until the process ends) and returns the backend. One catnip instance
/// per process at a time (a port has one RX queue): EBUSY while another lives. Errors of eal_start,
/// mbuf_pool::create, dpdk_device::open and inetstack::make_backend are passed on (each logged with
/// its cause).
result<std::unique_ptr<rt::backend>> make(const rt::config &cfg);

} // namespace demi::catnip
