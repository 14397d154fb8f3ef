// catnip: starting DPDK's Environment Abstraction Layer (EAL) once per process.
//
// The EAL is process-wide by DPDK's design (one rte_eal_init per process, lcores, hugepage memory,
// the device buses), so its start is the one piece of process state here: eal_start() may be called
// by every catnip instance; the first call initialises, a later call with the same arguments returns
// what the first returned, a later call with different arguments fails with EALREADY.
//
// Arguments (eal_arguments, a pure function so it can be tested without DPDK):
//   1. the words of env DEMI_DPDK_EAL_INIT (split on spaces) when set and not empty, else
//   2. the config list dpdk.eal_init (Demikernel's key), else nothing;
//   then what the user left out is completed with defaults, each only if no argument of its group
//   is there:
//   - devices: --no-pci (unless -a/--allow/-b/--block/--no-pci/--vdev... names PCI devices: -a, -b,
//     --allow, --block, --pci-whitelist, --pci-blacklist, --no-pci);
//   - memory: --in-memory when the 2 MiB hugepage pool has at least 64 free pages (128 MiB), else
//     --no-huge -m 1024 --no-shconf (unless one of --in-memory, --no-huge, -m, --socket-mem, --huge-dir,
//     --legacy-mem, --single-file-segments is given);
//   - --file-prefix=demi-<pid> (two EAL processes on one machine need different prefixes);
//   - --log-level: DPDK logs errors only, unless DEMI_LOG asks for info (notice), debug (info)
//     or trace (debug).
//   No device is added: a vdev (e.g. --vdev=net_memif0,role=server,socket=/tmp/x.sock,socket-abstract=no)
//   or a PCI device must come from the user; without one eal_start fails with ENODEV.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/log.hpp"
#include "common/result.hpp"
#include "runtime/config.hpp"

namespace demi::catnip {

/// What eal_arguments reads from the process, passed in so the function stays pure.
struct eal_environment {
    std::optional<std::string> eal_init_env; ///< DEMI_DPDK_EAL_INIT, if set
    long free_hugepages_2m = 0;              ///< /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages
    long pid = 0;
    log::level log_level = log::level::warn; ///< DEMI_LOG
};

/// Free 2 MiB pages at least this many: the default is --in-memory on hugepages.
inline constexpr long min_free_hugepages = 64;

/// The EAL's argv (without argv[0]) from the configuration and the environment (see the file comment).
[[nodiscard]] std::vector<std::string> eal_arguments(const rt::config &cfg, const eal_environment &env);

/// Reads DEMI_DPDK_EAL_INIT, the free hugepage count, the pid and DEMI_LOG.
[[nodiscard]] eal_environment current_eal_environment();

/// Starts the EAL with eal_arguments(cfg, current_eal_environment()) unless it already runs (see the
/// file comment). Errors, each also logged with its cause: the errno of rte_eal_init (rte_errno, e.g.
/// ENOMEM without memory, EALREADY after an earlier failed attempt, EINVAL or ENODEV for a bad
/// argument or vdev); ENODEV when no ethdev port exists after the start; EALREADY when the EAL was
/// started with other arguments.
result<void> eal_start(const rt::config &cfg);

/// The arguments the EAL was started with (empty before a successful eal_start).
[[nodiscard]] std::vector<std::string> eal_started_arguments();

} // namespace demi::catnip
