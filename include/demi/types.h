/* Demi — the types of the C ABI.
 *
 * Layouts are packed and match Demikernel's public types byte for byte (on x86-64:
 * demi_sgaseg_t 12 bytes, demi_sgarray_t 40, demi_accept_result_t 20, demi_qresult_t 64). */
#ifndef DEMI_TYPES_H_IS_INCLUDED
#define DEMI_TYPES_H_IS_INCLUDED

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Maximum number of segments in a scatter-gather array. */
#define DEMI_SGARRAY_MAXSIZE 1

/** An I/O queue token: names one asynchronous operation from its issue until a wait returns it. */
typedef uint64_t demi_qtoken_t;

/** One segment of a scatter-gather array. */
typedef struct __attribute__((__packed__)) demi_sgaseg {
    void *sgaseg_buf;    /**< First byte of the segment's data. */
    uint32_t sgaseg_len; /**< Length of the data in bytes. */
} demi_sgaseg_t;

/** A scatter-gather array. */
typedef struct __attribute__((__packed__)) demi_sgarray {
    void *sga_buf;                                /**< Opaque handle of the underlying buffer (owned by Demi). */
    uint32_t sga_numsegs;                         /**< Number of valid entries in sga_segs. */
    demi_sgaseg_t sga_segs[DEMI_SGARRAY_MAXSIZE]; /**< The segments. */
    struct sockaddr_in sga_addr;                  /**< Sender of a popped datagram. */
} demi_sgarray_t;

/** Opcodes of completed operations. */
typedef enum demi_opcode {
    DEMI_OPC_INVALID = 0, /**< Invalid operation. */
    DEMI_OPC_PUSH,        /**< Push (or pushto) completed. */
    DEMI_OPC_POP,         /**< Pop completed; qr_value.sga holds the data. */
    DEMI_OPC_ACCEPT,      /**< Accept completed; qr_value.ares holds the new queue. */
    DEMI_OPC_CONNECT,     /**< Connect completed. */
    DEMI_OPC_CLOSE,       /**< Close completed. */
    DEMI_OPC_FAILED,      /**< The operation failed; qr_ret holds the errno. */
} demi_opcode_t;

/** Result of an accept. */
typedef struct __attribute__((__packed__)) demi_accept_result {
    int32_t qd;              /**< Queue descriptor of the accepted connection. */
    struct sockaddr_in addr; /**< Address of the remote end. */
} demi_accept_result_t;

/** Result of a completed operation. */
typedef struct __attribute__((__packed__)) demi_qresult {
    demi_opcode_t qr_opcode; /**< What completed (DEMI_OPC_FAILED on error). */
    int32_t qr_qd;           /**< Queue the operation was issued on. */
    demi_qtoken_t qr_qt;     /**< Token of the operation. */
    int64_t qr_ret;          /**< 0, or the errno of a failed operation. */
    union __attribute__((__packed__)) {
        demi_sgarray_t sga;        /**< Popped (or pushed) data. */
        demi_accept_result_t ares; /**< Accepted connection. */
    } qr_value;
} demi_qresult_t;

/** Called by the libOS with the name and duration (ns) of traced sections; may be NULL. */
typedef void (*demi_callback_t)(const char *name, uint32_t name_len, uint64_t duration);

/** Arguments of demi_init(). */
struct demi_args {
    int argc;
    char *const *argv;
    demi_callback_t callback;
};
typedef struct demi_args demi_args_t;

#ifdef __cplusplus
}
#endif

#endif /* DEMI_TYPES_H_IS_INCLUDED */
