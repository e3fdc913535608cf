#!/bin/sh
# Two IPsec gateways on one Linux machine: two network namespaces joined by a veth pair, one
# in.iked in each, and a ping that goes over ESP.
#
#   namespace iked-ex-a   veth exa  192.0.2.1/24   network 198.51.100.0/24 (198.51.100.1 on lo)
#   namespace iked-ex-b   veth exb  192.0.2.2/24   network 203.0.113.0/24  (203.0.113.1 on lo)
#
# Each in.iked gets a root directory of its own (--root) with ike.config, ike.preshared and an
# ipsecinit.conf asking for ESP between the two hosts (transport mode) and between the two
# networks (tunnel mode through the gateways). The first ping in each case makes the kernel
# raise an ACQUIRE, in.iked negotiates Main Mode and Quick Mode, and the ping is answered over
# ESP; `ip -s xfrm state` shows the SAs' packet counters.
#
# Needs: root, iproute2, ping, Node.js 20, a built iked (`npm install` in the repository), and a
# kernel with IPsec: XFRM netlink (xfrm_user) or PF_KEY (af_key), ESP (esp4) and the AES/SHA-2
# crypto modules, as the kernels of the usual distributions have. Some container and CI kernels
# have none of it; there the daemons start but the SAs cannot be installed (the log says so).
#
# usage: examples/two-namespaces.sh [xfrm|pfkey]     (default: auto)
# Everything it made (namespaces, daemons, the temporary directory) goes when it exits.
set -eu

KERNEL=${1:-auto}
HERE=$(cd "$(dirname "$0")" && pwd)
IN_IKED=${IN_IKED:-$HERE/../dist/src/cli/in-iked.js}
NODE=${NODE:-node}
[ "$(id -u)" = 0 ] || { echo "$0: run as root (network namespaces, IPsec)" >&2; exit 1; }
[ -f "$IN_IKED" ] || { echo "$0: $IN_IKED not found: run 'npm install' in the repository first" >&2; exit 1; }
PING=$(command -v ping || true)
[ -n "$PING" ] || PING="busybox ping"

WORK=$(mktemp -d /tmp/iked-example.XXXXXX)
cleanup() {
	for ns in iked-ex-a iked-ex-b; do
		pid=$(cat "$WORK/$ns/var/run/in.iked.pid" 2>/dev/null || true)
		[ -n "$pid" ] && kill "$pid" 2>/dev/null || true
	done
	sleep 1
	ip netns del iked-ex-a 2>/dev/null || true
	ip netns del iked-ex-b 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

KEY=6578616d706c652d6b65792d6e6f742d612d736563726574   # "example-key-not-a-secret"

# root SELF PEER OWN_NET PEER_NET: an in.iked root for one gateway
root() {
	r=$WORK/$1
	mkdir -p "$r/etc/inet/ike" "$r/etc/inet/secret" "$r/var/run"
	chmod 700 "$r/etc/inet/secret"
	cat > "$r/etc/inet/ike/config" <<EOF
p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes }
p2_pfs 14
# The label names the tunnel of ipsecinit.conf: its addresses are the tunnel's endpoints.
{ label "gw" local_addr $2 remote_addr $3 }
EOF
	cat > "$r/etc/inet/secret/ike.preshared" <<EOF
{ localidtype IP localid $2 remoteidtype IP remoteid $3 key $KEY }
EOF
	chmod 600 "$r/etc/inet/secret/ike.preshared"
	cat > "$r/etc/inet/ipsecinit.conf" <<EOF
{ laddr $2 raddr $3 } ipsec { encr_algs aes encr_auth_algs sha512 }
{ tunnel gw negotiate tunnel laddr $4 raddr $5 } ipsec { encr_algs aes encr_auth_algs sha512 }
EOF
}

echo "== two namespaces and a veth pair"
ip netns add iked-ex-a
ip netns add iked-ex-b
ip link add exa netns iked-ex-a type veth peer name exb netns iked-ex-b
for side in "a 192.0.2.1 198.51.100.1 203.0.113.0/24 192.0.2.2" "b 192.0.2.2 203.0.113.1 198.51.100.0/24 192.0.2.1"; do
	set -- $side
	ns=iked-ex-$1
	ip -n "$ns" link set lo up
	ip -n "$ns" link set "ex$1" up
	ip -n "$ns" addr add "$2/24" dev "ex$1"
	ip -n "$ns" addr add "$3/32" dev lo
	ip -n "$ns" route add "$4" via "$5" src "$3"
	# Hold the first packets while the SAs are negotiated, instead of dropping them.
	ip netns exec "$ns" sysctl -q -w net.core.xfrm_larval_drop=0
done
root iked-ex-a 192.0.2.1 192.0.2.2 198.51.100.0/24 203.0.113.0/24
root iked-ex-b 192.0.2.2 192.0.2.1 203.0.113.0/24 198.51.100.0/24

echo "== in.iked in each namespace (--kernel $KERNEL)"
for ns in iked-ex-b iked-ex-a; do
	ip netns exec "$ns" env debug_logfile="$WORK/$ns.log" "$NODE" --openssl-legacy-provider "$IN_IKED" \
		--root "$WORK/$ns" --kernel "$KERNEL" --workers 1 ||
		{ cat "$WORK/$ns.log" >&2; exit 1; }
done
ip -n iked-ex-a xfrm policy | sed 's/^/   /'

status=0
echo "== ping 192.0.2.2 (host to host, ESP transport mode)"
ip netns exec iked-ex-a $PING -c 3 -W 30 192.0.2.2 || status=1
echo "== ping 203.0.113.1 from 198.51.100.1 (network to network, ESP tunnel mode)"
ip netns exec iked-ex-a $PING -c 3 -W 30 -I 198.51.100.1 203.0.113.1 || status=1

echo "== the SAs in namespace iked-ex-a, with their packet counters (ip -s xfrm state)"
ip -n iked-ex-a -s xfrm state | grep -E '^src|proto esp|packets\)' | sed 's/^/   /'
packets=$(ip -n iked-ex-a -s xfrm state | sed -n 's/.*(bytes), \([0-9]*\)(packets).*/\1/p' | awk '{ n += $1 } END { print n + 0 }')
echo "== ESP packets counted by the SAs: $packets"
[ "$packets" -gt 0 ] || status=1

if [ "$status" = 0 ]; then
	echo "== done: the pings went over ESP"
else
	echo "== something failed; the daemons' logs:" >&2
	tail -n 40 "$WORK"/iked-ex-*.log >&2
fi
exit $status
