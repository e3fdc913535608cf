/**
 * Hostile input: random text and mutations of the corpus never make either parser throw, and
 * the diagnostics stay bounded in number and size.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { MAX_DIAGNOSTICS, MAX_FILE_CHARS, parseIkeConfig, parsePreshared } from "../../src/config/index.js";

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../test/fixtures/config");
const corpus = readdirSync(fixtures).map((f) => readFileSync(path.join(fixtures, f), "utf8"));

/** Longest message we allow: quoted user text is clipped, so messages stay short. */
const MAX_MESSAGE = 400;

function check(text: string): void {
  for (const parse of [parseIkeConfig, parsePreshared]) {
    const r = parse(text, "fuzz");
    assert.ok(r.diagnostics.length <= MAX_DIAGNOSTICS);
    for (const d of r.diagnostics) {
      assert.ok(d.message.length <= MAX_MESSAGE, d.message.slice(0, 100));
      assert.ok(d.line >= 1 && d.col >= 1);
    }
    assert.equal(r.ok, !r.diagnostics.some((d) => d.severity === "error"));
  }
}

/** Grammar-flavoured pieces so random text reaches deep parser states. */
const piece = fc.oneof(
  fc.constantFrom("{", "}", "(", ")", '"', "\\\n", "#", "//", "\n", " ", "..", "/", "-", "0x", "010", "aes", "label", "p1_xform",
    "local_addr", "remote_addr", "auth_method", "preshared", "rsa_sig", "encr_alg", "oakley_group", "key", "localid", "remoteid",
    "localidtype", "ike_mode", "10.0.0.1", "::1", "/24", "ffff", "\u0000", "\u00e9", "\ud800"),
  fc.string({ maxLength: 8 }),
);

test("random grammar-flavoured text never throws", () => {
  fc.assert(fc.property(fc.array(piece, { maxLength: 200 }).map((a) => a.join("")), check), { numRuns: 1500 });
});

test("random binary-ish text never throws", () => {
  fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 500 }), check), { numRuns: 500 });
});

test("mutated corpus files never throw", () => {
  const mutation = fc.tuple(fc.nat(corpus.length - 1), fc.array(fc.tuple(fc.nat(), fc.nat(4), fc.string({ maxLength: 3 })), { minLength: 1, maxLength: 8 }));
  fc.assert(
    fc.property(mutation, ([i, edits]) => {
      let t = corpus[i]!;
      for (const [pos, kind, s] of edits) {
        const p = t.length === 0 ? 0 : pos % t.length;
        if (kind === 0) t = t.slice(0, p); // truncate
        else if (kind === 1) t = t.slice(0, p) + t.slice(p + 1); // delete a character
        else if (kind === 2) t = t.slice(0, p) + s + t.slice(p); // insert
        else if (kind === 3) t = t.slice(0, p) + s + t.slice(p + s.length); // overwrite
        else t = t + t.slice(p); // duplicate a tail
      }
      check(t);
    }),
    { numRuns: 1000 },
  );
});

test("pathological shapes: deep braces, huge words, many errors, oversize input", () => {
  check("{".repeat(100_000));
  check("}".repeat(100_000));
  check('"'.repeat(50_001));
  check(`label ${"x".repeat(200_000)}`);
  check(`{ label "a" local_addr ${"1".repeat(100_000)} }`);
  check("p1_xform { encr_alg aes(" + "1..".repeat(10_000) + ") }");
  const big = parseIkeConfig("#".repeat(MAX_FILE_CHARS + 1), "big");
  assert.deepEqual(big.diagnostics.map((d) => d.code), ["IKE_ERR_CFG_TOO_LARGE"]);
  assert.deepEqual(parsePreshared(" ".repeat(MAX_FILE_CHARS + 1), "big").diagnostics.map((d) => d.code), ["IKE_ERR_CFG_TOO_LARGE"]);
});
