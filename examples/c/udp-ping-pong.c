/* udp-ping-pong: UDP echo, checked byte for byte, with retransmission.
 *
 *   udp-ping-pong --server LOCAL_IP LOCAL_PORT REMOTE_IP REMOTE_PORT [size] [nmsgs]
 *       binds LOCAL and echoes nmsgs datagrams from REMOTE back to it
 *   udp-ping-pong --client LOCAL_IP LOCAL_PORT REMOTE_IP REMOTE_PORT [size] [nmsgs]
 *       binds LOCAL, sends nmsgs datagrams to REMOTE one at a time and checks each echo
 *
 * Datagrams may be lost, even on loopback, so the client retransmits a message when its echo does
 * not come back within CLIENT_RTO_MS (the pending pop stays valid across a timed-out wait) and gives
 * up after CLIENT_MAX_TRIES sends. Byte 0 of each message identifies it (mod 256), which lets the
 * server re-echo a retransmitted message without counting it twice and the client drop a late
 * echo of an earlier one. After the last message the server lingers for SERVER_LINGER_MS to answer
 * retransmissions of it, in case its last echo was lost. */
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

#define CLIENT_RTO_MS 100L
#define CLIENT_MAX_TRIES 100
#define SERVER_IDLE_MS 10000L
#define SERVER_LINGER_MS 300L

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

static void pushto_wait(int qd, demi_sgarray_t *sga, const struct sockaddr_in *to)
{
    demi_qtoken_t qt = 0;
    demi_qresult_t qr;
    int ret;
    if ((ret = demi_pushto(&qt, qd, sga, (const struct sockaddr *)to, sizeof(*to))) != 0)
        ex_die_errno("demi_pushto", ret);
    ex_wait_ok(&qr, qt, EX_TIMEOUT_MS, "pushto");
    ex_expect(&qr, DEMI_OPC_PUSH, "pushto");
}

/* Checks a popped datagram's size and sender; returns its distance to message `expected`. */
static int classify(const struct ex_args *a, const demi_sgarray_t *sga, uint32_t expected)
{
    struct sockaddr_in from = sga->sga_addr;
    uint32_t len = ex_sga_len(sga);
    if (len != a->size)
        ex_die("datagram for message %u has %u bytes, expected %zu", (unsigned)expected, (unsigned)len, a->size);
    if (from.sin_addr.s_addr != a->remote.sin_addr.s_addr || from.sin_port != a->remote.sin_port) {
        char want[32];
        snprintf(want, sizeof(want), "%s", ex_addr_str(&a->remote));
        ex_die("datagram comes from %s, expected %s", ex_addr_str(&from), want);
    }
    return ex_msg_distance(((const uint8_t *)sga->sga_segs[0].sgaseg_buf)[0], expected);
}

static void server(const struct ex_args *a)
{
    int qd = open_socket(&a->local);
    uint32_t expected = 0;
    uint32_t duplicates = 0;
    int ret;

    for (;;) {
        const int lingering = expected == a->nmsgs;
        const long timeout_ms = lingering ? SERVER_LINGER_MS : SERVER_IDLE_MS;
        demi_qtoken_t qt = 0;
        demi_qresult_t qr;
        demi_sgarray_t sga;
        int dist;

        if ((ret = demi_pop(&qt, qd)) != 0)
            ex_die_errno("demi_pop", ret);
        if (ex_wait(&qr, qt, timeout_ms, "pop") == ETIMEDOUT) {
            if (lingering)
                break; /* The pending pop is cancelled by the close below. */
            ex_die("echoed %u of %u messages: nothing arrived for %ld ms", (unsigned)expected, (unsigned)a->nmsgs,
                   SERVER_IDLE_MS);
        }
        ex_expect(&qr, DEMI_OPC_POP, "pop");
        sga = qr.qr_value.sga;
        dist = classify(a, &sga, expected);
        if (dist == 0 && !lingering) {
            if (ex_check(sga.sga_segs[0].sgaseg_buf, a->size, expected, 0) != 0)
                ex_die("corrupted datagram (message %u)", (unsigned)expected);
            expected++;
        } else if (dist == -1 && expected > 0) {
            /* A retransmission: our echo of it was lost (or is late). Echo it again. */
            if (ex_check(sga.sga_segs[0].sgaseg_buf, a->size, expected - 1, 0) != 0)
                ex_die("corrupted datagram (retransmitted message %u)", (unsigned)(expected - 1));
            duplicates++;
        } else {
            ex_die("got message %+d from the expected message %u", dist, (unsigned)expected);
        }
        pushto_wait(qd, &sga, &a->remote);
        ex_free(&sga);
    }

    if ((ret = demi_close(qd)) != 0)
        ex_die_errno("demi_close", ret);
    printf("server: echoed %u datagrams of %zu bytes (%u retransmissions), all bytes correct\n",
           (unsigned)a->nmsgs, a->size, (unsigned)duplicates);
}

static void client(const struct ex_args *a)
{
    int qd = open_socket(&a->local);
    uint32_t retransmissions = 0;
    uint32_t late = 0;
    uint32_t i;
    int ret;

    for (i = 0; i < a->nmsgs; i++) {
        demi_sgarray_t out = ex_alloc_msg(a->size, i);
        demi_qtoken_t qt = 0;
        int tries = 1;

        pushto_wait(qd, &out, &a->remote);
        if ((ret = demi_pop(&qt, qd)) != 0)
            ex_die_errno("demi_pop", ret);
        for (;;) {
            demi_qresult_t qr;
            demi_sgarray_t in;
            int dist;

            if (ex_wait(&qr, qt, CLIENT_RTO_MS, "pop") == ETIMEDOUT) {
                if (tries >= CLIENT_MAX_TRIES)
                    ex_die("message %u: no echo after %d sends, %ld ms apart", (unsigned)i, tries, CLIENT_RTO_MS);
                pushto_wait(qd, &out, &a->remote); /* the pop stays pending */
                tries++;
                retransmissions++;
                continue;
            }
            ex_expect(&qr, DEMI_OPC_POP, "pop");
            in = qr.qr_value.sga;
            dist = classify(a, &in, i);
            if (dist < 0 && i > 0) {
                /* A late echo of an earlier, retransmitted message: drop it and pop again. */
                if (ex_check(in.sga_segs[0].sgaseg_buf, a->size, (uint32_t)((int64_t)i + dist), 0) != 0)
                    ex_die("corrupted late echo of message %d", (int)((int64_t)i + dist));
                late++;
                ex_free(&in);
                if ((ret = demi_pop(&qt, qd)) != 0)
                    ex_die_errno("demi_pop", ret);
                continue;
            }
            if (dist != 0)
                ex_die("echo of message %u is message %+d from it", (unsigned)i, dist);
            if (ex_check(in.sga_segs[0].sgaseg_buf, a->size, i, 0) != 0)
                ex_die("corrupted echo of message %u", (unsigned)i);
            ex_free(&in);
            break;
        }
        ex_free(&out);
    }

    if ((ret = demi_close(qd)) != 0)
        ex_die_errno("demi_close", ret);
    printf("client: %u round trips of %zu bytes with %s (%u retransmissions, %u late echoes dropped), all bytes "
           "correct\n",
           (unsigned)a->nmsgs, a->size, ex_addr_str(&a->remote), (unsigned)retransmissions, (unsigned)late);
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
