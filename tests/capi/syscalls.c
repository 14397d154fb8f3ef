/* Every function of the C ABI called with invalid arguments must fail cleanly with the errno that
 * docs/API.md documents: never crash, never abort, never hang. The documented order of the checks:
 *
 *   1. a NULL pointer argument, a negative or zero count           -> EINVAL
 *   2. no demi_init on this thread                                  -> ENOSYS
 *   3. an unknown, closed or negative queue descriptor              -> EBADF
 *   4. bad contents: an sga that is not one live segment lent by Demi (freed, forged, zero-length,
 *      outside its buffer), an address shorter than sockaddr_in, a token that is not pending,
 *      a malformed timespec                                         -> EINVAL
 *   and EAFNOSUPPORT (domain), ENOTSUP (type, operation, option), EPROTONOSUPPORT (protocol),
 *   ENOTCONN (push/pop on an unconnected stream), EMSGSIZE (datagram > 65,507 bytes),
 *   EEXIST (second demi_init), EINVAL (unknown LIBOS).
 *
 * Most checks call one function with exactly one bad argument, so the expected errno does not
 * depend on which argument the library looks at first. The calls Demikernel's own syscalls test
 * makes (everything invalid at once) are repeated at the end and must merely fail.
 *
 * Output: one line per check and a final "N passed, M failed"; the exit status is non-zero on any
 * failure. Wait calls use a bounded timeout, so an implementation that mistakes a bad token for a
 * pending one reports ETIMEDOUT instead of hanging. */
#define _POSIX_C_SOURCE 200809L

#include <demi/libos.h>
#include <demi/sga.h>
#include <demi/wait.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static int passed;
static int failed;

static const char *errname(int e)
{
    switch (e) {
    case 0: return "0";
    case EINVAL: return "EINVAL";
    case EBADF: return "EBADF";
    case ENOTSUP: return "ENOTSUP";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    case ESOCKTNOSUPPORT: return "ESOCKTNOSUPPORT";
    case ENOPROTOOPT: return "ENOPROTOOPT";
    case ENOTCONN: return "ENOTCONN";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ECANCELED: return "ECANCELED";
    case ENOMEM: return "ENOMEM";
    case ENOTSOCK: return "ENOTSOCK";
    case EFAULT: return "EFAULT";
    case EEXIST: return "EEXIST";
    case ENOSYS: return "ENOSYS";
    case EMSGSIZE: return "EMSGSIZE";
    default: return "?";
    }
}

/* Records one check: `got` must equal `want` (or `want2` when that is not -1). */
static void expect2(const char *what, int got, int want, int want2)
{
    if (got == want || (want2 != -1 && got == want2)) {
        printf("pass: %-64s -> %s\n", what, errname(got));
        passed++;
    } else if (want2 != -1) {
        printf("FAIL: %-64s -> %d %s (%s), expected %s or %s\n", what, got, errname(got), strerror(got),
               errname(want), errname(want2));
        failed++;
    } else {
        printf("FAIL: %-64s -> %d %s (%s), expected %s\n", what, got, errname(got), strerror(got), errname(want));
        failed++;
    }
    fflush(stdout);
}

static void expect(const char *what, int got, int want)
{
    expect2(what, got, want, -1);
}

/* For calls where any error will do (Demikernel's all-invalid calls). */
static void expect_fail(const char *what, int got)
{
    if (got != 0) {
        printf("pass: %-64s -> %s (fails)\n", what, errname(got));
        passed++;
    } else {
        printf("FAIL: %-64s -> 0, expected an error\n", what);
        failed++;
    }
    fflush(stdout);
}

static void expect_true(const char *what, int ok, const char *detail)
{
    if (ok) {
        printf("pass: %s\n", what);
        passed++;
    } else {
        printf("FAIL: %s (%s)\n", what, detail);
        failed++;
    }
    fflush(stdout);
}

/* Setup that must succeed for the checks to mean anything. */
static void must(const char *what, int ret)
{
    if (ret != 0) {
        printf("FAIL: setup: %s -> %d %s (%s)\n", what, ret, errname(ret), strerror(ret));
        failed++;
        printf("%d passed, %d failed\n", passed, failed);
        exit(EXIT_FAILURE);
    }
}

#define UNKNOWN_QD 12345
#define UNKNOWN_QT ((demi_qtoken_t)0x7eadbeef12345ull)

int main(int argc, char *argv[])
{
    const struct timespec zero = {0, 0};
    const struct timespec one_second = {1, 0};
    struct demi_args args = {.argc = argc, .argv = argv, .callback = NULL};
    struct sockaddr_in addr;
    struct sockaddr_in out_addr;
    socklen_t addrlen = sizeof(out_addr);
    demi_sgarray_t sga;
    demi_sgarray_t freed;
    demi_sgarray_t empty;
    demi_qresult_t qr;
    demi_qresult_t qrs[4];
    demi_qtoken_t qt = 0;
    demi_qtoken_t pending_pop = 0;
    demi_qtoken_t consumed = 0;
    demi_qtoken_t qts[2];
    int tcpqd = -1;
    int udpqd = -1;
    int memqd = -1;
    int closedqd = -1;
    int qd = -1;
    int off = -1;
    int n = -1;
    int one = 1;
    int optval = 0;
    socklen_t optlen = sizeof(optval);

    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons(9);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnonnull"

    /* ---- before demi_init: NULL pointers are still EINVAL, everything else ENOSYS ---- */
    memset(&empty, 0, sizeof(empty));
    expect("before init: demi_socket(qd_out NULL)", demi_socket(NULL, AF_INET, SOCK_STREAM, 0), EINVAL);
    expect("before init: demi_socket", demi_socket(&qd, AF_INET, SOCK_STREAM, 0), ENOSYS);
    expect("before init: demi_queue", demi_queue(&qd), ENOSYS);
    expect("before init: demi_close(0)", demi_close(0), ENOSYS);
    expect("before init: demi_pop(&qt, 0)", demi_pop(&qt, 0), ENOSYS);
    expect("before init: demi_wait", demi_wait(&qr, UNKNOWN_QT, &zero), ENOSYS);
    expect("before init: demi_sgafree(empty sga)", demi_sgafree(&empty), ENOSYS);
    {
        demi_sgarray_t none = demi_sgaalloc(64);
        expect_true("before init: demi_sgaalloc(64) returns sga_buf == NULL", none.sga_buf == NULL,
                    "sga_buf is not NULL");
    }

    /* ---- demi_init ---- */
    expect("demi_init(NULL)", demi_init(NULL), EINVAL);
    {
        /* An unknown libOS is an error (with one line on stderr naming the valid ones), not an abort. */
        const char *old = getenv("LIBOS");
        char saved[64] = "";
        int had = old != NULL;
        if (had)
            snprintf(saved, sizeof(saved), "%s", old);
        setenv("LIBOS", "no-such-libos", 1);
        expect("demi_init(LIBOS=no-such-libos)", demi_init(&args), EINVAL);
        if (had)
            setenv("LIBOS", saved, 1);
        else
            unsetenv("LIBOS");
    }
    must("demi_init", demi_init(&args));
    expect("demi_init(again, same thread)", demi_init(&args), EEXIST);

    /* Valid queues for the checks that need one. */
    must("demi_socket(TCP)", demi_socket(&tcpqd, AF_INET, SOCK_STREAM, 0));
    must("demi_socket(UDP)", demi_socket(&udpqd, AF_INET, SOCK_DGRAM, 0));
    must("demi_queue", demi_queue(&memqd));
    must("demi_socket(to close)", demi_socket(&closedqd, AF_INET, SOCK_STREAM, 0));
    must("demi_close(to close)", demi_close(closedqd));
    sga = demi_sgaalloc(64);
    if (sga.sga_buf == NULL || sga.sga_numsegs != 1 || sga.sga_segs[0].sgaseg_buf == NULL)
        must("demi_sgaalloc(64)", ENOMEM);
    memset(sga.sga_segs[0].sgaseg_buf, 'x', 64);

    /* ---- libos.h: demi_socket ---- */
    expect("demi_socket(qd_out NULL)", demi_socket(NULL, AF_INET, SOCK_STREAM, 0), EINVAL);
    expect("demi_socket(domain AF_UNIX)", demi_socket(&qd, AF_UNIX, SOCK_STREAM, 0), EAFNOSUPPORT);
    expect("demi_socket(domain AF_INET6)", demi_socket(&qd, AF_INET6, SOCK_STREAM, 0), EAFNOSUPPORT);
    expect("demi_socket(domain -1)", demi_socket(&qd, -1, SOCK_STREAM, 0), EAFNOSUPPORT);
    expect("demi_socket(type SOCK_RAW)", demi_socket(&qd, AF_INET, SOCK_RAW, 0), ENOTSUP);
    expect("demi_socket(type SOCK_SEQPACKET)", demi_socket(&qd, AF_INET, SOCK_SEQPACKET, 0), ENOTSUP);
    expect("demi_socket(type -1)", demi_socket(&qd, AF_INET, -1, 0), ENOTSUP);
    expect("demi_socket(SOCK_STREAM, IPPROTO_UDP)", demi_socket(&qd, AF_INET, SOCK_STREAM, IPPROTO_UDP),
           EPROTONOSUPPORT);
    expect("demi_socket(SOCK_DGRAM, IPPROTO_TCP)", demi_socket(&qd, AF_INET, SOCK_DGRAM, IPPROTO_TCP),
           EPROTONOSUPPORT);

    /* ---- demi_bind ---- */
    expect("demi_bind(qd -1)", demi_bind(-1, (const struct sockaddr *)&addr, sizeof(addr)), EBADF);
    expect("demi_bind(qd unknown)", demi_bind(UNKNOWN_QD, (const struct sockaddr *)&addr, sizeof(addr)), EBADF);
    expect("demi_bind(qd closed)", demi_bind(closedqd, (const struct sockaddr *)&addr, sizeof(addr)), EBADF);
    expect("demi_bind(addr NULL)", demi_bind(tcpqd, NULL, sizeof(addr)), EINVAL);
    expect("demi_bind(size 0)", demi_bind(tcpqd, (const struct sockaddr *)&addr, 0), EINVAL);
    expect("demi_bind(size sizeof(sockaddr_in) - 1)",
           demi_bind(tcpqd, (const struct sockaddr *)&addr, sizeof(addr) - 1), EINVAL);

    /* ---- demi_listen ---- */
    expect("demi_listen(qd -1)", demi_listen(-1, 16), EBADF);
    expect("demi_listen(qd unknown)", demi_listen(UNKNOWN_QD, 16), EBADF);
    expect("demi_listen(qd closed)", demi_listen(closedqd, 16), EBADF);
    expect("demi_listen(UDP socket)", demi_listen(udpqd, 16), ENOTSUP);
    expect("demi_listen(memory queue)", demi_listen(memqd, 16), ENOTSUP);

    /* ---- demi_accept ---- */
    expect("demi_accept(qt_out NULL)", demi_accept(NULL, tcpqd), EINVAL);
    expect("demi_accept(qd -1)", demi_accept(&qt, -1), EBADF);
    expect("demi_accept(qd unknown)", demi_accept(&qt, UNKNOWN_QD), EBADF);
    expect("demi_accept(UDP socket)", demi_accept(&qt, udpqd), ENOTSUP);

    /* ---- demi_connect ---- */
    expect("demi_connect(qt_out NULL)", demi_connect(NULL, tcpqd, (const struct sockaddr *)&addr, sizeof(addr)),
           EINVAL);
    expect("demi_connect(qd -1)", demi_connect(&qt, -1, (const struct sockaddr *)&addr, sizeof(addr)), EBADF);
    expect("demi_connect(qd unknown)", demi_connect(&qt, UNKNOWN_QD, (const struct sockaddr *)&addr, sizeof(addr)),
           EBADF);
    expect("demi_connect(addr NULL)", demi_connect(&qt, tcpqd, NULL, sizeof(addr)), EINVAL);
    expect("demi_connect(size 0)", demi_connect(&qt, tcpqd, (const struct sockaddr *)&addr, 0), EINVAL);
    expect("demi_connect(size sizeof(sockaddr_in) - 1)",
           demi_connect(&qt, tcpqd, (const struct sockaddr *)&addr, sizeof(addr) - 1), EINVAL);

    /* ---- demi_close ---- */
    expect("demi_close(qd -1)", demi_close(-1), EBADF);
    expect("demi_close(qd unknown)", demi_close(UNKNOWN_QD), EBADF);
    expect("demi_close(qd already closed)", demi_close(closedqd), EBADF);

    /* ---- demi_push (on a memory queue, where a good push would succeed) ---- */
    memset(&empty, 0, sizeof(empty));
    expect("demi_push(qt_out NULL)", demi_push(NULL, memqd, &sga), EINVAL);
    expect("demi_push(qd -1)", demi_push(&qt, -1, &sga), EBADF);
    expect("demi_push(qd unknown)", demi_push(&qt, UNKNOWN_QD, &sga), EBADF);
    expect("demi_push(qd closed)", demi_push(&qt, closedqd, &sga), EBADF);
    expect("demi_push(sga NULL)", demi_push(&qt, memqd, NULL), EINVAL);
    expect("demi_push(sga all zero)", demi_push(&qt, memqd, &empty), EINVAL);
    {
        demi_sgarray_t bad = sga;
        bad.sga_numsegs = 0;
        expect("demi_push(sga_numsegs 0)", demi_push(&qt, memqd, &bad), EINVAL);
        bad = sga;
        bad.sga_numsegs = DEMI_SGARRAY_MAXSIZE + 1;
        expect("demi_push(sga_numsegs > DEMI_SGARRAY_MAXSIZE)", demi_push(&qt, memqd, &bad), EINVAL);
        bad = sga;
        bad.sga_segs[0].sgaseg_len = 0;
        expect("demi_push(sgaseg_len 0)", demi_push(&qt, memqd, &bad), EINVAL);
        bad = sga;
        bad.sga_segs[0].sgaseg_buf = NULL;
        expect("demi_push(sgaseg_buf NULL)", demi_push(&qt, memqd, &bad), EINVAL);
        bad = sga;
        bad.sga_segs[0].sgaseg_len = 65;
        expect("demi_push(segment longer than its buffer)", demi_push(&qt, memqd, &bad), EINVAL);
        bad = sga;
        bad.sga_segs[0].sgaseg_buf = (char *)sga.sga_segs[0].sgaseg_buf + 1;
        expect("demi_push(segment moved past the buffer's end)", demi_push(&qt, memqd, &bad), EINVAL);
        bad = sga;
        bad.sga_segs[0].sgaseg_buf = (char *)sga.sga_segs[0].sgaseg_buf - 4096;
        expect("demi_push(segment before the buffer)", demi_push(&qt, memqd, &bad), EINVAL);
        bad = sga;
        bad.sga_segs[0].sgaseg_buf = &one;
        bad.sga_segs[0].sgaseg_len = sizeof(one);
        expect("demi_push(segment in the application's memory)", demi_push(&qt, memqd, &bad), EINVAL);
    }
    expect("demi_push(unconnected TCP socket)", demi_push(&qt, tcpqd, &sga), ENOTCONN);

    /* ---- demi_pushto (on a UDP socket) ---- */
    expect("demi_pushto(qt_out NULL)",
           demi_pushto(NULL, udpqd, &sga, (const struct sockaddr *)&addr, sizeof(addr)), EINVAL);
    expect("demi_pushto(qd -1)", demi_pushto(&qt, -1, &sga, (const struct sockaddr *)&addr, sizeof(addr)), EBADF);
    expect("demi_pushto(qd unknown)",
           demi_pushto(&qt, UNKNOWN_QD, &sga, (const struct sockaddr *)&addr, sizeof(addr)), EBADF);
    expect("demi_pushto(sga NULL)", demi_pushto(&qt, udpqd, NULL, (const struct sockaddr *)&addr, sizeof(addr)),
           EINVAL);
    expect("demi_pushto(sga all zero)",
           demi_pushto(&qt, udpqd, &empty, (const struct sockaddr *)&addr, sizeof(addr)), EINVAL);
    expect("demi_pushto(dest NULL)", demi_pushto(&qt, udpqd, &sga, NULL, sizeof(addr)), EINVAL);
    expect("demi_pushto(size 0)", demi_pushto(&qt, udpqd, &sga, (const struct sockaddr *)&addr, 0), EINVAL);
    expect("demi_pushto(size sizeof(sockaddr_in) - 1)",
           demi_pushto(&qt, udpqd, &sga, (const struct sockaddr *)&addr, sizeof(addr) - 1), EINVAL);
    expect("demi_pushto(TCP socket)", demi_pushto(&qt, tcpqd, &sga, (const struct sockaddr *)&addr, sizeof(addr)),
           ENOTSUP);
    {
        demi_sgarray_t big = demi_sgaalloc(65508);
        if (big.sga_buf == NULL)
            must("demi_sgaalloc(65508)", ENOMEM);
        memset(big.sga_segs[0].sgaseg_buf, 0, 65508);
        expect("demi_pushto(datagram of 65508 bytes)",
               demi_pushto(&qt, udpqd, &big, (const struct sockaddr *)&addr, sizeof(addr)), EMSGSIZE);
        must("demi_sgafree(65508)", demi_sgafree(&big));
    }

    /* ---- demi_pop ---- */
    expect("demi_pop(qt_out NULL)", demi_pop(NULL, memqd), EINVAL);
    expect("demi_pop(qd -1)", demi_pop(&qt, -1), EBADF);
    expect("demi_pop(qd unknown)", demi_pop(&qt, UNKNOWN_QD), EBADF);
    expect("demi_pop(qd closed)", demi_pop(&qt, closedqd), EBADF);
    expect("demi_pop(unconnected TCP socket)", demi_pop(&qt, tcpqd), ENOTCONN);

    /* ---- demi_setsockopt / demi_getsockopt ---- */
    expect("demi_setsockopt(qd -1)", demi_setsockopt(-1, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), EBADF);
    expect("demi_setsockopt(qd unknown)",
           demi_setsockopt(UNKNOWN_QD, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), EBADF);
    expect("demi_setsockopt(optval NULL)", demi_setsockopt(tcpqd, SOL_SOCKET, SO_REUSEADDR, NULL, sizeof(one)),
           EINVAL);
    expect("demi_setsockopt(optlen 0)", demi_setsockopt(tcpqd, SOL_SOCKET, SO_REUSEADDR, &one, 0), EINVAL);
    expect2("demi_setsockopt(level -1)", demi_setsockopt(tcpqd, -1, SO_REUSEADDR, &one, sizeof(one)), ENOTSUP,
            ENOPROTOOPT);
    expect2("demi_setsockopt(optname -1)", demi_setsockopt(tcpqd, SOL_SOCKET, -1, &one, sizeof(one)), ENOTSUP,
            ENOPROTOOPT);
    expect("demi_setsockopt(SO_RCVBUF: not supported)",
           demi_setsockopt(tcpqd, SOL_SOCKET, SO_RCVBUF, &one, sizeof(one)), ENOTSUP);
    expect("demi_setsockopt(memory queue)", demi_setsockopt(memqd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)),
           ENOTSUP);
    expect("demi_getsockopt(qd -1)", demi_getsockopt(-1, SOL_SOCKET, SO_REUSEADDR, &optval, &optlen), EBADF);
    optlen = sizeof(optval);
    expect("demi_getsockopt(qd unknown)",
           demi_getsockopt(UNKNOWN_QD, SOL_SOCKET, SO_REUSEADDR, &optval, &optlen), EBADF);
    optlen = sizeof(optval);
    expect("demi_getsockopt(optval NULL)", demi_getsockopt(tcpqd, SOL_SOCKET, SO_REUSEADDR, NULL, &optlen),
           EINVAL);
    expect("demi_getsockopt(optlen NULL)", demi_getsockopt(tcpqd, SOL_SOCKET, SO_REUSEADDR, &optval, NULL),
           EINVAL);
    optlen = sizeof(optval);
    expect2("demi_getsockopt(level -1)", demi_getsockopt(tcpqd, -1, SO_REUSEADDR, &optval, &optlen), ENOTSUP,
            ENOPROTOOPT);

    /* ---- demi_getpeername / demi_getsockname ---- */
    addrlen = sizeof(out_addr);
    expect("demi_getpeername(qd -1)", demi_getpeername(-1, (struct sockaddr *)&out_addr, &addrlen), EBADF);
    addrlen = sizeof(out_addr);
    expect("demi_getpeername(qd unknown)", demi_getpeername(UNKNOWN_QD, (struct sockaddr *)&out_addr, &addrlen),
           EBADF);
    addrlen = sizeof(out_addr);
    expect("demi_getpeername(addr NULL)", demi_getpeername(tcpqd, NULL, &addrlen), EINVAL);
    expect("demi_getpeername(addrlen NULL)", demi_getpeername(tcpqd, (struct sockaddr *)&out_addr, NULL), EINVAL);
    addrlen = sizeof(out_addr);
    expect("demi_getpeername(not connected)", demi_getpeername(tcpqd, (struct sockaddr *)&out_addr, &addrlen),
           ENOTCONN);
    addrlen = sizeof(out_addr);
    expect("demi_getsockname(qd -1)", demi_getsockname(-1, (struct sockaddr *)&out_addr, &addrlen), EBADF);
    addrlen = sizeof(out_addr);
    expect("demi_getsockname(qd unknown)", demi_getsockname(UNKNOWN_QD, (struct sockaddr *)&out_addr, &addrlen),
           EBADF);
    addrlen = sizeof(out_addr);
    expect("demi_getsockname(addr NULL)", demi_getsockname(tcpqd, NULL, &addrlen), EINVAL);
    expect("demi_getsockname(addrlen NULL)", demi_getsockname(tcpqd, (struct sockaddr *)&out_addr, NULL), EINVAL);
    addrlen = sizeof(out_addr) - 1;
    expect("demi_getsockname(*addrlen sizeof(sockaddr_in) - 1)",
           demi_getsockname(tcpqd, (struct sockaddr *)&out_addr, &addrlen), EINVAL);
    addrlen = 0;
    expect("demi_getsockname(*addrlen 0)", demi_getsockname(tcpqd, (struct sockaddr *)&out_addr, &addrlen), EINVAL);

    /* ---- ext.h: demi_queue ---- */
    expect("demi_queue(qd_out NULL)", demi_queue(NULL), EINVAL);

    /* ---- sga.h ---- */
    {
        demi_sgarray_t z = demi_sgaalloc(0);
        expect_true("demi_sgaalloc(0) returns sga_buf == NULL", z.sga_buf == NULL, "sga_buf is not NULL");
        expect_true("demi_sgaalloc(0) returns sga_numsegs == 0", z.sga_numsegs == 0, "sga_numsegs is not 0");
    }
    {
        /* Above the documented 1 GiB limit: a null sga. */
        demi_sgarray_t over = demi_sgaalloc(((size_t)1 << 30) + 1);
        expect_true("demi_sgaalloc(1 GiB + 1) returns sga_buf == NULL", over.sga_buf == NULL, "sga_buf is not NULL");
    }
    {
        /* SIZE_MAX cannot be allocated: a null sga, not a crash. */
        demi_sgarray_t huge = demi_sgaalloc(SIZE_MAX);
        expect_true("demi_sgaalloc(SIZE_MAX) returns sga_buf == NULL", huge.sga_buf == NULL, "sga_buf is not NULL");
    }
    expect("demi_sgafree(NULL)", demi_sgafree(NULL), EINVAL);
    /* An empty sga (what sgaalloc(0) and an end-of-stream pop return) holds no buffer: freeing it
     * is a no-op, so an application can free every popped sga. A NULL handle with data is bad. */
    memset(&empty, 0, sizeof(empty));
    expect("demi_sgafree(empty sga: nothing to free)", demi_sgafree(&empty), 0);
    {
        demi_sgarray_t nobuf = sga;
        nobuf.sga_buf = NULL;
        expect("demi_sgafree(sga_buf NULL, sgaseg_len 64)", demi_sgafree(&nobuf), EINVAL);
    }
    {
        demi_sgarray_t forged = sga;
        forged.sga_buf = (void *)(uintptr_t)0xdeadbeef000ull;
        expect("demi_sgafree(forged sga_buf)", demi_sgafree(&forged), EINVAL);
    }
    freed = demi_sgaalloc(32);
    if (freed.sga_buf == NULL)
        must("demi_sgaalloc(32)", ENOMEM);
    expect("demi_sgafree(fresh sga)", demi_sgafree(&freed), 0);
    expect("demi_sgafree(same sga again: double free)", demi_sgafree(&freed), EINVAL);
    expect("demi_push(freed sga)", demi_push(&qt, memqd, &freed), EINVAL);
    expect("demi_pushto(freed sga)", demi_pushto(&qt, udpqd, &freed, (const struct sockaddr *)&addr, sizeof(addr)),
           EINVAL);

    /* ---- wait.h ---- */
    /* A valid pending token (a pop on an empty memory queue) and a consumed one (a completed push). */
    must("demi_pop(memory queue)", demi_pop(&pending_pop, memqd));
    must("demi_push(memory queue)", demi_push(&consumed, memqd, &sga));
    must("demi_wait(push)", demi_wait(&qr, consumed, &one_second));
    /* The pop may have completed with the pushed data by now; it stays unconsumed until waited on. */

    expect("demi_wait(qr_out NULL, valid token)", demi_wait(NULL, pending_pop, &zero), EINVAL);
    expect("demi_wait(qt -1)", demi_wait(&qr, (demi_qtoken_t)-1, &one_second), EINVAL);
    expect("demi_wait(qt unknown)", demi_wait(&qr, UNKNOWN_QT, &one_second), EINVAL);
    expect("demi_wait(qt consumed)", demi_wait(&qr, consumed, &one_second), EINVAL);
    {
        struct timespec bad_ts = {0, -1};
        expect("demi_wait(timeout tv_nsec -1)", demi_wait(&qr, pending_pop, &bad_ts), EINVAL);
        bad_ts.tv_nsec = 1000000000L;
        expect("demi_wait(timeout tv_nsec 1e9)", demi_wait(&qr, pending_pop, &bad_ts), EINVAL);
        bad_ts.tv_sec = -1;
        bad_ts.tv_nsec = 0;
        expect("demi_wait(timeout tv_sec -1)", demi_wait(&qr, pending_pop, &bad_ts), EINVAL);
        bad_ts.tv_sec = 0;
        bad_ts.tv_nsec = -1;
        qts[0] = pending_pop;
        expect("demi_wait_any(timeout tv_nsec -1)", demi_wait_any(&qr, &off, qts, 1, &bad_ts), EINVAL);
        expect("demi_wait_next_n(timeout tv_nsec -1)", demi_wait_next_n(qrs, 1, &n, &bad_ts), EINVAL);
    }

    qts[0] = pending_pop;
    qts[1] = UNKNOWN_QT;
    expect("demi_wait_any(qr_out NULL)", demi_wait_any(NULL, &off, qts, 1, &zero), EINVAL);
    expect("demi_wait_any(ready_offset NULL)", demi_wait_any(&qr, NULL, qts, 1, &zero), EINVAL);
    expect("demi_wait_any(qts NULL)", demi_wait_any(&qr, &off, NULL, 1, &zero), EINVAL);
    expect("demi_wait_any(num_qts -1)", demi_wait_any(&qr, &off, qts, -1, &zero), EINVAL);
    expect("demi_wait_any(num_qts 0)", demi_wait_any(&qr, &off, qts, 0, &zero), EINVAL);
    expect("demi_wait_any(unknown token among valid)", demi_wait_any(&qr, &off, qts, 2, &one_second), EINVAL);
    qts[1] = consumed;
    expect("demi_wait_any(consumed token among valid)", demi_wait_any(&qr, &off, qts, 2, &one_second), EINVAL);

    expect("demi_wait_next_n(qr_out NULL)", demi_wait_next_n(NULL, 1, &n, &zero), EINVAL);
    expect("demi_wait_next_n(num_qrs 0)", demi_wait_next_n(qrs, 0, &n, &zero), EINVAL);
    expect("demi_wait_next_n(num_qrs -1)", demi_wait_next_n(qrs, -1, &n, &zero), EINVAL);
    expect("demi_wait_next_n(num_qrs_out NULL)", demi_wait_next_n(qrs, 1, NULL, &zero), EINVAL);

    /* The bad calls left the pending pop intact: it still completes, with the pushed data. */
    memset(&qr, 0, sizeof(qr));
    expect("demi_wait(pending pop, after the bad calls)", demi_wait(&qr, pending_pop, &one_second), 0);
    expect_true("  ... completes as DEMI_OPC_POP of the 64 pushed bytes",
                qr.qr_opcode == DEMI_OPC_POP && qr.qr_qt == pending_pop && qr.qr_value.sga.sga_numsegs == 1 &&
                    qr.qr_value.sga.sga_segs[0].sgaseg_len == 64,
                "wrong opcode, token or length");
    if (qr.qr_opcode == DEMI_OPC_POP)
        expect("demi_sgafree(popped sga)", demi_sgafree(&qr.qr_value.sga), 0);
    expect("demi_wait(pop token again)", demi_wait(&qr, pending_pop, &zero), EINVAL);

    /* ---- Demikernel's syscalls test: everything invalid at once; any error will do ---- */
    expect_fail("demi_socket(NULL, -1, -1, -1)", demi_socket(NULL, -1, -1, -1));
    expect_fail("demi_listen(-1, -1)", demi_listen(-1, -1));
    expect_fail("demi_bind(-1, NULL, 0)", demi_bind(-1, NULL, 0));
    expect_fail("demi_accept(NULL, -1)", demi_accept(NULL, -1));
    expect_fail("demi_connect(NULL, -1, NULL, -1)", demi_connect(NULL, -1, NULL, (socklen_t)-1));
    expect_fail("demi_close(-1)", demi_close(-1));
    expect_fail("demi_push(NULL, -1, NULL)", demi_push(NULL, -1, NULL));
    expect_fail("demi_pushto(NULL, -1, NULL, NULL, -1)", demi_pushto(NULL, -1, NULL, NULL, (socklen_t)-1));
    expect_fail("demi_pop(NULL, -1)", demi_pop(NULL, -1));
    expect_fail("demi_setsockopt(-1, -1, -1, NULL, 0)", demi_setsockopt(-1, -1, -1, NULL, 0));
    expect_fail("demi_getsockopt(-1, -1, -1, NULL, NULL)", demi_getsockopt(-1, -1, -1, NULL, NULL));
    expect_fail("demi_getpeername(-1, NULL, NULL)", demi_getpeername(-1, NULL, NULL));
    expect_fail("demi_getsockname(-1, NULL, NULL)", demi_getsockname(-1, NULL, NULL));
    expect_fail("demi_wait(NULL, -1, NULL)", demi_wait(NULL, (demi_qtoken_t)-1, NULL));
    expect_fail("demi_wait_any(NULL, NULL, NULL, -1, NULL)", demi_wait_any(NULL, NULL, NULL, -1, NULL));
    expect_fail("demi_wait_next_n(NULL, -1, NULL, NULL)", demi_wait_next_n(NULL, -1, NULL, NULL));

#pragma GCC diagnostic pop

    /* ---- clean up: everything valid still works ---- */
    expect("demi_sgafree(the test sga)", demi_sgafree(&sga), 0);
    expect("demi_close(tcp socket)", demi_close(tcpqd), 0);
    expect("demi_close(udp socket)", demi_close(udpqd), 0);
    must("demi_pop(memory queue, left pending)", demi_pop(&pending_pop, memqd));
    expect("demi_close(memory queue with a pending pop)", demi_close(memqd), 0);
    memset(&qr, 0, sizeof(qr));
    expect("demi_wait(the pop pending at close)", demi_wait(&qr, pending_pop, &one_second), 0);
    expect_true("  ... completes as DEMI_OPC_FAILED with ECANCELED",
                qr.qr_opcode == DEMI_OPC_FAILED && qr.qr_ret == ECANCELED, "wrong opcode or qr_ret");

    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
