/**
 * Store slots that name token objects. A private key slot holds a key reference
 * (src/crypto/token-key-file.ts) instead of a key; a certificate slot of a certificate that is also
 * on a token keeps the certificate as PEM, preceded by a line naming the token and the object's
 * CKA_ID (RFC 7468 §2 allows text before the armour; the daemon's loader reads only the armour):
 *
 *   iked-pkcs11-cert token "<label>" id <hex>
 *   -----BEGIN CERTIFICATE-----
 */
import fs from "node:fs";
import path from "node:path";
import type { KeyObject } from "node:crypto";
import type { IkedPaths } from "../../daemon/paths.js";
import { isTokenKeyFile, parseTokenKeyFile, type TokenKeyFile } from "../../crypto/token-key-file.js";
import { encodePem } from "../../pki/pem.js";
import { IkecertError, readPrivateKey } from "./store-ops.js";

/** What a private key slot holds. */
export type KeySlot = { readonly kind: "disk"; readonly key: KeyObject } | { readonly kind: "token"; readonly ref: TokenKeyFile };

/** Reads a private key slot: a key on disk or a reference to one on a token. */
export function readKeySlot(p: IkedPaths, slot: string): KeySlot {
  const file = path.join(p.privateKeysDir, slot);
  const bytes = fs.readFileSync(file);
  try {
    if (isTokenKeyFile(bytes)) {
      const ref = parseTokenKeyFile(bytes);
      if (typeof ref === "string") throw new IkecertError(`${file}: ${ref}`);
      return { kind: "token", ref };
    }
  } finally {
    bytes.fill(0);
  }
  return { kind: "disk", key: readPrivateKey(file) };
}

const CERT_LINE = /^iked-pkcs11-cert token ("(?:[^"\\]|\\.)*") id ((?:[0-9a-f]{2})+)\r?\n/;

/** The token a certificate slot's file says the certificate is on, if any. */
export function tokenOfCert(p: IkedPaths, slot: string): { token: string; id: Buffer } | undefined {
  const head = fs.readFileSync(path.join(p.publicKeysDir, slot)).subarray(0, 256).toString("utf8");
  const m = CERT_LINE.exec(head);
  if (!m) return undefined;
  try {
    return { token: JSON.parse(m[1]!) as string, id: Buffer.from(m[2]!, "hex") };
  } catch {
    return undefined;
  }
}

/** The file text of a certificate slot whose certificate is also on `token` as object `id`. */
export function tokenCertFile(der: Buffer, token: string, id: Buffer): Buffer {
  return Buffer.from(`iked-pkcs11-cert token ${JSON.stringify(token.trimEnd())} id ${id.toString("hex")}\n${encodePem("CERTIFICATE", der)}`);
}
