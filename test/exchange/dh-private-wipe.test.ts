/**
 * Phase 1 initiators (Main Mode, Aggressive Mode) hand their DH private value to the pool through
 * `Phase1Keymat.withDhPrivateForTask`: the copy is wiped as soon as the pool call settles, before
 * the derivation runs, not later when the key holder releases the value (issue 11 item 6).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Phase1Keymat } from "../../src/crypto/keymat.js";
import type { DhPort } from "../../src/ike/ports.js";
import { makePair, pskText, ruleText, settle } from "./harness.js";

const XF = "p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes(128..128) }";
const isZero = (b: Uint8Array): boolean => b.every((x) => x === 0);

for (const mode of ["main", "aggressive"] as const) {
  // Aggressive Mode finds its key by identity, in an entry marked `ike_mode aggressive`.
  const psk = (local: string, remote: string): string =>
    mode === "main" ? pskText(local, remote, "wipe-secret") : `{ localidtype ip localid ${local} remoteidtype ip remoteid ${remote} ike_mode aggressive key "wipe-secret" }\n`;
  test(`${mode} mode initiator: the private value's task copy is wiped before SKEYID is derived`, async (t) => {
    const copies: Buffer[] = [];
    const record = (dh: DhPort): DhPort => ({
      dhGenerate: (g, o) => dh.dhGenerate(g, o),
      dhGenerateAndAgree: (g, p, o) => dh.dhGenerateAndAgree!(g, p, o),
      dhAgree: (g, x, p, o) => {
        copies.push(x as Buffer);
        return dh.dhAgree(g, x, p, o);
      },
    });
    let checked = 0;
    const derive = Phase1Keymat.prototype.deriveFromPsk;
    t.mock.method(Phase1Keymat.prototype, "deriveFromPsk", function (this: Phase1Keymat, ...args: Parameters<typeof derive>) {
      for (const c of copies) assert.ok(isZero(c), "the copy given to dhAgree is already wiped");
      checked++;
      return derive.apply(this, args);
    });
    const p = makePair({
      configA: ruleText("to-b", "10.0.0.1", "10.0.0.2", XF),
      configB: ruleText("from-a", "10.0.0.2", "10.0.0.1", XF),
      pskA: psk("10.0.0.1", "10.0.0.2"),
      pskB: psk("10.0.0.2", "10.0.0.1"),
      wrapDh: (side, dh) => (side === "a" ? record(dh) : dh),
    });
    const sa = p.a.engine.initiate(p.a.policy.ruleByLabel("to-b")!, p.a.endpoint, p.b.endpoint, mode);
    await settle(p);
    assert.equal(sa.state, "established");
    assert.equal(copies.length, 1, "the initiator's one dhAgree");
    assert.equal(checked, 2, "both sides derived");
    p.a.engine.close();
    p.b.engine.close();
  });
}
