/* Shared helpers of the C examples. */
#define _POSIX_C_SOURCE 200809L

#include "common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *progname = "example";

void ex_die(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: error: ", progname);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(EXIT_FAILURE);
}

void ex_die_errno(const char *what, int err)
{
    ex_die("%s failed: %s (errno %d)", what, strerror(err), err);
}

/* ---- command lines ---- */

static void set_progname(const char *argv0)
{
    const char *slash = strrchr(argv0, '/');
    progname = slash != NULL ? slash + 1 : argv0;
}

static void usage_tcp(void)
{
    fprintf(stderr,
            "usage: %s --server IP PORT [size] [nmsgs]\n"
            "       %s --client IP PORT [size] [nmsgs]\n"
            "  The server listens on IP:PORT and serves one connection; the client connects to it.\n"
            "  size: bytes per message (1..%zu); nmsgs: number of messages (>= 1).\n",
            progname, progname, EX_MAX_SIZE);
    exit(2);
}

static void usage_udp(void)
{
    fprintf(stderr,
            "usage: %s --server LOCAL_IP LOCAL_PORT REMOTE_IP REMOTE_PORT [size] [nmsgs]\n"
            "       %s --client LOCAL_IP LOCAL_PORT REMOTE_IP REMOTE_PORT [size] [nmsgs]\n"
            "  Each side binds LOCAL and exchanges datagrams with REMOTE.\n"
            "  size: bytes per datagram (1..65507); nmsgs: number of messages (>= 1).\n",
            progname, progname);
    exit(2);
}

static int parse_ulong(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end = NULL;
    unsigned long long v;
    if (s[0] < '0' || s[0] > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_addr(const char *ip, const char *port, struct sockaddr_in *out)
{
    unsigned long long p = 0;
    memset(out, 0, sizeof(*out));
    out->sin_family = AF_INET;
    if (inet_pton(AF_INET, ip, &out->sin_addr) != 1)
        return -1;
    if (parse_ulong(port, 65535, &p) != 0)
        return -1;
    out->sin_port = htons((uint16_t)p);
    return 0;
}

static int parse_role(const char *s, enum ex_role *role)
{
    if (strcmp(s, "--server") == 0)
        *role = EX_SERVER;
    else if (strcmp(s, "--client") == 0)
        *role = EX_CLIENT;
    else
        return -1;
    return 0;
}

static int parse_size_count(int argc, char *const argv[], int first, size_t max_size, struct ex_args *out)
{
    unsigned long long v = 0;
    if (argc > first) {
        if (parse_ulong(argv[first], max_size, &v) != 0 || v == 0)
            return -1;
        out->size = (size_t)v;
    }
    if (argc > first + 1) {
        if (parse_ulong(argv[first + 1], UINT32_MAX, &v) != 0 || v == 0)
            return -1;
        out->nmsgs = (uint32_t)v;
    }
    return argc > first + 2 ? -1 : 0;
}

void ex_parse_tcp(int argc, char *const argv[], struct ex_args *out, size_t default_size, uint32_t default_nmsgs)
{
    set_progname(argc > 0 ? argv[0] : "example");
    memset(out, 0, sizeof(*out));
    out->size = default_size;
    out->nmsgs = default_nmsgs;
    if (argc < 4 || parse_role(argv[1], &out->role) != 0)
        usage_tcp();
    if (parse_addr(argv[2], argv[3], &out->local) != 0) {
        fprintf(stderr, "%s: bad address %s:%s\n", progname, argv[2], argv[3]);
        usage_tcp();
    }
    if (parse_size_count(argc, argv, 4, EX_MAX_SIZE, out) != 0)
        usage_tcp();
}

void ex_parse_udp(int argc, char *const argv[], struct ex_args *out, size_t default_size, uint32_t default_nmsgs)
{
    set_progname(argc > 0 ? argv[0] : "example");
    memset(out, 0, sizeof(*out));
    out->size = default_size;
    out->nmsgs = default_nmsgs;
    if (argc < 6 || parse_role(argv[1], &out->role) != 0)
        usage_udp();
    if (parse_addr(argv[2], argv[3], &out->local) != 0) {
        fprintf(stderr, "%s: bad local address %s:%s\n", progname, argv[2], argv[3]);
        usage_udp();
    }
    if (parse_addr(argv[4], argv[5], &out->remote) != 0) {
        fprintf(stderr, "%s: bad remote address %s:%s\n", progname, argv[4], argv[5]);
        usage_udp();
    }
    /* 65507 = the largest IPv4 UDP payload. */
    if (parse_size_count(argc, argv, 6, 65507, out) != 0)
        usage_udp();
}

void ex_init(int argc, char *argv[])
{
    struct demi_args args = {.argc = argc, .argv = argv, .callback = NULL};
    int ret = demi_init(&args);
    if (ret != 0)
        ex_die_errno("demi_init", ret);
}

/* ---- the pattern ---- */

uint8_t ex_pattern_byte(uint32_t msg, size_t off)
{
    uint32_t x;
    if (off == 0)
        return (uint8_t)(msg * 157u + 11u);
    /* A 32-bit integer hash of (msg, off): every byte depends on both. */
    x = (uint32_t)off * 0x9E3779B1u ^ (msg + 1u) * 0x85EBCA77u ^ (uint32_t)((uint64_t)off >> 32);
    x ^= x >> 16;
    x *= 0x7FEB352Du;
    x ^= x >> 15;
    x *= 0x846CA68Bu;
    x ^= x >> 16;
    return (uint8_t)x;
}

void ex_fill(void *buf, size_t len, uint32_t msg, size_t off)
{
    uint8_t *p = (uint8_t *)buf;
    size_t i;
    for (i = 0; i < len; i++)
        p[i] = ex_pattern_byte(msg, off + i);
}

int ex_check(const void *buf, size_t len, uint32_t msg, size_t off)
{
    const uint8_t *p = (const uint8_t *)buf;
    size_t i;
    for (i = 0; i < len; i++) {
        uint8_t want = ex_pattern_byte(msg, off + i);
        if (p[i] != want) {
            fprintf(stderr, "%s: error: data mismatch in message %u at byte %zu: expected 0x%02x, got 0x%02x\n",
                    progname, (unsigned)msg, off + i, (unsigned)want, (unsigned)p[i]);
            return 1;
        }
    }
    return 0;
}

int ex_msg_distance(uint8_t first, uint32_t expected)
{
    /* 157 * 181 = 28417 = 111 * 256 + 1, so 181 is the inverse of 157 mod 256. */
    uint8_t idx = (uint8_t)((uint8_t)(first - 11u) * 181u);
    return (int)(int8_t)(uint8_t)(idx - (uint8_t)expected);
}

/* ---- memory and waiting ---- */

demi_sgarray_t ex_alloc_msg(size_t size, uint32_t msg)
{
    demi_sgarray_t sga = demi_sgaalloc(size);
    if (sga.sga_buf == NULL || sga.sga_numsegs != 1 || sga.sga_segs[0].sgaseg_buf == NULL)
        ex_die("demi_sgaalloc(%zu) returned no buffer", size);
    if (sga.sga_segs[0].sgaseg_len != size)
        ex_die("demi_sgaalloc(%zu) returned a segment of %u bytes", size, (unsigned)sga.sga_segs[0].sgaseg_len);
    ex_fill(sga.sga_segs[0].sgaseg_buf, size, msg, 0);
    return sga;
}

void ex_free(demi_sgarray_t *sga)
{
    int ret = demi_sgafree(sga);
    if (ret != 0)
        ex_die_errno("demi_sgafree", ret);
}

void ex_free_popped(demi_sgarray_t *sga)
{
    if (sga->sga_buf != NULL)
        ex_free(sga);
}

uint32_t ex_sga_len(const demi_sgarray_t *sga)
{
    if (sga->sga_numsegs > DEMI_SGARRAY_MAXSIZE)
        ex_die("popped sga has %u segments (at most %d expected)", (unsigned)sga->sga_numsegs, DEMI_SGARRAY_MAXSIZE);
    if (sga->sga_numsegs == 0 || sga->sga_segs[0].sgaseg_len == 0)
        return 0;
    if (sga->sga_segs[0].sgaseg_buf == NULL)
        ex_die("popped sga has a NULL segment of %u bytes", (unsigned)sga->sga_segs[0].sgaseg_len);
    return sga->sga_segs[0].sgaseg_len;
}

int ex_wait(demi_qresult_t *qr, demi_qtoken_t qt, long timeout_ms, const char *what)
{
    struct timespec ts;
    int ret;
    ts.tv_sec = timeout_ms / 1000;
    ts.tv_nsec = (timeout_ms % 1000) * 1000000L;
    memset(qr, 0, sizeof(*qr));
    ret = demi_wait(qr, qt, &ts);
    if (ret == ETIMEDOUT)
        return ETIMEDOUT;
    if (ret != 0) {
        char buf[128];
        snprintf(buf, sizeof(buf), "demi_wait (%s)", what);
        ex_die_errno(buf, ret);
    }
    if (qr->qr_qt != qt)
        ex_die("demi_wait (%s) returned the result of token %llu, not %llu", what, (unsigned long long)qr->qr_qt,
               (unsigned long long)qt);
    return 0;
}

void ex_wait_ok(demi_qresult_t *qr, demi_qtoken_t qt, long timeout_ms, const char *what)
{
    if (ex_wait(qr, qt, timeout_ms, what) == ETIMEDOUT)
        ex_die("%s did not complete within %ld ms", what, timeout_ms);
}

const char *ex_opcode_name(demi_opcode_t opc)
{
    switch (opc) {
    case DEMI_OPC_INVALID: return "INVALID";
    case DEMI_OPC_PUSH: return "PUSH";
    case DEMI_OPC_POP: return "POP";
    case DEMI_OPC_ACCEPT: return "ACCEPT";
    case DEMI_OPC_CONNECT: return "CONNECT";
    case DEMI_OPC_CLOSE: return "CLOSE";
    case DEMI_OPC_FAILED: return "FAILED";
    }
    return "unknown";
}

void ex_expect(const demi_qresult_t *qr, demi_opcode_t want, const char *what)
{
    if (qr->qr_opcode == DEMI_OPC_FAILED) {
        int err = (int)qr->qr_ret;
        ex_die("%s failed: %s (errno %d)", what, strerror(err), err);
    }
    if (qr->qr_opcode != want)
        ex_die("%s completed with opcode %s (%d), expected %s", what, ex_opcode_name(qr->qr_opcode),
               (int)qr->qr_opcode, ex_opcode_name(want));
    if (qr->qr_ret != 0)
        ex_die("%s completed with opcode %s but qr_ret %lld", what, ex_opcode_name(qr->qr_opcode),
               (long long)qr->qr_ret);
}

const char *ex_addr_str(const struct sockaddr_in *addr)
{
    static char buf[INET_ADDRSTRLEN + 8];
    char ip[INET_ADDRSTRLEN];
    if (inet_ntop(AF_INET, &addr->sin_addr, ip, sizeof(ip)) == NULL)
        snprintf(ip, sizeof(ip), "?");
    snprintf(buf, sizeof(buf), "%s:%u", ip, (unsigned)ntohs(addr->sin_port));
    return buf;
}

void ex_sleep_us(long us)
{
    struct timespec ts;
    ts.tv_sec = us / 1000000L;
    ts.tv_nsec = (us % 1000000L) * 1000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}
