/**
 * Phase1Keymat.exportForKeymatPrivilege(): the privilege-2 export returns exactly the values
 * strongSwan 5.9.8 derived (SKEYID, SKEYID_d/a/e, Ka from its --log-level 4 logs, fixtures in
 * test/fixtures/crypto/), as fresh copies, and refuses before derivation and after destroy().
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { cipherByName, hashByName } from "../../src/crypto/algorithms.js";
import { CryptoError } from "../../src/crypto/crypto-error.js";
import { Phase1Keymat, phase1Suite, type Phase1Exchange } from "../../src/crypto/keymat.js";

interface Fixture {
  case: string;
  options: string[];
  psk: string;
  packets: { from: string; hex: string }[];
  log: { initiator: Record<string, string[]> };
}

const dir = fileURLToPath(new URL("../../../test/fixtures/crypto/", import.meta.url));
const fixtures = readdirSync(dir)
  .filter((f) => f.startsWith("strongswan-psk-") && f.endsWith(".json"))
  .sort()
  .map((f) => JSON.parse(readFileSync(dir + f, "utf8")) as Fixture);

const opt = (f: Fixture, name: string) => f.options[f.options.indexOf(name) + 1] ?? "";
const logged = (f: Fixture, name: string) => f.log.initiator[name]?.[0] ?? assert.fail(`${f.case}: no ${name} in the log`);

/** Nonce (10) and KE (4) bodies of a Phase 1 message, walking the payload chain. */
function keNonce(hex: string): { ke: Buffer; nonce: Buffer; icookie: Buffer; rcookie: Buffer } {
  const raw = Buffer.from(hex, "hex");
  const b = raw.readUInt32BE(0) === 0 ? raw.subarray(4) : raw;
  const out: Record<number, Buffer> = {};
  let type = b[16]!;
  let off = 28;
  while (type !== 0) {
    const len = b.readUInt16BE(off + 2);
    out[type] = b.subarray(off + 4, off + len);
    type = b[off]!;
    off += len;
  }
  return { ke: out[4]!, nonce: out[10]!, icookie: b.subarray(0, 8), rcookie: b.subarray(8, 16) };
}

/** A holder derived from one fixture, as the engine derives it (PSK authentication). */
function derived(f: Fixture): Phase1Keymat {
  const m = /^([a-z0-9]+?)(128|192|256)?$/.exec(opt(f, "--cipher"));
  const cipher = cipherByName(m?.[1] ?? "");
  const hash = hashByName(opt(f, "--hash"));
  assert.ok(cipher && hash);
  const km = new Phase1Keymat(phase1Suite(cipher.id, m?.[2] ? Number(m[2]) : undefined, hash.id), { protect: false });
  const aggressive = opt(f, "--mode") === "aggressive";
  // Main Mode: the KE/nonce messages are the 3rd and 4th; Aggressive Mode: the 1st and 2nd.
  const [i, r] = aggressive ? [f.packets[0]!, f.packets[1]!] : [f.packets[2]!, f.packets[3]!];
  const mi = keNonce(i.hex);
  const mr = keNonce(r.hex);
  const x: Phase1Exchange = { icookie: mr.icookie, rcookie: mr.rcookie, nonceI: mi.nonce, nonceR: mr.nonce, gxi: mi.ke, gxr: mr.ke };
  km.deriveFromPsk(x, Buffer.from(logged(f, "shared Diffie Hellman secret"), "hex"), Buffer.from(f.psk));
  return km;
}

test("fixtures are present", () => assert.ok(fixtures.length >= 5));

for (const f of fixtures) {
  test(`${f.case}: the export equals strongSwan's SKEYID, SKEYID_d/a/e and Ka`, () => {
    const km = derived(f);
    const k = km.exportForKeymatPrivilege();
    assert.equal(k.skeyid.toString("hex"), logged(f, "SKEYID"));
    assert.equal(k.skeyidD.toString("hex"), logged(f, "SKEYID_d"));
    assert.equal(k.skeyidA.toString("hex"), logged(f, "SKEYID_a"));
    assert.equal(k.skeyidE.toString("hex"), logged(f, "SKEYID_e"));
    assert.equal(k.ka.toString("hex"), logged(f, "encryption key Ka"));
    // Fresh copies: wiping them leaves the holder's keys intact.
    for (const b of Object.values(k)) b.fill(0);
    assert.equal(km.exportForKeymatPrivilege().ka.toString("hex"), logged(f, "encryption key Ka"));
    km.destroy();
  });
}

test("the export refuses before the derivation and after destroy()", () => {
  const f = fixtures[0]!;
  const fresh = new Phase1Keymat(phase1Suite(cipherByName("aes")!.id, 128, hashByName("sha1")!.id));
  assert.throws(() => fresh.exportForKeymatPrivilege(), (e: unknown) => e instanceof CryptoError && e.code === "IKE_ERR_CRYPTO_NOT_DERIVED");
  const km = derived(f);
  km.destroy();
  assert.throws(() => km.exportForKeymatPrivilege(), (e: unknown) => e instanceof CryptoError && e.code === "IKE_ERR_CRYPTO_DESTROYED");
});

test("a Phase 1 suite is one frozen object per combination, shared by every holder that negotiated it", () => {
  const a = phase1Suite(7, 128, 2);
  assert.equal(phase1Suite(7, 128, 2), a);
  assert.ok(Object.isFrozen(a));
  assert.notEqual(phase1Suite(7, 256, 2), a);
  assert.notEqual(phase1Suite(7, 128, 1), a);
  assert.equal(new Phase1Keymat(phase1Suite(7, 128, 2)).suite, new Phase1Keymat(phase1Suite(7, 128, 2)).suite);
});
