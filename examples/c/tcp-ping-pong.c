/* tcp-ping-pong: TCP echo, checked byte for byte on both sides.
 *
 *   tcp-ping-pong --server IP PORT [size] [nmsgs]   accepts one connection and echoes nmsgs * size
 *                                                    bytes back, checking them on the way
 *   tcp-ping-pong --client IP PORT [size] [nmsgs]   sends nmsgs messages of size bytes, one at a time,
 *                                                    and checks that each comes back intact
 *
 * A stream pop returns whatever bytes are available, so both sides reassemble: the server echoes
 * each popped chunk as it is (the popped sga is pushed back unchanged) and the client keeps popping
 * until all `size` bytes of the current message are back. The client keeps its pop outstanding
 * while its push is in flight (demi_wait_any), so a message larger than the socket buffers cannot
 * deadlock. */
#define _POSIX_C_SOURCE 200809L

#include <demi/libos.h>
#include <demi/sga.h>
#include <demi/wait.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "common.h"

#define DEFAULT_SIZE 64
#define DEFAULT_NMSGS 1024

static void server(const struct ex_args *a)
{
    const uint64_t total = (uint64_t)a->size * a->nmsgs;
    uint64_t pos = 0;
    demi_qtoken_t qt = 0;
    demi_qresult_t qr;
    struct sockaddr_in peer;
    int lqd = -1;
    int qd;
    int one = 1;
    int ret;

    if ((ret = demi_socket(&lqd, AF_INET, SOCK_STREAM, 0)) != 0)
        ex_die_errno("demi_socket", ret);
    if ((ret = demi_setsockopt(lqd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one))) != 0)
        ex_die_errno("demi_setsockopt(SO_REUSEADDR)", ret);
    if ((ret = demi_bind(lqd, (const struct sockaddr *)&a->local, sizeof(a->local))) != 0)
        ex_die_errno("demi_bind", ret);
    if ((ret = demi_listen(lqd, 16)) != 0)
        ex_die_errno("demi_listen", ret);
    if ((ret = demi_accept(&qt, lqd)) != 0)
        ex_die_errno("demi_accept", ret);
    ex_wait_ok(&qr, qt, EX_TIMEOUT_MS, "accept");
    ex_expect(&qr, DEMI_OPC_ACCEPT, "accept");
    qd = qr.qr_value.ares.qd;
    peer = qr.qr_value.ares.addr;
    printf("server: accepted a connection from %s\n", ex_addr_str(&peer));

    while (pos < total) {
        demi_sgarray_t sga;
        const uint8_t *p;
        uint32_t len;
        uint32_t done = 0;

        if ((ret = demi_pop(&qt, qd)) != 0)
            ex_die_errno("demi_pop", ret);
        ex_wait_ok(&qr, qt, EX_TIMEOUT_MS, "pop");
        ex_expect(&qr, DEMI_OPC_POP, "pop");
        sga = qr.qr_value.sga;
        len = ex_sga_len(&sga);
        if (len == 0)
            ex_die("end of stream after %llu of %llu bytes", (unsigned long long)pos, (unsigned long long)total);
        if ((uint64_t)len > total - pos)
            ex_die("received %llu bytes more than the %llu expected", (unsigned long long)(pos + len - total),
                   (unsigned long long)total);
        p = (const uint8_t *)sga.sga_segs[0].sgaseg_buf;
        while (done < len) {
            uint32_t msg = (uint32_t)(pos / a->size);
            size_t off = (size_t)(pos % a->size);
            size_t span = a->size - off;
            if (span > len - done)
                span = len - done;
            if (ex_check(p + done, span, msg, off) != 0)
                ex_die("corrupted data at stream offset %llu", (unsigned long long)pos);
            done += (uint32_t)span;
            pos += span;
        }

        /* Echo: push the popped sga back unchanged. */
        if ((ret = demi_push(&qt, qd, &sga)) != 0)
            ex_die_errno("demi_push", ret);
        ex_wait_ok(&qr, qt, EX_TIMEOUT_MS, "push");
        ex_expect(&qr, DEMI_OPC_PUSH, "push");
        ex_free(&sga);
    }

    if ((ret = demi_close(qd)) != 0)
        ex_die_errno("demi_close (connection)", ret);
    if ((ret = demi_close(lqd)) != 0)
        ex_die_errno("demi_close (listener)", ret);
    printf("server: echoed %u messages of %zu bytes, all bytes correct\n", (unsigned)a->nmsgs, a->size);
}

/* Sends message `msg` and waits until all of its bytes have come back, checking each. */
static void round_trip(int qd, const struct ex_args *a, uint32_t msg)
{
    demi_sgarray_t out = ex_alloc_msg(a->size, msg);
    demi_qtoken_t qts[2]; /* [0] push, [1] pop; a completed slot is removed */
    int is_pop[2];
    int nqts = 0;
    size_t received = 0;
    int ret;

    if ((ret = demi_push(&qts[nqts], qd, &out)) != 0)
        ex_die_errno("demi_push", ret);
    is_pop[nqts++] = 0;
    if ((ret = demi_pop(&qts[nqts], qd)) != 0)
        ex_die_errno("demi_pop", ret);
    is_pop[nqts++] = 1;

    while (nqts > 0) {
        struct timespec timeout = {EX_TIMEOUT_MS / 1000, 0};
        demi_qresult_t qr;
        int idx = -1;

        memset(&qr, 0, sizeof(qr));
        ret = demi_wait_any(&qr, &idx, qts, nqts, &timeout);
        if (ret == ETIMEDOUT)
            ex_die("message %u: no progress in %ld ms (%zu of %zu bytes back)", (unsigned)msg, EX_TIMEOUT_MS,
                   received, a->size);
        if (ret != 0)
            ex_die_errno("demi_wait_any", ret);
        if (idx < 0 || idx >= nqts)
            ex_die("demi_wait_any returned offset %d for %d tokens", idx, nqts);
        if (qr.qr_qt != qts[idx])
            ex_die("demi_wait_any returned token %llu at offset %d, which holds %llu",
                   (unsigned long long)qr.qr_qt, idx, (unsigned long long)qts[idx]);

        if (!is_pop[idx]) {
            ex_expect(&qr, DEMI_OPC_PUSH, "push");
            ex_free(&out);
        } else {
            demi_sgarray_t in;
            uint32_t len;
            ex_expect(&qr, DEMI_OPC_POP, "pop");
            in = qr.qr_value.sga;
            len = ex_sga_len(&in);
            if (len == 0)
                ex_die("message %u: end of stream after %zu of %zu bytes", (unsigned)msg, received, a->size);
            if (len > a->size - received)
                ex_die("message %u: echo is %zu bytes longer than the message", (unsigned)msg,
                       received + len - a->size);
            if (ex_check(in.sga_segs[0].sgaseg_buf, len, msg, received) != 0)
                ex_die("corrupted echo of message %u", (unsigned)msg);
            received += len;
            ex_free(&in);
            if (received < a->size) {
                /* Reuse this slot for the next pop. */
                if ((ret = demi_pop(&qts[idx], qd)) != 0)
                    ex_die_errno("demi_pop", ret);
                continue;
            }
        }
        /* Remove the completed slot. */
        qts[idx] = qts[nqts - 1];
        is_pop[idx] = is_pop[nqts - 1];
        nqts--;
    }
}

static void client(const struct ex_args *a)
{
    demi_qtoken_t qt = 0;
    demi_qresult_t qr;
    uint32_t i;
    int qd = -1;
    int ret;

    if ((ret = demi_socket(&qd, AF_INET, SOCK_STREAM, 0)) != 0)
        ex_die_errno("demi_socket", ret);
    if ((ret = demi_connect(&qt, qd, (const struct sockaddr *)&a->local, sizeof(a->local))) != 0)
        ex_die_errno("demi_connect", ret);
    ex_wait_ok(&qr, qt, EX_TIMEOUT_MS, "connect");
    ex_expect(&qr, DEMI_OPC_CONNECT, "connect");

    for (i = 0; i < a->nmsgs; i++)
        round_trip(qd, a, i);

    if ((ret = demi_close(qd)) != 0)
        ex_die_errno("demi_close", ret);
    printf("client: %u round trips of %zu bytes with %s, all bytes correct\n", (unsigned)a->nmsgs, a->size,
           ex_addr_str(&a->local));
}

int main(int argc, char *argv[])
{
    struct ex_args a;
    ex_parse_tcp(argc, argv, &a, DEFAULT_SIZE, DEFAULT_NMSGS);
    ex_init(argc, argv);
    if (a.role == EX_SERVER)
        server(&a);
    else
        client(&a);
    return EXIT_SUCCESS;
}
