/* Demi — extensions to the Demikernel C ABI. Nothing here changes an existing declaration. */
#ifndef DEMI_EXT_H_IS_INCLUDED
#define DEMI_EXT_H_IS_INCLUDED

#include <demi/cc.h>
#include <demi/types.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Creates an in-process FIFO memory queue (works under every libOS). */
ATTR_NONNULL(1)
DEMI_EXPORT int demi_queue(_Out_ int *qd_out);

/** Returns the local address of a socket queue. */
ATTR_NONNULL(2)
DEMI_EXPORT int demi_getsockname(_In_ int qd, _Out_writes_to_(addrlen, *addrlen) struct sockaddr *addr,
                                 _In_ socklen_t *addrlen);

#ifdef __cplusplus
}
#endif

#endif /* DEMI_EXT_H_IS_INCLUDED */
