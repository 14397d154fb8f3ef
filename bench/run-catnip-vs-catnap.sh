#!/usr/bin/env bash
# catnip over net_memif against catnap over kernel loopback TCP, with raw DPDK as the floor — all in
# one run, the client on CPU 0 and the server on CPU 1 for every row:
#   1. raw:    bench/dpdk_rawping <-> dpdk-testpmd --forward-mode=macswap, over memif, with SIZE-byte
#              frames and with frames of the sizes catnip's echo puts on the wire (TCP: SIZE + 66 for
#              Ethernet, IPv4, TCP with timestamps; UDP: SIZE + 42), the fair floors under catnip's rows
#   2. catnip: demi-perf client <-> demi-perf server, LIBOS=catnip, over memif (TCP, then UDP)
#   3. catnap: the same demi-perf client/server, LIBOS=catnap, over 127.0.0.1 (TCP)
# then a throughput pass (WINDOW frames or connections in flight): raw testpmd forwarding vs catnip UDP;
# then the forwarder alone: the same raw UDP client (dpdk_rawping --udp, IPv4/UDP frames the size of
# catnip's echoes) against testpmd and against a catnip UDP echo server (demi-perf server --udp), one
# and WINDOW datagrams in flight.
#
#   bench/run-catnip-vs-catnap.sh BUILD_DIR
#
# BUILD_DIR must hold tools/demi-perf and bench/dpdk_rawping (a Release build with DPDK). Needs root
# (hugepages; reserved with scripts/hugepages and released on exit). Environment: COUNT (round trips
# per row, default 100000), SIZE (default 64), WINDOW (default 16), TIMEOUT (s per process, default 120),
# ROUNDS (default 1): the whole sequence of rows that many times, each round with its own summary, then
# the median over the rounds of each figure — the link's speed changes from one process pair to the
# next here, so one round is one sample.
set -euo pipefail

if [[ $# -lt 1 || "$1" == "-h" || "$1" == "--help" ]]; then
    sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
build=$(cd "$1" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
perf=$build/tools/demi-perf
rawping=$build/bench/dpdk_rawping
for f in "$perf" "$rawping"; do
    [[ -x $f ]] || { echo "run-catnip-vs-catnap: $f not found (a build with DPDK: cmake --build $1 --target demi-perf dpdk_rawping)" >&2; exit 1; }
done
command -v dpdk-testpmd >/dev/null || { echo "run-catnip-vs-catnap: dpdk-testpmd not found (Debian package dpdk-dev; scripts/setup installs it)" >&2; exit 1; }
[[ $(id -u) == 0 ]] || { echo "run-catnip-vs-catnap: needs root (hugepages, DPDK)" >&2; exit 1; }

COUNT=${COUNT:-100000}
SIZE=${SIZE:-64}
WINDOW=${WINDOW:-16}
TIMEOUT=${TIMEOUT:-120}
ROUNDS=${ROUNDS:-1}
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "run-catnip-vs-catnap: ROUNDS must be a positive integer (got '$ROUNDS')" >&2; exit 2; }

work=$(mktemp -d /tmp/demi-bench.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    "$root/scripts/hugepages" release >/dev/null || true
    # testpmd's and dpdk_rawping's EAL runtime directories (DPDK leaves them, with its telemetry socket);
    # catnip's processes remove their own.
    rm -rf /var/run/dpdk/demi-bench-tp /var/run/dpdk/demi-bench-raw
    if [[ -n ${KEEP:-} ]]; then echo "logs kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
"$root/scripts/hugepages" reserve 1024

sock=$work/memif.sock
memif() { echo "--vdev=net_memif0,role=$1,socket=$sock,socket-abstract=no"; }
wait_socket() {
    for _ in $(seq 100); do [[ -S $sock ]] && return 0; sleep 0.05; done
    echo "run-catnip-vs-catnap: the memif server did not come up; its log:" >&2
    tail -20 "$1" >&2
    return 1
}
stop_all() {
    for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    pids=()
    rm -f "$sock"
}

tcp_frame=$((SIZE + 66))
udp_frame=$((SIZE + 42))
if (( tcp_frame < 60 )); then tcp_frame=60; fi
if (( udp_frame < 60 )); then udp_frame=60; fi

# Each round writes its own files: raw.out (rawping rows), results (demi-perf RESULT lines), fwd.out
# (the forwarder rows); figures collects one line of key=value per round for the medians.
results=$work/results
figures=$work/figures
: >"$figures"

testpmd_server() {
    timeout "$TIMEOUT" dpdk-testpmd --no-pci --in-memory --file-prefix demi-bench-tp --lcores 0@1,1@1 \
        "$(memif server)" -- --forward-mode=macswap --auto-start --nb-cores=1 --total-num-mbufs=16384 \
        --stats-period 100 >"$work/testpmd.log" 2>&1 </dev/null &
    pids+=($!)
    wait_socket "$work/testpmd.log"
}
raw() { # window [frame size]
    "$rawping" --no-pci --in-memory --file-prefix demi-bench-raw --lcores 0@0 --log-level='*:error' "$(memif client)" \
        -- --size "${2:-$SIZE}" --count "$COUNT" --window "$1" --timeout "$TIMEOUT" | tee -a "$work/raw.out"
}
catnip_pair() { # label, extra demi-perf args...
    local label=$1
    shift
    LIBOS=catnip DEMI_LOCAL_IPV4_ADDR=10.0.0.1 DEMI_DPDK_EAL_INIT="--lcores 0@1 $(memif server)" \
        timeout "$TIMEOUT" "$perf" server --addr 10.0.0.1:9000 "$@" >"$work/server-$label.log" 2>&1 &
    pids+=($!)
    wait_socket "$work/server-$label.log"
    LIBOS=catnip DEMI_LOCAL_IPV4_ADDR=10.0.0.2 DEMI_DPDK_EAL_INIT="--lcores 0@0 $(memif client)" \
        timeout "$TIMEOUT" "$perf" client --addr 10.0.0.1:9000 --size "$SIZE" --count "$COUNT" --warmup 2000 \
        --timeout "$TIMEOUT" "$@" | tee "$work/client-$label.out"
    grep '^RESULT' "$work/client-$label.out" | sed "s/^RESULT run=demi/RESULT run=$label/" >>"$results"
    stop_all
}
rawudp() { # window, extra rawping args...
    local w=$1
    shift
    "$rawping" --no-pci --in-memory --file-prefix demi-bench-raw --lcores 0@0 --log-level='*:error' "$(memif client)" \
        -- --udp 10.0.0.2,10.0.0.1:9000 --size "$udp_frame" --count "$COUNT" --window "$w" --timeout "$TIMEOUT" "$@" |
        tee -a "$work/fwd.out"
}

run_round() {
    : >"$work/raw.out"
    : >"$results"
    : >"$work/fwd.out"
    # ---- 1. the floor: raw frames echoed by testpmd ----
    echo "=== raw DPDK over memif: dpdk_rawping <-> dpdk-testpmd macswap ($SIZE B, $tcp_frame B and $udp_frame B frames)"
    # One rawping per testpmd: testpmd's memif server does not survive a client going away.
    for frame in "$SIZE" "$tcp_frame" "$udp_frame"; do
        testpmd_server
        raw 1 "$frame"
        stop_all
    done

    # ---- 2. catnip over memif ----
    echo
    echo "=== catnip over memif, TCP"
    catnip_pair catnip-tcp
    echo
    echo "=== catnip over memif, UDP"
    catnip_pair catnip-udp --udp

    # ---- 3. catnap over kernel loopback ----
    echo
    echo "=== catnap over 127.0.0.1, TCP"
    LIBOS=catnap timeout "$TIMEOUT" "$perf" server --addr 127.0.0.1:9100 --cpu 1 >"$work/server-catnap.log" 2>&1 &
    pids+=($!)
    sleep 0.3
    LIBOS=catnap timeout "$TIMEOUT" "$perf" client --addr 127.0.0.1:9100 --cpu 0 --size "$SIZE" --count "$COUNT" \
        --warmup 2000 --timeout "$TIMEOUT" | tee "$work/client-catnap.out"
    grep '^RESULT' "$work/client-catnap.out" | sed 's/^RESULT run=demi/RESULT run=catnap-tcp/' >>"$results"
    stop_all

    # ---- 4. small-message throughput with WINDOW in flight ----
    echo
    echo "=== throughput, $WINDOW in flight: raw testpmd forwarding vs catnip UDP ($WINDOW connections)"
    testpmd_server
    raw "$WINDOW" "$udp_frame"
    stop_all
    catnip_pair catnip-udp-window --udp --conns "$WINDOW"

    # ---- 5. the forwarder alone: one raw UDP client, testpmd or a catnip echo server ----
    echo
    echo "=== forwarder alone: raw UDP client ($udp_frame B frames) against testpmd, then against catnip (demi-perf server --udp)"
    for w in 1 "$WINDOW"; do
        testpmd_server
        echo -n "testpmd: " >>"$work/fwd.out"
        rawudp "$w" --no-arp
        stop_all
        LIBOS=catnip DEMI_LOCAL_IPV4_ADDR=10.0.0.1 DEMI_DPDK_EAL_INIT="--lcores 0@1 $(memif server)" \
            timeout "$TIMEOUT" "$perf" server --udp --addr 10.0.0.1:9000 >"$work/server-fwd-$w.log" 2>&1 &
        pids+=($!)
        wait_socket "$work/server-fwd-$w.log"
        echo -n "catnip: " >>"$work/fwd.out"
        rawudp "$w"
        stop_all
    done
}

# The round's summary; appends its figures (key=value, for the medians) to $figures.
summarize() { # round
    echo
    echo "== summary${2:+ of round $1 of $2} ($SIZE B, client CPU 0, server CPU 1; $COUNT round trips per row) =="
    awk '
        /^rawping/ {
            w = $3; sub("window=", "", w); sz = $2; sub("size=", "", sz)
            for (i = 1; i <= NF; i++) { if ($i == "p50") p50 = $(i+1); if ($i == "p99") p99 = $(i+1); if ($i == "msg/s") rate = $(i-1) }
            printf "%-22s p50 %8.2f us   p99 %8.2f us   %11.0f msg/s\n", "raw-w" w "-" sz "B", p50, p99, rate
        }' "$work/raw.out"
    awk '
        /^RESULT/ {
            delete v
            for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
            printf "%-22s p50 %8.2f us   p99 %8.2f us   %11.0f msg/s\n", v["run"], v["p50_us"], v["p99_us"], v["msgs_per_s"]
        }' "$results"
    local raw_w raw_1 raw_t
    raw_w=$(awk -v w="$WINDOW" -v s="$udp_frame" '/^rawping/ && $2 == "size=" s && $3 == "window=" w { for (i = 1; i <= NF; i++) if ($i == "msg/s") print $(i-1) }' "$work/raw.out")
    raw_1=$(awk -v s="$udp_frame" '/^rawping/ && $2 == "size=" s && $3 == "window=1" { for (i = 1; i <= NF; i++) if ($i == "p50") print $(i+1) }' "$work/raw.out")
    raw_t=$(awk -v s="$tcp_frame" '/^rawping/ && $2 == "size=" s && $3 == "window=1" { for (i = 1; i <= NF; i++) if ($i == "p50") print $(i+1) }' "$work/raw.out")
    # The ratios, from the forwarder rows and the demi-perf rows.
    awk -v raw_w="${raw_w:-0}" -v raw_1="${raw_1:-0}" -v raw_t="${raw_t:-0}" -v tf="$tcp_frame" -v uf="$udp_frame" \
        -v w="$WINDOW" -v round="$1" -v figures="$figures" -v fwd="$work/fwd.out" -v res="$results" '
        FILENAME == fwd && /rawping-udp/ {
            who = $1; sub(":", "", who); win = $4; sub("window=", "", win)
            for (i = 1; i <= NF; i++) { if ($i == "p50") fp50[who, win] = $(i+1); if ($i == "msg/s") frate[who, win] = $(i-1) }
        }
        FILENAME == res && /^RESULT/ {
            delete v
            for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
            p50[v["run"]] = v["p50_us"]; p99[v["run"]] = v["p99_us"]; rate[v["run"]] = v["msgs_per_s"]
        }
        function fig(k, x) { line = line " " k "=" x }
        END {
            line = "round=" round
            if (("catnip-tcp" in p50) && ("catnap-tcp" in p50) && p50["catnip-tcp"] > 0 && p99["catnip-tcp"] > 0) {
                printf "catnap/catnip TCP: p50 %.1fx   p99 %.1fx lower on catnip (target: >= 10x)\n",
                       p50["catnap-tcp"] / p50["catnip-tcp"], p99["catnap-tcp"] / p99["catnip-tcp"]
                fig("catnip_tcp_p50_us", p50["catnip-tcp"]); fig("catnip_tcp_p99_us", p99["catnip-tcp"])
                fig("catnap_tcp_p50_us", p50["catnap-tcp"]); fig("catnap_tcp_p99_us", p99["catnap-tcp"])
                fig("ratio_p50", p50["catnap-tcp"] / p50["catnip-tcp"]); fig("ratio_p99", p99["catnap-tcp"] / p99["catnip-tcp"])
            }
            if (("catnip-tcp" in p50) && raw_t > 0) {
                printf "catnip TCP round trip vs raw %d B frames: p50 %.2f us vs %.2f us (+%.2f us)\n", tf, p50["catnip-tcp"], raw_t, p50["catnip-tcp"] - raw_t
                fig("raw_tcp_frame_p50_us", raw_t)
            }
            # The link alone bounds the ratio: a libOS that cost nothing would still take the raw round trip.
            if (("catnap-tcp" in p50) && raw_t > 0) {
                printf "ceiling of catnap/catnip over this link: catnap p50 %.2f us / raw %d B frames p50 %.2f us = %.1fx\n", p50["catnap-tcp"], tf, raw_t, p50["catnap-tcp"] / raw_t
                fig("ceiling", p50["catnap-tcp"] / raw_t)
            }
            if (("catnip-udp" in p50) && raw_1 > 0) {
                printf "catnip UDP round trip vs raw %d B frames: p50 %.2f us vs %.2f us (+%.2f us, +%.0f%%; target: at most +25%%)\n", uf, p50["catnip-udp"], raw_1, p50["catnip-udp"] - raw_1, 100 * (p50["catnip-udp"] / raw_1 - 1)
                fig("catnip_udp_p50_us", p50["catnip-udp"]); fig("raw_udp_frame_p50_us", raw_1); fig("udp_rt_over_raw_pct", 100 * (p50["catnip-udp"] / raw_1 - 1))
            }
            if (("catnip-udp-window" in rate) && raw_w > 0) {
                printf "catnip UDP throughput vs raw forwarding of %d B frames: %.0f vs %.0f msg/s (%.0f%% of raw; target: at least 75%%)\n", uf, rate["catnip-udp-window"], raw_w, 100 * rate["catnip-udp-window"] / raw_w
                fig("udp_tput_pct_of_raw", 100 * rate["catnip-udp-window"] / raw_w)
            }
            if ((("testpmd", 1) in fp50) && (("catnip", 1) in fp50) && fp50["testpmd", 1] > 0) {
                printf "forwarder alone, 1 in flight: testpmd p50 %.2f us, catnip UDP echo server p50 %.2f us (+%.2f us, +%.0f%%)\n",
                       fp50["testpmd", 1], fp50["catnip", 1], fp50["catnip", 1] - fp50["testpmd", 1], 100 * (fp50["catnip", 1] / fp50["testpmd", 1] - 1)
                fig("fwd1_testpmd_p50_us", fp50["testpmd", 1]); fig("fwd1_catnip_p50_us", fp50["catnip", 1]); fig("fwd1_over_testpmd_pct", 100 * (fp50["catnip", 1] / fp50["testpmd", 1] - 1))
            }
            if ((("testpmd", w) in frate) && (("catnip", w) in frate) && frate["testpmd", w] > 0) {
                printf "forwarder alone, %d in flight: testpmd %.0f msg/s, catnip UDP echo server %.0f msg/s (%.0f%% of raw)\n",
                       w, frate["testpmd", w], frate["catnip", w], 100 * frate["catnip", w] / frate["testpmd", w]
                fig("fwdw_pct_of_testpmd", 100 * frate["catnip", w] / frate["testpmd", w])
            }
            print line >> figures
        }' "$work/fwd.out" "$results"
}


# ---- medians over the rounds ----
print_medians() { # header
    echo
    echo "== $1 (each round's figures in order; a ratio's median is the median of the rounds' ratios; a figure a round could not measure is left out) =="
    awk '
        {
            for (i = 2; i <= NF; i++) {
                split($i, kv, "=")
                if (!(kv[1] in n)) order[++keys] = kv[1]
                vals[kv[1], ++n[kv[1]]] = kv[2] + 0
            }
        }
        END {
            for (k = 1; k <= keys; k++) {
                key = order[k]; m = n[key]
                list = ""
                for (i = 1; i <= m; i++) { a[i] = vals[key, i]; list = list (i > 1 ? ", " : "") sprintf("%.2f", a[i]) }
                for (i = 2; i <= m; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j+1] = a[j]; a[j+1] = x }
                med = (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
                printf "%-24s median %9.2f   (%s)\n", key, med, list
            }
        }' "$figures"
}

# A round that fails ends the run (set -e); the rounds before it still give their medians.
rounds_done=0
on_exit() {
    local rc=$?
    if ((rc != 0 && rounds_done > 0 && ROUNDS > 1)); then
        print_medians "the run failed in round $((rounds_done + 1)) of $ROUNDS: medians over the $rounds_done round(s) completed"
    fi
    cleanup
    exit "$rc"
}
trap on_exit EXIT
for ((round = 1; round <= ROUNDS; round++)); do
    if ((ROUNDS > 1)); then echo; echo "######## round $round of $ROUNDS"; fi
    run_round
    if ((ROUNDS > 1)); then summarize "$round" "$ROUNDS"; else summarize "$round"; fi
    rounds_done=$round
done
if ((ROUNDS > 1)); then print_medians "medians over $ROUNDS rounds"; fi
