/**
 * The code generator (compile.ts) builds decoders from the static payload specs only: each spec is
 * compiled once per object shape, on first use, and no input, however hostile, makes it generate
 * another function. Spied on the global `Function` constructor, which compile.ts calls.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeMessage, decodePayloads, encodeMessage, PayloadType } from "../../src/codec/index.js";
import { encoderSeeds, mutate, Rng } from "../property/mutate.js";

const SPECS = 18; // header, proposal, transform and 15 top-level payload specs (the draft NAT numbers share theirs)
const MODES = 3; // untyped, item, payload

test("decoders are generated from the specs only: a bounded number at first use, none for later input", () => {
  const realFunction = globalThis.Function;
  const sources: string[] = [];
  globalThis.Function = new Proxy(realFunction, {
    construct(target, args: string[]) {
      sources.push(args[args.length - 1] ?? "");
      return Reflect.construct(target, args);
    },
  });
  const seeds = encoderSeeds(300, 7);
  let warm = 0;
  try {
    // Warm-up: valid messages of every payload kind reach every decoder.
    for (const s of seeds) {
      const r = s.kind === "datagram" ? decodeMessage(s.bytes) : decodePayloads(s.first, s.bytes);
      assert.ok(r.ok, `${s.name} decodes`);
    }
    warm = sources.length;
    assert.ok(warm > 0, "the spy sees the generator (nothing was compiled before this test)");
    assert.ok(warm <= SPECS * MODES, `${warm} decoders generated`);
    // Hostile input: mutations of the same messages, plus every next-payload value in a header.
    const rng = new Rng(99);
    for (let i = 0; i < 20_000; i++) {
      const s = seeds[rng.int(seeds.length)]!;
      const input = mutate(rng, s);
      if (s.kind === "datagram") decodeMessage(input);
      else decodePayloads(s.first, input);
    }
    const hdr = { icookie: Buffer.alloc(8, 1), rcookie: Buffer.alloc(8), exchangeType: 2, flags: 0, messageId: 0 };
    const wire = encodeMessage(hdr, [{ type: PayloadType.VID, data: Buffer.alloc(16, 2) }]);
    for (let next = 0; next < 256; next++) {
      wire[16] = next;
      decodeMessage(wire);
    }
  } finally {
    globalThis.Function = realFunction;
  }
  assert.equal(sources.length, warm, "no decoder generated after the warm-up");
  // The generated source names no input: only the spec's fields, the helpers and the buffer indexes.
  for (const src of sources) assert.doesNotMatch(src, /\beval\b|\bimport\b|\brequire\b|\bthis\b/);
});
