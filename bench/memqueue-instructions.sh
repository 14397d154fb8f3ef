#!/usr/bin/env bash
# Instructions per memory-queue round (push + pop + 2 waits + free), counted by callgrind: stable
# whatever else the machine is doing. Usage: bench/memqueue-instructions.sh BUILD_DIR
set -euo pipefail
bin=${1:?usage: $0 BUILD_DIR}/bench/memqueue_rounds
count() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" 2>&1 | awk '/refs:/ {gsub(",", "", $NF); print $NF}'; }
a=$(count 10000)
b=$(count 30000)
echo "memqueue round: $(((b - a) / 20000)) instructions (callgrind, 20000-round difference)"
