#!/usr/bin/env bash
# Interop of Demi's user-space stack (demi-netd-test on a TAP device) with the Linux kernel, in a
# network namespace this script makes and deletes on every path (trap), with every process bounded by
# timeout(1). Addresses: kernel 10.77.1.1/24 on the TAP interface, Demi 10.77.1.2 (inside the
# namespace only).
#
#   run_interop_test.sh DRIVER CASE     CASE: ping-answer ping-kernel udp-echo tcp-sink tcp-source
#
# Environment: DEMI_SKIP_ROOT_TESTS=1 skips (exit 77) when not root; DEMI_INTEROP_MIB sets the TCP
# transfer size (default 256); DEMI_INTEROP_TIMEOUT bounds each process in seconds (default 90, below ctest's TIMEOUT).
# Needs: ip (iproute2), ping (iputils-ping), socat, sha256sum; ethtool if present (kernel-side offloads
# off, DESIGN.md §4).
set -u
driver=${1:?usage: run_interop_test.sh DRIVER CASE}
case_=${2:?usage: run_interop_test.sh DRIVER CASE}
mib=${DEMI_INTEROP_MIB:-256}
bound=${DEMI_INTEROP_TIMEOUT:-90}
bytes=$((mib * 1024 * 1024))
dev=demitap0
kip=10.77.1.1
dip=10.77.1.2

fail() { echo "FAIL [$case_]: $*" >&2; exit 1; }

if [ "$(id -u)" != 0 ]; then
    if [ "${DEMI_SKIP_ROOT_TESTS:-0}" = 1 ]; then
        echo "SKIPPED [$case_]: needs root (DEMI_SKIP_ROOT_TESTS=1)"
        exit 77
    fi
    fail "needs root (network namespace, TAP device); run as root or set DEMI_SKIP_ROOT_TESTS=1 to skip"
fi
for tool in ip socat sha256sum ping timeout; do
    command -v "$tool" >/dev/null || fail "'$tool' is not installed (Debian: iproute2 socat coreutils iputils-ping)"
done
[ -x "$driver" ] || fail "driver '$driver' is not an executable"

ns="demi-interop-$$"
tmp=""
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null || true
    [ -n "$tmp" ] && rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

tmp=$(mktemp -d /tmp/demi-interop.XXXXXX) || fail "mktemp"
ip netns add "$ns" || fail "cannot create network namespace $ns"
ip -n "$ns" link set lo up
inns() { ip netns exec "$ns" "$@"; }

# Background jobs run as `ip netns exec ... timeout ...`, never through inns: ip execs timeout, so $! is
# timeout's pid and the trap's kill reaches it (timeout passes the signal on to the driver or socat).
# Starts the driver in the namespace (it creates the TAP there), then configures the kernel side.
driver_pid=""
start_driver() {
    ip netns exec "$ns" timeout -k 2 "$bound" "$driver" --tap "$dev" --ready-file "$tmp/ready" --stop-file "$tmp/stop" --seconds "$bound" "$@" \
        >"$tmp/driver.out" 2>"$tmp/driver.err" &
    driver_pid=$!
    pids+=("$driver_pid")
    for _ in $(seq 50); do
        ip -n "$ns" link show "$dev" >/dev/null 2>&1 && break
        kill -0 "$driver_pid" 2>/dev/null || { cat "$tmp/driver.err" >&2; fail "driver exited before creating $dev"; }
        sleep 0.1
    done
    ip -n "$ns" link show "$dev" >/dev/null 2>&1 || fail "$dev did not appear within 5 s"
    ip -n "$ns" addr add "$kip/24" dev "$dev" || fail "cannot address $dev"
    ip -n "$ns" link set "$dev" up || fail "cannot bring $dev up"
    if command -v ethtool >/dev/null; then
        inns ethtool -K "$dev" tx off >/dev/null 2>&1 || echo "note: ethtool -K $dev tx off failed (offloads unchanged)"
    else
        echo "note: ethtool not installed; kernel-side offloads left as they are (a TAP without vnet headers has none)"
    fi
}
# Waits for the driver; fails with its stderr unless it exits 0.
wait_driver() {
    local rc=0
    wait "$driver_pid" || rc=$?
    cat "$tmp/driver.err" >&2
    [ "$rc" = 0 ] || fail "demi-netd-test exited with status $rc${1:+ ($1)}"
}
# The passive modes end when the stop file appears (a signal would reach timeout(1), not the driver).
stop_driver() { touch "$tmp/stop"; wait_driver; }
field() { sed -n "s/^$1=//p" "$tmp/driver.out"; }

case "$case_" in
ping-answer)
    start_driver ping-answer
    if ! inns timeout 20 ping -n -c 3 -i 0.2 -W 2 "$dip"; then
        stop_driver
        fail "kernel ping of Demi at $dip got no complete answer"
    fi
    stop_driver
    ;;
ping-kernel)
    start_driver ping-kernel "$kip"
    touch "$tmp/ready"
    wait_driver "Demi's pings to the kernel at $kip"
    ;;
udp-echo)
    port=7007
    start_driver udp-echo "$port"
    for size in 1 100 1000 1472; do
        head -c "$size" /dev/urandom >"$tmp/udp.in"
        inns timeout 10 socat -t 1 -T 5 - "UDP:$dip:$port" <"$tmp/udp.in" >"$tmp/udp.out" ||
            { stop_driver; fail "socat UDP client failed for $size bytes"; }
        cmp -s "$tmp/udp.in" "$tmp/udp.out" ||
            { stop_driver; fail "UDP echo of $size bytes differs (got $(stat -c %s "$tmp/udp.out") bytes)"; }
        echo "udp echo of $size bytes: ok"
    done
    stop_driver
    ;;
tcp-sink)
    port=7008
    head -c "$bytes" /dev/urandom >"$tmp/data" || fail "cannot make $mib MiB of test data"
    want=$(sha256sum "$tmp/data" | cut -d' ' -f1)
    start_driver tcp-sink "$port"
    t0=$(date +%s.%N)
    inns timeout "$bound" socat -u "FILE:$tmp/data" "TCP:$dip:$port,connect-timeout=10" ||
        { stop_driver; fail "kernel socat client could not send $mib MiB to Demi"; }
    wait_driver "tcp-sink"
    t1=$(date +%s.%N)
    got=$(field sha256)
    n=$(field bytes)
    [ "$n" = "$bytes" ] || fail "Demi received $n bytes, the kernel sent $bytes"
    [ "$got" = "$want" ] || fail "SHA-256 differs: kernel sent $want, Demi received $got"
    echo "kernel -> Demi: $mib MiB, SHA-256 $got matches ($(awk "BEGIN { printf \"%.2f\", $t1 - $t0 }") s)"
    ;;
tcp-source)
    port=7009
    start_driver tcp-source "$kip" "$port" "$bytes" # waits for the ready file to connect
    ip netns exec "$ns" timeout "$bound" socat -u "TCP-LISTEN:$port,bind=$kip,reuseaddr" "CREATE:$tmp/recv" &
    server=$!
    pids+=("$server")
    for _ in $(seq 50); do
        inns ss -Hltn "sport = :$port" 2>/dev/null | grep -q . && break
        sleep 0.1
    done
    touch "$tmp/ready"
    t0=$(date +%s.%N)
    wait_driver "tcp-source"
    rc=0
    wait "$server" || rc=$?
    t1=$(date +%s.%N)
    [ "$rc" = 0 ] || fail "kernel socat server exited with status $rc"
    got=$(sha256sum "$tmp/recv" | cut -d' ' -f1)
    n=$(stat -c %s "$tmp/recv")
    sent=$(field sha256)
    [ "$n" = "$bytes" ] || fail "the kernel received $n bytes, Demi sent $bytes"
    [ "$got" = "$sent" ] || fail "SHA-256 differs: Demi sent $sent, the kernel received $got"
    echo "Demi -> kernel: $mib MiB, SHA-256 $got matches ($(awk "BEGIN { printf \"%.2f\", $t1 - $t0 }") s)"
    ;;
*)
    fail "unknown case (ping-answer ping-kernel udp-echo tcp-sink tcp-source)"
    ;;
esac
echo "PASS [$case_]"
