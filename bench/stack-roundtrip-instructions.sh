#!/usr/bin/env bash
# Instructions per 64-byte echo round trip through two inetstack runtimes (bench/stack_roundtrip.cpp),
# counted by callgrind as the difference of two runs so set-up and warm-up cancel: stable whatever
# else the machine is doing; then the instructions of one busy-poll round of a server waiting for a
# request (stack_roundtrip --idle). Usage: bench/stack-roundtrip-instructions.sh BUILD_DIR  (Release build)
set -euo pipefail
bin=${1:?usage: $0 BUILD_DIR}/bench/stack_roundtrip
count() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" --count "$1" --runs 1 "${@:2}" 2>&1 |
        awk '/refs:/ {gsub(",", "", $NF); print $NF}'
}
for mode in "tcp" "tcp --offload" "udp --udp" "udp --udp --offload"; do
    set -- $mode
    label=$1
    shift
    a=$(count 5000 "$@")
    b=$(count 15000 "$@")
    echo "$label round trip, checksums $([[ " $* " == *" --offload "* ]] && echo offloaded || echo software): $(((b - a) / 10000)) instructions (callgrind, 10000-round-trip difference)"
done
for mode in "tcp" "udp --udp"; do
    set -- $mode
    label=$1
    shift
    a=$(count 100000 --idle "$@")
    b=$(count 300000 --idle "$@")
    echo "$label idle server poll round: $(((b - a) / 200000)) instructions (callgrind, 200000-round difference)"
done
