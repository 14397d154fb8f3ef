/* Shared helpers of the C examples: command lines, the test pattern, error reporting.
 *
 * The examples are plain C99 programs written the way a Demikernel application is written; only
 * these helpers are shared between them. */
#ifndef DEMI_EXAMPLES_COMMON_H
#define DEMI_EXAMPLES_COMMON_H

#include <demi/libos.h>
#include <demi/sga.h>
#include <demi/wait.h>

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

/** Which side of the exchange this process plays. */
enum ex_role { EX_SERVER, EX_CLIENT };

/** A parsed command line. */
struct ex_args {
    enum ex_role role;
    struct sockaddr_in local;  /**< TCP: the address to listen on / connect to. UDP: our address. */
    struct sockaddr_in remote; /**< UDP only: the peer's address. */
    size_t size;               /**< Bytes per message. */
    uint32_t nmsgs;            /**< Number of messages. */
};

/** How long any single wait may take before the example gives up (ms). */
#define EX_TIMEOUT_MS 30000L

/** Largest message accepted on the command line (16 MiB). */
#define EX_MAX_SIZE ((size_t)16 * 1024 * 1024)

/** Prints the program name (set by ex_parse_*) and a formatted message to stderr, then exits 1. */
void ex_die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/** Reports a failed call that returned an errno-style code, then exits 1. */
void ex_die_errno(const char *what, int err) __attribute__((noreturn));

/** Parses `--server|--client IP PORT [size] [nmsgs]`; prints usage and exits 2 on a bad line. */
void ex_parse_tcp(int argc, char *const argv[], struct ex_args *out, size_t default_size, uint32_t default_nmsgs);

/** Parses `--server|--client LOCAL_IP LOCAL_PORT REMOTE_IP REMOTE_PORT [size] [nmsgs]`. */
void ex_parse_udp(int argc, char *const argv[], struct ex_args *out, size_t default_size, uint32_t default_nmsgs);

/** Calls demi_init with the process arguments; exits on failure. */
void ex_init(int argc, char *argv[]);

/** The pattern byte at offset `off` of message number `msg`.
 * Byte 0 is (msg * 157 + 11) mod 256, so it tells apart any two messages fewer than 256 apart; the
 * other bytes are a hash of (msg, off). */
uint8_t ex_pattern_byte(uint32_t msg, size_t off);

/** Writes message `msg`'s bytes [off, off + len) into buf. */
void ex_fill(void *buf, size_t len, uint32_t msg, size_t off);

/** Checks that buf holds message `msg`'s bytes [off, off + len). Returns 0, or 1 after printing the
 * first mismatch (message, offset, expected and received byte) to stderr. */
int ex_check(const void *buf, size_t len, uint32_t msg, size_t off);

/** The message number (mod 256) that a message starting with byte `first` would have, relative to
 * `expected`: 0 if it is `expected`, negative for an earlier message, positive for a later one. */
int ex_msg_distance(uint8_t first, uint32_t expected);

/** Allocates an sga of `size` bytes and fills it with message `msg`; exits on failure. */
demi_sgarray_t ex_alloc_msg(size_t size, uint32_t msg);

/** Frees an sga; exits on failure. */
void ex_free(demi_sgarray_t *sga);

/** Frees a popped sga (an end-of-stream pop may carry no buffer at all); exits on failure. */
void ex_free_popped(demi_sgarray_t *sga);

/** Length of a popped sga's data: 0 for end of stream (no segment or an empty one). Exits if the sga
 * has more segments than DEMI_SGARRAY_MAXSIZE or a non-empty segment without a buffer. */
uint32_t ex_sga_len(const demi_sgarray_t *sga);

/** Waits for `qt` at most `timeout_ms` ms; exits on any error other than ETIMEDOUT. Returns 0 when
 * the operation completed (result in *qr) or ETIMEDOUT. `what` names the operation for messages. */
int ex_wait(demi_qresult_t *qr, demi_qtoken_t qt, long timeout_ms, const char *what);

/** Like ex_wait but a timeout is fatal too. */
void ex_wait_ok(demi_qresult_t *qr, demi_qtoken_t qt, long timeout_ms, const char *what);

/** Exits with a clear message unless qr is a successful result with opcode `want`. A failed
 * operation (DEMI_OPC_FAILED) is reported with strerror(qr_ret). */
void ex_expect(const demi_qresult_t *qr, demi_opcode_t want, const char *what);

/** Name of an opcode, for messages. */
const char *ex_opcode_name(demi_opcode_t opc);

/** Formats an IPv4 address and port ("127.0.0.1:42000") into a static buffer. */
const char *ex_addr_str(const struct sockaddr_in *addr);

/** Sleeps for `us` microseconds. */
void ex_sleep_us(long us);

#endif /* DEMI_EXAMPLES_COMMON_H */
