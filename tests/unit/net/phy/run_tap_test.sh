#!/usr/bin/env bash
# Runs the TAP test binary (and its arguments) with a namespace name this script owns, so the
# namespace is deleted even when the test dies before its own RAII cleanup runs (a crash, a signal).
set -u
ns="demi-tap-$$"
child=""
cleanup() {
    [ -n "$child" ] && kill "$child" 2>/dev/null
    ip netns del "$ns" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# The test bounds itself to a few seconds; this bound is the backstop, below ctest's TIMEOUT.
DEMI_TAP_NETNS="$ns" timeout -k 2 20 "$@" &
child=$!
wait "$child"
rc=$?
child=""
exit "$rc"
