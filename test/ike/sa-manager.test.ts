import { test } from "node:test";
import assert from "node:assert/strict";
import { ManualClock } from "../helpers/manual-clock.js";
import { IsakmpSa } from "../../src/ike/isakmp-sa.js";
import { SaManager } from "../../src/ike/sa-manager.js";
import { IkeStats } from "../../src/ike/stats.js";
import { nullLog } from "../../src/ike/log.js";
import { ZERO_COOKIE } from "../../src/ike/cookies.js";

const c = { clock: new ManualClock(), log: nullLog, stats: new IkeStats() };
const local = { address: "10.0.0.1", port: 500 };
let n = 0;
function mk(peer: string, role: "initiator" | "responder" = "responder", rule?: string): IsakmpSa {
  const ic = Buffer.alloc(8);
  ic.writeUInt32BE(++n, 4);
  return new IsakmpSa({ role, icookie: ic, local, remote: { address: peer, port: 500 }, ...(rule ? { rule } : {}) }, c);
}

test("lookup by icookie while rcookie is unknown, then by the pair", () => {
  const m = new SaManager();
  const sa = mk("10.0.0.2", "initiator", "r1");
  m.add(sa);
  const peer = sa.remote;
  assert.equal(m.lookup(sa.icookie, ZERO_COOKIE, peer), sa, "retransmitted first message");
  const rc = Buffer.from("8899aabbccddeeff", "hex");
  assert.equal(m.lookup(sa.icookie, rc, peer), sa, "MM2 with the responder's new cookie");
  m.setRcookie(sa, rc);
  assert.equal(m.lookup(sa.icookie, rc, { address: "10.9.9.9", port: 4500 }), sa, "pair lookup ignores the address");
  assert.equal(m.lookup(sa.icookie, Buffer.from("0000000000000001", "hex"), peer), undefined, "other rcookie");
  assert.equal(m.lookup(sa.icookie, ZERO_COOKIE, { address: "10.0.0.3", port: 500 }), undefined, "other peer");
  assert.deepEqual(m.byPeerAddress("10.0.0.2"), [sa]);
  assert.deepEqual(m.byRuleLabel("r1"), [sa]);
  m.setPhase2(sa, 0xdeadbeef, "qm");
  assert.equal(m.getPhase2(sa, 0xdeadbeef), "qm");
  sa.destroy("gone");
  assert.equal(m.size, 0);
  assert.equal(m.lookup(sa.icookie, rc, peer), undefined);
  assert.deepEqual(m.byPeerAddress("10.0.0.2"), []);
  assert.deepEqual(m.byRuleLabel("r1"), []);
  assert.equal(m.phase2Count, 0, "Phase 2 exchanges die with their ISAKMP SA");
});

test("Phase 2 exchanges: by SA and message ID (as unsigned), counted, one SA's going takes only its own", () => {
  const m = new SaManager<string>();
  const a = mk("10.0.0.7");
  const b = mk("10.0.0.8");
  m.add(a);
  m.add(b);
  m.setPhase2(a, 1, "a1");
  m.setPhase2(a, 0xfffffffe, "a2");
  m.setPhase2(b, 1, "b1");
  assert.equal(m.phase2Count, 3);
  assert.equal(m.getPhase2(a, -2), "a2", "a message ID read as signed names the same exchange");
  m.setPhase2(a, 1, "a1'");
  assert.equal(m.phase2Count, 3, "replacing is not adding");
  assert.equal(m.getPhase2(a, 1), "a1'");
  assert.equal(m.getPhase2(b, 1), "b1");
  assert.equal(m.getPhase2(a, 2), undefined);
  m.deletePhase2(a, 1);
  m.deletePhase2(a, 1);
  m.deletePhase2(b, 99);
  assert.equal(m.phase2Count, 2, "each deleted once; an unknown one is no change");
  a.destroy("gone");
  assert.equal(m.getPhase2(a, 0xfffffffe), undefined);
  assert.equal(m.getPhase2(b, 1), "b1");
  assert.equal(m.phase2Count, 1);
  m.deletePhase2(b, 1);
  assert.equal(m.phase2Count, 0);
});

test("cookies of every byte value name their own SA (the tables' keys are the cookie bytes)", () => {
  const m = new SaManager({ global: 1000, perPeer: 1000 });
  const peer = { address: "10.0.0.9", port: 500 };
  const sas: IsakmpSa[] = [];
  for (let b = 0; b < 256; b++) {
    const ic = Buffer.alloc(8, b);
    ic[7] = 255 - b;
    const rc = Buffer.alloc(8, 255 - b);
    rc[0] = b;
    const sa = new IsakmpSa({ role: "responder", icookie: ic, rcookie: rc, local, remote: peer }, c);
    m.add(sa);
    sas.push(sa);
  }
  for (let b = 0; b < 256; b++) {
    const sa = sas[b]!;
    assert.equal(m.lookup(Buffer.from(sa.icookie), Buffer.from(sa.rcookie), peer), sa);
    assert.equal(m.lookup(Buffer.from(sa.icookie), ZERO_COOKIE, peer), sa);
  }
  const other = Buffer.from(sas[0x80]!.rcookie);
  other[7] = other[7]! ^ 1;
  assert.equal(m.lookup(sas[0x80]!.icookie, other, peer), undefined, "one bit off: no SA");
  for (const sa of sas) sa.destroy("done");
  assert.equal(m.size, 0);
});

test("half-open bounds: per peer and global, released by establishment or destroy", () => {
  const m = new SaManager({ global: 3, perPeer: 2 });
  const a1 = mk("10.0.0.2");
  const a2 = mk("10.0.0.2");
  m.add(a1);
  assert.equal(m.admitResponder(a1.remote), null);
  m.add(a2);
  assert.equal(m.admitResponder(a1.remote), "peer-half-open");
  const b1 = mk("10.0.0.3");
  m.add(b1);
  assert.equal(m.admitResponder({ address: "10.0.0.4", port: 500 }), "global-half-open");
  m.markEstablished(a1);
  assert.equal(m.halfOpenCount, 2);
  assert.equal(m.admitResponder(a1.remote), null);
  b1.destroy("x");
  m.markEstablished(a1); // idempotent
  assert.equal(m.halfOpenCount, 1);
  assert.throws(() => m.add(a2), /duplicate/);
});

test("byPeerAddress: one SA, a second and a third with the same peer, then back down to one and none, in insertion order", () => {
  const m = new SaManager();
  const a = mk("10.0.0.7");
  const b = mk("10.0.0.7");
  const c = mk("10.0.0.7");
  const other = mk("10.0.0.8");
  m.add(a);
  m.add(other);
  assert.deepEqual(m.byPeerAddress("10.0.0.7"), [a]);
  m.add(b);
  m.add(c);
  assert.deepEqual(m.byPeerAddress("10.0.0.7"), [a, b, c]);
  b.destroy("test");
  assert.deepEqual(m.byPeerAddress("10.0.0.7"), [a, c]);
  a.destroy("test");
  assert.deepEqual(m.byPeerAddress("10.0.0.7"), [c]);
  const d = mk("10.0.0.7");
  m.add(d);
  assert.deepEqual(m.byPeerAddress("10.0.0.7"), [c, d]);
  c.destroy("test");
  d.destroy("test");
  assert.deepEqual(m.byPeerAddress("10.0.0.7"), []);
  assert.deepEqual(m.byPeerAddress("10.0.0.8"), [other], "another peer's SA is untouched");
  other.destroy("test");
  assert.deepEqual(m.byPeerAddress("10.0.0.8"), []);
  assert.equal(m.size, 0);
});

/** Counts reads of `remote` and `rcookie` on `sa` (the fields a look-up compares) into `reads`. */
function counted(sa: IsakmpSa, reads: { n: number }): IsakmpSa {
  for (const field of ["remote", "rcookie"] as const) {
    let value = sa[field];
    Object.defineProperty(sa, field, {
      get: () => {
        reads.n++;
        return value;
      },
      set: (v) => (value = v),
    });
  }
  return sa;
}

test("SAs sharing one icookie (first messages from many sources): a look-up, add or remove compares none of the others", () => {
  const m = new SaManager({ global: 4096, perPeer: 5 });
  const icookie = Buffer.from("0102030405060708", "hex");
  const reads = { n: 0 };
  const sas: IsakmpSa[] = [];
  for (let i = 0; i < 1024; i++) {
    const rcookie = Buffer.alloc(8);
    rcookie.writeUInt32BE(i + 1, 4);
    const sa = new IsakmpSa({ role: "responder", icookie, rcookie, local, remote: { address: `10.1.${i >> 8}.${i & 255}`, port: 500 } }, c);
    m.add(sa);
    sas.push(counted(sa, reads));
  }
  reads.n = 0;
  const stranger = { address: "192.0.2.1", port: 500 };
  assert.equal(m.lookup(icookie, Buffer.from("ffffffffffffffff", "hex"), stranger), undefined);
  assert.equal(m.lookup(icookie, ZERO_COOKIE, stranger), undefined);
  assert.ok(reads.n <= 2, `a look-up that names no SA read ${reads.n} fields`);
  reads.n = 0;
  assert.equal(m.lookup(icookie, sas[512]!.rcookie, stranger), sas[512], "the pair from any address");
  assert.equal(m.lookup(icookie, ZERO_COOKIE, { address: "10.1.3.255", port: 500 }), sas[1023], "the icookie from the SA's peer");
  assert.ok(reads.n <= 6, `two look-ups read ${reads.n} fields`);
  reads.n = 0;
  const late = new IsakmpSa({ role: "responder", icookie, local, remote: { address: "192.0.2.2", port: 500 } }, c);
  const late2 = new IsakmpSa({ role: "responder", icookie, rcookie: Buffer.from("0badc0de0badc0de", "hex"), local, remote: { address: "192.0.2.3", port: 500 } }, c);
  m.add(late);
  m.add(late2);
  late.destroy("x");
  late2.destroy("x");
  assert.ok(reads.n <= 2, `two adds and two removes read ${reads.n} fields of the others`);
  sas[0]!.destroy("x");
  assert.equal(m.lookup(icookie, ZERO_COOKIE, sas[1]!.remote), sas[1]);
  assert.equal(m.size, 1023);
  for (const sa of sas) sa.destroy("x");
  assert.equal(m.size, 0);
  assert.deepEqual(m.debugSizes(), { byIcookie: 0, byPeer: 0, held: 0, halfOpen: 0, peerHalfOpen: 0, phase2: 0 });
});

test("two peers with one icookie: the pair from any address (the newest SA with it), the icookie alone from each peer, an rcookie learned later", () => {
  const m = new SaManager();
  const icookie = Buffer.from("a1a2a3a4a5a6a7a8", "hex");
  const a = new IsakmpSa({ role: "initiator", icookie, local, remote: { address: "10.0.0.2", port: 500 } }, c);
  const b = new IsakmpSa({ role: "responder", icookie, rcookie: Buffer.from("b1b2b3b4b5b6b7b8", "hex"), local, remote: { address: "10.0.0.3", port: 500 } }, c);
  m.add(a);
  m.add(b);
  const far = { address: "10.9.9.9", port: 4500 };
  assert.equal(m.lookup(icookie, ZERO_COOKIE, a.remote), a);
  assert.equal(m.lookup(icookie, ZERO_COOKIE, b.remote), b);
  assert.equal(m.lookup(icookie, b.rcookie, far), b, "b's pair from anywhere");
  const ra = Buffer.from("c1c2c3c4c5c6c7c8", "hex");
  assert.equal(m.lookup(icookie, ra, a.remote), a, "MM2 for a: rcookie not yet known");
  assert.equal(m.lookup(icookie, ra, far), undefined);
  m.setRcookie(a, ra);
  assert.equal(m.lookup(icookie, ra, far), a, "a's pair from anywhere once learned");
  assert.equal(m.lookup(icookie, b.rcookie, a.remote), b, "b's pair from a's address");
  assert.equal(m.lookup(icookie, Buffer.from("0000000000000009", "hex"), a.remote), undefined, "a known rcookie must match");
  assert.deepEqual(m.all(), [a, b]);
  assert.throws(() => m.add(new IsakmpSa({ role: "responder", icookie, local, remote: { address: "10.0.0.3", port: 4500 } }, c)), /duplicate/);
  assert.equal(m.size, 2);
  b.destroy("x");
  b.destroy("again");
  assert.equal(m.lookup(icookie, ra, far), a);
  assert.equal(m.lookup(icookie, ZERO_COOKIE, b.remote), undefined);
  const b2 = new IsakmpSa({ role: "responder", icookie, local, remote: { address: "10.0.0.3", port: 500 } }, c);
  m.add(b2);
  assert.equal(m.lookup(icookie, ZERO_COOKIE, b2.remote), b2, "the same peer re-uses the icookie after its SA died");
  a.destroy("x");
  b2.destroy("x");
  assert.deepEqual(m.debugSizes(), { byIcookie: 0, byPeer: 0, held: 0, halfOpen: 0, peerHalfOpen: 0, phase2: 0 });
});

test("the counters never drift: destroy twice, markEstablished after the destroy, a destroy while half-open, an SA never added", () => {
  const m = new SaManager({ global: 10, perPeer: 2 });
  const zero = { byIcookie: 0, byPeer: 0, held: 0, halfOpen: 0, peerHalfOpen: 0, phase2: 0 };
  const a = mk("10.0.0.2");
  const b = mk("10.0.0.2");
  m.add(a);
  m.add(b);
  m.markEstablished(a);
  assert.deepEqual(m.debugSizes(), { byIcookie: 2, byPeer: 1, held: 2, halfOpen: 1, peerHalfOpen: 1, phase2: 0 });
  b.destroy("half-open");
  b.destroy("again");
  m.markEstablished(b);
  assert.deepEqual(m.debugSizes(), { byIcookie: 1, byPeer: 1, held: 1, halfOpen: 0, peerHalfOpen: 0, phase2: 0 });
  const stranger = mk("10.0.0.2");
  stranger.onDestroy(m);
  stranger.destroy("never added");
  m.markEstablished(stranger);
  assert.equal(m.admitResponder(a.remote), null);
  a.destroy("done");
  assert.deepEqual(m.debugSizes(), zero);
  // The peer's record went with its last SA; a new SA from it starts from zero.
  const c2 = mk("10.0.0.2");
  m.add(c2);
  assert.deepEqual(m.debugSizes(), { byIcookie: 1, byPeer: 1, held: 1, halfOpen: 1, peerHalfOpen: 1, phase2: 0 });
  c2.destroy("done");
  assert.deepEqual(m.debugSizes(), zero);
});
