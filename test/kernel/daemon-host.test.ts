/**
 * in.iked on this machine's own kernel (XFRM policies, ACQUIRE and SPI allocation, but no ESP), in
 * private network namespaces joined by a veth pair (192.0.2.1 | 192.0.2.2):
 *
 * - the SPD from ipsecinit.conf at start (a previous run's stale policies and SAs removed, others'
 *   left alone), replaced on SIGHUP, removed at stop; `ikeadm` names the backend; kept when a
 *   reload finds the file unreadable, emptied when it finds none;
 * - traffic without an SA raises an ACQUIRE that starts Main Mode and Quick Mode with a peer in the
 *   other namespace; the inbound SPI comes from the kernel (ALLOCSPI); this kernel then refuses the
 *   ESP SA, and the negotiation fails cleanly: a clear log line, ATTRIBUTES-NOT-SUPPORTED to the
 *   peer, no SA of ours left in the kernel.
 *
 * The full story (SAs installed, ping over ESP) runs in the kernel VM (test/kernel-vm).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { ikeadm, makeRoot, startDaemon, type RunningDaemon } from "../daemon/harness.js";
import { IKED_REQID } from "../../src/kernel/kernel.js";
import { SPD_PRIORITY_BASE, SPD_PRIORITY_SPAN } from "../../src/kernel/spd.js";
import { kernelSkip, until, vethPair, type Netns } from "../helpers/netns.js";

const skip = kernelSkip();
let a: Netns;
let b: Netns;

before(async () => {
  if (skip !== false) return;
  [a, b] = await vethPair();
});
after(async () => {
  await a?.remove();
  await b?.remove();
});

const XF = "p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes }";
const config = (local: string, remote: string): string => `${XF}\n{\n  label "peer"\n  local_addr ${local}\n  remote_addr ${remote}\n}\n`;
const psk = (local: string, remote: string): string =>
  `{\n  localidtype IP\n  localid ${local}\n  remoteidtype IP\n  remoteid ${remote}\n  key 6b65726e656c2d686f73742d74657374\n}\n`;
const HOST_POLICY = (local: string, remote: string): string => `{ laddr ${local} raddr ${remote} } ipsec { encr_algs aes encr_auth_algs sha256 }\n`;

/** One UDP datagram from a namespace (no ping on this machine); a refused send is fine. */
async function udpFrom(ns: Netns, to: string): Promise<void> {
  const py = `import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ntry:\n  s.sendto(b"x", ("${to}", 9))\nexcept OSError:\n  pass\n`;
  await ns.exec("/usr/bin/python3", "-c", py);
}

/** Binds a UDP socket with SO_REUSEADDR in a namespace; "bound" or the errno name. */
async function bindWithReuse(ns: Netns, address: string, port: number): Promise<string> {
  const py = `import errno, socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\ntry:\n  s.bind(("${address}", ${port}))\n  print("bound")\nexcept OSError as e:\n  print(errno.errorcode[e.errno])\n`;
  return (await ns.exec("/usr/bin/python3", "-c", py)).trim();
}

function rootFor(local: string, remote: string, ipsec: string): string {
  const r = makeRoot(config(local, remote), psk(local, remote));
  fs.writeFileSync(path.join(r, "etc/inet/ipsecinit.conf"), ipsec);
  return r;
}

/** Policies in the namespace as `dir priority src>dst reqid…` lines (ip -o xfrm policy). */
async function policies(ns: Netns): Promise<string[]> {
  const out = await ns.ip("-o", "xfrm", "policy");
  return out.split("\n").filter((l) => l.trim() !== "" && !l.includes("socket"));
}

async function states(ns: Netns): Promise<string> {
  return ns.ip("xfrm", "state");
}

test("SPD: installed at start (stale policy and SA of a previous run removed, others' kept), replaced on SIGHUP, removed at stop", { skip }, async () => {
  // What a crashed earlier run left: a policy in the daemon's band, a larval SA with its reqid.
  await a.ip("xfrm", "policy", "add", "src", "10.7.0.0/24", "dst", "10.8.0.0/24", "dir", "out", "priority", String(SPD_PRIORITY_BASE + 5), "tmpl", "proto", "esp", "reqid", String(IKED_REQID));
  await a.ip("xfrm", "state", "allocspi", "src", "192.0.2.2", "dst", "192.0.2.1", "proto", "esp", "mode", "transport", "reqid", String(IKED_REQID));
  // Someone else's policy and larval SA.
  await a.ip("xfrm", "policy", "add", "src", "10.9.0.0/24", "dst", "10.10.0.0/24", "dir", "out", "priority", "100", "tmpl", "proto", "esp");
  await a.ip("xfrm", "state", "allocspi", "src", "192.0.2.2", "dst", "192.0.2.1", "proto", "ah", "mode", "transport", "reqid", "7");
  const root = rootFor("192.0.2.1", "192.0.2.2", HOST_POLICY("192.0.2.1", "192.0.2.2"));
  const d = await startDaemon(root, ["--kernel", "auto"], {}, { netns: a.name });
  try {
    await d.waitFor("IKE engine started");
    // The sockets the kernel backend makes on unprivileged ports (here free ones) carry no
    // SO_REUSEADDR: another socket, even with it, cannot bind the daemon's address and port (and
    // take IKE on the NAT-T port away).
    const bound = [...d.output().matchAll(/"192\.0\.2\.1:([0-9]+)/g)].map((m) => Number(m[1]));
    assert.equal(bound.length, 2, "an IKE and a NAT-T socket");
    for (const port of bound) assert.equal(await bindWithReuse(a, "192.0.2.1", port), "EADDRINUSE", `192.0.2.1:${port} taken over`);
    const p1 = await policies(a);
    const ours = p1.filter((l) => l.includes(`priority ${SPD_PRIORITY_BASE} `));
    assert.equal(ours.length, 2, `one in and one out policy for the entry:\n${p1.join("\n")}`);
    assert.ok(ours.every((l) => l.includes("192.0.2.1/32") && l.includes("192.0.2.2/32") && l.includes(`reqid ${IKED_REQID}`) && l.includes("proto esp")), p1.join("\n"));
    assert.ok(!p1.some((l) => l.includes("10.7.0.0/24")), "the stale policy of the band is gone");
    assert.ok(p1.some((l) => l.includes("10.9.0.0/24") && l.includes("priority 100 ")), "someone else's policy stays");
    const s1 = await states(a);
    assert.doesNotMatch(s1, new RegExp(`reqid ${IKED_REQID} `), "the previous run's SA is gone");
    assert.match(s1, /proto ah .*reqid 7 /s, "someone else's SA stays");
    assert.match(d.output(), /removed SAs a previous in\.iked left in the kernel/);

    assert.match((await ikeadm(root, ["get", "stats"])).stdout, /^Kernel SADB backend: xfrm$/m);
    const dump = await ikeadm(root, ["dump", "sadb"]);
    assert.match(dump.stdout, /^Kernel SADB backend: xfrm$/m);
    assert.match(dump.stdout, /^SADB: ah spi 0x[0-9a-f]{8} 192\.0\.2\.2 -> 192\.0\.2\.1 mode transport state larval reqid 7$/m, "dump sadb reads the kernel");

    // SIGHUP: a new set replaces the old one; the unchanged entry keeps its kernel policy.
    const outIndex = (lines: string[]) => lines.find((l) => l.includes("dir out") && l.includes("192.0.2.2/32"))?.match(/index (\d+)/)?.[1];
    const before1 = outIndex(ours);
    fs.writeFileSync(path.join(root, "etc/inet/ipsecinit.conf"), `{ ulp tcp rport 22 raddr 192.0.2.2 } bypass {}\n${HOST_POLICY("192.0.2.1", "192.0.2.2")}`);
    d.signal("SIGHUP");
    await d.waitFor("configuration reloaded");
    const p2 = await policies(a);
    const ours2 = p2.filter((l) => /priority 48487[0-9]{4} /.test(l) || l.includes(`priority ${SPD_PRIORITY_BASE} `) || l.includes(`priority ${SPD_PRIORITY_BASE + 1} `));
    assert.equal(ours2.length, 4, p2.join("\n"));
    assert.ok(ours2.some((l) => l.includes("dport 22") && l.includes(`priority ${SPD_PRIORITY_BASE} `) && !l.includes("tmpl")), `the bypass entry is in, ranked first:\n${p2.join("\n")}`);
    assert.equal(outIndex(ours2), before1, "the unchanged entry was updated in place (same index: no gap)");
  } finally {
    assert.equal(await d.stop(), 0);
  }
  const p3 = await policies(a);
  assert.deepEqual(p3.filter((l) => !l.includes("10.9.0.0/24")), [], "only someone else's policy is left");
  assert.match(d.output(), /IPsec policy and SAs removed from the kernel/);
  await a.ip("xfrm", "policy", "flush");
  await a.ip("xfrm", "state", "flush");
});

/** The daemon's policies (priority in its band) among `policies(ns)` lines. */
const owned = (lines: string[]): string[] =>
  lines.filter((l) => {
    const p = Number(l.match(/priority (\d+) /)?.[1]);
    return p >= SPD_PRIORITY_BASE && p < SPD_PRIORITY_BASE + SPD_PRIORITY_SPAN;
  });

test("an entry the kernel cannot express fails the whole file: none of it at start (the daemon runs, Quick Mode refused); on SIGHUP the running policy stays", { skip }, async () => {
  const good = HOST_POLICY("192.0.2.1", "192.0.2.2");
  const bad = `${good}{ ulp icmp type 0-8 } drop {}\n`;
  const root = rootFor("192.0.2.1", "192.0.2.2", bad);
  const file = path.join(root, "etc/inet/ipsecinit.conf");
  const error = `${file}:2:1: policy entry 2 cannot be put in the kernel: an ICMP type or code range`;
  const d = await startDaemon(root, ["--kernel", "auto"], {}, { netns: a.name });
  try {
    await d.waitFor("IKE engine started");
    assert.ok(d.output().includes(error), d.output());
    assert.match(d.output(), /IPsec policy refused: Quick Mode is refused/);
    assert.deepEqual(owned(await policies(a)), [], "not even the good entry is in the kernel");

    fs.writeFileSync(file, good);
    d.signal("SIGHUP");
    await d.waitFor("configuration reloaded");
    const running = owned(await policies(a));
    assert.equal(running.length, 2, running.join("\n"));

    fs.writeFileSync(file, bad);
    d.signal("SIGHUP");
    await d.waitFor("reload refused: the running configuration stays in effect");
    assert.equal(d.output().split(error).length - 1, 2, "the entry is named at start and on reload");
    assert.deepEqual(owned(await policies(a)), running, "the running policy stays in the kernel");
  } finally {
    assert.equal(await d.stop(), 0);
  }
  await a.ip("xfrm", "policy", "flush");
});

test("a reload that finds ipsecinit.conf unreadable (a directory in its place) is refused: the running SPD stays; a missing file empties it", { skip }, async () => {
  const root = rootFor("192.0.2.1", "192.0.2.2", HOST_POLICY("192.0.2.1", "192.0.2.2"));
  const file = path.join(root, "etc/inet/ipsecinit.conf");
  const d = await startDaemon(root, ["--kernel", "auto"], {}, { netns: a.name });
  try {
    await d.waitFor("IKE engine started");
    const running = owned(await policies(a));
    assert.equal(running.length, 2, running.join("\n"));

    // Root reads past chmod 000: a directory is unreadable for root too.
    fs.rmSync(file);
    fs.mkdirSync(file);
    d.signal("SIGHUP");
    await d.waitFor("reload refused: the running configuration stays in effect");
    assert.ok(d.output().includes(`${file}:1:1: not a regular file`), d.output());
    assert.deepEqual(owned(await policies(a)), running, "the running policy stays in the kernel");

    fs.rmdirSync(file);
    d.signal("SIGHUP");
    await d.waitFor("configuration reloaded");
    assert.deepEqual(owned(await policies(a)), [], "no file, no policy");
  } finally {
    assert.equal(await d.stop(), 0);
  }
  await a.ip("xfrm", "policy", "flush");
});

test("a clash with another program's policy refuses the whole set: start-up fails leaving none of it in the kernel; a reload keeps the running set", { skip }, async () => {
  // Another program's policy with the selector and direction of the host entry's outbound policy.
  await a.ip("xfrm", "policy", "add", "src", "192.0.2.1/32", "dst", "192.0.2.2/32", "dir", "out", "priority", "100", "tmpl", "proto", "esp");
  const theirs = "src 192.0.2.1/32 dst 192.0.2.2/32";
  const root = rootFor("192.0.2.1", "192.0.2.2", `{ raddr 192.0.2.9 } bypass {}\n${HOST_POLICY("192.0.2.1", "192.0.2.2")}`);
  try {
    const started = await startDaemon(root, ["--kernel", "auto"], {}, { netns: a.name }).catch((err: Error) => err);
    if (!(started instanceof Error)) {
      await started.stop();
      assert.fail(`start-up went on despite the clash:\n${started.output()}`);
    }
    assert.match(started.message, /daemon exited \(1\) during startup/);
    assert.match(started.message, /IPsec policy entry 2 \(out 192\.0\.2\.1\/32 -> 192\.0\.2\.2\/32\) clashes with a kernel policy in\.iked does not own/);
    const left = await policies(a);
    assert.deepEqual(owned(left), [], `neither the bypass entry nor the inbound policy stays:\n${left.join("\n")}`);
    assert.ok(left.some((l) => l.includes(theirs) && l.includes("priority 100 ")), "their policy stays");

    // Running without the clash; then a reload whose new entry clashes is refused as a whole.
    fs.writeFileSync(path.join(root, "etc/inet/ipsecinit.conf"), HOST_POLICY("192.0.2.1", "192.0.2.2"));
    await a.ip("xfrm", "policy", "delete", "src", "192.0.2.1/32", "dst", "192.0.2.2/32", "dir", "out");
    await a.ip("xfrm", "policy", "add", "src", "0.0.0.0/0", "dst", "192.0.2.9/32", "dir", "out", "priority", "100", "tmpl", "proto", "esp");
    const d = await startDaemon(root, ["--kernel", "auto"], {}, { netns: a.name });
    try {
      await d.waitFor("IKE engine started");
      const running = owned(await policies(a));
      assert.equal(running.length, 2, running.join("\n"));
      fs.writeFileSync(path.join(root, "etc/inet/ipsecinit.conf"), `{ raddr 192.0.2.9 } ipsec { encr_algs aes encr_auth_algs sha256 }\n${HOST_POLICY("192.0.2.1", "192.0.2.2")}`);
      d.signal("SIGHUP");
      await d.waitFor("reload refused: the kernel refused the new IPsec policy");
      assert.match(d.output(), /IPsec policy entry 1 \(out 0\.0\.0\.0\/0 -> 192\.0\.2\.9\/32\) clashes/);
      assert.deepEqual(owned(await policies(a)), running, "the running set is back, whole");
    } finally {
      assert.equal(await d.stop(), 0);
    }
  } finally {
    await a.ip("xfrm", "policy", "flush");
  }
});

test("ACQUIRE from traffic starts Main Mode and Quick Mode with the peer; the SPI comes from the kernel; this kernel's refusal of ESP fails cleanly", { skip }, async () => {
  const rootA = rootFor("192.0.2.1", "192.0.2.2", HOST_POLICY("192.0.2.1", "192.0.2.2"));
  const rootB = rootFor("192.0.2.2", "192.0.2.1", HOST_POLICY("192.0.2.2", "192.0.2.1"));
  let da: RunningDaemon | undefined;
  let db: RunningDaemon | undefined;
  try {
    db = await startDaemon(rootB, ["--kernel", "memory", "--port", "500", "--natt-port", "4500"], {}, { netns: b.name });
    da = await startDaemon(rootA, ["--kernel", "xfrm", "--port", "500", "--natt-port", "4500"], {}, { netns: a.name });
    await da.waitFor("IKE engine started");
    // The first packet has no SA: the kernel holds or drops it and tells the daemon (ACQUIRE).
    await udpFrom(a, "192.0.2.2");
    await da.waitFor(/ACQUIRE: negotiating/, 30_000);
    await da.waitFor(/Quick Mode failed/, 60_000);
    const outA = da.output();
    assert.match(outA, /kernel refused the SAs: IKE_ERR_KERNEL_EPROTONOSUPPORT/);
    assert.match(outA, /Phase 1 SA established/);
    assert.match(outA, /what="ALLOCSPI esp 192\.0\.2\.2 -> 192\.0\.2\.1"/, "the inbound SPI is the kernel's");
    await db.waitFor(/peer sent a protected notify/, 30_000);
    assert.match(db.output(), /peer sent a protected notify.* notify=13/, "the peer hears ATTRIBUTES-NOT-SUPPORTED");
    // The inbound SPI was allocated by the kernel, then freed: no SA of ours stays.
    // (The kernel's own larval state of the ACQUIRE, SPI 0, stays until net.core.xfrm_acq_expires.)
    const ours = (text: string) => text.split(/^(?=src )/m).filter((blk) => blk.includes(`reqid ${IKED_REQID} `) && !/spi 0x0+ /.test(blk));
    await until("our larval SA to go", async () => ours(await states(a)).length === 0, 10_000);
  } finally {
    if (da !== undefined) assert.equal(await da.stop(), 0);
    if (db !== undefined) assert.equal(await db.stop(), 0);
    await a.ip("xfrm", "state", "flush");
  }
});
