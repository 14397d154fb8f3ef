#!/usr/bin/env bash
# Installs the build into a temporary prefix, then builds and runs two programs outside the tree:
# one with find_package(Demi) + Demi::demi, one with pkg-config demi. Cleans up on every path.
set -euo pipefail
build_dir=$1
src_dir=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
libdir=$(find "$work/prefix" -name 'libdemi.so' -printf '%h\n' | head -n1)
[[ -n $libdir ]] || { echo "install-test: libdemi.so not installed" >&2; exit 1; }

cmake -S "$src_dir/consumer" -B "$work/build" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/build" >/dev/null
LD_LIBRARY_PATH=$libdir "$work/build/consumer_cxx"

export PKG_CONFIG_PATH=$libdir/pkgconfig
# shellcheck disable=SC2046
gcc -std=c99 -Wall -Wextra -Werror -O2 "$src_dir/consumer/main.c" -o "$work/consumer_c" $(pkg-config --cflags --libs demi)
LD_LIBRARY_PATH=$libdir "$work/consumer_c"
