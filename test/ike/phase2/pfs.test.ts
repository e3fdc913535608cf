/**
 * Quick Mode PFS (src/ike/phase2/pfs.ts) hands its DH private value to the pool as a copy of its
 * own (never in Node's shared 8 KiB buffer pool, where an unwiped neighbour keeps it readable) and
 * wipes that copy whatever the pool call does: answers, refuses the peer's value, or rejects (an
 * aborted task, a dead worker); an answer that comes after the Quick Mode ended (destroy) is wiped,
 * not kept.
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

describe("QuickModePfs after destroy (the Quick Mode ended while the pool worked)", () => {
  const signal = (): AbortSignal => new AbortController().signal;

  /** inlineDh whose answers wait for `release`, and are recorded. */
  function gated(): { port: DhPort; release: () => void; answers: Uint8Array[] } {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const answers: Uint8Array[] = [];
    const port: DhPort = {
      async dhGenerate(g, o) {
        const r = await inlineDh.dhGenerate(g, o);
        await gate;
        if (r.ok) answers.push(r.value.privateValue);
        return r;
      },
      async dhAgree(g, priv, peer, o) {
        const r = await inlineDh.dhAgree(g, priv, peer, o);
        await gate;
        if (r.ok) answers.push(r.value);
        return r;
      },
      async dhGenerateAndAgree(g, peer, o) {
        const kp = await inlineDh.dhGenerate(g, o);
        assert.ok(kp.ok);
        const r = await inlineDh.dhAgree(g, kp.value.privateValue, peer, o);
        assert.ok(r.ok);
        await gate;
        answers.push(r.value);
        return { ok: true, value: { publicValue: kp.value.publicValue, sharedSecret: r.value } };
      },
    };
    return { port, release: () => open(), answers };
  }

  it("a late g^x answer: x is wiped and not kept (nothing left to agree with)", async () => {
    const { port, release, answers } = gated();
    const pfs = new QuickModePfs(port, signal);
    const pending = pfs.generate(14);
    pfs.destroy();
    release();
    const r = await pending;
    assert.equal(r.ok, false);
    assert.equal(answers.length, 1);
    assert.ok(isZero(answers[0]!), "x wiped");
    const peer = await inlineDh.dhGenerate(14);
    assert.ok(peer.ok);
    assert.deepEqual(await pfs.agree(14, peer.value.publicValue), { ok: false, reason: "no PFS private value", peerRefused: false });
  });

  it("a late g(qm)^xy answer (initiator or responder): wiped and not kept", async () => {
    for (const side of ["initiator", "responder"] as const) {
      const { port, release, answers } = gated();
      const peer = await inlineDh.dhGenerate(14);
      assert.ok(peer.ok);
      const pfs = new QuickModePfs(side === "initiator" ? { ...port, dhGenerate: (g, o) => inlineDh.dhGenerate(g, o) } : port, signal);
      if (side === "initiator") assert.ok((await pfs.generate(14)).ok);
      const pending = side === "initiator" ? pfs.agree(14, peer.value.publicValue) : pfs.respond(14, peer.value.publicValue);
      pfs.destroy();
      release();
      const r = await pending;
      assert.equal(r.ok, false, side);
      assert.equal(answers.length, 1, side);
      assert.ok(isZero(answers[0]!), `${side}: g(qm)^xy wiped`);
      assert.equal(pfs.shared, undefined, `${side}: nothing kept`);
    }
  });
});
