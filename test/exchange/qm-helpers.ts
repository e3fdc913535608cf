/** Shared set-up of the Quick Mode protocol-gap tests: a Main Mode pair with ipsecinit.conf text. */
import assert from "node:assert/strict";
import { makePair, pskText, ruleText, type Pair, type PairOptions } from "./harness.js";
import { selectForAcquire } from "../../src/policy/index.js";
import type { QuickModeRequest } from "../../src/ike/phase2/quick-mode.js";

export const XF = "p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes(256..256) }";

/** a = 10.0.0.1 (rule to-b), b = 10.0.0.2 (rule from-a); `extraA/B` go into each rule. */
export function qmPair(ipsecA: string, ipsecB: string, extraA = "", extraB = "", more: Partial<PairOptions> = {}): Pair {
  return makePair({
    configA: ruleText("to-b", "10.0.0.1", "10.0.0.2", `${XF}\n  ${extraA}`),
    configB: ruleText("from-a", "10.0.0.2", "10.0.0.1", `${XF}\n  ${extraB}`),
    pskA: pskText("10.0.0.1", "10.0.0.2", "qm-secret"),
    pskB: pskText("10.0.0.2", "10.0.0.1", "qm-secret"),
    ipsecA,
    ipsecB,
    ...more,
  });
}

/** What a's policy asks for traffic 10.0.0.1 -> 10.0.0.2. */
export function requestFor(p: Pair): QuickModeRequest {
  const sel = selectForAcquire(p.a.ipsec!, { src: { address: "10.0.0.1", port: 0 }, dst: { address: "10.0.0.2", port: 0 }, ulp: 0 });
  assert.equal(sel.kind, "ipsec");
  if (sel.kind !== "ipsec") throw new Error("unreachable");
  return { mode: sel.mode, proposals: sel.proposals, localId: sel.localId, remoteId: sel.remoteId };
}

/** ipsecinit.conf text: protect traffic with `peer` using AES and HMAC-SHA1. */
export const esp = (peer: string): string => `{ raddr ${peer} } ipsec { encr_algs aes encr_auth_algs sha1 }\n`;

export async function closePair(p: Pair): Promise<void> {
  p.a.engine.close();
  p.b.engine.close();
  await p.a.kernel.close();
  await p.b.kernel.close();
}
