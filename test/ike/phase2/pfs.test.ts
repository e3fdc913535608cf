/**
 * Quick Mode PFS (src/ike/phase2/pfs.ts) hands its DH private value to the pool as a copy of its
 * own (never in Node's shared 8 KiB buffer pool, where an unwiped neighbour keeps it readable) and
 * wipes that copy whatever the pool call does: answers, refuses the peer's value, or rejects (an
 * aborted task, a dead worker).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { QuickModePfs } from "../../../src/ike/phase2/pfs.js";
import type { DhPort } from "../../../src/ike/ports.js";
import { inlineDh } from "../../helpers/dh.js";

const ownsItsMemory = (b: Buffer): boolean => b.byteOffset === 0 && b.buffer.byteLength === b.length;
const isZero = (b: Uint8Array): boolean => b.every((x) => x === 0);

/** inlineDh whose dhAgree records the private value it was given and then does `then`. */
function recording(then: "answer" | "reject"): { port: DhPort; seen: Buffer[] } {
  const seen: Buffer[] = [];
  const port: DhPort = {
    dhGenerate: (g, o) => inlineDh.dhGenerate(g, o),
    async dhAgree(group, privateValue, peerPublic, o) {
      const b = privateValue as Buffer;
      seen.push(b);
      assert.ok(!isZero(b), "the task gets the real value");
      if (then === "reject") throw new Error("worker died");
      return inlineDh.dhAgree(group, b, peerPublic, o);
    },
  };
  return { port, seen };
}

describe("QuickModePfs.agree", () => {
  const signal = (): AbortSignal => new AbortController().signal;

  it("passes an unpooled copy of x and wipes it once the pool has answered", async () => {
    const { port, seen } = recording("answer");
    const pfs = new QuickModePfs(port, signal);
    assert.ok((await pfs.generate(14)).ok);
    const peer = await inlineDh.dhGenerate(14);
    assert.ok(peer.ok);
    const r = await pfs.agree(14, peer.value.publicValue);
    assert.ok(r.ok);
    assert.equal(seen.length, 1);
    assert.ok(ownsItsMemory(seen[0]!), "the copy has an ArrayBuffer of its own");
    assert.ok(isZero(seen[0]!), "the copy is wiped");
    pfs.destroy();
  });

  it("wipes the copy when the pool call rejects", async () => {
    const { port, seen } = recording("reject");
    const pfs = new QuickModePfs(port, signal);
    assert.ok((await pfs.generate(14)).ok);
    const peer = await inlineDh.dhGenerate(14);
    assert.ok(peer.ok);
    await assert.rejects(pfs.agree(14, peer.value.publicValue), /worker died/);
    assert.equal(seen.length, 1);
    assert.ok(ownsItsMemory(seen[0]!), "the copy has an ArrayBuffer of its own");
    assert.ok(isZero(seen[0]!), "the copy is wiped although the call rejected");
    pfs.destroy();
  });
});
