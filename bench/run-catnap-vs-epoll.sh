#!/usr/bin/env bash
# Compares catnap's 64-byte TCP echo round trip with plain kernel sockets + epoll, in one run.
# Builds nothing: give it a build directory that already holds tools/demi-perf.
#
#   bench/run-catnap-vs-epoll.sh BUILD_DIR [extra demi-perf options...]
#
# Environment: COUNT (default 100000 round trips), WARMUP (default 2000 per connection),
# CONNS (default 1), SIZE (default 64), ROUNDS (default 4: Demi and baseline alternate who goes
# first), TIMEOUT (default 300 s).
set -euo pipefail

if [[ $# -lt 1 || "$1" == "-h" || "$1" == "--help" ]]; then
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
build_dir=$1
shift
perf="$build_dir/tools/demi-perf"
if [[ ! -x "$perf" ]]; then
    echo "run-catnap-vs-epoll: $perf not found; build it first: cmake --build $build_dir --target demi-perf" >&2
    exit 1
fi

out=$(mktemp)
trap 'rm -f "$out"' EXIT

LIBOS=catnap "$perf" pingpong --baseline \
    --size "${SIZE:-64}" --count "${COUNT:-100000}" --conns "${CONNS:-1}" \
    --warmup "${WARMUP:-2000}" --rounds "${ROUNDS:-4}" --timeout "${TIMEOUT:-300}" "$@" | tee "$out"

echo
echo "== summary: catnap vs kernel+epoll (${SIZE:-64} B, ${CONNS:-1} conn) =="
grep '^host:' "$out" || true
awk '
    /^RESULT run=(demi|baseline)/ {
        for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        printf "%-8s p50 %8.2f us   p99 %8.2f us   p99.9 %8.2f us   %10.0f msg/s\n", v["run"], v["p50_us"], v["p99_us"], v["p999_us"], v["msgs_per_s"]
    }
    /^RESULT run=ratio/ {
        for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        printf "ratio demi/baseline: p50 %.3f   p99 %.3f   (target: p50 within 10%%, i.e. <= 1.10)\n", v["p50"], v["p99"]
    }' "$out"
echo "(Demi busy-polls before it sleeps: on a loaded machine, or with client and server sharing a CPU,"
echo " its latency suffers far more than the blocking baseline's; compare only quiet runs.)"
