// The errors a wire parser returns. Each is an errno value so it travels in demi::result<T> like any
// other error; the stack logs the reason and drops the frame, it never returns these to an application.
#pragma once

#include <cerrno>

#include "common/result.hpp"

namespace demi::wire::err {

/// Fewer bytes than the fixed header, or than a length field inside the header says.
inline constexpr demi::error truncated{ENODATA};
/// A field holds a value the format forbids (IHL < 5, an option whose length overruns, port 0, ...).
inline constexpr demi::error malformed{EBADMSG};
/// The checksum does not verify.
inline constexpr demi::error bad_checksum{EILSEQ};
/// Well-formed but not something this layer handles (IPv6 in an IPv4 header, ARP for non-Ethernet, ...).
inline constexpr demi::error unsupported{EPROTONOSUPPORT};

} // namespace demi::wire::err
