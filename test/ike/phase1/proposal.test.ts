import { test } from "node:test";
import assert from "node:assert/strict";
import {
  matchP1Reply,
  p1Attributes,
  parseP1Attributes,
  selectP1,
  transformsFromXforms,
} from "../../../src/ike/phase1/proposal.js";
import type { DataAttribute } from "../../../src/codec/index.js";
import type { P1Xform } from "../../../src/config/types.js";

const x3des: P1Xform = { authMethod: 1, oakleyGroup: 2, encrAlg: 5, authAlg: 2 };
const xaes256: P1Xform = { authMethod: 1, oakleyGroup: 14, encrAlg: 7, authAlg: 4, encrKeyLen: { low: 256, high: 256 }, p1LifetimeSecs: 3600 };
const xbf: P1Xform = { authMethod: 1, oakleyGroup: 5, encrAlg: 3, authAlg: 2 };

const tv = (type: number, value: number): DataAttribute => ({ format: "tv", type, value });

test("offered transforms: key length always sent for variable ciphers (Blowfish 128), lifetimes, order", () => {
  const ts = transformsFromXforms([x3des, xaes256, xbf, { ...xaes256, encrKeyLen: undefined as never }], 28800);
  assert.deepEqual(ts.map((t) => [t.encr, t.keyBits]), [[5, undefined], [7, 256], [3, 128], [7, 128], [7, 192], [7, 256]]);
  assert.equal(ts[0]!.lifeSecs, 28800);
  assert.equal(ts[1]!.lifeSecs, 3600);
  // strongSwan's order: Encryption, Key-Length, Hash, Group, Auth, Life-Type, Life-Duration.
  assert.deepEqual(p1Attributes(ts[1]!).map((a) => a.type), [1, 14, 2, 4, 3, 11, 12]);
  const big = p1Attributes({ encr: 5, hash: 2, auth: 1, group: 2, lifeSecs: 86400 * 2 });
  const dur = big[big.length - 1]!;
  assert.ok(dur.format === "tlv" && dur.value.readUInt32BE(0) === 172800);
});

test("attributes round-trip through parse; unsupported ones make the transform unacceptable", () => {
  const t = { encr: 7, keyBits: 128, hash: 2, auth: 1, group: 14, lifeSecs: 100000, lifeKb: 5 };
  assert.deepEqual(parseP1Attributes(p1Attributes(t)), { ok: true, value: t });
  assert.equal(parseP1Attributes([tv(1, 5), tv(2, 2), tv(3, 1), tv(4, 2), tv(13, 1)]).ok, false, "PRF");
  assert.equal(parseP1Attributes([tv(1, 5), tv(2, 2), tv(3, 1)]).ok, false, "no group");
  assert.equal(parseP1Attributes([tv(1, 5), tv(1, 5), tv(2, 2), tv(3, 1), tv(4, 2)]).ok, false, "repeated");
  assert.equal(parseP1Attributes([tv(1, 5), tv(2, 2), tv(3, 1), tv(4, 2), tv(12, 5)]).ok, false, "duration alone");
  assert.equal(parseP1Attributes([tv(1, 5), tv(2, 2), tv(3, 1), tv(4, 2), tv(11, 1)]).ok, false, "type alone");
});

test("responder picks the first acceptable offered transform; lifetime is the shorter one", () => {
  const offered = [
    [tv(1, 1), tv(2, 1), tv(4, 1), tv(3, 1)], // DES/MD5/g1: not configured
    [tv(1, 7), tv(14, 128), tv(2, 4), tv(4, 14), tv(3, 1), tv(11, 1), tv(12, 20000)], // AES-128, we want 256
    [tv(1, 7), tv(14, 256), tv(2, 4), tv(4, 14), tv(3, 1), tv(11, 1), tv(12, 20000)],
    [tv(1, 5), tv(2, 2), tv(4, 2), tv(3, 1)],
  ];
  const c = selectP1(offered, [x3des, xaes256]);
  assert.ok("index" in c);
  assert.equal(c.index, 2);
  assert.equal(c.keyBits, 256);
  assert.equal(c.lifeSecs, 3600);
  const d = selectP1([offered[3]!], [x3des]);
  assert.ok("index" in d && d.lifeSecs === 28800 && d.keyBits === 192);
  const none = selectP1(offered.slice(0, 2), [x3des]);
  assert.ok("reasons" in none && none.reasons.length === 2);
  const rsa = selectP1([[tv(1, 5), tv(2, 2), tv(4, 2), tv(3, 3)]], [{ ...x3des, authMethod: 3 }]);
  assert.ok("reasons" in rsa, "RSA signatures not implemented yet");
});

test("Blowfish: absent Key Length means 128; other sizes are refused without config syntax for them", () => {
  assert.ok("index" in selectP1([[tv(1, 3), tv(2, 2), tv(4, 5), tv(3, 1)]], [xbf]));
  assert.ok("index" in selectP1([[tv(1, 3), tv(14, 128), tv(2, 2), tv(4, 5), tv(3, 1)]], [xbf]));
  assert.ok("reasons" in selectP1([[tv(1, 3), tv(14, 256), tv(2, 2), tv(4, 5), tv(3, 1)]], [xbf]));
  assert.ok("reasons" in selectP1([[tv(1, 5), tv(14, 128), tv(2, 2), tv(4, 2), tv(3, 1)]], [x3des]), "wrong key length on 3DES");
});

test("initiator accepts only a transform it offered, adopting the responder's lifetime when shorter", () => {
  const proposed = transformsFromXforms([x3des, xaes256]);
  const ok = matchP1Reply([tv(1, 7), tv(14, 256), tv(2, 4), tv(4, 14), tv(3, 1), tv(11, 1), tv(12, 1800)], proposed);
  assert.ok("index" in ok && ok.index === 1 && ok.lifeSecs === 1800);
  const bad = matchP1Reply([tv(1, 7), tv(14, 128), tv(2, 4), tv(4, 14), tv(3, 1)], proposed);
  assert.ok("reasons" in bad);
});
