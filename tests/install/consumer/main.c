/* Uses the installed C ABI through pkg-config: a memory queue round trip. */
#include <demi/libos.h>
#include <demi/sga.h>
#include <demi/wait.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char *argv[]) {
    struct demi_args args = {.argc = argc, .argv = argv, .callback = NULL};
    int qd;
    demi_qtoken_t pt, qt;
    demi_qresult_t qr;
    demi_sgarray_t sga;
    if (demi_init(&args) != 0 || demi_queue(&qd) != 0) return 1;
    sga = demi_sgaalloc(5);
    if (sga.sga_buf == NULL) return 1;
    memcpy(sga.sga_segs[0].sgaseg_buf, "hello", 5);
    if (demi_push(&pt, qd, &sga) != 0 || demi_pop(&qt, qd) != 0) return 1;
    if (demi_wait(&qr, qt, NULL) != 0 || qr.qr_opcode != DEMI_OPC_POP) return 1;
    if (qr.qr_value.sga.sga_segs[0].sgaseg_len != 5 || memcmp(qr.qr_value.sga.sga_segs[0].sgaseg_buf, "hello", 5) != 0)
        return 1;
    if (demi_sgafree(&qr.qr_value.sga) != 0 || demi_sgafree(&sga) != 0) return 1;
    puts("consumer (C, pkg-config): ok");
    return 0;
}
