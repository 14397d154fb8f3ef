// What a libOS plugs into the runtime: how to make its sockets, how to poll its device, and where
// its I/O memory comes from.
#pragma once

#include "common/clock.hpp"
#include "common/result.hpp"
#include "runtime/config.hpp"
#include "runtime/queue.hpp"

#include <memory>
#include <string_view>

namespace demi::rt {

class backend {
public:
    virtual ~backend() = default;
    [[nodiscard]] virtual std::string_view name() const noexcept = 0;

    /// A socket queue. EAFNOSUPPORT for a domain other than AF_INET, ENOTSUP for an unsupported type.
    virtual result<std::shared_ptr<queue>> socket(runtime &rt, int domain, int type, int protocol) = 0;

    /// Delivers device events to waiting coroutines (through the scheduler). May block up to
    /// `max_block` when nothing is pending (zero: never blocks). Returns true if it found work.
    virtual bool poll(runtime &rt, duration max_block) = 0;

    /// A buffer of the libOS's I/O memory (the heap unless the device has its own).
    virtual result<buffer> alloc(size_t size);
};

/// Makes a backend from the configuration.
using backend_factory = result<std::unique_ptr<backend>> (*)(const config &);

} // namespace demi::rt
