// Micro-benchmarks of the C ABI over in-process memory queues (demi_queue), which work under every
// libOS: the cost of the runtime itself (qd and qtoken tables, scheduler, wait loop, buffers)
// without any device.
//
//   BM_memqueue_round            push + pop + wait(push) + wait(pop) + free(popped) of a 64-byte sga
//   BM_memqueue_round_alloc      the same, plus demi_sgaalloc/demi_sgafree of the pushed sga
//   BM_wait_any_pending/N        demi_wait_any({0,0}) over N pending pops on N empty queues
//   BM_wait_any_one_queue/N      demi_wait_any({0,0}) over N pending pops on one empty queue
#include <demi/libos.h>
#include <demi/sga.h>
#include <demi/wait.h>

#include <benchmark/benchmark.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <vector>

namespace {

constexpr std::size_t msg_size = 64;

// demi_init once per process; returns its result.
int init_demi_once() {
    static const int rc = [] {
        static char name[] = "bench_memqueue";
        static char *argv[] = {name, nullptr};
        demi_args args{};
        args.argc = 1;
        args.argv = argv;
        args.callback = nullptr;
        return demi_init(&args);
    }();
    return rc;
}

bool setup_failed(benchmark::State &state, int rc, const char *what) {
    if (rc == 0) return false;
    char msg[160];
    std::snprintf(msg, sizeof msg, "%s failed: %s", what, std::strerror(rc));
    state.SkipWithError(msg);
    return true;
}

// One round: push the sga, pop it, wait for both, free the popped reference. Returns 0 or an
// errno-style code; `popped` receives the popped sga before it is freed (for checking).
inline int one_round(int qd, const demi_sgarray_t &sga, demi_sgarray_t *popped) {
    demi_qtoken_t push_qt = 0;
    demi_qtoken_t pop_qt = 0;
    demi_qresult_t qr;
    int rc = demi_push(&push_qt, qd, &sga);
    if (rc != 0) return rc;
    rc = demi_pop(&pop_qt, qd);
    if (rc != 0) return rc;
    rc = demi_wait(&qr, push_qt, nullptr);
    if (rc != 0) return rc;
    if (qr.qr_opcode != DEMI_OPC_PUSH) return EPROTO;
    rc = demi_wait(&qr, pop_qt, nullptr);
    if (rc != 0) return rc;
    if (qr.qr_opcode != DEMI_OPC_POP) return EPROTO;
    if (popped != nullptr) *popped = qr.qr_value.sga;
    // The popped sga is a new reference to the same buffer: the application frees it.
    return demi_sgafree(&qr.qr_value.sga);
}

// Checks, outside the timed loop, that a round hands back the bytes that were pushed.
bool check_round(benchmark::State &state, int qd, const demi_sgarray_t &sga) {
    demi_qtoken_t push_qt = 0, pop_qt = 0;
    demi_qresult_t qr;
    if (setup_failed(state, demi_push(&push_qt, qd, &sga), "demi_push") ||
        setup_failed(state, demi_pop(&pop_qt, qd), "demi_pop") ||
        setup_failed(state, demi_wait(&qr, push_qt, nullptr), "demi_wait(push)") ||
        setup_failed(state, demi_wait(&qr, pop_qt, nullptr), "demi_wait(pop)"))
        return false;
    bool same = qr.qr_opcode == DEMI_OPC_POP && qr.qr_value.sga.sga_numsegs == 1 &&
                qr.qr_value.sga.sga_segs[0].sgaseg_len == msg_size &&
                std::memcmp(qr.qr_value.sga.sga_segs[0].sgaseg_buf, sga.sga_segs[0].sgaseg_buf, msg_size) == 0;
    if (setup_failed(state, demi_sgafree(&qr.qr_value.sga), "demi_sgafree(popped)")) return false;
    if (!same) {
        state.SkipWithError("popped sga differs from the pushed one");
        return false;
    }
    return true;
}

demi_sgarray_t alloc_filled() {
    demi_sgarray_t sga = demi_sgaalloc(msg_size);
    if (sga.sga_buf != nullptr && sga.sga_numsegs == 1)
        std::memset(sga.sga_segs[0].sgaseg_buf, 0x5a, sga.sga_segs[0].sgaseg_len);
    return sga;
}

void BM_memqueue_round(benchmark::State &state) {
    if (setup_failed(state, init_demi_once(), "demi_init")) return;
    int qd = -1;
    if (setup_failed(state, demi_queue(&qd), "demi_queue")) return;
    demi_sgarray_t sga = alloc_filled();
    if (sga.sga_buf == nullptr) {
        state.SkipWithError("demi_sgaalloc(64) failed");
        (void)demi_close(qd);
        return;
    }
    if (check_round(state, qd, sga)) {
        for (auto _ : state) {
            int rc = one_round(qd, sga, nullptr);
            if (rc != 0) {
                setup_failed(state, rc, "round");
                break;
            }
        }
        state.SetItemsProcessed(state.iterations());
    }
    (void)demi_sgafree(&sga);
    (void)demi_close(qd);
}
BENCHMARK(BM_memqueue_round);

void BM_memqueue_round_alloc(benchmark::State &state) {
    if (setup_failed(state, init_demi_once(), "demi_init")) return;
    int qd = -1;
    if (setup_failed(state, demi_queue(&qd), "demi_queue")) return;
    for (auto _ : state) {
        demi_sgarray_t sga = demi_sgaalloc(msg_size);
        if (sga.sga_buf == nullptr) {
            state.SkipWithError("demi_sgaalloc(64) failed");
            break;
        }
        int rc = one_round(qd, sga, nullptr);
        if (rc == 0) rc = demi_sgafree(&sga);
        if (rc != 0) {
            setup_failed(state, rc, "round");
            break;
        }
    }
    state.SetItemsProcessed(state.iterations());
    (void)demi_close(qd);
}
BENCHMARK(BM_memqueue_round_alloc);

// Closes the queues and consumes the pops they cancelled, so that no tokens pile up across the
// repeated runs of a benchmark. Reports how many came back as ECANCELED as a counter.
void close_and_drain(benchmark::State &state, const std::vector<int> &qds, const std::vector<demi_qtoken_t> &qts) {
    for (int qd : qds)
        (void)demi_close(qd);
    std::size_t cancelled = 0;
    for (demi_qtoken_t qt : qts) {
        demi_qresult_t qr;
        timespec limit{1, 0};
        if (demi_wait(&qr, qt, &limit) == 0 && qr.qr_opcode == DEMI_OPC_FAILED && qr.qr_ret == ECANCELED) ++cancelled;
    }
    state.counters["cancelled_ok"] =
        benchmark::Counter(qts.empty() ? 1.0 : static_cast<double>(cancelled) / static_cast<double>(qts.size()));
}

void wait_any_bench(benchmark::State &state, bool one_queue) {
    if (setup_failed(state, init_demi_once(), "demi_init")) return;
    auto n = static_cast<std::size_t>(state.range(0));
    std::vector<int> qds;
    std::vector<demi_qtoken_t> qts;
    for (std::size_t i = 0; i < (one_queue ? 1 : n); ++i) {
        int qd = -1;
        if (setup_failed(state, demi_queue(&qd), "demi_queue")) {
            close_and_drain(state, qds, qts);
            return;
        }
        qds.push_back(qd);
    }
    for (std::size_t i = 0; i < n; ++i) {
        demi_qtoken_t qt = 0;
        if (setup_failed(state, demi_pop(&qt, qds[one_queue ? 0 : i]), "demi_pop")) {
            close_and_drain(state, qds, qts);
            return;
        }
        qts.push_back(qt);
    }
    const timespec zero{0, 0};
    std::int64_t unexpected = 0;
    for (auto _ : state) {
        demi_qresult_t qr;
        int offset = -1;
        int rc = demi_wait_any(&qr, &offset, qts.data(), static_cast<int>(qts.size()), &zero);
        if (rc != ETIMEDOUT) ++unexpected;
        benchmark::DoNotOptimize(rc);
    }
    if (unexpected != 0) {
        char msg[128];
        std::snprintf(msg, sizeof msg, "%lld calls did not return ETIMEDOUT", static_cast<long long>(unexpected));
        state.SkipWithError(msg);
    }
    state.SetItemsProcessed(state.iterations());
    close_and_drain(state, qds, qts);
}

void BM_wait_any_pending(benchmark::State &state) { wait_any_bench(state, false); }
BENCHMARK(BM_wait_any_pending)->Arg(1)->Arg(64)->Arg(1024);

void BM_wait_any_one_queue(benchmark::State &state) { wait_any_bench(state, true); }
BENCHMARK(BM_wait_any_one_queue)->Arg(1024);

} // namespace

BENCHMARK_MAIN();
