#!/usr/bin/env bash
# Each public C header must compile on its own, warning-free, in strict C99 with no feature-test
# macro defined (as gcc -std=c99 leaves it), and as C++20.
# usage: headers.sh CC CXX INCLUDE_DIR
set -u
cc=$1 cxx=$2 inc=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0 pass=0
for h in "$inc"/demi/*.h; do
  name=demi/$(basename "$h")
  printf '#include <%s>\nint main(void) { return 0; }\n' "$name" >"$tmp/t.c"
  if "$cc" -std=c99 -Wall -Wextra -Werror -O3 -fsyntax-only -I"$inc" "$tmp/t.c" 2>"$tmp/err"; then
    echo "pass: $name alone, gcc -std=c99 without feature macros"; pass=$((pass + 1))
  else
    echo "FAIL: $name alone, gcc -std=c99 without feature macros:"; sed 's/^/    /' "$tmp/err"; fail=$((fail + 1))
  fi
  cp "$tmp/t.c" "$tmp/t.cpp"
  if "$cxx" -std=c++20 -Wall -Wextra -Werror -fsyntax-only -I"$inc" "$tmp/t.cpp" 2>"$tmp/err"; then
    echo "pass: $name alone, C++20"; pass=$((pass + 1))
  else
    echo "FAIL: $name alone, C++20:"; sed 's/^/    /' "$tmp/err"; fail=$((fail + 1))
  fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
