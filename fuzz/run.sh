#!/usr/bin/env bash
# Runs every built libFuzzer target under fuzz/ for a bounded time over a copy of its seed corpus.
# Builds nothing: configure with -DCMAKE_CXX_COMPILER=clang++ -DDEMI_FUZZ=ON and build `demi_fuzz` first.
#
#   fuzz/run.sh [SECONDS]      total time for all targets (default 60), split evenly between them
#
# Environment:
#   DEMI_FUZZ_BIN_DIR   where the fuzz_* binaries are (default: the first of build*/fuzz that has any)
#   DEMI_FUZZ_OUT_DIR   where corpus copies, logs and crash artifacts go (default: a new temp dir)
#   DEMI_FUZZ_RSS_MB    memory limit per target in MiB (default 2048)
# Exits non-zero if any target finds a crash, leak, timeout or sanitizer report.
set -euo pipefail

total=${1:-60}
if ! [[ $total =~ ^[0-9]+$ ]] || (( total < 1 )); then
    echo "usage: $0 [SECONDS]" >&2
    exit 2
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")

bin_dir=${DEMI_FUZZ_BIN_DIR:-}
if [[ -z $bin_dir ]]; then
    for d in "$root"/build*/fuzz; do
        if compgen -G "$d/fuzz_*" > /dev/null; then bin_dir=$d; break; fi
    done
fi
if [[ -z $bin_dir || ! -d $bin_dir ]]; then
    echo "no fuzz targets found; build them (clang, -DDEMI_FUZZ=ON) or set DEMI_FUZZ_BIN_DIR" >&2
    exit 2
fi

targets=()
for b in "$bin_dir"/fuzz_*; do
    [[ -f $b && -x $b ]] && targets+=("$(basename "$b")")
done
if (( ${#targets[@]} == 0 )); then
    echo "no fuzz_* executables in $bin_dir" >&2
    exit 2
fi

per=$(( total / ${#targets[@]} ))
(( per >= 1 )) || per=1
out=${DEMI_FUZZ_OUT_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/demi-fuzz.XXXXXX")}
mkdir -p "$out"
rss=${DEMI_FUZZ_RSS_MB:-2048}

echo "fuzzing ${#targets[@]} targets from $bin_dir, ${per}s each; output in $out"
failed=()
for t in "${targets[@]}"; do
    name=${t#fuzz_}
    work="$out/$name"
    mkdir -p "$work/corpus" "$work/artifacts"
    if [[ -d $here/corpus/$name ]]; then cp -r "$here/corpus/$name/." "$work/corpus/"; fi
    if "$bin_dir/$t" -max_total_time="$per" -rss_limit_mb="$rss" -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$work/artifacts/" "$work/corpus" > "$work/log" 2>&1; then
        execs=$(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$work/log" | grep -o '[0-9]*$' || echo '?')
        printf '  %-16s ok   %s runs, corpus %s files\n' "$name" "$execs" "$(ls "$work/corpus" | wc -l)"
    else
        printf '  %-16s FAIL (see %s)\n' "$name" "$work/log"
        tail -n 30 "$work/log" | sed 's/^/    /'
        failed+=("$name")
    fi
done

if (( ${#failed[@]} != 0 )); then
    echo "failed: ${failed[*]}; reproduce with: <target> <artifact> (artifacts under $out/<name>/artifacts)" >&2
    exit 1
fi
echo "all fuzz targets clean"
