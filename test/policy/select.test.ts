import { test } from "node:test";
import assert from "node:assert/strict";
import { AuthAlg, ENCRYPT_ALGORITHMS, EncAlg, AUTH_ALGORITHMS } from "../../src/kernel/algorithms.js";
import {
  combinationsFor,
  loadIpsecPolicy,
  parseIpsecPolicy,
  selectForAcquire,
  selectForResponder,
  spdOrder,
  type IpsecPolicy,
  type Phase2Proposal,
} from "../../src/policy/index.js";
import { policyFixture } from "./fixtures.js";

const { AesCbc, TripleDesCbc, BlowfishCbc, Null } = EncAlg;
const { HmacSha1, HmacSha256, HmacSha384, HmacSha512, HmacMd5, None } = AuthAlg;

async function site(): Promise<IpsecPolicy> {
  const { policy, errors } = await loadIpsecPolicy(policyFixture("site.ipsecinit.conf"));
  assert.deepEqual(errors, []);
  return policy;
}

const out = (dst: string, dport: number, ulp = 6, src = "192.0.2.10", sport = 40000) => ({ src: { address: src, port: sport }, dst: { address: dst, port: dport }, ulp });
const esp = (...t: Array<[number, number, number]>) => ({ proto: "esp" as const, transforms: t.map(([encAlg, encKeyBits, authAlg]) => ({ encAlg, encKeyBits, authAlg })) });
const ah = (...a: number[]) => ({ proto: "ah" as const, transforms: a.map((authAlg) => ({ encAlg: 0, encKeyBits: 0, authAlg })) });

test("SPD order: bypass, drop, AH+ESP, ESP, AH, file order within each", async () => {
  const order = spdOrder(await site()).map((e) => e.index);
  assert.deepEqual(order, [1, 2, 3, 8, 13, 6, 4, 5, 9, 10, 11, 12, 7]);
});

test("ACQUIRE for telnet: the `or` alternatives become two proposals, in file order", async () => {
  const sel = selectForAcquire(await site(), out("192.0.2.20", 23));
  assert.equal(sel.kind, "ipsec");
  if (sel.kind !== "ipsec") return;
  assert.equal(sel.entry.index, 4);
  assert.equal(sel.mode, "transport");
  assert.deepEqual(sel.proposals, [
    { mode: "transport", protocols: [esp([TripleDesCbc, 192, HmacSha1])] },
    { mode: "transport", protocols: [esp([AesCbc, 128, HmacSha1], [AesCbc, 192, HmacSha1], [AesCbc, 256, HmacSha1])] },
  ]);
  assert.deepEqual(sel.localId, { prefix: "192.0.2.10/32", ulp: 0, port: 0 });
  assert.deepEqual(sel.remoteId, { prefix: "192.0.2.20/32", ulp: 0, port: 23 });
});

test("ACQUIRE for other traffic to the same host picks the next entry", async () => {
  const sel = selectForAcquire(await site(), out("192.0.2.20", 80));
  assert.equal(sel.kind === "ipsec" && sel.entry.index, 5);
  assert.deepEqual(sel.kind === "ipsec" && sel.proposals, [{ mode: "transport", protocols: [esp([AesCbc, 256, HmacSha256])] }]);
});

test("ACQUIRE matching bypass or drop entries needs no SA; unmatched traffic has no policy", async () => {
  const policy = await site();
  const dns = selectForAcquire(policy, out("192.0.2.20", 53, 17));
  assert.deepEqual([dns.kind, dns.kind === "bypass" && dns.entry.index], ["bypass", 2]);
  const dropped = selectForAcquire(policy, out("192.0.2.66", 80));
  assert.deepEqual([dropped.kind, dropped.kind === "drop" && dropped.entry.index], ["drop", 13]);
  assert.deepEqual(selectForAcquire(policy, out("8.8.8.8", 80)), { kind: "none" });
});

test("ACQUIRE with AH and ESP together yields one proposal carrying both protocols", async () => {
  const sel = selectForAcquire(await site(), out("198.51.100.7", 22));
  assert.deepEqual(sel.kind === "ipsec" && sel.proposals, [{ mode: "transport", protocols: [esp([BlowfishCbc, 128, HmacMd5]), ah(HmacSha1)] }]);
});

test("ACQUIRE for a tunnel entry proposes tunnel mode with the inner networks as client IDs", async () => {
  const sel = selectForAcquire(await site(), out("10.2.3.4", 443, 6, "10.1.9.9"));
  assert.equal(sel.kind, "ipsec");
  if (sel.kind !== "ipsec") return;
  assert.equal(sel.entry.index, 9);
  assert.equal(sel.mode, "tunnel");
  assert.deepEqual(sel.localId, { prefix: "10.1.0.0/16", ulp: 0, port: 0 });
  assert.deepEqual(sel.remoteId, { prefix: "10.2.0.0/16", ulp: 0, port: 0 });
  // An interface-wide entry applies only to traffic known to use that interface.
  const tun1 = selectForAcquire(await site(), { ...out("172.16.0.1", 80), tunnel: "ip.tun1" });
  assert.deepEqual([tun1.kind, tun1.kind === "ipsec" && tun1.entry.index, tun1.kind === "ipsec" && tun1.mode], ["ipsec", 10, "transport"]);
});

test("`any` with a key-length floor expands to every supported cipher and MAC that fits", async () => {
  const sel = selectForAcquire(await site(), out("203.0.113.5", 443));
  assert.equal(sel.kind === "ipsec" && sel.entry.index, 11);
  if (sel.kind !== "ipsec") return;
  const ts = sel.proposals[0]!.protocols[0]!.transforms;
  const ciphers = [...new Set(ts.map((t) => `${t.encAlg}/${t.encKeyBits}`))];
  assert.deepEqual(ciphers, [`${AesCbc}/192`, `${AesCbc}/256`, `${TripleDesCbc}/192`, `${BlowfishCbc}/192`]);
  assert.deepEqual(ts.slice(0, 5).map((t) => t.authAlg), [HmacSha256, HmacSha384, HmacSha512, HmacSha1, HmacMd5]);
  assert.equal(ts.length, 20);
});

test("the kernel-named policy index wins; unsupported algorithms give no-algorithms", async () => {
  const policy = await site();
  const named = selectForAcquire(policy, { ...out("192.0.2.20", 23), policy: { index: 5 } });
  assert.equal(named.kind === "ipsec" && named.entry.index, 5);
  const noAes = { auth: AUTH_ALGORITHMS, encrypt: ENCRYPT_ALGORITHMS.filter((a) => a.id !== AesCbc) };
  assert.equal(selectForAcquire(policy, out("192.0.2.20", 80), noAes).kind, "no-algorithms");
  const telnet = selectForAcquire(policy, out("192.0.2.20", 23), noAes);
  assert.equal(telnet.kind === "ipsec" && telnet.proposals.length, 1);
});

test("combinationsFor lists every transform for a kernel ACQUIRE", async () => {
  const policy = await site();
  const combos = combinationsFor(policy.entries[3]!);
  assert.deepEqual(combos.map((c) => [c.proto, c.encAlg, c.encMinBits, c.authAlg]), [
    ["esp", TripleDesCbc, 192, HmacSha1],
    ["esp", AesCbc, 128, HmacSha1],
    ["esp", AesCbc, 192, HmacSha1],
    ["esp", AesCbc, 256, HmacSha1],
  ]);
});

const offer = (mode: "transport" | "tunnel", ...protocols: Phase2Proposal["protocols"]): Phase2Proposal => ({ mode, protocols });
const id = (prefix: string, port = 0, ulp = 0) => ({ prefix, port, ulp });

test("responder accepts the first offered proposal the policy allows, in the peer's order", async () => {
  const policy = await site();
  const sel = selectForResponder(policy, {
    remote: id("192.0.2.20/32"),
    local: id("192.0.2.10/32"),
    mode: "transport",
    proposals: [offer("transport", esp([TripleDesCbc, 192, HmacSha1])), offer("transport", esp([AesCbc, 128, HmacSha256], [AesCbc, 256, HmacSha256]))],
  });
  assert.equal(sel.kind, "accept");
  if (sel.kind !== "accept") return;
  assert.deepEqual([sel.entry.index, sel.alternative, sel.proposal], [5, 0, 1]);
  assert.deepEqual(sel.chosen, [{ proto: "esp", index: 1, transform: { encAlg: AesCbc, encKeyBits: 256, authAlg: HmacSha256 } }]);
});

test("responder picks the matching `or` alternative", async () => {
  const sel = selectForResponder(await site(), {
    remote: id("192.0.2.20/32", 23),
    local: id("192.0.2.10/32"),
    mode: "transport",
    proposals: [offer("transport", esp([AesCbc, 192, HmacSha1]))],
  });
  assert.deepEqual(sel.kind === "accept" && [sel.entry.index, sel.alternative, sel.chosen[0]!.index], [4, 1, 0]);
});

test("responder refuses weaker ciphers, missing protocols, wrong mode, broad IDs and bypassed traffic", async () => {
  const policy = await site();
  const base = { remote: id("192.0.2.20/32"), local: id("192.0.2.10/32"), mode: "transport" as const };
  const weak = selectForResponder(policy, { ...base, proposals: [offer("transport", esp([AesCbc, 128, HmacSha256]))] });
  assert.deepEqual([weak.kind, weak.kind === "reject" && weak.reason], ["reject", "no-proposal-chosen"]);

  const lab = { remote: id("198.51.100.7/32"), local: id("192.0.2.10/32"), mode: "transport" as const };
  const espOnly = selectForResponder(policy, { ...lab, proposals: [offer("transport", esp([BlowfishCbc, 128, HmacMd5]))] });
  assert.equal(espOnly.kind === "reject" && espOnly.reason, "no-proposal-chosen");
  const both = selectForResponder(policy, { ...lab, proposals: [offer("transport", ah(HmacMd5, HmacSha1), esp([BlowfishCbc, 128, HmacMd5]))] });
  assert.deepEqual(both.kind === "accept" && both.chosen.map((c) => [c.proto, c.index]), [["ah", 1], ["esp", 0]]);

  const tunnel = { remote: id("10.2.0.0/16"), local: id("10.1.0.0/16"), proposals: [offer("tunnel", esp([AesCbc, 192, HmacSha1]))] };
  assert.equal(selectForResponder(policy, { ...tunnel, mode: "tunnel" }).kind, "accept");
  const transport = selectForResponder(policy, { ...tunnel, mode: "transport", proposals: [offer("transport", esp([AesCbc, 192, HmacSha1]))] });
  assert.equal(transport.kind === "reject" && transport.reason, "mode");
  const broad = selectForResponder(policy, { ...tunnel, remote: id("10.2.0.0/15"), mode: "tunnel" });
  assert.equal(broad.kind === "reject" && broad.reason, "bad-id");
  const elsewhere = selectForResponder(policy, { ...tunnel, remote: id("10.0.0.0/8"), mode: "tunnel" });
  assert.equal(elsewhere.kind === "reject" && elsewhere.reason, "no-policy");

  const dns = selectForResponder(policy, { ...base, local: id("192.0.2.10/32", 53, 17), proposals: [offer("transport", esp([AesCbc, 256, HmacSha256]))] });
  assert.equal(dns.kind === "reject" && dns.reason, "bypass");
  assert.equal(selectForResponder(policy, { ...base, remote: id("192.0.2.20/99"), proposals: [] }).kind === "reject", true);
});

test("ESP without encr_auth_algs accepts any MAC or none; encr_auth_algs alone means NULL encryption", () => {
  const { policy, errors } = parseIpsecPolicy("{ raddr 192.0.2.30 } ipsec { encr_algs aes }\n{ raddr 192.0.2.31 } ipsec { encr_auth_algs sha1 }\n");
  assert.deepEqual(errors, []);
  const req = (remote: string, ...t: Array<[number, number, number]>) =>
    selectForResponder(policy, { remote: id(`${remote}/32`), local: id("192.0.2.10/32"), mode: "transport", proposals: [offer("transport", esp(...t))] });
  assert.equal(req("192.0.2.30", [AesCbc, 128, None]).kind, "accept");
  assert.equal(req("192.0.2.30", [AesCbc, 256, HmacSha512]).kind, "accept");
  assert.equal(req("192.0.2.30", [TripleDesCbc, 192, HmacSha1]).kind, "reject");
  assert.equal(req("192.0.2.31", [Null, 0, HmacSha1]).kind, "accept");
  assert.equal(req("192.0.2.31", [AesCbc, 128, HmacSha1]).kind, "reject");
  const sel = selectForAcquire(policy, out("192.0.2.31", 80));
  assert.deepEqual(sel.kind === "ipsec" && sel.proposals[0]!.protocols, [esp([Null, 0, HmacSha1])]);
});

test("a cipher named without key sizes is accepted only at the size the initiator would offer or above", () => {
  const { policy, errors } = parseIpsecPolicy("{ raddr 192.0.2.40 } ipsec { encr_algs blowfish encr_auth_algs sha1 }\n{ raddr 192.0.2.41 } ipsec { encr_algs blowfish(40..448) encr_auth_algs sha1 }\n");
  assert.deepEqual(errors, []);
  const req = (remote: string, bits: number) =>
    selectForResponder(policy, { remote: id(`${remote}/32`), local: id("192.0.2.10/32"), mode: "transport", proposals: [offer("transport", esp([BlowfishCbc, bits, HmacSha1]))] }).kind;
  const offered = selectForAcquire(policy, out("192.0.2.40", 80));
  assert.deepEqual(offered.kind === "ipsec" && offered.proposals[0]!.protocols, [esp([BlowfishCbc, 128, HmacSha1])]);
  assert.deepEqual([40, 120, 128, 256].map((b) => req("192.0.2.40", b)), ["reject", "reject", "accept", "accept"]);
  // An explicit range is the operator's word: 40 bits is then acceptable.
  assert.equal(req("192.0.2.41", 40), "accept");
});

test("IPv6 and ICMP traffic select by family and type; one-way entries apply in their direction only", async () => {
  const policy = await site();
  const v6 = selectForAcquire(policy, { src: { address: "2001:db8:2::1", port: 0 }, dst: { address: "2001:db8:1::5", port: 0 }, ulp: 17 });
  assert.deepEqual(v6.kind === "ipsec" && [v6.entry.index, v6.proposals], [7, [{ mode: "transport", protocols: [ah(HmacSha1)] }]]);
  const nd = selectForAcquire(policy, { src: { address: "2001:db8:2::1", port: 0 }, dst: { address: "2001:db8:1::5", port: 0 }, ulp: 58, icmpType: 135 });
  assert.deepEqual([nd.kind, nd.kind === "bypass" && nd.entry.index], ["bypass", 8]);
  const echo = selectForAcquire(policy, { src: { address: "2001:db8:2::1", port: 0 }, dst: { address: "2001:db8:1::5", port: 0 }, ulp: 58, icmpType: 128 });
  assert.equal(echo.kind === "ipsec" && echo.entry.index, 7);
  // `permit` (inbound only) answers a responder; `apply` (outbound only) does not.
  const inbound = selectForResponder(policy, {
    remote: id("203.0.113.5/32", 443, 6),
    local: id("192.0.2.10/32", 0, 6),
    mode: "transport",
    proposals: [offer("transport", esp([AesCbc, 128, HmacSha1]))],
  });
  assert.deepEqual(inbound.kind === "accept" && [inbound.entry.index, inbound.chosen[0]!.transform], [12, { encAlg: AesCbc, encKeyBits: 128, authAlg: HmacSha1 }]);
});
