/**
 * OpenSSL's command line as (part of) an engine's public-key port (not a test file), so that an
 * implementation other than ours makes or checks what no peer here can: DSS signatures over the raw
 * HASH_I/HASH_R (`openssl pkeyutl -sign`, DER Dss-Sig-Value turned into IKE's r|s), RSA PKCS#1
 * type 1 signatures without DigestInfo, RSA PKCS#1 v1.5 encryption and decryption. Every call is
 * recorded for the test to check against `openssl` afterwards.
 */
import { execFileSync } from "node:child_process";
import { createPrivateKey } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { CryptoPool } from "../../src/crypto/pool.js";
import type { TaskResult } from "../../src/crypto/tasks.js";
import type { PubkeyPort } from "../../src/ike/phase1/credentials.js";

/** One recorded operation. */
export interface Recorded {
  readonly op: "sign" | "verify" | "encrypt" | "decrypt";
  readonly key: string | Buffer;
  readonly input: Buffer;
  readonly output: Buffer | boolean;
}

/** Runs `openssl args`, feeding files from a scratch directory; returns stdout. */
export function openssl(args: readonly string[], files: Readonly<Record<string, Buffer>> = {}): Buffer {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "iked-ossl-"));
  try {
    for (const [name, data] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), data, { mode: 0o600 });
    return execFileSync("openssl", args.map((a) => (a.startsWith("@") ? path.join(dir, a.slice(1)) : a)), { maxBuffer: 1 << 20 });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A DER Dss-Sig-Value (SEQUENCE { r, s }) as IKE's r|s, each `half` bytes. */
export function derToRs(der: Buffer, half: number): Buffer {
  let p = 2;
  if (der[1]! & 0x80) p = 2 + (der[1]! & 0x7f);
  const ints: Buffer[] = [];
  for (let i = 0; i < 2; i++) {
    if (der[p] !== 0x02) throw new Error("not a Dss-Sig-Value");
    const len = der[p + 1]!;
    let v = der.subarray(p + 2, p + 2 + len);
    while (v.length > half && v[0] === 0) v = v.subarray(1);
    ints.push(Buffer.concat([Buffer.alloc(half - v.length), v]));
    p += 2 + len;
  }
  return Buffer.concat(ints);
}

/** The length of a DSA key's subgroup order q, in bytes. */
export function qBytes(keyFile: string): number {
  return (createPrivateKey(fs.readFileSync(keyFile)).asymmetricKeyDetails?.divisorLength ?? 160) / 8;
}

/** IKE's r|s as a DER Dss-Sig-Value, for `openssl pkeyutl -verify`. */
export function rsToDer(rs: Buffer): Buffer {
  const half = rs.length / 2;
  const int = (v: Buffer): Buffer => {
    let x = v;
    while (x.length > 1 && x[0] === 0 && !(x[1]! & 0x80)) x = x.subarray(1);
    if (x[0]! & 0x80) x = Buffer.concat([Buffer.of(0), x]);
    return Buffer.concat([Buffer.of(0x02, x.length), x]);
  };
  const body = Buffer.concat([int(rs.subarray(0, half)), int(rs.subarray(half))]);
  return Buffer.concat([Buffer.of(0x30, body.length), body]);
}

/** Which operations OpenSSL does; the rest go to `pool`. */
export interface OpensslRoles {
  readonly sign?: boolean;
  readonly encrypt?: boolean;
}

/** A PubkeyPort recording every call, with OpenSSL doing the operations `roles` names. */
export class OpensslPubkey implements PubkeyPort {
  readonly calls: Recorded[] = [];

  constructor(
    private readonly pool: CryptoPool,
    /** Private key files (PEM) and their type, by the pool key id the engine names. */
    private readonly keyFiles: Readonly<Record<string, { readonly file: string; readonly type: "rsa" | "dsa" }>>,
    private readonly roles: OpensslRoles = {},
  ) {}

  async sign(keyId: string, hash: Uint8Array): Promise<TaskResult<Buffer>> {
    const input = Buffer.from(hash);
    let out: Buffer;
    if (this.roles.sign) {
      const key = this.keyFiles[keyId];
      if (key === undefined) throw new Error(`no key file for ${keyId}`);
      const raw = openssl(["pkeyutl", "-sign", "-inkey", key.file, "-in", "@hash"], { hash: input });
      // IKE's DSS signature is r|s, each as long as the subgroup order q.
      out = key.type === "dsa" ? derToRs(raw, qBytes(key.file)) : raw;
    } else {
      const r = await this.pool.sign(keyId, input);
      if (!r.ok) return r;
      out = r.value;
    }
    this.calls.push({ op: "sign", key: keyId, input, output: out });
    return { ok: true, value: out };
  }

  async verify(publicKey: Uint8Array, hash: Uint8Array, signature: Uint8Array): Promise<TaskResult<boolean>> {
    const r = await this.pool.verify(publicKey, hash, signature);
    if (r.ok) this.calls.push({ op: "verify", key: Buffer.from(publicKey), input: Buffer.from(hash), output: r.value });
    return r;
  }

  async encrypt(publicKey: Uint8Array, plaintext: Uint8Array): Promise<TaskResult<Buffer>> {
    const input = Buffer.from(plaintext);
    let out: Buffer;
    if (this.roles.encrypt) {
      out = openssl(["pkeyutl", "-encrypt", "-pubin", "-keyform", "DER", "-inkey", "@key", "-pkeyopt", "rsa_padding_mode:pkcs1", "-in", "@pt"], { key: Buffer.from(publicKey), pt: input });
    } else {
      const r = await this.pool.encrypt(publicKey, input);
      if (!r.ok) return r;
      out = r.value;
    }
    this.calls.push({ op: "encrypt", key: Buffer.from(publicKey), input, output: out });
    return { ok: true, value: out };
  }

  async decrypt(keyId: string, ciphertext: Uint8Array): Promise<TaskResult<Buffer>> {
    const r = await this.pool.decrypt(keyId, ciphertext);
    if (r.ok) this.calls.push({ op: "decrypt", key: keyId, input: Buffer.from(ciphertext), output: r.value });
    return r;
  }
}
