/**
 * ikeload's DH private values, for decrypting its captures: ikeload makes its own crypto pool and
 * key pairs (src/load/reused-dh.ts) and hands no key out, so the test wraps
 * `ReusedDh.prototype.dhGenerate` (the same module instance the runner uses) while a run goes and
 * keeps a copy of each private value by its public value. With test/interop/ka.ts's `kaLines` and
 * the capture, that gives the Ka of every Phase 1 for `capture.sh check --keys`, the only way to see
 * inside a Libreswan exchange (pluto logs no keys the checker reads).
 */
import { ReusedDh } from "../../src/load/reused-dh.js";

/** The recorded values; `restore()` puts the original method back and wipes them. */
export interface RecordedDh {
  privateFor(publicValue: Buffer): { group: number; privateValue: Buffer } | undefined;
  restore(): void;
}

/** Start recording every key pair a ReusedDh hands out (until `restore`). */
export function recordLoadDh(): RecordedDh {
  const original = Object.getOwnPropertyDescriptor(ReusedDh.prototype, "dhGenerate")!;
  const orig = ReusedDh.prototype.dhGenerate;
  const byPublic = new Map<string, { group: number; privateValue: Buffer }>();
  ReusedDh.prototype.dhGenerate = async function (this: ReusedDh, group, options) {
    const r = await orig.call(this, group, options);
    // A copy: the engine takes the returned private value and wipes it.
    if (r.ok) byPublic.set(r.value.publicValue.toString("hex"), { group, privateValue: Buffer.from(r.value.privateValue) });
    return r;
  };
  return {
    privateFor: (publicValue) => byPublic.get(publicValue.toString("hex")),
    restore: () => {
      Object.defineProperty(ReusedDh.prototype, "dhGenerate", original);
      for (const v of byPublic.values()) v.privateValue.fill(0);
      byPublic.clear();
    },
  };
}
