/**
 * Crypto primitives on the main thread: each Phase 1 cipher (raw cbcEncrypt/cbcDecrypt) on a
 * typical IKE message (96 bytes: a Main Mode ID/HASH; 1024 bytes: a Quick Mode with SA and IDs or
 * a certificate-carrying message), the key holder's encrypt/decrypt (secure memory, page
 * protection, padding, IV chaining), each HMAC prf, secure-memory costs, and a full Phase 1
 * derivation against the group 14 Diffie-Hellman it follows.
 *
 * Each section has its baseline (ratio 1.00), measured in the same run:
 *   ciphers       AES-128-CBC encrypt of the same size
 *   holder        raw cbcEncrypt AES-128 of the same size (what the holder adds on top)
 *   prf           HMAC-SHA1 over 100 bytes
 *   secure        SecureBuffer.use() with page protection off
 *   phase 1       the pure kdf.ts derivation in normal memory
 *
 *   npm run bench -- primitives
 */
import { getDiffieHellman, randomBytes } from "node:crypto";
import { Bench } from "tinybench";
import { cipherById, hashById, type CipherInfo, type HashInfo } from "../../src/crypto/algorithms.js";
import { cbcDecrypt, cbcEncrypt } from "../../src/crypto/cipher.js";
import * as kdf from "../../src/crypto/kdf.js";
import { Phase1Keymat, phase1Suite, type Phase1Exchange } from "../../src/crypto/keymat.js";
import { prf } from "../../src/crypto/prf.js";
import { SecureBuffer } from "../../src/crypto/secure.js";

interface Row {
  section: string;
  name: string;
  baseline: string;
}

function table(bench: Bench, rows: Row[]): void {
  const mean = new Map<string, number>();
  for (const t of bench.tasks) {
    const r = t.result as { period?: number };
    if (typeof r.period === "number") mean.set(t.name, r.period);
  }
  console.table(
    rows.map((r) => {
      const p = mean.get(r.name) ?? NaN;
      const b = mean.get(r.baseline) ?? NaN;
      return { section: r.section, task: r.name, "us/op": (p * 1000).toFixed(2), "ops/s": (1000 / p).toFixed(0), "vs baseline": (p / b).toFixed(2) };
    }),
  );
}

export default async function run(): Promise<void> {
  const bench = new Bench({ name: "crypto primitives", time: 250, warmupTime: 50 });
  const rows: Row[] = [];
  const add = (section: string, name: string, baseline: string, fn: () => void): void => {
    bench.add(name, fn);
    rows.push({ section, name, baseline });
  };

  const ciphers: [string, CipherInfo, number][] = [
    ["AES-128", cipherById(7)!, 16], ["AES-256", cipherById(7)!, 32], ["3DES", cipherById(5)!, 24],
    ["DES", cipherById(1)!, 8], ["Blowfish-128", cipherById(3)!, 16],
  ];
  const keyFor = (len: number): Buffer => Buffer.from(Array.from({ length: len }, (_, i) => (i * 37 + 11) & 0xff));
  for (const size of [96, 1024]) {
    const base = `AES-128 encrypt ${size} B`;
    for (const [label, c, keyLen] of ciphers) {
      const key = keyFor(keyLen);
      const iv = randomBytes(c.blockSize);
      const pt = randomBytes(size);
      const ct = cbcEncrypt(c, key, iv, pt);
      add("ciphers", `${label} encrypt ${size} B`, base, () => void cbcEncrypt(c, key, iv, pt));
      add("ciphers", `${label} decrypt ${size} B`, base, () => void cbcDecrypt(c, key, iv, ct));
    }
  }

  const x: Phase1Exchange = {
    icookie: randomBytes(8), rcookie: randomBytes(8), nonceI: randomBytes(32), nonceR: randomBytes(32),
    gxi: randomBytes(256), gxr: randomBytes(256),
  };
  const suite = phase1Suite(7, 128, 2);
  const holderI = new Phase1Keymat(suite);
  const holderR = new Phase1Keymat(suite);
  const holderOpen = new Phase1Keymat(suite, { protect: false });
  const sharedGxy = randomBytes(256);
  holderI.deriveFromPsk(x, Buffer.from(sharedGxy), Buffer.from("bench-psk"));
  holderR.deriveFromPsk(x, Buffer.from(sharedGxy), Buffer.from("bench-psk"));
  holderOpen.deriveFromPsk(x, Buffer.from(sharedGxy), Buffer.from("bench-psk"));
  for (const size of [96, 1024]) {
    const payloads = randomBytes(size - 1);
    const ct = holderI.encrypt(1, payloads);
    add("holder", `Phase1Keymat encrypt ${size} B`, `AES-128 encrypt ${size} B`, () => void holderI.encrypt(1, payloads));
    add("holder", `Phase1Keymat encrypt ${size} B, protect off`, `AES-128 encrypt ${size} B`, () => void holderOpen.encrypt(1, payloads));
    add("holder", `Phase1Keymat decrypt+commit ${size} B`, `AES-128 encrypt ${size} B`, () => {
      const d = holderR.decrypt(2, ct);
      if (d.ok) d.commit();
    });
  }

  const hashes: [string, HashInfo][] = [["HMAC-SHA1", hashById(2)!], ["HMAC-MD5", hashById(1)!], ["HMAC-SHA256", hashById(4)!], ["HMAC-SHA384", hashById(5)!], ["HMAC-SHA512", hashById(6)!]];
  const prfKey = randomBytes(20);
  const prfData = randomBytes(100);
  for (const [label, h] of hashes) add("prf", `${label} 100 B`, "HMAC-SHA1 100 B", () => void prf(h, prfKey, prfData));
  add("prf", "Quick Mode HASH(1) via holder (SHA1)", "HMAC-SHA1 100 B", () => void holderI.quickModeHash1(7, prfData));

  const open = SecureBuffer.alloc(64, { protect: false });
  const guarded = SecureBuffer.alloc(64);
  add("secure", "use(), protection off", "use(), protection off", () => open.use((b) => b[0]));
  add("secure", "use(), mprotect pair", "use(), protection off", () => guarded.use((b) => b[0]));
  add("secure", "alloc + destroy 512 B", "use(), protection off", () => SecureBuffer.alloc(512).destroy());

  const sha1 = hashById(2)!;
  const gxy = randomBytes(256);
  add("phase 1", "kdf.ts only (SKEYID..Ka, IV), AES-128/SHA1", "kdf.ts only (SKEYID..Ka, IV), AES-128/SHA1", () => {
    const s = kdf.skeyidPsk(sha1, Buffer.from("bench-psk"), x.nonceI, x.nonceR);
    const c = kdf.skeyidChildren(sha1, s, gxy, x.icookie, x.rcookie);
    kdf.expandKa(sha1, c.skeyidE, 16);
    kdf.phase1Iv(sha1, x.gxi, x.gxr, 16);
  });
  add("phase 1", "Phase1Keymat derive+destroy, AES-128/SHA1", "kdf.ts only (SKEYID..Ka, IV), AES-128/SHA1", () => {
    const k = new Phase1Keymat(suite);
    k.deriveFromPsk(x, Buffer.from(gxy), Buffer.from("bench-psk"));
    k.destroy();
  });
  add("phase 1", "Phase1Keymat derive+destroy, AES-128/SHA1, protect off", "kdf.ts only (SKEYID..Ka, IV), AES-128/SHA1", () => {
    const k = new Phase1Keymat(suite, { protect: false });
    k.deriveFromPsk(x, Buffer.from(gxy), Buffer.from("bench-psk"));
    k.destroy();
  });
  add("phase 1", "Phase1Keymat derive+destroy, AES-256/SHA1 (Ka expansion)", "kdf.ts only (SKEYID..Ka, IV), AES-128/SHA1", () => {
    const k = new Phase1Keymat(phase1Suite(7, 256, 2));
    k.deriveFromPsk(x, Buffer.from(gxy), Buffer.from("bench-psk"));
    k.destroy();
  });
  const dh = getDiffieHellman("modp14");
  dh.generateKeys();
  const peer = getDiffieHellman("modp14");
  peer.generateKeys();
  const peerPub = peer.getPublicKey();
  add("phase 1", "for scale: modp14 computeSecret (one side)", "kdf.ts only (SKEYID..Ka, IV), AES-128/SHA1", () => void dh.computeSecret(peerPub));

  await bench.run();
  table(bench, rows);
  holderI.destroy();
  holderR.destroy();
  holderOpen.destroy();
  open.destroy();
  guarded.destroy();
}
