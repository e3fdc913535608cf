/**
 * The engine's one ACQUIRE path (`IkeEngine.acquire`): the kernel's policy index picks the
 * ipsecinit.conf entry, and a peer override (`ikeadm acquire ... peer`) changes where the exchange
 * goes, not which entry or proposals are used.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { EncAlg } from "../../src/kernel/algorithms.js";
import type { AcquireEvent } from "../../src/kernel/kernel.js";
import { settle } from "./harness.js";
import { closePair, qmPair } from "./qm-helpers.js";

/** Entry 1 (AES) matches the traffic first; entry 2 (3DES) only when the kernel names it. */
const POLICY_A = "{ raddr 10.0.0.2 } ipsec { encr_algs aes encr_auth_algs sha1 }\n{ raddr 10.0.0.2 } ipsec { encr_algs 3des encr_auth_algs sha1 }\n{ raddr 10.0.0.9 } ipsec { encr_algs aes encr_auth_algs sha1 }\n";
const POLICY_B = "{ raddr 10.0.0.1 } ipsec { encr_algs aes encr_auth_algs sha1 } or ipsec { encr_algs 3des encr_auth_algs sha1 }\n";

function acquireEvent(dst: string, index: number): AcquireEvent {
  return {
    type: "acquire",
    seq: 7,
    src: { address: "10.0.0.1", port: 0 },
    dst: { address: dst, port: 0 },
    ulp: 0,
    proto: "esp",
    mode: "transport",
    policy: { index, selector: null, combinations: [] },
  };
}

test("the kernel's policy index picks the entry, with a peer override as without", async () => {
  for (const peer of [undefined, { address: "10.0.0.2", port: 500 }]) {
    const p = qmPair(POLICY_A, POLICY_B);
    const r = p.a.engine.acquire(acquireEvent("10.0.0.2", 2), peer);
    assert.deepEqual(r, { outcome: "started", peer: { address: "10.0.0.2", port: 500 } });
    await settle(p, 40);
    const sas = (await p.a.kernel.dump()).filter((s) => s.state === "mature");
    assert.equal(sas.length, 2, `override ${JSON.stringify(peer)}`);
    assert.ok(sas.every((s) => s.encAlg === EncAlg.TripleDesCbc && s.seq === 7), "entry 2 (3DES), not the first match");
    await closePair(p);
  }
});

test("a peer override sends the exchange to that peer under its rule; the traffic still picks the entry", async () => {
  const p = qmPair(POLICY_A, POLICY_B);
  assert.equal(p.a.engine.acquire(acquireEvent("10.0.0.9", 0)).outcome, "no-rule", "no rule for the traffic's own destination");
  const r = p.a.engine.acquire(acquireEvent("10.0.0.9", 0), { address: "10.0.0.2" });
  assert.deepEqual(r, { outcome: "started", peer: { address: "10.0.0.2", port: 500 } });
  const [sa] = p.a.engine.sas.all();
  assert.deepEqual(sa?.remote, { address: "10.0.0.2", port: 500 });
  assert.equal(sa?.rule, "to-b");
  const moved = p.a.engine.acquire(acquireEvent("10.0.0.9", 0), { port: 4500 });
  assert.equal(moved.outcome, "no-rule", "a port alone does not change the rule's peer");
  await closePair(p);
});
