#!/usr/bin/env bash
# catnip end to end (label root): unmodified Demi programs with LIBOS=catnip, either two catnip
# processes over net_memif (shared memory, 2 MiB hugepages), or one catnip process against the Linux
# kernel over a veth pair (net_af_packet or net_af_xdp on one end, a kernel IP on the other).
#
#   run_catnip_e2e.sh CASE HUGEPAGES_SCRIPT STREAM PERF EXAMPLES_DIR
#     STREAM: demi-e2e-stream; PERF: demi-perf; EXAMPLES_DIR holds the C examples (tcp-push-pop,
#     tcp-ping-pong, udp-push-pop, udp-ping-pong).
#   CASE:
#     memif-tcp-examples   tcp-push-pop and tcp-ping-pong, 1 B .. 1 MiB messages
#     memif-udp-examples   udp-push-pop and udp-ping-pong, 1 B .. 65507 B datagrams
#     memif-stream         one connection of DEMI_E2E_STREAM_MIB MiB (default 1024), SHA-256 both sides
#     memif-conns          64 connections of 4 MiB each at once, byte-exact; demi-perf --conns 64 echo
#     kernel-af_packet     catnip on a veth via net_af_packet against the kernel in a namespace
#     kernel-af_xdp        the same via net_af_xdp (copy mode)
#
# Kernel cases (namespaces ns-k: kernel 10.66.0.1/24 on veth ek; ns-d: catnip 10.66.0.2 on veth ed, no
# kernel address there): kernel ping of catnip; a kernel client (socat) sends DEMI_E2E_KERNEL_MIB MiB
# (default 256) to a catnip server; a catnip client sends as much to a kernel server (socat); both
# checked by SHA-256; a stream with one damaged byte must make the catnip server fail; tshark captures
# on the kernel side, which must show no bad checksum, no RST, nothing malformed, no ACK of data never
# sent, and loss recovery (retransmissions, dup ACKs: the user-space end's receive ring drops frames
# under bursts, like a NIC's) in at most 1% of the frames.
#
# Every process runs under timeout(1); the trap kills what is left by pid, deletes the namespaces and
# the temporary directory, removes the EAL runtime directories of the prefixes used here and gives back
# the hugepages this script reserved (and only those), on every path. On failure the step is named and
# the tails of both sides' logs are printed.
# Environment: DEMI_SKIP_ROOT_TESTS=1 skips (exit 77) when not root; DEMI_E2E_TIMEOUT bounds each
# process in seconds (default 120).
set -u
usage="usage: run_catnip_e2e.sh CASE HUGEPAGES_SCRIPT STREAM PERF EXAMPLES_DIR"
case_=${1:?$usage}
hp=${2:?$usage}
stream=${3:?$usage}
perf=${4:?$usage}
bindir=${5:?$usage}
bound=${DEMI_E2E_TIMEOUT:-120}
stream_mib=${DEMI_E2E_STREAM_MIB:-1024}
kernel_mib=${DEMI_E2E_KERNEL_MIB:-256}

step="start"
tmp=""
logs=()
fail() {
    echo "FAIL [catnip_e2e.$case_] step '$step': $*" >&2
    local f
    for f in "${logs[@]}"; do
        [ -s "$f" ] || continue
        echo "--- tail of ${f##*/}" >&2
        tail -n 25 "$f" >&2
    done
    exit 1
}

if [ "$(id -u)" != 0 ]; then
    if [ "${DEMI_SKIP_ROOT_TESTS:-0}" = 1 ]; then
        echo "SKIPPED [catnip_e2e.$case_]: needs root (DEMI_SKIP_ROOT_TESTS=1)"
        exit 77
    fi
    fail "needs root (DPDK, hugepages, namespaces); run as root or set DEMI_SKIP_ROOT_TESTS=1 to skip"
fi
for tool in timeout sha256sum; do command -v $tool >/dev/null || fail "'$tool' is not installed"; done
for p in "$stream" "$perf" "$bindir"/{tcp-push-pop,tcp-ping-pong,udp-push-pop,udp-ping-pong}; do
    [ -x "$p" ] || fail "'$p' is not an executable (build the targets first)"
done

prefix="demi-e2e-$$"
pids=()
namespaces=()
reserved=0
hp_state=/run/demi-hugepages.prev
cleanup() {
    local p n
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    for n in "${namespaces[@]}"; do ip netns del "$n" 2>/dev/null; done
    [ -n "$tmp" ] && rm -rf "$tmp"
    rm -rf /var/run/dpdk/"$prefix"*
    if [ "$reserved" = 1 ]; then bash "$hp" release >/dev/null || echo "note: scripts/hugepages release failed" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
tmp=$(mktemp -d /tmp/demi-catnip-e2e.XXXXXX) || fail "mktemp"

reserve_hugepages() {
    step="reserve hugepages"
    local had_state=0
    [ -f "$hp_state" ] && had_state=1
    bash "$hp" reserve 512 || fail "cannot reserve hugepages"
    # Ours to give back only if this reserve changed the pool.
    [ $had_state = 0 ] && [ -f "$hp_state" ] && reserved=1
    local free
    free=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages)
    [ "$free" -ge 256 ] || fail "only $free free 2 MiB hugepages (memif needs them; 256 wanted)"
}

elapsed() { awk "BEGIN { printf \"%.2f\", $(date +%s.%N) - $1 }"; }

# ---------------------------------------------------------------------------------------------
# Two catnip processes over net_memif. Server: 10.0.0.1 on CPU 1; client: 10.0.0.2 on CPU 0.
sip=10.0.0.1
cip=10.0.0.2
smac=02:00:00:e2:e0:01
cmac=02:00:00:e2:e0:02
# Static ARP entries both ways (as Demikernel's configurations have them): the first datagrams need no
# resolution. The server waits only 200 ms for its memif link (its client starts after it).
cat >"$tmp/server.yaml" <<YAML
dpdk:
  link_wait_ms: 200
inetstack_config:
  arp_table:
    "$cmac": "$cip"
YAML
cat >"$tmp/client.yaml" <<YAML
inetstack_config:
  arp_table:
    "$smac": "$sip"
YAML
n_run=0
# memif_pair NAME SERVER_CMD... -- CLIENT_CMD...: runs the two under timeout, client once the server's
# memif socket exists; fails (with both logs) unless both exit 0. Logs: $tmp/NAME.{server,client}.
memif_pair() {
    local name=$1
    shift
    local server=() client=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do server+=("$1"); shift; done
    shift
    client=("$@")
    n_run=$((n_run + 1))
    local sock="$tmp/memif-$n_run.sock" so="$tmp/$name.server" co="$tmp/$name.client"
    local memif="net_memif0,socket=$sock,socket-abstract=no"
    logs=("$so" "$co")
    step="$name"
    local t0
    t0=$(date +%s.%N)
    LIBOS=catnip DEMI_LOCAL_IPV4_ADDR=$sip CONFIG_PATH=$tmp/server.yaml DEMI_LOG=info \
        DEMI_DPDK_EAL_INIT="--vdev=$memif,role=server,mac=$smac --lcores 0@1 --file-prefix=$prefix-s$n_run --in-memory" \
        timeout -k 5 "$bound" "${server[@]}" >"$so" 2>&1 &
    local spid=$!
    pids+=("$spid")
    # The server is ready once its libOS has started (its sockets are made right after): the client's
    # first datagrams must not arrive before the server's bind.
    local i
    for i in $(seq 200); do
        grep -q "libos: started catnip" "$so" && break
        kill -0 "$spid" 2>/dev/null || break
        sleep 0.05
    done
    grep -q "libos: started catnip" "$so" || { wait "$spid"; fail "the server's libOS did not start (exit $?)"; }
    sleep 0.2
    LIBOS=catnip DEMI_LOCAL_IPV4_ADDR=$cip CONFIG_PATH=$tmp/client.yaml \
        DEMI_DPDK_EAL_INIT="--vdev=$memif,role=client,mac=$cmac --lcores 0@0 --file-prefix=$prefix-c$n_run --in-memory" \
        timeout -k 2 "$bound" "${client[@]}" >"$co" 2>&1 &
    local cpid=$!
    pids+=("$cpid")
    local crc=0 src=0
    wait "$cpid" || crc=$?
    # The client is done: the server should end soon after.
    for i in $(seq 200); do
        [ "${server_until_stopped:-0}" = 1 ] && break
        kill -0 "$spid" 2>/dev/null || break
        sleep 0.05
    done
    kill "$spid" 2>/dev/null
    wait "$spid" || src=$?
    pids=()
    [ $crc = 0 ] || fail "client exited with status $crc${crc/124/ (timeout)}"
    # A server that serves until stopped (demi-perf) is stopped here by SIGTERM, which it takes as a
    # request to end normally. timeout(1) passes the signal on and kills 5 s later: room for the
    # libOS's drain (inetstack_config.drain_ms, 2 s) of a FIN the gone client no longer ACKs.
    [ $src = 0 ] || fail "server exited with status $src"
    # Whichever left first announced it and the other acknowledged and parked before the disconnect, or
    # both left at once and each acknowledged the other (dpdk_device.hpp: memif unmaps the rings under
    # a running burst otherwise). The server logs either.
    grep -qE "the memif peer is leaving \(acknowledged\)|the memif peer acknowledged this end's departure" "$so" ||
        fail "no memif departure handshake in the server's log"
    # Both ended normally, so both removed their EAL runtime directories (DPDK leaves them).
    for side in s c; do
        [ -e "/var/run/dpdk/$prefix-$side$n_run" ] && fail "/var/run/dpdk/$prefix-$side$n_run was left at exit"
    done
    echo "ok: $name ($(elapsed "$t0") s)"
}

# The C examples verify every byte they receive and exit non-zero on any difference, a short message or
# an early end of stream (tests/examples' bad-peer tests prove it); the pair passes only if both exit 0.
case $case_ in
memif-tcp-examples)
    reserve_hugepages
    for sn in 1:1000 64:1000 1448:500 1449:500 65536:64 1048576:8; do
        size=${sn%:*}
        n=${sn#*:}
        memif_pair "tcp-push-pop.${size}x$n" "$bindir/tcp-push-pop" --server $sip 9000 "$size" "$n" \
            -- "$bindir/tcp-push-pop" --client $sip 9000 "$size" "$n"
        grep -q "all bytes correct" "$tmp/tcp-push-pop.${size}x$n.server" || fail "server did not confirm the bytes"
        memif_pair "tcp-ping-pong.${size}x$n" "$bindir/tcp-ping-pong" --server $sip 9000 "$size" "$n" \
            -- "$bindir/tcp-ping-pong" --client $sip 9000 "$size" "$n"
    done
    ;;
memif-udp-examples)
    reserve_hugepages
    for sn in 1:500 64:500 1472:200 1473:200 8000:50 65507:16; do
        size=${sn%:*}
        n=${sn#*:}
        memif_pair "udp-push-pop.${size}x$n" "$bindir/udp-push-pop" --server $sip 9000 $cip 9001 "$size" "$n" \
            -- "$bindir/udp-push-pop" --client $cip 9001 $sip 9000 "$size" "$n"
        memif_pair "udp-ping-pong.${size}x$n" "$bindir/udp-ping-pong" --server $sip 9000 $cip 9001 "$size" "$n" \
            -- "$bindir/udp-ping-pong" --client $cip 9001 $sip 9000 "$size" "$n"
    done
    ;;
memif-stream)
    reserve_hugepages
    bytes=$((stream_mib * 1024 * 1024))
    memif_pair "stream-${stream_mib}MiB" "$stream" server --addr $sip:9000 --bytes $bytes --timeout $((bound - 5)) \
        -- "$stream" client --addr $sip:9000 --bytes $bytes --timeout $((bound - 5))
    s=$(grep '^conn ' "$tmp/stream-${stream_mib}MiB.server")
    c=$(grep '^conn ' "$tmp/stream-${stream_mib}MiB.client")
    [ -n "$s" ] && [ "$s" = "$c" ] || fail "digests differ: server '$s' client '$c'"
    echo "ok: $stream_mib MiB, SHA-256 equal on both sides: $s"
    grep RESULT "$tmp/stream-${stream_mib}MiB.client"
    ;;
memif-conns)
    reserve_hugepages
    bytes=$((4 * 1024 * 1024))
    memif_pair "stream-64x4MiB" "$stream" server --addr $sip:9000 --conns 64 --bytes $bytes --timeout $((bound - 5)) \
        -- "$stream" client --addr $sip:9000 --conns 64 --bytes $bytes --timeout $((bound - 5))
    s=$(grep '^conn ' "$tmp/stream-64x4MiB.server" | sort)
    c=$(grep '^conn ' "$tmp/stream-64x4MiB.client" | sort)
    [ "$(echo "$s" | wc -l)" = 64 ] && [ "$s" = "$c" ] || fail "per-connection digests differ or are missing"
    echo "ok: 64 connections x 4 MiB, every SHA-256 equal on both sides"
    grep RESULT "$tmp/stream-64x4MiB.client"
    # demi-perf checks every byte of every echo and exits non-zero on a difference.
    server_until_stopped=1 memif_pair "perf-conns64" "$perf" server --addr $sip:9000 --timeout $((bound - 5)) \
        -- "$perf" client --addr $sip:9000 --conns 64 --size 1000 --count 64000 --timeout $((bound - 10))
    grep RESULT "$tmp/perf-conns64.client"
    ;;
kernel-af_packet | kernel-af_xdp)
    for tool in ip ss socat ping ethtool tshark dumpcap capinfos mergecap; do
        command -v $tool >/dev/null || fail "'$tool' is not installed (Debian: iproute2 socat iputils-ping ethtool tshark wireshark-common)"
    done
    kind=${case_#kernel-}
    nk="demi-e2e-k-$$"
    nd="demi-e2e-d-$$"
    kip=10.66.0.1
    dip=10.66.0.2
    port=9000
    badport=9001 # the damaged stream's connection, left out of the capture checks
    step="make namespaces and the veth pair"
    ip netns add "$nk" || fail "ip netns add $nk"
    namespaces+=("$nk")
    ip netns add "$nd" || fail "ip netns add $nd"
    namespaces+=("$nd")
    ip link add ek netns "$nk" type veth peer name ed netns "$nd" || fail "ip link add veth"
    ip -n "$nk" link set lo up
    ip -n "$nd" link set lo up
    ip -n "$nk" addr add $kip/24 dev ek || fail "address ek"
    ip -n "$nk" link set ek up || fail "ek up"
    ip -n "$nd" link set ed up || fail "ed up"
    # No kernel address on ed: the kernel of ns-d neither answers ARP for catnip's address nor resets
    # its connections; no IPv6 chatter on the wire.
    ip netns exec "$nd" sysctl -qw net.ipv6.conf.ed.disable_ipv6=1 net.ipv4.ip_forward=0
    ip netns exec "$nk" sysctl -qw net.ipv6.conf.ek.disable_ipv6=1
    # Kernel offloads off: full checksums and no segments above the MTU (DESIGN.md §4).
    for side in "$nk ek" "$nd ed"; do
        set -- $side
        ip netns exec "$1" ethtool -K "$2" tx off rx off tso off gso off gro off >/dev/null 2>&1 ||
            ip netns exec "$1" ethtool -K "$2" tx off >/dev/null || fail "ethtool -K $2 tx off"
    done
    if [ "$kind" = af_packet ]; then
        vdev="net_af_packet0,iface=ed,qpairs=1,framecnt=8192"
    else
        vdev="net_af_xdp0,iface=ed,start_queue=0,queue_count=1"
    fi
    # No hugepages needed: af_packet and af_xdp copy into the mbufs (catnip picks --no-huge when the
    # pool is small); the default EAL memory choice is left to catnip.
    catnip_env=(LIBOS=catnip DEMI_LOCAL_IPV4_ADDR=$dip DEMI_DPDK_EAL_INIT="--vdev=$vdev --lcores 0@1")
    kern() { ip netns exec "$nk" "$@"; }

    # Captures on the kernel side, for the whole case: the headers of every frame (TCP analysis, RST),
    # and the first 10000 frames of each transfer whole (checksums; a truncated frame's checksum cannot be checked).
    step="start tshark"
    cap="$tmp/k.pcap"
    fullcap="$tmp/kfull.pcap"
    fullcap2="$tmp/kfull2.pcap"
    ip netns exec "$nk" timeout -k 2 $((bound * 3)) dumpcap -i ek -s 96 -B 256 -P -w "$cap" >"$tmp/tshark.log" 2>&1 &
    tshark_pid=$!
    ip netns exec "$nk" timeout -k 2 $((bound * 3)) dumpcap -i ek -c 10000 -B 64 -P -w "$fullcap" >"$tmp/tshark-full.log" 2>&1 &
    tshark_full_pid=$!
    pids+=("$tshark_pid" "$tshark_full_pid")
    for _ in $(seq 100); do
        grep -q "Capturing on" "$tmp/tshark.log" && grep -q "Capturing on" "$tmp/tshark-full.log" && break
        sleep 0.1
    done
    grep -q "Capturing on" "$tmp/tshark.log" && grep -q "Capturing on" "$tmp/tshark-full.log" ||
        { logs=("$tmp/tshark.log" "$tmp/tshark-full.log"); fail "tshark did not start"; }

    bytes=$((kernel_mib * 1024 * 1024))
    gen="$tmp/stream.bin"
    "$stream" gen --bytes $bytes --conn 0 >"$gen" || fail "cannot write the test stream"
    want=$(sha256sum "$gen" | cut -d' ' -f1)

    # 1. Kernel ping of catnip, and a kernel client sending to a catnip server.
    so="$tmp/catnip-server.log"
    logs=("$so" "$tmp/socat-client.log")
    step="catnip server starts on $kind"
    ip netns exec "$nd" env "${catnip_env[@]}" timeout -k 2 "$bound" \
        "$stream" server --addr $dip:$port --bytes $bytes --no-reply --timeout $((bound - 5)) >"$so" 2>&1 &
    spid=$!
    pids+=("$spid")
    for _ in $(seq 200); do grep -q '^listening' "$so" && break; kill -0 $spid 2>/dev/null || break; sleep 0.05; done
    grep -q '^listening' "$so" || fail "the catnip server did not start"
    step="kernel ping of catnip"
    t0=$(date +%s.%N)
    kern timeout 30 ping -n -c 5 -i 0.2 -W 2 $dip >"$tmp/ping.log" 2>&1 || { logs+=("$tmp/ping.log"); fail "no answer"; }
    grep -E 'packets transmitted' "$tmp/ping.log"
    step="kernel client (socat) -> catnip server, $kernel_mib MiB"
    t0=$(date +%s.%N)
    kern timeout "$bound" socat -u "FILE:$gen" "TCP:$dip:$port,connect-timeout=10" >"$tmp/socat-client.log" 2>&1 ||
        fail "socat client exited with status $?"
    rc=0
    wait $spid || rc=$?
    pids=("$tshark_pid" "$tshark_full_pid")
    [ $rc = 0 ] || fail "catnip server exited with status $rc"
    got=$(sed -n 's/^conn 0 bytes=[0-9]* sha256=//p' "$so")
    [ "$got" = "$want" ] || fail "SHA-256: kernel sent $want, catnip received '$got'"
    echo "ok: kernel -> catnip ($kind), $kernel_mib MiB, SHA-256 $got ($(elapsed "$t0") s)"

    # 2. A catnip client sending to a kernel server.
    step="catnip client -> kernel server (socat), $kernel_mib MiB"
    wait "$tshark_full_pid" 2>/dev/null
    ip netns exec "$nk" timeout -k 2 $((bound * 2)) dumpcap -i ek -c 10000 -B 64 -P -w "$fullcap2" >"$tmp/tshark-full.log" 2>&1 &
    tshark_full_pid=$!
    pids=("$tshark_pid" "$tshark_full_pid")
    for _ in $(seq 100); do grep -q "Capturing on" "$tmp/tshark-full.log" && break; sleep 0.1; done
    co="$tmp/catnip-client.log"
    logs=("$co" "$tmp/socat-server.log")
    ip netns exec "$nk" timeout -k 2 "$bound" socat -u "TCP-LISTEN:$port,bind=$kip,reuseaddr" "CREATE:$tmp/recv" \
        >"$tmp/socat-server.log" 2>&1 &
    kpid=$!
    pids+=("$kpid")
    for _ in $(seq 100); do kern ss -Hltn "sport = :$port" 2>/dev/null | grep -q . && break; sleep 0.05; done
    t0=$(date +%s.%N)
    ip netns exec "$nd" env "${catnip_env[@]}" timeout -k 2 "$bound" \
        "$stream" client --addr $kip:$port --bytes $bytes --no-reply --timeout $((bound - 5)) >"$co" 2>&1 ||
        fail "catnip client exited with status $?"
    rc=0
    wait $kpid || rc=$?
    pids=("$tshark_pid" "$tshark_full_pid")
    [ $rc = 0 ] || fail "kernel socat server exited with status $rc"
    got=$(sha256sum "$tmp/recv" | cut -d' ' -f1)
    sent=$(sed -n 's/^conn 0 bytes=[0-9]* sha256=//p' "$co")
    [ "$sent" = "$want" ] || fail "the catnip client hashed '$sent', the stream is $want"
    [ "$got" = "$want" ] || fail "SHA-256: catnip sent $want, the kernel received $got ($(stat -c %s "$tmp/recv") bytes)"
    echo "ok: catnip ($kind) -> kernel, $kernel_mib MiB, SHA-256 $got ($(elapsed "$t0") s)"
    rm -f "$tmp/recv"

    # 3. One damaged byte in the kernel's stream: the catnip server must say where.
    step="damaged stream must fail"
    small=$((1024 * 1024))
    head -c $small "$gen" >"$tmp/bad.bin"
    printf '\xff' | dd of="$tmp/bad.bin" bs=1 seek=123457 conv=notrunc status=none
    so="$tmp/catnip-server-bad.log"
    logs=("$so")
    ip netns exec "$nd" env "${catnip_env[@]}" timeout -k 2 60 \
        "$stream" server --addr $dip:$badport --bytes $small --no-reply --timeout 50 >"$so" 2>&1 &
    spid=$!
    pids+=("$spid")
    for _ in $(seq 200); do grep -q '^listening' "$so" && break; kill -0 $spid 2>/dev/null || break; sleep 0.05; done
    grep -q '^listening' "$so" || fail "the catnip server did not start"
    kern timeout 10 socat -u "FILE:$tmp/bad.bin" "TCP:$dip:$badport,connect-timeout=10" >/dev/null 2>&1
    rc=0
    wait $spid || rc=$?
    pids=("$tshark_pid" "$tshark_full_pid")
    [ $rc = 1 ] && grep -q "data mismatch at byte 123457" "$so" ||
        fail "the catnip server exited $rc and did not report the damaged byte 123457"
    echo "ok: a damaged byte is reported: $(grep -o 'data mismatch.*' "$so")"

    # 4. The captures: no TCP trouble, no bad checksum, no RST, nothing malformed (the damaged stream's
    # connection, whose catnip end stops reading, is left out).
    step="capture analysis"
    sleep 0.5
    kill -INT "$tshark_pid" "$tshark_full_pid" 2>/dev/null
    wait "$tshark_pid" "$tshark_full_pid"
    pids=()
    logs=("$tmp/tshark.log" "$tmp/tshark-full.log")
    n=$(capinfos -M -c "$cap" 2>/dev/null | sed -n 's/^Number of packets: *//p')
    [ "${n:-0}" -gt 10000 ] || fail "the capture holds only '$n' frames"
    # Errors: a RST, a malformed frame, an ACK of data never sent. Loss recovery is not an error: the
    # user-space end's receive ring (af_packet, af_xdp) drops frames when the kernel bursts faster
    # than it polls, like a NIC ring, and the dup ACKs with SACK, fast retransmissions and
    # out-of-order arrivals that follow are TCP doing its job; they are counted and bounded (1% of
    # the frames), so a stack that retransmits without cause still fails. Full or zero windows are
    # flow control.
    # The payload is test data: decoded as such, so that no heuristic dissector takes a segment for
    # its protocol and calls it malformed (DRDA did, for 19 of 512,042 frames, in one CI-like run).
    payload_as_data=(-d "tcp.port==$port,data" -d "tcp.port==$badport,data")
    filter="tcp.port != $badport && (tcp.flags.reset == 1 || _ws.malformed || tcp.analysis.ack_lost_segment)"
    hits=$(tshark -r "$cap" "${payload_as_data[@]}" -Y "$filter" 2>/dev/null)
    if [ -n "$hits" ]; then
        echo "$hits" | head -n 30 >&2
        fail "$(echo "$hits" | wc -l) of $n frames with a RST, malformed or ACKing unseen data (filter: $filter)"
    fi
    filter="tcp.port != $badport && tcp.analysis.flags && !tcp.analysis.window_update && !tcp.analysis.window_full && !tcp.analysis.zero_window"
    hits=$(tshark -r "$cap" "${payload_as_data[@]}" -Y "$filter" 2>/dev/null)
    nrec=$(printf '%s' "$hits" | grep -c . || true)
    if [ "$nrec" -gt 0 ]; then
        kinds=$(echo "$hits" | grep -o '\[TCP [A-Za-z -]*[A-Za-z]' | sed 's/^\[TCP //' | sort | uniq -c |
            awk '{ n = $1; $1 = ""; printf "%s%d %s", sep, n, substr($0, 2); sep = ", " }')
        echo "loss recovery seen: $nrec of $n frames ($kinds)"
    fi
    if [ $((nrec * 100)) -gt "$n" ]; then
        echo "$hits" | head -n 30 >&2
        fail "$nrec of $n frames are retransmissions, dup ACKs or out of order: more than 1% (filter: $filter)"
    fi
    mergecap -F pcap -w "$tmp/kfull-all.pcap" "$fullcap" "$fullcap2" || fail "mergecap"
    fullcap="$tmp/kfull-all.pcap"
    nf=$(capinfos -M -c "$fullcap" 2>/dev/null | sed -n 's/^Number of packets: *//p')
    # A TCP checksum of 0xFFFF where the sum gives 0x0000 is the same one's-complement value (RFC 1624
    # §3) and passes every receiver's check; Linux writes it when it completes a checksum in software
    # (skb_checksum_help), and tshark calls it bad. Allowed from the kernel only: Demi's stack writes 0x0000.
    filter="ip.checksum.status == \"Bad\" || (tcp.checksum.status == \"Bad\" && !(tcp.checksum.ffff && ip.src == $kip)) || udp.checksum.status == \"Bad\" || icmp.checksum.status == \"Bad\""
    hits=$(tshark -r "$fullcap" "${payload_as_data[@]}" -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE -Y "$filter" 2>/dev/null)
    if [ -n "$hits" ]; then
        echo "$hits" | head -n 30 >&2
        fail "$(echo "$hits" | wc -l) of $nf whole frames have a bad checksum"
    fi
    good=$(tshark -r "$fullcap" -o tcp.check_checksum:TRUE -Y 'tcp.checksum.status == "Good"' 2>/dev/null | wc -l)
    [ "$good" -gt 1000 ] || fail "only $good TCP checksums could be verified in the full capture"
    drops=$(sed -n "s/^Packets received\/dropped on interface '[^']*': //p" "$tmp/tshark.log" | cut -d' ' -f1)
    echo "ok: $n frames captured (received/dropped by the capture: ${drops:-?}): no RST, nothing malformed, no ACK of unseen data, loss recovery within 1%;"
    echo "    checksums of $nf whole frames (the start of each transfer) checked ($good TCP checksums good, none bad)"
    ;;
*) fail "unknown case '$case_'" ;;
esac
echo "PASS [catnip_e2e.$case_]"
exit 0
