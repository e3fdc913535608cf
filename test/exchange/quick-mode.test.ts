import { test } from "node:test";
import assert from "node:assert/strict";
import { initiate, makePair, pskText, ruleText, settle, type Pair } from "./harness.js";
import { selectForAcquire } from "../../src/policy/index.js";
import type { QuickModeRequest } from "../../src/ike/phase2/quick-mode.js";
import type { SaInfo } from "../../src/kernel/kernel.js";
import { ManualClock } from "../helpers/manual-clock.js";

const XF = "p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes(256..256) }";

function pair(ipsecA: string, ipsecB: string, extraA = "", extraB = ""): Pair {
  return makePair({
    configA: ruleText("to-b", "10.0.0.1", "10.0.0.2", `${XF}\n  ${extraA}`),
    configB: ruleText("from-a", "10.0.0.2", "10.0.0.1", `${XF}\n  ${extraB}`),
    pskA: pskText("10.0.0.1", "10.0.0.2", "qm-secret"),
    pskB: pskText("10.0.0.2", "10.0.0.1", "qm-secret"),
    ipsecA,
    ipsecB,
  });
}

function requestFor(p: Pair): QuickModeRequest {
  const sel = selectForAcquire(p.a.ipsec!, { src: { address: "10.0.0.1", port: 0 }, dst: { address: "10.0.0.2", port: 0 }, ulp: 0 });
  assert.equal(sel.kind, "ipsec");
  if (sel.kind !== "ipsec") throw new Error("unreachable");
  return { mode: sel.mode, proposals: sel.proposals, localId: sel.localId, remoteId: sel.remoteId };
}

const key = (s: SaInfo) => `${s.src}>${s.dst} ${s.proto} ${s.spi.toString(16)}`;

/** Both kernels hold the same SAs with the same keys (our inbound is their outbound). */
async function assertMatchingKernels(p: Pair, count: number): Promise<SaInfo[]> {
  const a = await p.a.kernel.dump(undefined, { includeKeys: true });
  const b = await p.b.kernel.dump(undefined, { includeKeys: true });
  const mature = (l: SaInfo[]) => l.filter((s) => s.state === "mature");
  assert.equal(mature(a).length, count);
  assert.deepEqual(mature(a).map(key).sort(), mature(b).map(key).sort());
  for (const sa of mature(a)) {
    const twin = mature(b).find((x) => key(x) === key(sa))!;
    assert.ok(sa.keys?.enc?.equals(twin.keys!.enc!) ?? twin.keys?.enc == null, `enc key of ${key(sa)}`);
    assert.ok(sa.keys?.auth?.equals(twin.keys!.auth!) ?? twin.keys?.auth == null, `auth key of ${key(sa)}`);
    assert.equal(sa.encAlg, twin.encAlg);
    assert.equal(sa.authAlg, twin.authAlg);
  }
  return mature(a);
}

async function close(p: Pair): Promise<void> {
  p.a.engine.close();
  p.b.engine.close();
  await p.a.kernel.close();
  await p.b.kernel.close();
}

test("Quick Mode after Main Mode installs matching ESP SAs in both kernels", async () => {
  const p = pair("{ raddr 10.0.0.2 } ipsec { encr_algs aes encr_auth_algs sha1 }\n", "{ raddr 10.0.0.1 } ipsec { encr_algs aes encr_auth_algs sha1 }\n");
  const ups: string[] = [];
  p.a.engine.on("phase2-up", (_sa, r) => ups.push(`a ${r.mode} ${r.localId.prefix}->${r.remoteId.prefix}`));
  p.b.engine.on("phase2-up", (_sa, r) => ups.push(`b ${r.mode} ${r.localId.prefix}->${r.remoteId.prefix}`));
  const fails: string[] = [];
  p.a.engine.on("phase2-failed", (_sa, r) => fails.push(`a ${r}`));
  p.b.engine.on("phase2-failed", (_sa, r) => fails.push(`b ${r}`));
  const rule = p.a.policy.ruleByLabel("to-b")!;
  p.a.engine.negotiate(rule, p.a.endpoint, p.b.endpoint, requestFor(p));
  await settle(p, 40);
  assert.deepEqual(fails, []);
  assert.deepEqual(ups.sort(), ["a transport 10.0.0.1/32->10.0.0.2/32", "b transport 10.0.0.2/32->10.0.0.1/32"]);
  const sas = await assertMatchingKernels(p, 2);
  assert.ok(sas.every((s) => s.proto === "esp" && s.encKeyBits === 128 && s.hard.addSeconds === 28800));
  await close(p);
});

test("Quick Mode with PFS (group 14), and a second Quick Mode reuses the ISAKMP SA", async () => {
  const pol = (peer: string) => `{ raddr ${peer} } ipsec { encr_algs 3des encr_auth_algs sha256 }\n`;
  const p = pair(pol("10.0.0.2"), pol("10.0.0.1"), "p2_pfs 14 p2_lifetime_secs 3600", "p2_pfs 14");
  let up = 0;
  p.b.engine.on("phase2-up", (_sa, r) => {
    up++;
    assert.equal(r.pfsGroup, 14);
  });
  const rule = p.a.policy.ruleByLabel("to-b")!;
  const first = p.a.engine.negotiate(rule, p.a.endpoint, p.b.endpoint, requestFor(p));
  await settle(p, 40);
  const second = p.a.engine.negotiate(rule, p.a.endpoint, p.b.endpoint, requestFor(p));
  await settle(p, 40);
  assert.equal(first, second, "same ISAKMP SA");
  assert.equal(up, 2);
  const sas = await assertMatchingKernels(p, 4);
  assert.ok(sas.every((s) => s.hard.addSeconds === 3600), "responder took the initiator's shorter lifetime");
  await close(p);
});

test("Quick Mode refused by the responder's policy installs nothing", async () => {
  const p = pair("{ raddr 10.0.0.2 } ipsec { encr_algs aes encr_auth_algs sha1 }\n", "{ raddr 10.0.0.1 } ipsec { encr_algs 3des encr_auth_algs md5 }\n");
  const fails: string[] = [];
  p.b.engine.on("phase2-failed", (_sa, r) => fails.push(r));
  const notified: number[] = [];
  p.a.engine.on("peer-notify", (_sa, n) => notified.push(n));
  initiate(p, "to-b");
  await settle(p);
  const sa = p.a.engine.sas.all()[0]!;
  assert.equal(sa.state, "established");
  assert.ok(p.a.engine.quickMode(sa, requestFor(p)));
  await settle(p);
  assert.deepEqual(fails, ["policy: no-proposal-chosen"]);
  assert.deepEqual(notified, [14], "NO-PROPOSAL-CHOSEN arrived protected");
  assert.equal((await p.b.kernel.dump()).filter((s) => s.state === "mature").length, 0);
  await close(p);
});

test("a lost QM2 is recovered by retransmission; the responder answers from its cache", async () => {
  const p = pair("{ raddr 10.0.0.2 } ipsec { encr_algs aes encr_auth_algs sha1 }\n", "{ raddr 10.0.0.1 } ipsec { encr_algs aes encr_auth_algs sha1 }\n");
  initiate(p, "to-b");
  await settle(p);
  let dropped = false;
  p.network.setImpairment({
    filter: (d, from) => (!dropped && from.address === "10.0.0.2" && d[18] === 32 ? ((dropped = true), "drop") : "pass"),
  });
  const sa = p.a.engine.sas.all()[0]!;
  p.a.engine.quickMode(sa, requestFor(p));
  await settle(p);
  p.clock.advance(500);
  await settle(p);
  await assertMatchingKernels(p, 2);
  assert.equal(p.b.engine.stats.engine.retransmitsAnswered, 1);
  await close(p);
});

test("Delete: the initiator deletes its ISAKMP SA; both kernels and the responder forget everything", async () => {
  const p = pair("{ raddr 10.0.0.2 } ipsec { encr_algs aes encr_auth_algs sha1 }\n", "{ raddr 10.0.0.1 } ipsec { encr_algs aes encr_auth_algs sha1 }\n");
  const rule = p.a.policy.ruleByLabel("to-b")!;
  const sa = p.a.engine.negotiate(rule, p.a.endpoint, p.b.endpoint, requestFor(p));
  await settle(p, 40);
  await assertMatchingKernels(p, 2);
  const deadB: string[] = [];
  p.b.engine.on("sa-dead", (_sa, reason) => deadB.push(reason));
  await p.a.engine.deleteSa(sa);
  await settle(p);
  assert.equal(sa.state, "dead");
  assert.deepEqual(deadB, ["deleted by peer"]);
  assert.equal(p.b.engine.sas.size, 0);
  const live = async (k: typeof p.a.kernel) => (await k.dump()).filter((s) => s.state === "mature").length;
  assert.equal(await live(p.a.kernel), 0);
  assert.equal(await live(p.b.kernel), 0);
  await close(p);
});

test("a kernel ACQUIRE starts Main Mode and Quick Mode; the SAs answer its sequence number", async () => {
  const p = pair("{ raddr 10.0.0.2 } ipsec { encr_algs aes encr_auth_algs sha1 }\n", "{ raddr 10.0.0.1 } ipsec { encr_algs aes encr_auth_algs sha1 }\n");
  const outcomes: string[] = [];
  p.a.kernel.on("acquire", (ev) => outcomes.push(p.a.engine.acquire(ev).outcome));
  await p.a.kernel.register("esp");
  const seq = p.a.kernel.acquire({ src: { address: "10.0.0.1", port: 0 }, dst: { address: "10.0.0.2", port: 0 } });
  assert.ok(seq !== null);
  await settle(p, 40);
  assert.deepEqual(outcomes, ["started"]);
  const sas = await assertMatchingKernels(p, 2);
  assert.ok(sas.every((s) => s.seq === seq), "both SAs answer the ACQUIRE's seq");
  assert.equal(p.a.engine.acquire({ ...(await nothing()), src: { address: "10.0.0.1", port: 0 }, dst: { address: "10.0.0.9", port: 0 } }).outcome, "none");
  await close(p);
});

async function nothing() {
  return { type: "acquire" as const, seq: 0, ulp: 0, proto: "esp" as const, mode: "transport" as const, policy: { index: 0, selector: null, combinations: [] } };
}

test("IPv6: Main Mode and Quick Mode between 2001:db8::1 and 2001:db8::2", async () => {
  const A = "2001:db8::1";
  const B = "2001:db8::2";
  const p = makePair({
    addressA: A,
    addressB: B,
    configA: ruleText("to-b", A, B, `${XF}\n  local_id_type ipv6`),
    configB: ruleText("from-a", B, A, `${XF}\n  local_id_type ipv6`),
    pskA: pskText(A, B, "v6-secret"),
    pskB: pskText(B, A, "v6-secret"),
    ipsecA: `{ raddr ${B} } ipsec { encr_algs aes encr_auth_algs sha256 }\n`,
    ipsecB: `{ raddr ${A} } ipsec { encr_algs aes encr_auth_algs sha256 }\n`,
  });
  const peers: string[] = [];
  p.b.engine.on("phase1-up", (_sa, r) => peers.push(r.peerId));
  const sel = selectForAcquire(p.a.ipsec!, { src: { address: A, port: 0 }, dst: { address: B, port: 0 }, ulp: 0 });
  assert.ok(sel.kind === "ipsec");
  p.a.engine.negotiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint, { mode: sel.mode, proposals: sel.proposals, localId: sel.localId, remoteId: sel.remoteId });
  await settle(p, 40);
  assert.deepEqual(peers, ["2001:db8:0:0:0:0:0:1"]);
  const sas = await assertMatchingKernels(p, 2);
  assert.ok(sas.every((s) => s.src.includes(":") && s.authAlg !== 0));
  await close(p);
});

test("a soft EXPIRE of SAs we initiated renegotiates them; the peer's own SAs are left to it", async () => {
  const kclock = new ManualClock();
  const p = makePair({
    configA: ruleText("to-b", "10.0.0.1", "10.0.0.2", `${XF}\n  p2_lifetime_secs 600 p2_softlife_secs 500`),
    configB: ruleText("from-a", "10.0.0.2", "10.0.0.1", XF),
    pskA: pskText("10.0.0.1", "10.0.0.2", "qm-secret"),
    pskB: pskText("10.0.0.2", "10.0.0.1", "qm-secret"),
    ipsecA: "{ raddr 10.0.0.2 } ipsec { encr_algs aes encr_auth_algs sha1 }\n",
    ipsecB: "{ raddr 10.0.0.1 } ipsec { encr_algs aes encr_auth_algs sha1 }\n",
    kernelClock: kclock,
  });
  const outcomes: string[] = [];
  p.a.kernel.on("expire", (ev) => outcomes.push(`a ${ev.kind} ${p.a.engine.expire(ev)}`));
  p.b.kernel.on("expire", (ev) => outcomes.push(`b ${ev.kind} ${p.b.engine.expire(ev)}`));
  let ups = 0;
  p.b.engine.on("phase2-up", () => ups++);
  p.a.engine.negotiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint, requestFor(p));
  await settle(p, 40);
  assert.equal(ups, 1);
  kclock.advance(500_000);
  await settle(p, 40);
  assert.equal(ups, 2, "renegotiated once, not once per direction");
  assert.ok(outcomes.includes("a soft rekeying"));
  assert.ok(outcomes.filter((o) => o.startsWith("b")).every((o) => o.endsWith("ignored")));
  await close(p);
});
