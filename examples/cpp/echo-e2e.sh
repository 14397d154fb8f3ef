#!/usr/bin/env bash
# End-to-end check of demi-echo-server with demi-echo-check, bounded in time.
#
#   echo-e2e.sh --server BIN --check BIN [options] [-- CHECK_ARGS...]
#
# Options:
#   --count N             start the server with --count N; it must then exit by itself, 0, having
#                         served exactly N connections. Without it the server is stopped with
#                         SIGTERM once the check is over and must exit 0.
#   --timeout SECONDS     limit for each process (default 60)
#   --grace SECONDS       how long the server may take to exit after the check (default 10)
#   --expect-check-fail REGEX
#                         the check must fail (exit 1) with stderr matching REGEX (extended); the
#                         server may then end either way
#
# The server listens on 127.0.0.1 port 0 (a free port, so tests never collide); its first line
# of output names the port, which is handed to the checker as --addr. Both processes run under
# timeout(1) and are killed by PID on every exit path.
set -u

server_bin=""
check_bin=""
count=""
timeout_s=60
grace_s=10
expect_fail=""

die() { echo "echo-e2e: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case $1 in
    --server) server_bin=$2; shift 2 ;;
    --check) check_bin=$2; shift 2 ;;
    --count) count=$2; shift 2 ;;
    --timeout) timeout_s=$2; shift 2 ;;
    --grace) grace_s=$2; shift 2 ;;
    --expect-check-fail) expect_fail=$2; shift 2 ;;
    --) shift; break ;;
    *) die "unknown option $1" ;;
  esac
done
[ -x "$server_bin" ] || die "--server must name an executable (got '$server_bin')"
[ -x "$check_bin" ] || die "--check must name an executable (got '$check_bin')"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/echo-e2e.XXXXXX") || die "mktemp failed"
spid=""
cpid=""
cleanup() {
  local p
  for p in $cpid $spid; do
    if kill -0 "$p" 2>/dev/null; then
      kill -TERM "$p" 2>/dev/null
      sleep 0.2
      kill -KILL "$p" 2>/dev/null
    fi
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

show() {
  sed 's/^/[server] /' "$tmp/server.out"
  sed 's/^/[server:stderr] /' "$tmp/server.err"
  [ -f "$tmp/check.out" ] && sed 's/^/[check] /' "$tmp/check.out"
  [ -f "$tmp/check.err" ] && sed 's/^/[check:stderr] /' "$tmp/check.err"
  return 0
}
fail() {
  show
  echo "echo-e2e: FAIL: $*"
  exit 1
}

server_args=(--addr 127.0.0.1:0)
[ -n "$count" ] && server_args+=(--count "$count")
echo "echo-e2e: server: $server_bin ${server_args[*]}"
timeout -k 5 "$timeout_s" "$server_bin" "${server_args[@]}" >"$tmp/server.out" 2>"$tmp/server.err" &
spid=$!

# Wait for "listening on 127.0.0.1:PORT".
port=""
deadline=$((SECONDS + timeout_s))
while [ -z "$port" ]; do
  port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$tmp/server.out" | head -n 1)
  [ -n "$port" ] && break
  kill -0 "$spid" 2>/dev/null || fail "the server exited before listening"
  [ $SECONDS -lt $deadline ] || fail "the server did not listen within ${timeout_s}s"
  sleep 0.02
done
[ "$port" -gt 0 ] || fail "the server reported port $port"

echo "echo-e2e: check: $check_bin --addr 127.0.0.1:$port $*"
timeout -k 5 "$timeout_s" "$check_bin" --addr "127.0.0.1:$port" "$@" >"$tmp/check.out" 2>"$tmp/check.err" &
cpid=$!
wait "$cpid"
crc=$?
cpid=""

if [ -n "$expect_fail" ]; then
  [ $crc -eq 1 ] || fail "the check exited $crc; expected 1 (a detected failure)"
  grep -Eq -- "$expect_fail" "$tmp/check.err" || fail "the check's stderr does not match /$expect_fail/"
else
  [ $crc -eq 0 ] || fail "the check exited $crc"
fi

# The server: with --count it ends by itself; otherwise stop it with SIGTERM.
[ -n "$count" ] || kill -TERM "$spid" 2>/dev/null
deadline=$((SECONDS + grace_s))
while kill -0 "$spid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
if kill -0 "$spid" 2>/dev/null; then
  fail "the server was still running ${grace_s}s after the check"
fi
wait "$spid"
src=$?
spid=""

if [ -z "$expect_fail" ]; then
  [ $src -eq 0 ] || fail "the server exited $src"
  if [ -n "$count" ]; then
    grep -q "served $count connections ($count ended)" "$tmp/server.out" ||
      fail "the server did not report serving exactly $count connections"
  else
    grep -q "stopping on signal" "$tmp/server.out" || fail "the server did not report stopping on SIGTERM"
  fi
else
  # A failing check may leave its connection in any state; the server must still end, not crash.
  [ $src -le 123 ] || fail "the server exited $src (crash, signal or timeout)"
fi
show
echo "echo-e2e: PASS"
exit 0
