/**
 * Every field descriptor of every spec (header, payloads, sealed payloads, nested items) has the
 * same own properties in the same order: one object shape, so that the encoder's per-field loads
 * stay monomorphic (fields.ts `field`). Behaviour is the codec's own tests'; this pins the shape.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { headerSpec } from "../../src/codec/header.js";
import { payloadSpec, sealedPayloadSpec } from "../../src/codec/payloads/index.js";
import { attributes, array, bytes, chain, fieldName, lengthOf, nibbles, reserved, rest, sized, spec, u8, type Field, type Spec } from "../../src/codec/fields.js";

function allSpecs(): Spec[] {
  const seen = new Set<Spec>();
  const visit = (s: Spec | undefined): void => {
    if (s === undefined || seen.has(s)) return;
    seen.add(s);
    for (const f of s.fields) if (f.kind === "chain") visit(f.item);
  };
  visit(headerSpec);
  for (let t = 0; t < 256; t++) {
    visit(payloadSpec(t));
    visit(sealedPayloadSpec(t));
  }
  return [...seen];
}

test("every field descriptor has one set of own keys, in one order", () => {
  const specs = allSpecs();
  assert.ok(specs.length > 15, `${specs.length} specs`);
  const shapes = new Map<string, string[]>();
  for (const s of specs) for (const f of s.fields) shapes.set(Object.keys(f).join(","), [...(shapes.get(Object.keys(f).join(",")) ?? []), `${s.name}:${f.kind}`]);
  assert.equal(shapes.size, 1, [...shapes.keys()].join(" | "));
  // All kinds are covered by the helpers the specs use, and each helper makes that shape.
  const item = spec("ITEM", [u8("x")]);
  const made: Field[] = [
    u8("a"), nibbles("b", "c"), bytes("d", 2), reserved(1), lengthOf(1, "e"), sized("e"), rest("f"),
    chain("g", { payloadType: 3, item, max: 1, tooMany: "IKE_ERR_BAD_PROPOSAL_SYNTAX" }),
    attributes("h", { max: 1, checkForm: false }), array("i", { sizeFrom: "a", code: "IKE_ERR_BAD_PROPOSAL_SYNTAX" }),
  ];
  for (const f of made) assert.equal(Object.keys(f).join(","), [...shapes.keys()][0], f.kind);
});

test("a spec's offsets and lengthOf slots name only fields that have a name", () => {
  const s = spec("T", [u8("a"), reserved(1), lengthOf(2, "b"), sized("b"), rest("c")]);
  assert.deepEqual(s.offsets, { a: 0, "#b": 2, b: 4 });
  assert.equal(fieldName(s.fields[1]!), undefined);
  assert.equal(fieldName(s.fields[2]!), undefined);
  assert.equal(fieldName(s.fields[3]!), "b");
  assert.equal((s.fields[2] as { slot: number }).slot, 0);
  assert.equal((s.fields[3] as { slot: number }).slot, 0);
  assert.equal(s.slots, 1);
  assert.throws(() => spec("U", [lengthOf(1, "nothing"), rest("r")]), /bad lengthOf target nothing/);
  // A target without a slot (a plain number field) is refused as before.
  assert.throws(() => spec("V", [lengthOf(1, "a"), u8("a")]), /bad lengthOf target a/);
});
