#!/usr/bin/env bash
# Runs a server and a client against each other and checks how both end.
#
#   run-pair.sh [options] -- SERVER_CMD [ARGS...] -- CLIENT_CMD [ARGS...]
#
# Options:
#   --timeout SECONDS     limit for each process (default 60); a process still running then is killed
#   --wait-tcp IP:PORT    start the client only once a TCP socket listens on IP:PORT
#   --wait-udp IP:PORT    start the client only once a UDP socket is bound to IP:PORT
#   --server-expect WHAT  ok (exit 0; default), fail (exit 1..123: a reported error, not a crash,
#                         signal or timeout) or any
#   --client-expect WHAT  the same for the client
#   --expect-stderr REGEX the stderr of each side expected to fail must match REGEX (extended)
#   --client-stdout REGEX the client's stdout must match REGEX (extended)
#   --server-stdout REGEX the server's stdout must match REGEX (extended)
#   --grace SECONDS       how long the server may keep running after the client ended (default 10)
#
# The server starts in the background; the client starts when the server's socket is ready (the
# server's socket is watched in /proc/net/{tcp,udp}, so no probe connection is ever made). Each
# process runs under timeout(1); both are killed by PID on every exit path. Both outputs are
# printed at the end, prefixed with [server] / [client].
set -u

timeout_s=60
grace_s=10
wait_proto=""
wait_addr=""
server_expect=ok
client_expect=ok
stderr_regex=""
client_stdout_regex=""
server_stdout_regex=""

die() { echo "run-pair: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case $1 in
    --timeout) timeout_s=$2; shift 2 ;;
    --grace) grace_s=$2; shift 2 ;;
    --wait-tcp) wait_proto=tcp; wait_addr=$2; shift 2 ;;
    --wait-udp) wait_proto=udp; wait_addr=$2; shift 2 ;;
    --server-expect) server_expect=$2; shift 2 ;;
    --client-expect) client_expect=$2; shift 2 ;;
    --expect-stderr) stderr_regex=$2; shift 2 ;;
    --client-stdout) client_stdout_regex=$2; shift 2 ;;
    --server-stdout) server_stdout_regex=$2; shift 2 ;;
    --) shift; break ;;
    *) die "unknown option $1" ;;
  esac
done
server=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do server+=("$1"); shift; done
[ $# -gt 0 ] || die "usage: run-pair.sh [options] -- SERVER_CMD... -- CLIENT_CMD..."
shift
client=("$@")
[ ${#server[@]} -gt 0 ] && [ ${#client[@]} -gt 0 ] || die "missing server or client command"
for e in "$server_expect" "$client_expect"; do
  case $e in ok | fail | any) ;; *) die "expectation must be ok, fail or any, not $e" ;; esac
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/run-pair.XXXXXX") || die "mktemp failed"
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

# /proc/net/{tcp,udp} name local addresses as 8 hex digits (the address bytes in host order,
# little-endian here) and 4 hex digits of port.
proc_addr() {
  local ip=${1%:*} port=${1##*:} a b c d
  IFS=. read -r a b c d <<<"$ip"
  printf '%02X%02X%02X%02X:%04X' "$d" "$c" "$b" "$a" "$port"
}
is_ready() {
  local want any
  want=$(proc_addr "$wait_addr")
  any="00000000:${want#*:}"
  if [ "$wait_proto" = tcp ]; then
    # state 0A = LISTEN
    awk -v w="$want" -v a="$any" 'NR > 1 && ($2 == w || $2 == a) && $4 == "0A" { f = 1 } END { exit !f }' \
      /proc/net/tcp
  else
    awk -v w="$want" -v a="$any" 'NR > 1 && ($2 == w || $2 == a) { f = 1 } END { exit !f }' /proc/net/udp
  fi
}

# A status: ok, fail (an error the program reported), timeout, crash (signal) or usage (2 is also
# a reported error; it counts as fail).
classify() {
  local rc=$1
  if [ "$rc" -eq 0 ]; then echo ok
  elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then echo timeout
  elif [ "$rc" -gt 123 ]; then echo crash
  else echo fail
  fi
}

echo "run-pair: server: ${server[*]}"
timeout -k 5 "$timeout_s" "${server[@]}" >"$tmp/server.out" 2>"$tmp/server.err" &
spid=$!

if [ -n "$wait_proto" ]; then
  deadline=$((SECONDS + timeout_s))
  until is_ready; do
    if ! kill -0 "$spid" 2>/dev/null; then
      echo "run-pair: the server exited before its socket $wait_proto $wait_addr was ready"
      break
    fi
    if [ $SECONDS -ge $deadline ]; then
      echo "run-pair: the server's socket $wait_proto $wait_addr was not ready after ${timeout_s}s"
      break
    fi
    sleep 0.02
  done
fi

echo "run-pair: client: ${client[*]}"
timeout -k 5 "$timeout_s" "${client[@]}" >"$tmp/client.out" 2>"$tmp/client.err" &
cpid=$!
wait "$cpid"
crc=$?

# The client is done: the server should finish soon (it may be waiting for data that never comes
# if the client failed).
deadline=$((SECONDS + grace_s))
while kill -0 "$spid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
server_killed=0
if kill -0 "$spid" 2>/dev/null; then
  server_killed=1
  kill -TERM "$spid" 2>/dev/null
fi
wait "$spid"
src=$?
[ $server_killed -eq 1 ] && src=124

for side in server client; do
  sed "s/^/[$side] /" "$tmp/$side.out"
  sed "s/^/[$side:stderr] /" "$tmp/$side.err"
done

status=0
check() { # side rc expectation
  local side=$1 rc=$2 want=$3 got
  got=$(classify "$rc")
  if [ "$want" = any ] || [ "$got" = "$want" ]; then
    echo "run-pair: $side exited $rc ($got), as expected ($want)"
  else
    echo "run-pair: FAIL: $side exited $rc ($got), expected $want"
    status=1
  fi
  if [ "$want" = fail ] && [ "$got" = fail ] && [ -n "$stderr_regex" ]; then
    if grep -Eq -- "$stderr_regex" "$tmp/$side.err"; then
      echo "run-pair: $side's error matches /$stderr_regex/"
    else
      echo "run-pair: FAIL: $side's stderr does not match /$stderr_regex/"
      status=1
    fi
  fi
}
check server "$src" "$server_expect"
check client "$crc" "$client_expect"
check_stdout() { # side regex
  [ -n "$2" ] || return 0
  if grep -Eq -- "$2" "$tmp/$1.out"; then
    echo "run-pair: $1's output matches /$2/"
  else
    echo "run-pair: FAIL: $1's output does not match /$2/"
    status=1
  fi
}
check_stdout server "$server_stdout_regex"
check_stdout client "$client_stdout_regex"
[ $status -eq 0 ] && echo "run-pair: PASS" || echo "run-pair: FAILED"
exit $status
