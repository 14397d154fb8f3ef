#!/usr/bin/env bash
# TCP bulk goodput: catnip over net_memif at MTU 1500 and MTU 9000 next to iperf3 over kernel
# loopback (127.0.0.1), in one run; the sender on CPU 0 and the receiver on CPU 1 for every row.
#   catnip: bench/demi-bulk client -> server (one connection, BYTES bytes in pushes of CHUNK bytes, no
#           checking), LIBOS=catnip; memif with bsize=BSIZE so a jumbo frame is one memif buffer
#   kernel: iperf3 -c 127.0.0.1 -A 0 -> iperf3 -s -A 1, one stream, IPERF_SECONDS seconds
# RUNS rounds of the three rows (interleaved, so a round's rows share the machine's load); the median of
# each row is reported, with the ratio to the kernel's.
#
#   bench/run-catnip-bulk.sh BUILD_DIR
#
# BUILD_DIR must hold bench/demi-bulk (a Release build with DPDK). Needs root (hugepages, reserved
# with scripts/hugepages and released on exit) and iperf3 (scripts/setup installs it). Environment:
# BYTES (per catnip run, default 4 GiB), CHUNK (bytes per push, default 65536), IPERF_SECONDS
# (default 5), RUNS (default 3), BSIZE (memif buffer size, default 9216), TIMEOUT (s per process,
# default 120), KEEP=1 keeps the logs.
set -euo pipefail

if [[ $# -lt 1 || "$1" == "-h" || "$1" == "--help" ]]; then
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
build=$(cd "$1" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
bulk=$build/bench/demi-bulk
[[ -x $bulk ]] || { echo "run-catnip-bulk: $bulk not found (a build with DPDK: cmake --build $1 --target demi-bulk)" >&2; exit 1; }
command -v iperf3 >/dev/null || { echo "run-catnip-bulk: iperf3 not found (Debian package iperf3; scripts/setup installs it)" >&2; exit 1; }
[[ $(id -u) == 0 ]] || { echo "run-catnip-bulk: needs root (hugepages, DPDK)" >&2; exit 1; }

BYTES=${BYTES:-$((4 * 1024 * 1024 * 1024))}
IPERF_SECONDS=${IPERF_SECONDS:-5}
RUNS=${RUNS:-3}
BSIZE=${BSIZE:-9216}
CHUNK=${CHUNK:-65536}
TIMEOUT=${TIMEOUT:-120}

work=$(mktemp -d /tmp/demi-bench-bulk.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf /var/run/dpdk/demi-bulk-"$$"-*
    "$root/scripts/hugepages" release >/dev/null || true
    if [[ -n ${KEEP:-} ]]; then echo "logs kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
"$root/scripts/hugepages" reserve 1024

results=$work/results
: >"$results"
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# ---- catnip over memif: demi-bulk, the receiver (memif server) on CPU 1, the sender on CPU 0 ----
n=0
catnip_run() { # mtu
    local mtu=$1
    n=$((n + 1))
    local sock=$work/memif-$n.sock so=$work/catnip-$mtu-$n.server co=$work/catnip-$mtu-$n.client
    local memif="net_memif0,socket=$sock,socket-abstract=no,bsize=$BSIZE"
    # Static ARP both ways: no resolution before the first segment.
    # The receiver's FIN is never acknowledged once the sender has gone: it waits 300 ms, not 2 s.
    printf 'dpdk:\n  link_wait_ms: 200\ninetstack_config:\n  drain_ms: 300\n  arp_table:\n    "02:00:00:00:b0:02": "10.0.0.2"\n' >"$work/server.yaml"
    printf 'inetstack_config:\n  arp_table:\n    "02:00:00:00:b0:01": "10.0.0.1"\n' >"$work/client.yaml"
    LIBOS=catnip DEMI_LOCAL_IPV4_ADDR=10.0.0.1 DEMI_MTU=$mtu CONFIG_PATH=$work/server.yaml DEMI_LOG=info \
        DEMI_DPDK_EAL_INIT="--vdev=$memif,role=server,mac=02:00:00:00:b0:01 --lcores 0@1 --file-prefix=demi-bulk-$$-s$n --in-memory" \
        timeout -k 2 "$TIMEOUT" "$bulk" server --addr 10.0.0.1:9000 --timeout "$((TIMEOUT - 5))" >"$so" 2>&1 &
    local spid=$!
    pids+=("$spid")
    for _ in $(seq 200); do
        grep -q '^listening' "$so" && break
        kill -0 "$spid" 2>/dev/null || break
        sleep 0.05
    done
    grep -q '^listening' "$so" || { echo "run-catnip-bulk: the catnip server did not start; its log:" >&2; tail -20 "$so" >&2; exit 1; }
    LIBOS=catnip DEMI_LOCAL_IPV4_ADDR=10.0.0.2 DEMI_MTU=$mtu CONFIG_PATH=$work/client.yaml DEMI_LOG=info \
        DEMI_DPDK_EAL_INIT="--vdev=$memif,role=client,mac=02:00:00:00:b0:02 --lcores 0@0 --file-prefix=demi-bulk-$$-c$n --in-memory" \
        timeout -k 2 "$TIMEOUT" "$bulk" client --addr 10.0.0.1:9000 --bytes "$BYTES" --chunk "$CHUNK" --timeout "$((TIMEOUT - 5))" >"$co" 2>&1 ||
        { echo "run-catnip-bulk: the catnip client failed; its log:" >&2; tail -20 "$co" >&2; exit 1; }
    wait "$spid" || { echo "run-catnip-bulk: the catnip server failed; its log:" >&2; tail -20 "$so" >&2; exit 1; }
    pids=()
    local g
    g=$(sed -n 's/^RESULT role=server .*gbit_per_s=\([0-9.]*\).*/\1/p' "$so")
    [[ -n $g ]] || { echo "run-catnip-bulk: no result from the catnip server; its log:" >&2; tail -20 "$so" >&2; exit 1; }
    # The receiver's TCP counters: retransmissions and timeouts show up here.
    local tcp
    tcp=$(grep -h 'inetstack: tcp:' "$co" | sed 's/.*tcp: //' | head -1)
    printf 'catnip-mtu%s run %d: %s Gbit/s   (sender: %s)\n' "$mtu" "$n" "$g" "$tcp"
    echo "catnip-mtu$mtu $g" >>"$results"
}
# ---- iperf3 over kernel loopback: the receiver (iperf3 -s) on CPU 1, the sender on CPU 0 ----
iperf3_run() { # round
    local r=$1 g
    timeout -k 2 "$TIMEOUT" iperf3 -s -1 -A 1 -p 5299 >"$work/iperf3-server-$r.log" 2>&1 &
    pids+=($!)
    sleep 0.3
    timeout -k 2 "$TIMEOUT" iperf3 -c 127.0.0.1 -p 5299 -A 0 -t "$IPERF_SECONDS" -J >"$work/iperf3-$r.json"
    wait "${pids[@]}" || true
    pids=()
    g=$(python3 -c 'import json,sys; print("%.3f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e9))' "$work/iperf3-$r.json")
    printf 'kernel-iperf3 run %d: %s Gbit/s\n' "$r" "$g"
    echo "kernel-iperf3 $g" >>"$results"
}

# Rounds of the three rows one after the other, so each round's rows see the same machine load.
echo "=== $RUNS rounds: catnip over memif at MTU 1500 and 9000 ($BYTES bytes, $CHUNK-byte pushes), iperf3 over 127.0.0.1 (${IPERF_SECONDS} s)"
for r in $(seq "$RUNS"); do
    catnip_run 1500
    catnip_run 9000
    iperf3_run "$r"
done

# ---- summary ----
echo
echo "== summary: median of $RUNS runs, sender CPU 0, receiver CPU 1 =="
k=$(awk '$1 == "kernel-iperf3" { print $2 }' "$results" | median)
for row in catnip-mtu1500 catnip-mtu9000 kernel-iperf3; do
    m=$(awk -v r="$row" '$1 == r { print $2 }' "$results" | median)
    printf '%-16s %8s Gbit/s   %5s x kernel loopback\n' "$row" "$m" "$(awk -v a="$m" -v b="$k" 'BEGIN { printf "%.2f", a / b }')"
done
