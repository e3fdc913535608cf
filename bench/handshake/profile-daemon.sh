#!/usr/bin/env bash
# Profile in.iked under ikeload: the daemon runs as a gateway runs it (detached, default logging,
# --kernel memory) with node --cpu-prof (main thread and every pool worker write a profile), at
# nice -10 so that the wall-clock sampler sees little preemption by the generator; then
# profile-breakdown.js charges each thread's samples to categories.
#
#   bench/handshake/profile-daemon.sh OUTDIR GROUP WORKERS [COUNT]
#
# Run from the repository root, after `npm run build:ts`, inside a network namespace of your own
# (it binds 127.0.7.41:17350 and sources 127.7.4.x:500).
set -euo pipefail
out=$1 group=$2 workers=$3 count=${4:-800}
root=$(mktemp -d /tmp/iked-prof-root.XXXXXX)
trap 'rm -rf "$root"' EXIT
mkdir -p "$out" "$root/etc/inet/ike" "$root/etc/inet/secret"
chmod 700 "$root/etc/inet/secret"
cat > "$root/etc/inet/ike/config" <<CFG
{
  label "profile"
  local_addr 127.0.7.41
  remote_addr 127.7.4.0/24
  p1_xform { auth_method preshared oakley_group $group auth_alg sha1 encr_alg aes(128..128) }
}
CFG
cat > "$root/etc/inet/secret/ike.preshared" <<KEY
{
  localidtype ip
  localid 127.0.7.41
  remoteidtype ip
  remoteid 127.7.4.0/24
  ike_mode main
  key "profile-secret"
}
KEY
chmod 600 "$root/etc/inet/secret/ike.preshared"
echo '{ raddr 127.7.4.0/24 } ipsec { encr_algs aes encr_auth_algs sha1 }' > "$root/etc/inet/ipsecinit.conf"
nice -n -10 node --cpu-prof --cpu-prof-dir="$out" --openssl-legacy-provider dist/src/cli/in-iked.js \
  --root "$root" --kernel memory --workers "$workers" --port 17350 --natt-port 17351
pid=$(cat "$root/var/run/in.iked.pid")
node --openssl-legacy-provider dist/src/cli/ikeload.js --target 127.0.7.41:17350 --source 127.7.4.1 \
  --concurrency 16 --count 16 --psk profile-secret --dh "$group" --no-progress > /dev/null
before=$(awk '{print $14+$15}' "/proc/$pid/stat")
node --openssl-legacy-provider dist/src/cli/ikeload.js --target 127.0.7.41:17350 --source 127.7.4.1 \
  --concurrency 16 --count "$count" --psk profile-secret --dh "$group" --retransmit-init 2000 --expire 20 --no-progress
after=$(awk '{print $14+$15}' "/proc/$pid/stat")
echo "daemon CPU (profiled, all threads): $(( (after - before) * 10 )) ms for $count negotiations"
kill -TERM "$pid"
while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
# The launcher's own profile (it only detached the daemon) is not wanted.
for f in "$out"/CPU.*.cpuprofile; do
  case "$f" in *".$pid."*) ;; *) rm -f "$f" ;; esac
done
ls "$out"
