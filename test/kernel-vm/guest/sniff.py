#!/usr/bin/python3
"""Counts the IP packets one interface sends by IP protocol (AF_PACKET, outgoing frames), for the
kernel-VM suite's proof that traffic between two hosts is ESP or AH on the wire and nothing else.
Only frames the host sends count: a tunnel-mode packet decrypted on arrival is handed back to the
receiving interface (taps see it there again as incoming), but it never crossed the wire in clear.
Run one on each end of a link: every frame on the wire is outgoing at one of them.

usage: sniff.py IFACE READY_FILE STOP_FILE MAX_SECONDS ADDRESS...
Touches READY_FILE once capturing; stops once STOP_FILE exists and the frames already captured
have all been read (or after MAX_SECONDS); prints one JSON object: {"<proto>": count, ...} for the
packets whose source and destination are both among the ADDRESSes (ICMPv6 neighbour discovery
counted as "nd"), plus "other": the first few packets that are not ESP, AH or UDP, described, and
"udp": the IPv4 UDP ones by kind: "ike" (port 500, or 4500 with the non-ESP marker), "esp" (ESP in
UDP on 4500, RFC 3948), "keepalive" (the one-byte NAT-keepalive) and "other"."""
import ipaddress, json, os, socket, sys, time

iface, ready, stop, limit = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
hosts = {ipaddress.ip_address(a).packed for a in sys.argv[5:]}
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(0x0003))  # ETH_P_ALL
s.bind((iface, 0))
s.settimeout(0.1)
open(ready, "w").close()
counts = {}
end = time.time() + limit
stopping = False
while time.time() < end:
    # The STOP_FILE comes once the caller's last packet was answered, but that packet's frames may
    # still wait in this socket's queue: once stopping, read until the queue stays empty.
    stopping = stopping or os.path.exists(stop)
    try:
        frame, (_, _, pkttype, _, _) = s.recvfrom(65535)
    except socket.timeout:
        if stopping:
            break
        continue
    if pkttype != socket.PACKET_OUTGOING:
        continue
    ethertype = int.from_bytes(frame[12:14], "big")
    if ethertype == 0x0800:
        proto, src, dst = str(frame[14 + 9]), frame[26:30], frame[30:34]
    elif ethertype == 0x86DD:
        proto, src, dst = str(frame[14 + 6]), frame[22:38], frame[38:54]
        if proto == "58" and 133 <= frame[14 + 40] <= 137:
            proto = "nd"
    else:
        continue
    if src in hosts and dst in hosts:
        counts[proto] = counts.get(proto, 0) + 1
        if proto == "17" and ethertype == 0x0800:
            udp = 14 + (frame[14] & 0x0F) * 4
            ports = (int.from_bytes(frame[udp:udp + 2], "big"), int.from_bytes(frame[udp + 2:udp + 4], "big"))
            body = frame[udp + 8:14 + int.from_bytes(frame[16:18], "big")]
            kind = "other"
            if 4500 in ports:
                kind = "keepalive" if body == b"\xff" else "ike" if body[:4] == b"\0\0\0\0" else "esp"
            elif 500 in ports:
                kind = "ike"
            by = counts.setdefault("udp", {})
            by[kind] = by.get(kind, 0) + 1
        if proto not in ("50", "51", "17") and len(counts.setdefault("other", [])) < 5:
            counts["other"].append("%s %s > %s: %s" % (proto, ipaddress.ip_address(src), ipaddress.ip_address(dst), frame[34:42].hex() if ethertype == 0x0800 else frame[54:62].hex()))

print(json.dumps(counts), flush=True)
