/* tcp-push-pop: one-way TCP transfer, checked byte for byte.
 *
 *   tcp-push-pop --server IP PORT [size] [nmsgs]   accepts one connection, pops nmsgs * size bytes,
 *                                                   checks every byte, then expects end of stream
 *   tcp-push-pop --client IP PORT [size] [nmsgs]   connects and pushes nmsgs messages of size bytes
 *
 * A stream pop returns whatever bytes are available, so the server checks each popped chunk at
 * its position in the stream (message = position / size, offset = position % size). */
#define _POSIX_C_SOURCE 200809L

#include <demi/libos.h>
#include <demi/sga.h>
#include <demi/wait.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "common.h"

#define DEFAULT_SIZE 64
#define DEFAULT_NMSGS 1024

static int open_listener(const struct sockaddr_in *local)
{
    int qd = -1;
    int one = 1;
    int ret;

    if ((ret = demi_socket(&qd, AF_INET, SOCK_STREAM, 0)) != 0)
        ex_die_errno("demi_socket", ret);
    /* Lets a rerun bind the same port while an old connection is in TIME_WAIT. */
    if ((ret = demi_setsockopt(qd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one))) != 0)
        ex_die_errno("demi_setsockopt(SO_REUSEADDR)", ret);
    if ((ret = demi_bind(qd, (const struct sockaddr *)local, sizeof(*local))) != 0)
        ex_die_errno("demi_bind", ret);
    if ((ret = demi_listen(qd, 16)) != 0)
        ex_die_errno("demi_listen", ret);
    return qd;
}

static void server(const struct ex_args *a)
{
    const uint64_t total = (uint64_t)a->size * a->nmsgs;
    uint64_t pos = 0;
    uint64_t npops = 0;
    demi_qtoken_t qt = 0;
    demi_qresult_t qr;
    struct sockaddr_in peer;
    int lqd = open_listener(&a->local);
    int qd;
    int ret;

    if ((ret = demi_accept(&qt, lqd)) != 0)
        ex_die_errno("demi_accept", ret);
    ex_wait_ok(&qr, qt, EX_TIMEOUT_MS, "accept");
    ex_expect(&qr, DEMI_OPC_ACCEPT, "accept");
    qd = qr.qr_value.ares.qd;
    peer = qr.qr_value.ares.addr; /* copied out: a pointer into the packed result may be misaligned */
    printf("server: accepted a connection from %s\n", ex_addr_str(&peer));

    while (pos < total) {
        const uint8_t *p;
        uint32_t len;
        uint32_t done = 0;

        if ((ret = demi_pop(&qt, qd)) != 0)
            ex_die_errno("demi_pop", ret);
        ex_wait_ok(&qr, qt, EX_TIMEOUT_MS, "pop");
        ex_expect(&qr, DEMI_OPC_POP, "pop");
        len = ex_sga_len(&qr.qr_value.sga);
        p = (const uint8_t *)qr.qr_value.sga.sga_segs[0].sgaseg_buf;
        if (len == 0)
            ex_die("end of stream after %llu of %llu bytes", (unsigned long long)pos, (unsigned long long)total);
        if ((uint64_t)len > total - pos)
            ex_die("received %llu bytes more than the %llu expected",
                   (unsigned long long)(pos + len - total), (unsigned long long)total);
        /* Check the chunk piece by piece, one message at a time. */
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
        npops++;
        ex_free_popped(&qr.qr_value.sga);
    }

    /* The client closes after its last push: the next pop must be the end of the stream. */
    if ((ret = demi_pop(&qt, qd)) != 0)
        ex_die_errno("demi_pop", ret);
    ex_wait_ok(&qr, qt, EX_TIMEOUT_MS, "pop (end of stream)");
    ex_expect(&qr, DEMI_OPC_POP, "pop (end of stream)");
    if (ex_sga_len(&qr.qr_value.sga) != 0)
        ex_die("expected end of stream after %llu bytes, got %u more bytes", (unsigned long long)total,
               (unsigned)ex_sga_len(&qr.qr_value.sga));
    ex_free_popped(&qr.qr_value.sga);

    if ((ret = demi_close(qd)) != 0)
        ex_die_errno("demi_close (connection)", ret);
    if ((ret = demi_close(lqd)) != 0)
        ex_die_errno("demi_close (listener)", ret);
    printf("server: received %u messages of %zu bytes (%llu bytes in %llu pops), all bytes correct\n",
           (unsigned)a->nmsgs, a->size, (unsigned long long)total, (unsigned long long)npops);
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

    for (i = 0; i < a->nmsgs; i++) {
        demi_sgarray_t sga = ex_alloc_msg(a->size, i);
        if ((ret = demi_push(&qt, qd, &sga)) != 0)
            ex_die_errno("demi_push", ret);
        ex_wait_ok(&qr, qt, EX_TIMEOUT_MS, "push");
        ex_expect(&qr, DEMI_OPC_PUSH, "push");
        ex_free(&sga);
    }

    if ((ret = demi_close(qd)) != 0)
        ex_die_errno("demi_close", ret);
    printf("client: pushed %u messages of %zu bytes to %s\n", (unsigned)a->nmsgs, a->size, ex_addr_str(&a->local));
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
