/* The C ABI's layout: sizes, field offsets and constants of every public type, as Demikernel lays
 * them out on x86-64. A mismatch breaks binary compatibility with programs built against
 * Demikernel's headers, so it is checked twice: at compile time (_Static_assert, which C99 compilers
 * accept as an extension of C11's keyword) and at run time, with one line per check. */
#define _POSIX_C_SOURCE 200809L

#include <demi/libos.h>
#include <demi/sga.h>
#include <demi/wait.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#if defined(__x86_64__)

#define CHECKS(X)                                                         \
    X(sizeof(demi_qtoken_t), 8)                                           \
    X(sizeof(demi_sgaseg_t), 12)                                          \
    X(sizeof(demi_sgarray_t), 40)                                         \
    X(sizeof(demi_accept_result_t), 20)                                   \
    X(sizeof(demi_qresult_t), 64)                                         \
    X(sizeof(demi_opcode_t), 4)                                           \
    X(sizeof(struct sockaddr_in), 16)                                     \
    X(DEMI_SGARRAY_MAXSIZE, 1)                                            \
    X(DEMI_OPC_INVALID, 0)                                                \
    X(DEMI_OPC_PUSH, 1)                                                   \
    X(DEMI_OPC_POP, 2)                                                    \
    X(DEMI_OPC_ACCEPT, 3)                                                 \
    X(DEMI_OPC_CONNECT, 4)                                                \
    X(DEMI_OPC_CLOSE, 5)                                                  \
    X(DEMI_OPC_FAILED, 6)                                                 \
    X(offsetof(demi_sgaseg_t, sgaseg_buf), 0)                             \
    X(offsetof(demi_sgaseg_t, sgaseg_len), 8)                             \
    X(sizeof(((demi_sgaseg_t *)0)->sgaseg_len), 4)                        \
    X(offsetof(demi_sgarray_t, sga_buf), 0)                               \
    X(offsetof(demi_sgarray_t, sga_numsegs), 8)                           \
    X(offsetof(demi_sgarray_t, sga_segs), 12)                             \
    X(sizeof(((demi_sgarray_t *)0)->sga_segs), 12)                        \
    X(offsetof(demi_sgarray_t, sga_addr), 24)                             \
    X(sizeof(((demi_sgarray_t *)0)->sga_numsegs), 4)                      \
    X(offsetof(demi_accept_result_t, qd), 0)                              \
    X(offsetof(demi_accept_result_t, addr), 4)                            \
    X(sizeof(((demi_accept_result_t *)0)->qd), 4)                         \
    X(offsetof(demi_qresult_t, qr_opcode), 0)                             \
    X(offsetof(demi_qresult_t, qr_qd), 4)                                 \
    X(offsetof(demi_qresult_t, qr_qt), 8)                                 \
    X(offsetof(demi_qresult_t, qr_ret), 16)                               \
    X(offsetof(demi_qresult_t, qr_value), 24)                             \
    X(sizeof(((demi_qresult_t *)0)->qr_ret), 8)                           \
    X(sizeof(((demi_qresult_t *)0)->qr_value), 40)                        \
    X(offsetof(demi_qresult_t, qr_value.sga), 24)                         \
    X(offsetof(demi_qresult_t, qr_value.ares), 24)                        \
    X(offsetof(demi_qresult_t, qr_value.sga.sga_segs), 36)                \
    X(offsetof(demi_qresult_t, qr_value.sga.sga_addr), 48)                \
    X(offsetof(demi_qresult_t, qr_value.ares.addr), 28)                   \
    X(offsetof(struct demi_args, argc), 0)                                \
    X(offsetof(struct demi_args, argv), 8)                                \
    X(offsetof(struct demi_args, callback), 16)                           \
    X(sizeof(struct demi_args), 24)

/* Compile-time copies of the checks: the build fails on a layout change. */
#define STATIC_CHECK(expr, value) _Static_assert((expr) == (value), #expr " == " #value);
CHECKS(STATIC_CHECK)

/* demi_qtoken_t is an unsigned 64-bit integer, and the opcodes are an int-sized enum. */
_Static_assert((demi_qtoken_t)-1 > 0, "demi_qtoken_t is unsigned");

static int failed;
static int passed;

static void check(const char *expr, unsigned long long got, unsigned long long want)
{
    if (got == want) {
        printf("pass: %s == %llu\n", expr, want);
        passed++;
    } else {
        printf("FAIL: %s is %llu, expected %llu\n", expr, got, want);
        failed++;
    }
}

#define RUN_CHECK(expr, value) check(#expr, (unsigned long long)(expr), (unsigned long long)(value));

int main(void)
{
    CHECKS(RUN_CHECK)
    /* The callback type and the function signatures are checked by assignment: a mismatch does not compile. */
    {
        demi_callback_t cb = NULL;
        int (*wait_fn)(demi_qresult_t *, demi_qtoken_t, const struct timespec *) = demi_wait;
        int (*wait_any_fn)(demi_qresult_t *, int *, const demi_qtoken_t[], int, const struct timespec *) =
            demi_wait_any;
        demi_sgarray_t (*alloc_fn)(size_t) = demi_sgaalloc;
        int (*push_fn)(demi_qtoken_t *, int, const demi_sgarray_t *) = demi_push;
        (void)cb;
        (void)wait_fn;
        (void)wait_any_fn;
        (void)alloc_fn;
        (void)push_fn;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#else

int main(void)
{
    printf("sizes: the ABI layout is only specified for x86-64; skipped\n");
    return 77; /* ctest SKIP_RETURN_CODE */
}

#endif
