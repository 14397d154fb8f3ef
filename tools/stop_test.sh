#!/usr/bin/env bash
# demi-perf's server ends normally (exit 0) on SIGTERM, also when the signal comes twice in a row, as
# timeout(1) passes it on (to its child, then to its process group): one request, not "a second
# signal ends it at once". Ten rounds each, directly and under timeout(1). Usage: stop_test.sh DEMI_PERF
set -u
perf=${1:?usage: $0 DEMI_PERF}
tmp=$(mktemp -d /tmp/demi-perf-stop.XXXXXX) || exit 1
pid=""
cleanup() {
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    [ -f "$tmp/out" ] && sed 's/^/  server: /' "$tmp/out" >&2
    exit 1
}
start() { # [timeout]: the server (LIBOS=catnap, any free port), once it listens
    : >"$tmp/out"
    if [ "${1:-}" = timeout ]; then
        LIBOS=catnap timeout -k 5 30 "$perf" server --addr 127.0.0.1:0 >"$tmp/out" 2>&1 &
    else
        LIBOS=catnap "$perf" server --addr 127.0.0.1:0 --timeout 30 >"$tmp/out" 2>&1 &
    fi
    pid=$!
    for _ in $(seq 100); do
        grep -q "listening on" "$tmp/out" && return 0
        sleep 0.05
    done
    fail "the server did not come up"
}
for i in $(seq 10); do
    start
    kill -TERM "$pid"
    sleep 0.01
    kill -TERM "$pid" 2>/dev/null
    rc=0
    wait "$pid" || rc=$?
    pid=""
    [ "$rc" = 0 ] || fail "round $i: two SIGTERMs 10 ms apart: exit status $rc, not 0"
done
for i in $(seq 10); do
    start timeout
    kill -TERM "$pid"
    rc=0
    wait "$pid" || rc=$?
    pid=""
    [ "$rc" = 0 ] || fail "round $i: SIGTERM to timeout(1): exit status $rc, not 0"
done
echo "ok: 20 stops, every one exit 0"
