#!/usr/bin/env python3
"""Regenerates the seed corpus under fuzz/corpus/ from the wire test vectors.

The vectors (tests/unit/net/wire/vectors.hpp) are real frames captured between two Linux hosts; each
fuzz target gets the layer it parses: whole frames, the Ethernet payload, or the IP payload.
Run from anywhere: python3 fuzz/make_corpus.py
"""
import pathlib
import re
import shutil

here = pathlib.Path(__file__).resolve().parent
vectors_hpp = here.parent / "tests" / "unit" / "net" / "wire" / "vectors.hpp"

text = vectors_hpp.read_text()
vectors = {
    name: bytes(int(x, 16) for x in re.findall(r"0x([0-9a-fA-F]{2})", body))
    for name, body in re.findall(r"inline constexpr std::uint8_t (\w+)\[\] = \{(.*?)\};", text, re.S)
}


def l3(frame):
    return frame[14:]


def l4(packet):
    ihl = (packet[0] & 0x0F) * 4
    total = (packet[2] << 8) | packet[3]
    return packet[ihl:total]


frames = {n: v for n, v in vectors.items() if n != "ipv4_with_options"}
ip_frames = {n: v for n, v in frames.items() if v[12:14] == b"\x08\x00"}
corpus = {
    "ethernet": {n: frames[n] for n in ("arp_request", "icmp_echo_request", "tcp_syn", "udp_dns_query")},
    "frame": frames,
    "arp": {n: l3(frames[n]) for n in ("arp_request", "arp_reply")},
    "ipv4": {**{n: l3(ip_frames[n]) for n in ("icmp_echo_request", "tcp_syn", "udp_dns_query",
                                               "icmp_port_unreachable")},
             "ipv4_with_options": vectors["ipv4_with_options"]},
    "icmpv4": {n: l4(l3(frames[n])) for n in ("icmp_echo_request", "icmp_echo_reply", "icmp_port_unreachable")},
    "udp": {n: l4(l3(frames[n])) for n in ("udp_dns_query", "udp_dns_response")},
    "tcp": {n: l4(l3(frames[n])) for n in frames if n.startswith("tcp_")},
    # Two split points and a replacement word, then data.
    "checksum": {n: bytes([13, 7, 0xAB, 0xCD]) + l3(frames[n])
                 for n in ("tcp_syn", "udp_dns_query", "icmp_echo_request")},
}

for target, files in corpus.items():
    d = here / "corpus" / target
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    for name, data in files.items():
        (d / name).write_bytes(data)
    print(f"{target}: {len(files)} seeds")
