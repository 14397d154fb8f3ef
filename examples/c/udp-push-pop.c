/* udp-push-pop: one-way UDP transfer, checked byte for byte.
 *
 *   udp-push-pop --server LOCAL_IP LOCAL_PORT REMOTE_IP REMOTE_PORT [size] [nmsgs]
 *       binds LOCAL, pops nmsgs datagrams, checks that each has `size` bytes, comes from REMOTE, is
 *       the next message in sequence and holds the right bytes
 *   udp-push-pop --client LOCAL_IP LOCAL_PORT REMOTE_IP REMOTE_PORT [size] [nmsgs]
 *       binds LOCAL and pushes nmsgs datagrams of `size` bytes to REMOTE
 *
 * UDP has no flow control: the client paces its datagrams a little so that a loopback receiver is
 * not overrun, and the server gives up with an error (rather than hanging) when no datagram arrives
 * for SERVER_IDLE_MS, reporting how many arrived. */
#define _POSIX_C_SOURCE 200809L

#include <demi/libos.h>
#include <demi/sga.h>
#include <demi/wait.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "common.h"

#define DEFAULT_SIZE 64
#define DEFAULT_NMSGS 1024

/** The server fails when no datagram arrives for this long. */
#define SERVER_IDLE_MS 5000L

/** Pause between two datagrams of the client (µs): longer for larger datagrams, which fill a
 * receive buffer sooner (Linux's default 208 KiB holds about 12 datagrams of 8000 bytes), so that a
 * receiver descheduled for a few milliseconds loses nothing. */
#define CLIENT_PACING_US(size) (50L + (long)((size) / 8))

static int open_socket(const struct sockaddr_in *local)
{
    int qd = -1;
    int ret;
    if ((ret = demi_socket(&qd, AF_INET, SOCK_DGRAM, 0)) != 0)
        ex_die_errno("demi_socket", ret);
    if ((ret = demi_bind(qd, (const struct sockaddr *)local, sizeof(*local))) != 0)
        ex_die_errno("demi_bind", ret);
    return qd;
}

static void server(const struct ex_args *a)
{
    int qd = open_socket(&a->local);
    uint32_t i;
    int ret;

    for (i = 0; i < a->nmsgs; i++) {
        demi_qtoken_t qt = 0;
        demi_qresult_t qr;
        demi_sgarray_t sga;
        struct sockaddr_in from;
        uint32_t len;
        int dist;

        if ((ret = demi_pop(&qt, qd)) != 0)
            ex_die_errno("demi_pop", ret);
        if (ex_wait(&qr, qt, SERVER_IDLE_MS, "pop") == ETIMEDOUT)
            ex_die("received %u of %u datagrams: none arrived for %ld ms", (unsigned)i, (unsigned)a->nmsgs,
                   SERVER_IDLE_MS);
        ex_expect(&qr, DEMI_OPC_POP, "pop");
        sga = qr.qr_value.sga;
        from = sga.sga_addr;
        len = ex_sga_len(&sga);
        if (len != a->size)
            ex_die("datagram %u has %u bytes, expected %zu", (unsigned)i, (unsigned)len, a->size);
        if (from.sin_addr.s_addr != a->remote.sin_addr.s_addr || from.sin_port != a->remote.sin_port) {
            char want[32];
            snprintf(want, sizeof(want), "%s", ex_addr_str(&a->remote));
            ex_die("datagram %u comes from %s, expected %s", (unsigned)i, ex_addr_str(&from), want);
        }
        dist = ex_msg_distance(((const uint8_t *)sga.sga_segs[0].sgaseg_buf)[0], i);
        if (dist != 0)
            ex_die("datagram %u is message %+d from the expected one (lost or reordered datagrams)", (unsigned)i,
                   dist);
        if (ex_check(sga.sga_segs[0].sgaseg_buf, len, i, 0) != 0)
            ex_die("corrupted datagram %u", (unsigned)i);
        ex_free(&sga);
    }

    if ((ret = demi_close(qd)) != 0)
        ex_die_errno("demi_close", ret);
    printf("server: received %u datagrams of %zu bytes, all bytes correct\n", (unsigned)a->nmsgs, a->size);
}

static void client(const struct ex_args *a)
{
    int qd = open_socket(&a->local);
    uint32_t i;
    int ret;

    for (i = 0; i < a->nmsgs; i++) {
        demi_sgarray_t sga = ex_alloc_msg(a->size, i);
        demi_qtoken_t qt = 0;
        demi_qresult_t qr;

        if ((ret = demi_pushto(&qt, qd, &sga, (const struct sockaddr *)&a->remote, sizeof(a->remote))) != 0)
            ex_die_errno("demi_pushto", ret);
        ex_wait_ok(&qr, qt, EX_TIMEOUT_MS, "pushto");
        ex_expect(&qr, DEMI_OPC_PUSH, "pushto");
        ex_free(&sga);
        ex_sleep_us(CLIENT_PACING_US(a->size));
    }

    if ((ret = demi_close(qd)) != 0)
        ex_die_errno("demi_close", ret);
    printf("client: pushed %u datagrams of %zu bytes to %s\n", (unsigned)a->nmsgs, a->size, ex_addr_str(&a->remote));
}

int main(int argc, char *argv[])
{
    struct ex_args a;
    ex_parse_udp(argc, argv, &a, DEFAULT_SIZE, DEFAULT_NMSGS);
    ex_init(argc, argv);
    if (a.role == EX_SERVER)
        server(&a);
    else
        client(&a);
    return EXIT_SUCCESS;
}
