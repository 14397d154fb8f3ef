/* Demi — scatter-gather arrays in the libOS's I/O memory. */
#ifndef DEMI_SGA_H_IS_INCLUDED
#define DEMI_SGA_H_IS_INCLUDED

#include <demi/cc.h>
#include <demi/types.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Allocates a one-segment sga of `size` bytes (1 byte to 1 GiB); size 0 or failure returns a null sga. */
DEMI_EXPORT demi_sgarray_t demi_sgaalloc(_In_ size_t size);

/** Releases an sga returned by demi_sgaalloc or by a pop. Freeing twice returns EINVAL. */
ATTR_NONNULL(1)
DEMI_EXPORT int demi_sgafree(_In_ demi_sgarray_t *sga);

#ifdef __cplusplus
}
#endif

#endif /* DEMI_SGA_H_IS_INCLUDED */
