/* Demi — waiting for queue tokens.
 *
 * timeout: NULL waits forever, {0, 0} polls once, anything else is a relative limit after which
 * the call returns ETIMEDOUT and leaves the tokens valid. */
#ifndef DEMI_WAIT_H_IS_INCLUDED
#define DEMI_WAIT_H_IS_INCLUDED

#include <demi/cc.h>
#include <demi/types.h>
#include <time.h>
/* POSIX requires <sched.h> to define struct timespec; <time.h> alone does not in strict ISO C99
 * mode (gcc -std=c99), where Demikernel programs are compiled. */
#include <sched.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Waits for one operation; on success the token is consumed and its result written to qr_out. */
ATTR_NONNULL(1)
DEMI_EXPORT int demi_wait(_Out_ demi_qresult_t *qr_out, _In_ demi_qtoken_t qt, _In_opt_ const struct timespec *timeout);

/** Waits for the first of num_qts operations; its index in qts goes to ready_offset. */
ATTR_NONNULL(1, 2, 3)
DEMI_EXPORT int demi_wait_any(_Out_ demi_qresult_t *qr_out, _Out_ int *ready_offset,
                              _In_reads_(num_qts) const demi_qtoken_t qts[], _In_ int num_qts,
                              _In_opt_ const struct timespec *timeout);

/** Waits until at least one operation of any queue completes and returns up to num_qrs results. */
ATTR_NONNULL(1, 3)
DEMI_EXPORT int demi_wait_next_n(_Out_writes_to_(num_qrs, *num_qrs_out) demi_qresult_t *qr_out, _In_ int num_qrs,
                                 _Out_ int *num_qrs_out, _In_opt_ const struct timespec *timeout);

#ifdef __cplusplus
}
#endif

#endif /* DEMI_WAIT_H_IS_INCLUDED */
