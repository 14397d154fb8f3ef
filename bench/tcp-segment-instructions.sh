#!/usr/bin/env bash
# Instructions per TCP segment in steady state (segment in, read by the application, ACK out; no
# device cost), counted by callgrind inside feed_batch() only (frame building is left out), as the
# difference of two runs so fixed costs cancel: stable whatever else the machine is doing.
# Usage: bench/tcp-segment-instructions.sh BUILD_DIR      (a Release build with tcp_segment_cost)
# Counts both checksum modes for both ways of reading (host::recv copies, host::recv_buffer does not).
set -euo pipefail
bin=${1:?usage: $0 BUILD_DIR}/bench/tcp_segment_cost
count() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null --toggle-collect='*feed_batch*' \
        "$bin" "$1" --runs 1 --mode "$2" --read "$3" 2>&1 | awk '/refs:/ {gsub(",", "", $NF); print $NF}'
}
for read in copy buffer; do
    for mode in software offload; do
        a=$(count 10000 "$mode" "$read")
        b=$(count 30000 "$mode" "$read")
        echo "TCP segment, read $read, rx checksums $mode: $(((b - a) / 20000)) instructions (callgrind, 20000-segment difference)"
    done
done
