/* Demi — the queue API (PDPIX) of the C ABI.
 *
 * Every function returns 0 on success or a positive errno value. Operations that may take time
 * (accept, connect, push, pushto, pop) never block: they return a queue token, and a wait function
 * from <demi/wait.h> returns their result. Semantics: docs/API.md. */
#ifndef DEMI_LIBOS_H_IS_INCLUDED
#define DEMI_LIBOS_H_IS_INCLUDED

#include <demi/cc.h>
#include <demi/types.h>
#include <stddef.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Starts the libOS named by the environment variable LIBOS (default catnap). */
ATTR_NONNULL(1)
DEMI_EXPORT int demi_init(_In_ const struct demi_args *args);

/** Creates a socket queue (AF_INET; SOCK_STREAM or SOCK_DGRAM). */
ATTR_NONNULL(1)
DEMI_EXPORT int demi_socket(_Out_ int *sockqd_out, _In_ int domain, _In_ int type, _In_ int protocol);

/** Marks a bound stream socket as passive. */
DEMI_EXPORT int demi_listen(_In_ int sockqd, _In_ int backlog);

/** Binds a local address (INADDR_ANY and port 0 allowed). */
ATTR_NONNULL(2)
DEMI_EXPORT int demi_bind(_In_ int sockqd, _In_reads_bytes_(size) const struct sockaddr *addr, _In_ socklen_t size);

/** Accepts a connection asynchronously; the result carries the new queue descriptor. */
ATTR_NONNULL(1)
DEMI_EXPORT int demi_accept(_Out_ demi_qtoken_t *qt_out, _In_ int sockqd);

/** Connects asynchronously. */
ATTR_NONNULL(1, 3)
DEMI_EXPORT int demi_connect(_Out_ demi_qtoken_t *qt_out, _In_ int sockqd,
                             _In_reads_bytes_(size) const struct sockaddr *addr, _In_ socklen_t size);

/** Closes a queue; operations still pending on it complete with ECANCELED. */
DEMI_EXPORT int demi_close(_In_ int qd);

/** Pushes a scatter-gather array; the buffer is kept alive until the push completes. */
ATTR_NONNULL(1, 3)
DEMI_EXPORT int demi_push(_Out_ demi_qtoken_t *qt_out, _In_ int qd, _In_ const demi_sgarray_t *sga);

/** Pushes a datagram to an address. */
ATTR_NONNULL(1, 3, 4)
DEMI_EXPORT int demi_pushto(_Out_ demi_qtoken_t *qt_out, _In_ int sockqd, _In_ const demi_sgarray_t *sga,
                            _In_reads_bytes_(size) const struct sockaddr *dest_addr, _In_ socklen_t size);

/** Pops the next scatter-gather array (stream: the bytes available; datagram: one datagram). */
ATTR_NONNULL(1)
DEMI_EXPORT int demi_pop(_Out_ demi_qtoken_t *qt_out, _In_ int qd);

/** Sets a socket option (SOL_SOCKET: SO_LINGER, SO_KEEPALIVE, SO_REUSEADDR; IPPROTO_TCP: TCP_NODELAY). */
ATTR_NONNULL(4)
DEMI_EXPORT int demi_setsockopt(_In_ int qd, _In_ int level, _In_ int optname,
                                _In_reads_bytes_(optlen) const void *optval, _In_ socklen_t optlen);

/** Reads a socket option. */
ATTR_NONNULL(4)
DEMI_EXPORT int demi_getsockopt(_In_ int qd, _In_ int level, _In_ int optname,
                                _Out_writes_to_(optlen, *optlen) void *optval, _In_ socklen_t *optlen);

/** Returns the address of the connected peer. */
ATTR_NONNULL(2)
DEMI_EXPORT int demi_getpeername(_In_ int qd, _Out_writes_to_(addrlen, *addrlen) struct sockaddr *addr,
                                 _In_ socklen_t *addrlen);

#ifdef __cplusplus
}
#endif

#include <demi/ext.h>

#endif /* DEMI_LIBOS_H_IS_INCLUDED */
