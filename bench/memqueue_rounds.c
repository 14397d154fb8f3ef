/* A fixed number of memory-queue rounds (push + pop + wait both + free the popped sga) through the
 * C ABI, for instruction counting: bench/memqueue-instructions.sh runs it under callgrind twice and
 * divides the difference by the difference in rounds, which cancels start-up and shutdown. */
#include <demi/libos.h>
#include <demi/sga.h>
#include <demi/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char *argv[]) {
    struct demi_args args = {.argc = argc, .argv = argv, .callback = NULL};
    demi_qtoken_t pt, qt;
    demi_qresult_t qr;
    demi_sgarray_t sga;
    int qd;
    long rounds = argc > 1 ? atol(argv[1]) : 100000;
    if (demi_init(&args) != 0 || demi_queue(&qd) != 0) return 1;
    sga = demi_sgaalloc(64);
    if (sga.sga_buf == NULL) return 1;
    memset(sga.sga_segs[0].sgaseg_buf, 0x5a, 64);
    for (long i = 0; i < rounds; i++) {
        if (demi_push(&pt, qd, &sga) != 0 || demi_pop(&qt, qd) != 0) return 1;
        if (demi_wait(&qr, pt, NULL) != 0 || demi_wait(&qr, qt, NULL) != 0) return 1;
        if (qr.qr_opcode != DEMI_OPC_POP || qr.qr_value.sga.sga_segs[0].sgaseg_len != 64) return 1;
        if (demi_sgafree(&qr.qr_value.sga) != 0) return 1;
    }
    return demi_sgafree(&sga);
}
