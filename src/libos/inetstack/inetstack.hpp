// inetstack: the device-independent network libOS. Its sockets (TCP and UDP queues) run on Demi's own
// TCP/IP stack (net::host) over any layer-1 device (phy::device): catnip gives it a DPDK port,
// catpowder an AF_XDP socket, the tests a loopback or simulated device. docs/ARCHITECTURE.md.
#pragma once

#include "net/phy/device.hpp"
#include "net/stack/config.hpp"
#include "runtime/backend.hpp"

#include <memory>

namespace demi::inetstack {

/// Where I/O buffers come from: net::buffer_allocator, `result<buffer>(size, headroom) noexcept`
/// (a DPDK mbuf pool, AF_XDP umem, ...). nullptr: the heap.
using alloc_fn = net::buffer_allocator;

/// The backend over `dev` (which it owns), configured by `cfg`:
///   demikernel.local_ipv4_addr   required: EINVAL, with a message naming the key, when missing
///   demikernel.local_link_addr   the interface's MAC (default: the device's)
///   inetstack_config.mtu / .mss  the IPv4 MTU (default 1500) and the TCP MSS (default: MTU - 40)
///   inetstack_config.arp_table   static ARP entries (MAC -> IPv4)
///   tcp_socket_options.*         nodelay, keepalive (time_millis, interval), linger
/// `alloc` gives the buffers of pops and of frames the stack builds (nullptr: the heap).
/// The device is polled: poll() never sleeps (for a NIC, blocking is spinning; the wait loop yields
/// the CPU while it spins).
result<std::unique_ptr<rt::backend>> make_backend(const rt::config &cfg, std::unique_ptr<phy::device> dev,
                                                  alloc_fn alloc = nullptr);

/// The same stack with no NIC: a phy::loopback_device; demikernel.local_ipv4_addr defaults to
/// 127.0.0.1. Nothing outside the process can reach it, so poll() may sleep until the stack's next
/// timer. For tests and one-process programs; not a Demikernel libOS name (see tests/conformance).
result<std::unique_ptr<rt::backend>> make_loopback(const rt::config &cfg);

} // namespace demi::inetstack
