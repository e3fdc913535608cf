/**
 * ikecert's view of the store (ikecert.md §6): slots are file names, a private key and its
 * certificate share one; files are written to a dot-named temporary file (which the daemon's
 * loader skips) and renamed into place, keys with mode 0600 in a 0700 directory.
 */
import { createPrivateKey, createPublicKey, createHash, type KeyObject } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { IkedPaths } from "../../daemon/paths.js";
import { derObjects } from "../../pki/pem.js";
import { parseCertificate, type Certificate } from "../../pki/certificate.js";
import { parseCrl, type Crl } from "../../pki/crl.js";
import { allMatch, parseSelector, type Selector } from "../../pki/selector.js";

/** A failure ikecert reports and exits 1 for. */
export class IkecertError extends Error {}

/** Slot names in a directory (numeric ones first, in order). */
export function slots(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((n) => !n.startsWith(".")).sort((a, b) => (/^\d+$/.test(a) && /^\d+$/.test(b) ? Number(a) - Number(b) : a.localeCompare(b)));
}

/** The lowest number used as a slot in none of the three directories. */
export function freeSlot(p: IkedPaths): string {
  const used = new Set([...slots(p.publicKeysDir), ...slots(p.privateKeysDir), ...slots(p.crlsDir)]);
  let n = 0;
  while (used.has(String(n))) n++;
  return String(n);
}

/** Writes `bytes` to `dir/slot` through a temporary file; private key directories get 0700/0600. */
export function writeSlot(dir: string, slot: string, bytes: Buffer, secret: boolean): string {
  fs.mkdirSync(dir, { recursive: true, mode: secret ? 0o700 : 0o755 });
  const file = path.join(dir, slot);
  const tmp = path.join(dir, `.${slot}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, bytes, { mode: secret ? 0o600 : 0o644, flag: "wx" });
  fs.renameSync(tmp, file);
  return file;
}

/** Reads all of standard input (bounded). */
export function readStdin(max = 16 * 1024 * 1024): Buffer {
  const chunks: Buffer[] = [];
  let size = 0;
  const buf = Buffer.alloc(65536);
  for (;;) {
    let n: number;
    try {
      n = fs.readSync(0, buf, 0, buf.length, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EAGAIN") continue;
      if ((err as NodeJS.ErrnoException).code === "EOF") break;
      throw err;
    }
    if (n === 0) break;
    size += n;
    if (size > max) throw new IkecertError(`standard input is larger than ${max} bytes`);
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  buf.fill(0);
  return Buffer.concat(chunks);
}

/** A stored certificate, parsed (undefined when the slot does not parse: listings say so). */
export function readCert(dir: string, slot: string): Certificate | undefined {
  const objs = derObjects(fs.readFileSync(path.join(dir, slot)), "certificate");
  if (typeof objs === "string" || objs.length !== 1) return undefined;
  const r = parseCertificate(objs[0]!);
  return r.ok ? r.value : undefined;
}

/** A stored CRL, parsed. */
export function readCrl(dir: string, slot: string): Crl | undefined {
  const objs = derObjects(fs.readFileSync(path.join(dir, slot)), "crl");
  if (typeof objs === "string" || objs.length !== 1) return undefined;
  const r = parseCrl(objs[0]!);
  return r.ok ? r.value : undefined;
}

/** SubjectPublicKeyInfo DER of a key. */
export function spkiOf(key: KeyObject): Buffer {
  return createPublicKey(key).export({ type: "spki", format: "der" });
}

/** The "Public key hash" line: MD5 of the SPKI, upper-case hex, as the Solaris listing prints. */
export function publicKeyHash(spki: Buffer): string {
  return createHash("md5").update(spki).digest("hex").toUpperCase();
}

/** Reads a private key file (PKCS#8 or PKCS#1, DER or PEM); the file's bytes are zeroed after. */
export function readPrivateKey(file: string): KeyObject {
  const bytes = fs.readFileSync(file);
  try {
    return loadKey(bytes);
  } finally {
    bytes.fill(0);
  }
}

/** A private key from its bytes (PKCS#8 or PKCS#1, DER or PEM). */
export function loadKey(bytes: Buffer): KeyObject {
  for (const attempt of [
    () => createPrivateKey({ key: bytes, format: "der", type: "pkcs8" }),
    () => createPrivateKey({ key: bytes, format: "der", type: "pkcs1" }),
    () => createPrivateKey({ key: bytes, format: "pem" }),
  ]) {
    try {
      return attempt();
    } catch {
      // One encoding guess failed; the next is tried, and the caller reports when none fits.
    }
  }
  throw new IkecertError("the key is not an unencrypted PKCS#8 or PKCS#1 private key (DER or PEM)");
}

/** Parses certspec terms (ikecert.md §5). */
export function certspec(args: readonly string[]): Selector[] {
  return args.map((a) => {
    const s = parseSelector(a);
    if (typeof s === "string") throw new IkecertError(`certspec: ${s}`);
    return s;
  });
}

/** Certificate slots matching a certspec (an unparsable slot matches only its SLOT= term). */
export function certsMatching(p: IkedPaths, spec: Selector[]): Array<{ slot: string; cert: Certificate | undefined }> {
  return slots(p.publicKeysDir)
    .map((slot) => ({ slot, cert: readCert(p.publicKeysDir, slot) }))
    .filter(({ slot, cert }) => (cert ? allMatch(spec, cert, slot) : spec.some((s) => s.kind === "slot" && s.slot === slot)));
}

/** Adds a disk key, in the slot of its certificate when that is already in the database. */
export function addPrivateKey(p: IkedPaths, key: KeyObject, err: (s: string) => void): string {
  if (key.asymmetricKeyType !== "rsa" && key.asymmetricKeyType !== "dsa") throw new IkecertError(`${key.asymmetricKeyType} keys cannot be used by IKEv1 here (RSA or DSA)`);
  const spki = spkiOf(key);
  const paired = slots(p.publicKeysDir).find((s) => readCert(p.publicKeysDir, s)?.spki.equals(spki));
  const slot = paired !== undefined && !slots(p.privateKeysDir).includes(paired) ? paired : freeSlot(p);
  const pkcs8 = key.export({ type: "pkcs8", format: "der" });
  try {
    writeSlot(p.privateKeysDir, slot, pkcs8, true);
  } finally {
    pkcs8.fill(0);
  }
  err(`Private key added in slot ${slot}${paired === slot ? " (with its certificate)" : ""}.\n`);
  return slot;
}

/** Adds a certificate, in the slot of its private key (certlocal -kc or -a) when that has none yet. */
export function addCertificate(p: IkedPaths, key: { slot: string } | undefined, bytes: Buffer, err: (s: string) => void): string {
  const slot = key !== undefined && !slots(p.publicKeysDir).includes(key.slot) ? key.slot : freeSlot(p);
  writeSlot(p.publicKeysDir, slot, bytes, false);
  err(`Certificate added to database in slot ${slot}${slot === key?.slot ? " (with its private key)" : ""}.\n`);
  return slot;
}
