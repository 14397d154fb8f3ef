/* bad-peer: a peer of the C examples written with plain kernel sockets, which can damage the data
 * on purpose. It proves that the examples' end-to-end tests can fail: an example facing a peer
 * that flips one byte or cuts a message short must exit non-zero and say why.
 *
 *   bad-peer tcp-client KIND IP PORT SIZE NMSGS BADMSG BADOFF
 *       connects to IP:PORT and sends NMSGS messages (peer of tcp-push-pop --server)
 *   bad-peer tcp-echo   KIND IP PORT SIZE NMSGS BADMSG BADOFF
 *       listens on IP:PORT, accepts one connection and echoes it (peer of tcp-ping-pong --client)
 *   bad-peer udp-client KIND LOCAL_IP LOCAL_PORT REMOTE_IP REMOTE_PORT SIZE NMSGS BADMSG BADOFF
 *       sends NMSGS datagrams to REMOTE (peer of udp-push-pop --server)
 *   bad-peer udp-echo   KIND LOCAL_IP LOCAL_PORT REMOTE_IP REMOTE_PORT SIZE NMSGS BADMSG BADOFF
 *       echoes datagrams back to REMOTE (peer of udp-ping-pong --client)
 *
 * KIND: none  send the correct bytes (control: the example must then succeed)
 *       flip  invert byte BADOFF of message BADMSG
 *       short cut message BADMSG to BADOFF bytes (TCP: then close the connection)
 *       drop  (udp-echo only) do not echo the first copy of message BADMSG: the example must
 *             retransmit it and succeed
 *       dup   (UDP only) send or echo message BADMSG twice: the example must drop the late copy
 *             and succeed
 * The data pattern is the examples' own (examples/c/common.h). */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

enum kind { KIND_NONE, KIND_FLIP, KIND_SHORT, KIND_DROP, KIND_DUP };

struct peer {
    enum kind kind;
    struct sockaddr_in local;
    struct sockaddr_in remote;
    size_t size;
    uint32_t nmsgs;
    uint32_t badmsg;
    size_t badoff;
};

static void fail(const char *what)
{
    fprintf(stderr, "bad-peer: %s: %s\n", what, strerror(errno));
    exit(EXIT_FAILURE);
}

static void usage(void)
{
    fprintf(stderr, "usage: bad-peer tcp-client|tcp-echo KIND IP PORT SIZE NMSGS BADMSG BADOFF\n"
                    "       bad-peer udp-client|udp-echo KIND LOCAL_IP LOCAL_PORT REMOTE_IP REMOTE_PORT SIZE NMSGS "
                    "BADMSG BADOFF\n"
                    "  KIND: none | flip | short | drop (udp-echo only) | dup (UDP only)\n");
    exit(2);
}

static void parse_addr(const char *ip, const char *port, struct sockaddr_in *out)
{
    memset(out, 0, sizeof(*out));
    out->sin_family = AF_INET;
    out->sin_port = htons((uint16_t)atoi(port));
    if (inet_pton(AF_INET, ip, &out->sin_addr) != 1)
        usage();
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL); /* a hung-up peer gives EPIPE, not SIGPIPE */
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The bytes of message `msg` as this peer sends them; returns their count. */
static size_t make_msg(const struct peer *pr, uint8_t *buf, uint32_t msg)
{
    ex_fill(buf, pr->size, msg, 0);
    if (msg != pr->badmsg)
        return pr->size;
    if (pr->kind == KIND_FLIP)
        buf[pr->badoff] ^= 0xff;
    if (pr->kind == KIND_SHORT)
        return pr->badoff;
    return pr->size;
}

static void tcp_client(const struct peer *pr)
{
    uint8_t *buf = malloc(pr->size);
    uint32_t i;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (buf == NULL || fd < 0)
        fail("socket");
    if (connect(fd, (const struct sockaddr *)&pr->local, sizeof(pr->local)) != 0)
        fail("connect");
    for (i = 0; i < pr->nmsgs; i++) {
        size_t len = make_msg(pr, buf, i);
        if (write_all(fd, buf, len) != 0) {
            /* The example may find the damage and hang up before all was sent. */
            if (pr->kind != KIND_NONE && (errno == EPIPE || errno == ECONNRESET)) {
                printf("bad-peer: the example hung up after %u messages\n", (unsigned)i);
                break;
            }
            fail("send");
        }
        if (len != pr->size)
            break; /* short: cut the stream here */
    }
    close(fd);
    free(buf);
    printf("bad-peer: sent %u messages\n", (unsigned)i);
}

static void tcp_echo(const struct peer *pr)
{
    const uint64_t total = (uint64_t)pr->size * pr->nmsgs;
    const uint64_t bad = (uint64_t)pr->badmsg * pr->size + pr->badoff;
    uint64_t pos = 0;
    uint8_t buf[65536];
    int one = 1;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    int fd;
    if (lfd < 0)
        fail("socket");
    if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0)
        fail("setsockopt");
    if (bind(lfd, (const struct sockaddr *)&pr->local, sizeof(pr->local)) != 0)
        fail("bind");
    if (listen(lfd, 1) != 0)
        fail("listen");
    fd = accept(lfd, NULL, NULL);
    if (fd < 0)
        fail("accept");
    while (pos < total) {
        ssize_t n = read(fd, buf, sizeof(buf));
        size_t len;
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* the example hung up (it may have found the damage already) */
        len = (size_t)n;
        if (pos <= bad && bad < pos + len) {
            if (pr->kind == KIND_FLIP)
                buf[bad - pos] ^= 0xff;
            if (pr->kind == KIND_SHORT)
                len = (size_t)(bad - pos);
        }
        if (write_all(fd, buf, len) != 0)
            break;
        pos += len;
        if (len != (size_t)n)
            break;
    }
    close(fd);
    close(lfd);
    printf("bad-peer: echoed %llu bytes\n", (unsigned long long)pos);
}

static int udp_socket(const struct peer *pr)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0)
        fail("socket");
    if (bind(fd, (const struct sockaddr *)&pr->local, sizeof(pr->local)) != 0)
        fail("bind");
    return fd;
}

static void udp_client(const struct peer *pr)
{
    uint8_t *buf = malloc(pr->size);
    uint32_t i;
    int fd = udp_socket(pr);
    if (buf == NULL)
        fail("malloc");
    for (i = 0; i < pr->nmsgs; i++) {
        size_t len = make_msg(pr, buf, i);
        if (sendto(fd, buf, len, 0, (const struct sockaddr *)&pr->remote, sizeof(pr->remote)) < 0)
            fail("sendto");
        if (pr->kind == KIND_DUP && i == pr->badmsg &&
            sendto(fd, buf, len, 0, (const struct sockaddr *)&pr->remote, sizeof(pr->remote)) < 0)
            fail("sendto");
        ex_sleep_us(50);
    }
    close(fd);
    free(buf);
    printf("bad-peer: sent %u datagrams\n", (unsigned)i);
}

static void udp_echo(const struct peer *pr)
{
    struct timeval tv = {1, 0};
    uint8_t buf[65536];
    uint32_t count = 0;
    int dropped = 0;
    int fd = udp_socket(pr);
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        size_t len;
        uint32_t msg;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break; /* idle for 1 s */
        /* Once the example has started, 1 s of silence means it is done (or gave up). */
        if (count == 0 && setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0)
            fail("setsockopt");
        len = (size_t)n;
        msg = n > 0 ? (uint32_t)((int64_t)count + ex_msg_distance(buf[0], count)) : count;
        if (msg == count)
            count++;
        if (msg == pr->badmsg && (size_t)n == pr->size) {
            if (pr->kind == KIND_FLIP)
                buf[pr->badoff] ^= 0xff;
            if (pr->kind == KIND_SHORT)
                len = pr->badoff;
            if (pr->kind == KIND_DROP && !dropped) {
                dropped = 1;
                continue;
            }
            if (pr->kind == KIND_DUP &&
                sendto(fd, buf, len, 0, (const struct sockaddr *)&pr->remote, sizeof(pr->remote)) < 0)
                fail("sendto");
        }
        if (sendto(fd, buf, len, 0, (const struct sockaddr *)&pr->remote, sizeof(pr->remote)) < 0)
            fail("sendto");
    }
    close(fd);
    printf("bad-peer: echoed %u datagrams\n", (unsigned)count);
}

int main(int argc, char *argv[])
{
    struct peer pr;
    int udp;
    int i;
    if (argc < 3)
        usage();
    memset(&pr, 0, sizeof(pr));
    udp = strncmp(argv[1], "udp-", 4) == 0;
    if (argc != (udp ? 11 : 9))
        usage();
    if (strcmp(argv[2], "none") == 0)
        pr.kind = KIND_NONE;
    else if (strcmp(argv[2], "flip") == 0)
        pr.kind = KIND_FLIP;
    else if (strcmp(argv[2], "short") == 0)
        pr.kind = KIND_SHORT;
    else if (strcmp(argv[2], "drop") == 0 && strcmp(argv[1], "udp-echo") == 0)
        pr.kind = KIND_DROP;
    else if (strcmp(argv[2], "dup") == 0 && udp)
        pr.kind = KIND_DUP;
    else
        usage();
    parse_addr(argv[3], argv[4], &pr.local);
    i = 5;
    if (udp) {
        parse_addr(argv[5], argv[6], &pr.remote);
        i = 7;
    }
    pr.size = (size_t)strtoull(argv[i], NULL, 10);
    pr.nmsgs = (uint32_t)strtoul(argv[i + 1], NULL, 10);
    pr.badmsg = (uint32_t)strtoul(argv[i + 2], NULL, 10);
    pr.badoff = (size_t)strtoull(argv[i + 3], NULL, 10);
    if (pr.size == 0 || pr.size > (udp ? (size_t)65507 : EX_MAX_SIZE) || pr.badoff >= pr.size)
        usage();

    if (strcmp(argv[1], "tcp-client") == 0)
        tcp_client(&pr);
    else if (strcmp(argv[1], "tcp-echo") == 0)
        tcp_echo(&pr);
    else if (strcmp(argv[1], "udp-client") == 0)
        udp_client(&pr);
    else if (strcmp(argv[1], "udp-echo") == 0)
        udp_echo(&pr);
    else
        usage();
    return EXIT_SUCCESS;
}
