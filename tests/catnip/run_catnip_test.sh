#!/usr/bin/env bash
# catnip's root tests (label root): DPDK in one process over net_ring0, the EAL's error paths, and two
# processes over net_memif. Every process is bounded by timeout(1); the trap kills what is left, removes
# the temporary directory and the EAL runtime directories of the prefixes used here, and gives back the
# hugepages this script reserved (and only those) on every path.
#
#   run_catnip_test.sh CASE PROGRAM HUGEPAGES_SCRIPT
#     CASE: device | eal-errors | memif (no hugepages: --no-huge) | memif-hugepages (scripts/hugepages
#           reserve 512, --in-memory) | tap-offload (net_tap in a network namespace made here, against
#           the kernel's ping and TCP, with the checksums offloaded to the PMD)
# Environment: DEMI_SKIP_ROOT_TESTS=1 skips (exit 77) when not root; DEMI_CATNIP_TIMEOUT bounds each
# process in seconds (default 90, below ctest's TIMEOUT); DEMI_CATNIP_BYTES sets the TCP echo size
# (default 1 MiB).
set -u
case_=${1:?usage: run_catnip_test.sh CASE PROGRAM HUGEPAGES_SCRIPT}
prog=${2:?usage: run_catnip_test.sh CASE PROGRAM HUGEPAGES_SCRIPT}
hp=${3:?usage: run_catnip_test.sh CASE PROGRAM HUGEPAGES_SCRIPT}
bound=${DEMI_CATNIP_TIMEOUT:-90}
bytes=${DEMI_CATNIP_BYTES:-1048576}

fail() { echo "FAIL [catnip.$case_]: $*" >&2; exit 1; }

if [ "$(id -u)" != 0 ]; then
    if [ "${DEMI_SKIP_ROOT_TESTS:-0}" = 1 ]; then
        echo "SKIPPED [catnip.$case_]: needs root (DEMI_SKIP_ROOT_TESTS=1)"
        exit 77
    fi
    fail "needs root (DPDK memory, hugepages); run as root or set DEMI_SKIP_ROOT_TESTS=1 to skip"
fi
[ -x "$prog" ] || fail "'$prog' is not an executable"
command -v timeout >/dev/null || fail "'timeout' is not installed (coreutils)"

prefix="demi-catnip-$$"
tmp=""
pids=()
reserved=0
nsmade=""
extra_dirs=()
hp_state=/run/demi-hugepages.prev
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    [ -n "$tmp" ] && rm -rf "$tmp"
    rm -rf /var/run/dpdk/"$prefix"*
    for p in "${extra_dirs[@]}"; do rm -rf "$p"; done
    [ -n "$nsmade" ] && ip netns del "$nsmade" 2>/dev/null
    if [ "$reserved" = 1 ]; then bash "$hp" release >/dev/null || echo "note: scripts/hugepages release failed" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
tmp=$(mktemp -d /tmp/demi-catnip.XXXXXX) || fail "mktemp"

# One EAL check: expects errno $1 and a message matching $2 on stderr; $3 names it; then optionally
# --eal-only (start the EAL only) and the environment.
eal_check() {
    local want=$1 pattern=$2 name=$3 only=""
    shift 3
    if [ "$1" = --eal-only ]; then only=--eal-only; shift; fi
    env "$@" timeout -k 2 "$bound" "$prog" eal-check "$want" $only >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [ $rc != 0 ] || { [ -n "$pattern" ] && ! grep -q -- "$pattern" "$tmp/err"; }; then
        cat "$tmp/out" "$tmp/err" >&2
        fail "$name: exit $rc, want errno $want and a message matching '$pattern'"
    fi
    echo "ok: $name: $( [ -n "$pattern" ] && grep -m1 -- "$pattern" "$tmp/err" || cat "$tmp/out")"
}

case $case_ in
device)
    DEMI_CATNIP_TEST_PREFIX=$prefix timeout -k 2 "$bound" "$prog" || fail "device test failed (exit $?)"
    ;;
eal-errors)
    m="--no-huge -m 256"
    eal_check 19 "no DPDK port: give a vdev" "no vdev" DEMI_DPDK_EAL_INIT="$m --file-prefix=$prefix-1"
    eal_check 19 "EAL initialisation failed" "unknown vdev" DEMI_DPDK_EAL_INIT="--vdev=net_bogus0 $m --file-prefix=$prefix-2"
    eal_check 19 "did not start" "memif client without a server" \
        DEMI_DPDK_EAL_INIT="--vdev=net_memif0,role=client,socket=$tmp/none/x.sock,socket-abstract=no $m --file-prefix=$prefix-3"
    eal_check 12 "cannot create the mbuf pool" "no memory for the pool" \
        DEMI_DPDK_EAL_INIT="--vdev=net_ring0 --no-huge -m 20 --file-prefix=$prefix-4"
    # net_ring has no MTU setting of its own (rte_eth_dev_set_mtu: ENOTSUP): any MTU is the stack's.
    eal_check 0 "has no MTU setting: MTU 9000" "MTU 9000 on a port without an MTU setting" DEMI_MTU=9000 DEMI_LOG=info \
        DEMI_DPDK_EAL_INIT="--vdev=net_ring0 $m --file-prefix=$prefix-5"
    # A jumbo frame must fit one memif buffer (bsize, default 2048): DPDK 22.11's memif chaining is not reliable.
    eal_check 22 "does not fit one memif buffer" "MTU 9000 on memif without bsize" DEMI_MTU=9000 \
        DEMI_DPDK_EAL_INIT="--vdev=net_memif0,role=server,socket=$tmp/jumbo.sock,socket-abstract=no $m --file-prefix=$prefix-9"
    eal_check 22 "refuses MAC" "MAC the port refuses" DEMI_LOCAL_LINK_ADDR=02:00:00:00:00:07 \
        DEMI_DPDK_EAL_INIT="--vdev=net_ring0 $m --file-prefix=$prefix-6"
    eal_check 0 "" "net_null starts" DEMI_DPDK_EAL_INIT="--vdev=net_null0 $m --file-prefix=$prefix-7"
    # The af_packet PMD plugin loads and probes on lo (the port is not opened: that would set lo's MTU).
    eal_check 0 "" "net_af_packet probes" --eal-only DEMI_DPDK_EAL_INIT="--vdev=net_af_packet0,iface=lo $m --file-prefix=$prefix-8"
    # EAL runtime directories: every process above whose EAL started removed its own at exit (DPDK
    # leaves them, with its telemetry socket; 2 and 3 failed to start, and a failed start may have met
    # another process's directory, so it leaves it); one of a default-prefix (demi-<pid>) process that
    # has ended is removed by the next process to start, one of a live process is not.
    for n in 1 4 5 6 7 8 9; do
        [ -e "/var/run/dpdk/$prefix-$n" ] && fail "/var/run/dpdk/$prefix-$n was left behind at exit"
    done
    sleep 0 &
    dead=$!
    wait "$dead"
    sleep 0 &
    dead2=$!
    wait "$dead2"
    extra_dirs=("/var/run/dpdk/demi-$dead" "/var/run/dpdk/demi-$$" "/var/run/dpdk/demi-$dead2")
    for d in "${extra_dirs[@]:0:2}"; do mkdir -p "$d" && touch "$d/dpdk_telemetry.v2" || fail "cannot make $d"; done
    # A symlink with a default-prefix name: neither it nor what it points to is swept.
    mkdir "$tmp/target" && touch "$tmp/target/keep" && ln -s "$tmp/target" "/var/run/dpdk/demi-$dead2" || fail "symlink"
    # One of a pid unknown here whose telemetry socket answers, as a live EAL process of another pid
    # namespace sharing /var/run/dpdk: kept.
    command -v socat >/dev/null || fail "'socat' is not installed (Debian: socat)"
    sleep 0 &
    dead3=$!
    wait "$dead3"
    other="/var/run/dpdk/demi-$dead3"
    extra_dirs+=("$other")
    mkdir -p "$other" || fail "cannot make $other"
    timeout -k 2 "$bound" socat "UNIX-LISTEN:$other/dpdk_telemetry.v2,type=5,fork" /dev/null &
    pids+=($!)
    for _ in $(seq 50); do [ -S "$other/dpdk_telemetry.v2" ] && break; sleep 0.1; done
    [ -S "$other/dpdk_telemetry.v2" ] || fail "socat did not listen on $other/dpdk_telemetry.v2"
    eal_check 0 "" "net_null starts again" DEMI_DPDK_EAL_INIT="--vdev=net_null0 $m --file-prefix=$prefix-10"
    [ -e "/var/run/dpdk/demi-$dead" ] && fail "the runtime directory of ended process $dead was not removed"
    [ -e "/var/run/dpdk/demi-$$/dpdk_telemetry.v2" ] || fail "the runtime directory of live process $$ was touched"
    [ -S "$other/dpdk_telemetry.v2" ] || fail "$other, whose telemetry socket answers, was removed"
    [ -e "$tmp/target/keep" ] || fail "the sweep followed a symlink and removed what it points to"
    [ -e "/var/run/dpdk/$prefix-10" ] && fail "/var/run/dpdk/$prefix-10 was left behind at exit"
    echo "ok: EAL runtime directories removed at exit, an ended process's swept, a live one's kept (by pid or by telemetry)"
    ;;
memif | memif-hugepages)
    if [ "$case_" = memif-hugepages ]; then
        had_state=0
        [ -f "$hp_state" ] && had_state=1
        bash "$hp" reserve 512 || fail "cannot reserve hugepages"
        # Ours to give back only if this reserve changed the pool.
        [ $had_state = 0 ] && [ -f "$hp_state" ] && reserved=1
        mem="--in-memory"
    else
        mem="--no-huge -m 512 --no-shconf"
    fi
    sock="$tmp/memif.sock"
    memif="net_memif0,socket=$sock,socket-abstract=no"
    DEMI_DPDK_EAL_INIT="--vdev=$memif,role=server,mac=02:00:00:88:00:01 --lcores 0@0 --file-prefix=$prefix-s $mem" \
        timeout -k 2 "$bound" "$prog" server --bytes "$bytes" --seconds "$((bound - 5))" >"$tmp/server.out" 2>"$tmp/server.err" &
    spid=$!
    pids+=("$spid")
    for _ in $(seq 100); do
        [ -S "$sock" ] && break
        kill -0 "$spid" 2>/dev/null || { cat "$tmp/server.err" >&2; fail "server exited before making $sock"; }
        sleep 0.1
    done
    [ -S "$sock" ] || fail "server made no socket $sock within 10 s"
    DEMI_DPDK_EAL_INIT="--vdev=$memif,role=client,mac=02:00:00:88:00:02 --lcores 0@1 --file-prefix=$prefix-c $mem" \
        timeout -k 2 "$bound" "$prog" client --bytes "$bytes" --seconds "$((bound - 5))" >"$tmp/client.out" 2>"$tmp/client.err" &
    cpid=$!
    pids+=("$cpid")
    wait "$cpid"
    crc=$?
    wait "$spid"
    src=$?
    pids=()
    echo "--- server"; cat "$tmp/server.out" "$tmp/server.err"
    echo "--- client"; cat "$tmp/client.out" "$tmp/client.err"
    [ $crc = 0 ] || fail "client exit $crc"
    [ $src = 0 ] || fail "server exit $src"
    csum=$(sed -n 's/.*sha256=\([0-9a-f]*\).*/\1/p' "$tmp/client.out")
    ssum=$(sed -n 's/.*sha256=\([0-9a-f]*\).*/\1/p' "$tmp/server.out")
    [ -n "$csum" ] && [ "$csum" = "$ssum" ] || fail "SHA-256 differ: client '$csum' server '$ssum'"
    grep -q "byte_exact=both_ways" "$tmp/client.out" || fail "raw exchange not confirmed"
    echo "ok: raw frames both ways, ping and ARP both ways, TCP echo of $bytes bytes (sha256 $csum)"
    ;;
tap-offload)
    # Demi's stack on net_tap (DPDK's TAP PMD, which fills the IPv4/TCP/UDP checksums the stack leaves
    # to it: checksum offload on this machine) against the kernel in a network namespace made here.
    for tool in ip socat sha256sum ping head; do
        command -v "$tool" >/dev/null || fail "'$tool' is not installed (Debian: iproute2 socat coreutils iputils-ping)"
    done
    ns="demi-catnip-$$"
    ip netns add "$ns" || fail "cannot create network namespace $ns"
    nsmade=$ns
    ip -n "$ns" link set lo up
    ip netns exec "$ns" env DEMI_DPDK_EAL_INIT="--vdev=net_tap0,iface=dcatnip0 --no-huge -m 512 --no-shconf --file-prefix=$prefix-t" \
        timeout -k 2 "$bound" "$prog" kernel-echo --seconds "$((bound - 5))" --stop-file "$tmp/stop" \
        >"$tmp/demi.out" 2>"$tmp/demi.err" &
    dpid=$!
    pids+=("$dpid")
    for _ in $(seq 100); do
        ip -n "$ns" link show dcatnip0 >/dev/null 2>&1 && break
        kill -0 "$dpid" 2>/dev/null || { cat "$tmp/demi.err" >&2; fail "driver exited before making dcatnip0"; }
        sleep 0.1
    done
    ip -n "$ns" addr add 10.89.0.1/24 dev dcatnip0 || fail "cannot address dcatnip0"
    ip -n "$ns" link set dcatnip0 up || fail "cannot bring dcatnip0 up"
    if command -v ethtool >/dev/null; then
        ip netns exec "$ns" ethtool -K dcatnip0 tx off >/dev/null 2>&1 || echo "note: ethtool -K dcatnip0 tx off failed"
    fi
    ip netns exec "$ns" timeout 20 ping -c 3 -i 0.2 -W 2 10.89.0.2 || { cat "$tmp/demi.err" >&2; fail "the kernel's ping got no replies"; }
    head -c "$bytes" /dev/urandom >"$tmp/data"
    ip netns exec "$ns" timeout 30 socat -t 5 -T 10 "OPEN:$tmp/data,rdonly!!OPEN:$tmp/back,creat,wronly,trunc" \
        TCP:10.89.0.2:7000 || { cat "$tmp/demi.err" >&2; fail "socat failed"; }
    touch "$tmp/stop"
    wait "$dpid"
    drc=$?
    pids=()
    cat "$tmp/demi.err"
    [ $drc = 0 ] || fail "driver exit $drc"
    want=$(sha256sum <"$tmp/data" | cut -d' ' -f1)
    got=$(sha256sum <"$tmp/back" | cut -d' ' -f1)
    [ "$want" = "$got" ] || fail "echo differs: sent $want, got back $got ($(stat -c %s "$tmp/back") bytes)"
    echo "ok: ping and a $bytes-byte TCP echo with the kernel over net_tap, checksums offloaded (sha256 $got)"
    ;;
*) fail "unknown case '$case_'" ;;
esac
exit 0
