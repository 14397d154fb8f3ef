#!/usr/bin/env bash
# Installs the build into a temporary prefix, then builds and runs two programs outside the tree:
# one with find_package(Demi) + Demi::demi, one with pkg-config demi. Cleans up on every path.
# Usage: install-test.sh BUILD_DIR CC CXX [FLAGS]  (the compilers and flags the library was built with,
# so a sanitized library is used by sanitized programs)
set -euo pipefail
build_dir=$1
cc=${2:-gcc}
cxx=${3:-g++}
flags=${4:-}
src_dir=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Runs a step quietly; on failure shows what it printed.
step() {
  if ! "$@" >"$work/step.log" 2>&1; then
    echo "install-test: failed: $*" >&2
    cat "$work/step.log" >&2
    exit 1
  fi
}

step cmake --install "$build_dir" --prefix "$work/prefix"
libdir=$(find "$work/prefix" -name 'libdemi.so' -printf '%h\n' | head -n1)
[[ -n $libdir ]] || { echo "install-test: libdemi.so not installed" >&2; exit 1; }

step cmake -S "$src_dir/consumer" -B "$work/build" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags"
step cmake --build "$work/build"
LD_LIBRARY_PATH=$libdir "$work/build/consumer_cxx"

export PKG_CONFIG_PATH=$libdir/pkgconfig
# shellcheck disable=SC2046
step "$cc" -std=c99 -Wall -Wextra -Werror -O2 $flags "$src_dir/consumer/main.c" -o "$work/consumer_c" \
  $(pkg-config --cflags --libs demi)
LD_LIBRARY_PATH=$libdir "$work/consumer_c"
