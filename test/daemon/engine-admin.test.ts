/**
 * The IKE engine inside the real daemon, without third-party peers: two compiled in.iked processes
 * negotiate with each other (ACQUIRE on one brings up Main Mode and Quick Mode), and ikeadm reads
 * the result: `get|dump p1` and `dump sadb` (keys only at privilege keymat), `get stats`, `del p1`,
 * `flush p1`, and the `acquire` extension's refusals.
 *
 * Addresses and ports (shared machine): 127.0.6.10 / 127.0.6.11, UDP 16020-16023.
 */
import assert from "node:assert/strict";
import dgram from "node:dgram";
import fs from "node:fs";
import path from "node:path";
import { after, describe, test } from "node:test";
import { parseAcquire } from "../../src/cli/ikeadm/commands.js";
import type { AcquireResult, ListResult, P1View, SadbResult, SadbView, StatsResult } from "../../src/control/results.js";
import { IN_IKED, ikeadm, makeRoot, rootPath, run, startDaemon, type RunningDaemon } from "./harness.js";
import { poll } from "../helpers/wait.js";

const A = "127.0.6.10";
const B = "127.0.6.11";
const PORT_A = 16020;
const PORT_B = 16022;
const PSK = "daemon-pair-test-key";

const rule = (label: string, local: string, remote: string, remotePort: number) =>
  `p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes(128..128) }\n{\n  label "${label}"\n  local_addr ${local}\n  remote_addr ${remote}\n  remote_port ${remotePort}\n}\n`;
const psk = (local: string, remote: string) => `{\n  localidtype IP\n  localid ${local}\n  remoteidtype IP\n  remoteid ${remote}\n  key "${PSK}"\n}\n`;

const cleanups: (() => Promise<unknown> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function daemon(local: string, remote: string, port: number, remotePort: number, priv: string, ipsecinit?: string): Promise<{ root: string; d: RunningDaemon }> {
  const root = makeRoot(rule(`to ${remote}`, local, remote, remotePort), psk(local, remote));
  if (ipsecinit !== undefined) fs.writeFileSync(path.join(root, "etc/inet/ipsecinit.conf"), ipsecinit);
  const d = await startDaemon(root, ["-p", priv, "--port", String(port), "--natt-port", String(port + 1)]);
  cleanups.push(() => fs.rmSync(root, { recursive: true, force: true }), () => d.stop());
  return { root, d };
}

async function json<T>(root: string, args: string[], code = 0): Promise<T> {
  const r = await ikeadm(root, ["--json", ...args]);
  assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

test("parseAcquire: keywords, protocol names, peer forms, errors", () => {
  assert.deepEqual(parseAcquire(["10.0.0.1", "10.0.0.2", "proto", "tcp", "dport", "22", "peer", "10.0.0.9:16000"]), {
    ok: true,
    req: { cmd: "acquire", src: "10.0.0.1", dst: "10.0.0.2", ulp: 6, dport: 22, peer: "10.0.0.9", peerPort: 16000 },
  });
  assert.deepEqual(parseAcquire(["::1", "::2", "peer", "[::3]:500", "sport", "9"]), { ok: true, req: { cmd: "acquire", src: "::1", dst: "::2", peer: "::3", peerPort: 500, sport: 9 } });
  assert.deepEqual(parseAcquire(["::1", "::2", "peer", "::3"]), { ok: true, req: { cmd: "acquire", src: "::1", dst: "::2", peer: "::3" } });
  assert.deepEqual(parseAcquire(["1.1.1.1", "2.2.2.2", "proto", "47"]), { ok: true, req: { cmd: "acquire", src: "1.1.1.1", dst: "2.2.2.2", ulp: 47 } });
  for (const bad of [["1.1.1.1"], ["1.1.1.1", "2.2.2.2", "proto"], ["1.1.1.1", "2.2.2.2", "proto", "xyz"], ["1.1.1.1", "2.2.2.2", "dport", "70000"], ["1.1.1.1", "2.2.2.2", "colour", "red"], ["1.1.1.1", "2.2.2.2", "peer", "3.3.3.3:99999"]]) {
    assert.equal(parseAcquire(bad).ok, false, bad.join(" "));
  }
});

describe("two daemons negotiate through ACQUIRE", () => {
  test("A initiates to B; ikeadm shows P1 SAs, stats, SADB (keys at keymat only); del p1 reaches B", { timeout: 90_000 }, async () => {
    const policy = (peer: string) => `{ raddr ${peer} } ipsec { encr_algs aes encr_auth_algs sha1 }\n`;
    const b = await daemon(B, A, PORT_B, PORT_A, "base", policy(A));
    const a = await daemon(A, B, PORT_A, PORT_B, "keymat", policy(B));

    const acq = await ikeadm(a.root, ["acquire", A, B, "proto", "tcp", "dport", "22"]);
    assert.equal(acq.code, 0, acq.stderr);
    assert.match(acq.stdout, new RegExp(`^ACQUIRE \\d+: negotiating with ${B.replace(/\./g, "\\.")}:${PORT_B}\\.$`, "m"));

    await poll(async () => (await json<ListResult<SadbView>>(a.root, ["dump", "sadb"])).items.filter((s) => s.state === "mature").length === 2, "A's two IPsec SAs");
    await poll(async () => (await json<ListResult<SadbView>>(b.root, ["dump", "sadb"])).items.filter((s) => s.state === "mature").length === 2, "B's two IPsec SAs");

    // Level 2 (A): keys; level 0 (B): none, in JSON and in text.
    const sadbA = (await json<ListResult<SadbView>>(a.root, ["dump", "sadb"])).items;
    const sadbB = (await json<ListResult<SadbView>>(b.root, ["dump", "sadb"])).items;
    assert.ok(sadbA.every((s) => s.encKeyHex !== undefined && s.authKeyHex !== undefined && s.proto === "esp"));
    assert.ok(sadbB.every((s) => s.encKeyHex === undefined && s.authKeyHex === undefined));
    assert.doesNotMatch((await ikeadm(b.root, ["dump", "sadb"])).stdout, /KEY:/);
    const textA = (await ikeadm(a.root, ["dump", "sadb"])).stdout;
    assert.match(textA, /^       KEY: Encryption key \(16 bytes\): [0-9a-f]{32}\/128$/m);
    assert.match((await ikeadm(a.root, ["-p", "dump", "sadb"])).stdout, /^       KEY: Encryption key \(16 bytes\): (XX){16}\/128$/m);
    assert.match(textA, /\nCompleted dump of SADB\n$/);
    assert.match(textA, /^Kernel SADB backend: memory$/m);
    assert.equal((await json<SadbResult>(a.root, ["dump", "sadb"])).kernel, "memory");
    // Both ends hold the same SAs: same SPIs, addresses and protocol.
    const spis = (l: SadbView[]) => l.map((s) => `${s.src}>${s.dst}:${s.spi}`).sort();
    assert.deepEqual(spis(sadbA), spis(sadbB));

    // Phase 1 views.
    const p1a = (await json<ListResult<P1View>>(a.root, ["dump", "p1"])).items;
    assert.equal(p1a.length, 1);
    const sa = p1a[0]!;
    assert.equal(sa.initiator, true);
    assert.equal(sa.state, "ACTIVE");
    assert.deepEqual(sa.remote, { address: B, port: PORT_B });
    assert.equal(sa.xform?.group, 14);
    assert.equal(sa.qmCreated, 1);
    const text = (await ikeadm(a.root, ["dump", "p1"])).stdout;
    assert.match(text, new RegExp(`^IKESA: SA Initiator cookie 0x${sa.icookie}, Responder cookie 0x${sa.rcookie}$`, "m"));
    assert.match(text, /^       Local host is the initiator; IKE version 1\.0; state ACTIVE; rule "to 127\.0\.6\.11"$/m);
    assert.match(text, /^XFORM: Authentication method: pre-shared key; Encryption alg: AES-CBC\(128\); Authentication alg: SHA256; Oakley Group: .*\(group 14\); Phase 2 PFS is not used$/m);
    assert.match(text, new RegExp(`^REMIP: Remote \\(Responder\\) IP address: AF_INET: port ${PORT_B}, 127\\.0\\.6\\.11$`, "m"));
    assert.match(text, /^STATS: 1 Quick Mode SAs created$/m);
    assert.match(text, /\nCompleted dump of phase 1 SAs\n$/);
    // A runs at keymat: KEY: lines (p1-keys.test.ts checks their values); B at base: none.
    assert.match(text, /^KEY:   SKEYID_d \(32 bytes\): [0-9a-f]{64}\/256$/m);
    assert.doesNotMatch((await ikeadm(b.root, ["dump", "p1"])).stdout, /KEY:/);
    const byCookies = await json<ListResult<P1View>>(a.root, ["get", "p1", `0x${sa.icookie}`, `0x${sa.rcookie}`]);
    assert.equal(byCookies.items[0]?.icookie, sa.icookie);
    assert.equal((await json<ListResult<P1View>>(b.root, ["get", "p1", B, A])).items[0]?.initiator, false);
    const missing = await ikeadm(a.root, ["get", "p1", "0x1", "0x2"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /could not find requested phase 1 SA/);

    // Statistics in the original's layout.
    const stA = (await ikeadm(a.root, ["get", "stats"])).stdout;
    assert.match(stA, /^Total:     initiator:          1   responder:          0$/m);
    assert.match(stA, /^Kernel SADB backend: memory$/m);
    const stB = await json<StatsResult>(b.root, ["get", "stats"]);
    assert.equal(stB.p1.resp_p1_total, 1);
    assert.equal(stB.p1.resp_p1_current, 1);
    assert.ok((stB.engine?.datagramsIn ?? 0) >= 5);

    // A second ACQUIRE for the same traffic while the first is answered is not a new negotiation.
    const again = await json<AcquireResult>(a.root, ["acquire", A, B, "proto", "tcp", "dport", "22"]);
    assert.ok(again.outcome === "pending" || again.outcome === "started", again.outcome);

    // Reconfiguration applies to new negotiations only: without the rule, the SA stays up, and a
    // new flow finds no rule.
    assert.equal((await ikeadm(a.root, ["del", "rule", `to ${B}`])).code, 0);
    assert.equal((await json<ListResult<P1View>>(a.root, ["dump", "p1"])).items[0]?.state, "ACTIVE");
    assert.equal((await json<AcquireResult>(a.root, ["acquire", A, B, "proto", "udp"], 1)).outcome, "no-rule");

    // del p1 on A sends Deletes: B drops the ISAKMP SA and its IPsec SAs.
    const del = await ikeadm(a.root, ["del", "p1", A, B]);
    assert.equal(del.code, 0, del.stderr);
    assert.match(del.stdout, /^Successfully deleted phase 1 SA\.$/m);
    await poll(async () => (await json<ListResult<P1View>>(b.root, ["dump", "p1"])).items.length === 0, "B to drop the ISAKMP SA");
    await poll(async () => (await json<ListResult<SadbView>>(b.root, ["dump", "sadb"])).items.length === 0, "B to drop the IPsec SAs");
    assert.equal((await json<ListResult<SadbView>>(a.root, ["dump", "sadb"])).items.length, 0);
    assert.match((await ikeadm(a.root, ["flush", "p1"])).stdout, /^Successfully flushed P1 SAs\.$/m);
  });
});

describe("acquire refusals", () => {
  test("no ipsecinit.conf, traffic no policy covers, a peer that never answers, bad addresses", { timeout: 60_000 }, async () => {
    const { root, d } = await daemon(A, B, PORT_A + 100, PORT_B, "base");
    const none = await ikeadm(root, ["acquire", A, B]);
    assert.equal(none.code, 1);
    assert.match(none.stdout, /not started: no IPsec policy is loaded \(ipsecinit\.conf\)/);
    assert.match(d.output(), /no IPsec policy file: Quick Mode is refused/);

    // A policy for another peer only: this traffic matches no entry. SIGHUP re-reads the file.
    fs.writeFileSync(path.join(root, "etc/inet/ipsecinit.conf"), `{ raddr 127.0.6.99 } ipsec { encr_algs aes encr_auth_algs sha1 }\n{ raddr ${B} } ipsec { encr_algs aes encr_auth_algs sha1 }\n`);
    d.signal("SIGHUP");
    await d.waitFor(/IPsec policy loaded/);
    const norule = await json<AcquireResult>(root, ["acquire", A, "127.0.6.99"], 1);
    assert.equal(norule.outcome, "no-rule");

    // SIGHUP is all or nothing: a good new config with a broken policy file changes neither.
    const rulesBefore = (await ikeadm(root, ["dump", "rule"])).stdout;
    assert.match(rulesBefore, new RegExp(`Label 'to ${B}'`));
    fs.writeFileSync(rootPath.config(root), rule("renamed on disk", A, B, PORT_B));
    fs.writeFileSync(path.join(root, "etc/inet/ipsecinit.conf"), "{ raddr } ipsec {\n");
    d.signal("SIGHUP");
    await d.waitFor(/reload refused: the running configuration stays in effect/);
    assert.equal((await ikeadm(root, ["dump", "rule"])).stdout, rulesBefore);
    assert.equal(d.output().match(/IPsec policy loaded/g)?.length, 1, "the broken policy was not applied");
    assert.equal(d.output().includes("IPsec policy refused"), false, "the old policy stays in effect");

    // The kernel keeps the first (unanswered) ACQUIRE for A > B pending, as a kernel does until it
    // times out: the same flow gets no second event.
    assert.equal((await json<AcquireResult>(root, ["acquire", A, B])).outcome, "pending");
    // Another flow; the peer override sends Main Mode to a port nobody answers: the SA negotiates.
    const started = await json<AcquireResult>(root, ["acquire", A, B, "proto", "udp", "peer", `${B}:16099`]);
    assert.equal(started.outcome, "started");
    assert.deepEqual(started.peer, { address: B, port: 16099 });
    const p1 = (await json<ListResult<P1View>>(root, ["dump", "p1"])).items;
    assert.equal(p1.length, 1);
    assert.equal(p1[0]!.state, "NEGOTIATING");
    assert.equal(p1[0]!.xform, undefined);
    assert.equal((await json<StatsResult>(root, ["get", "stats"])).p1.init_p1_attempts, 1);
    assert.equal((await ikeadm(root, ["flush", "p1"])).code, 0);
    assert.equal((await json<ListResult<P1View>>(root, ["dump", "p1"])).items.length, 0);

    const bad = await ikeadm(root, ["acquire", "not-an-address", B]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /source 'not-an-address' is not an IP address/);
    assert.match((await ikeadm(root, ["dump", "sadb"])).stdout, /^Completed dump of SADB$/m);
  });
});

test("a rule address whose IKE port is taken stops startup with the address named", { timeout: 30_000 }, async () => {
  const busy = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => busy.bind(PORT_A + 200, A, resolve));
  const root = makeRoot(rule("busy", A, B, PORT_B), psk(A, B));
  try {
    const r = await run(IN_IKED, ["-d", "--root", root, "--kernel", "memory", "--workers", "0", "--port", String(PORT_A + 200), "--natt-port", String(PORT_A + 201)]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`fatal error - exiting: cannot bind 127\\.0\\.6\\.10:${PORT_A + 200}: .*EADDRINUSE`));
    assert.equal(fs.existsSync(path.join(root, "var/run/in.iked.pid")), false, "pid file removed on failed start");
  } finally {
    busy.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
});
