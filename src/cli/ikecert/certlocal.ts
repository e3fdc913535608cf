/**
 * `ikecert certlocal`: the private-key store (ikecert.md §2). -ks/-kc generate a key pair
 * (RSA 1024–4096 bits, DSA 1024/2048/3072) with a self-signed certificate or a PKCS#10 request;
 * -l lists, -e exports, -a imports, -r removes. Keys are stored as unencrypted PKCS#8 DER, or, with
 * -T, generated on a PKCS#11 token and named in the store by a reference (token-keys.ts has -T's
 * operations and -U, -C, -L). PKCS#12 import and export (-f pkcs12) are in pkcs12.ts.
 */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { IkedPaths } from "../../daemon/paths.js";
import { certificateRequest, parseAltName, selfSignedCertificate, type AltName, type Signer } from "../../pki/build.js";
import { parseDn, type Ava } from "../../pki/name.js";
import { encodePem } from "../../pki/pem.js";
import type { Opts } from "./options.js";
import { parseWhen } from "./dates.js";
import { exportPkcs12, importPkcs12 } from "./pkcs12.js";
import { IkecertError, freeSlot, loadKey, publicKeyHash, readCert, readStdin, slots, spkiOf, writeSlot } from "./store-ops.js";
import { copyKeyToToken, describeTokenKey, forgetTokenKey, linkTokenKey, removeTokenKey, tokenGenerate } from "./token-certlocal.js";
import { readKeySlot, type KeySlot } from "./token-store.js";

type Out = (s: string | Buffer) => void;
type Err = (s: string) => void;

/** `-t` key types: the reference's three plus SHA-2 variants. */
const KEY_TYPES: Readonly<Record<string, { type: "rsa" | "dsa"; hash: string }>> = {
  "rsa-md5": { type: "rsa", hash: "md5" },
  "rsa-sha1": { type: "rsa", hash: "sha1" },
  "rsa-sha256": { type: "rsa", hash: "sha256" },
  "rsa-sha384": { type: "rsa", hash: "sha384" },
  "rsa-sha512": { type: "rsa", hash: "sha512" },
  "dsa-sha1": { type: "dsa", hash: "sha1" },
  "dsa-sha256": { type: "dsa", hash: "sha256" },
};

function describeKey(key: KeyObject): { type: string; bits: number; hash: string } {
  return { type: key.asymmetricKeyType ?? "?", bits: key.asymmetricKeyDetails?.modulusLength ?? 0, hash: publicKeyHash(spkiOf(key)) };
}

/** The key generation options (-t -m -D -A -S -F -f) of -ks and -kc. */
export interface KeygenParams {
  readonly type: "rsa" | "dsa";
  readonly hash: string;
  readonly bits: number;
  readonly subject: Ava[][];
  readonly altNames: AltName[];
  readonly start: number;
  readonly end: number;
  readonly format: "pem" | "ber";
}

function keygenParams(o: Opts): KeygenParams {
  const t = KEY_TYPES[o.value("t") ?? ""];
  if (!t) throw new IkecertError(`-t must be one of ${Object.keys(KEY_TYPES).join(", ")}`);
  const bits = Number(o.value("m") ?? NaN);
  const sizes = t.type === "rsa" ? [1024, 2048, 3072, 4096] : [1024, 2048, 3072];
  if (!sizes.includes(bits)) throw new IkecertError(`-m must be one of ${sizes.join(", ")} for ${t.type.toUpperCase()} keys`);
  const dnText = o.value("D");
  if (!dnText) throw new IkecertError("-D dname is required");
  const subject = parseDn(dnText);
  if (typeof subject === "string") throw new IkecertError(`-D: ${subject}`);
  const altNames: AltName[] = o.values("A").map((a) => {
    const r = parseAltName(a);
    if (typeof r === "string") throw new IkecertError(`-A: ${r}`);
    return r;
  });
  const now = Date.now();
  const start = parseWhen(o.value("S") ?? "+0s", now);
  if (typeof start === "string") throw new IkecertError(`-S: ${start}`);
  const end = parseWhen(o.value("F") ?? "+4y", start);
  if (typeof end === "string") throw new IkecertError(`-F: ${end}`);
  if (end <= start) throw new IkecertError("the end of validity (-F) must be later than its start (-S)");
  const format = o.value("f") ?? "pem";
  if (format !== "pem" && format !== "ber") throw new IkecertError("-f must be pem or ber");
  return { ...t, bits, subject, altNames, start, end, format };
}

/**
 * The end of -kc/-ks, wherever the key lives: -kc prints the request; -ks adds the self-signed
 * certificate to the database (`certFile` gives the slot file's bytes when it is also on a token)
 * and prints it.
 */
export function emitGenerated(
  p: IkedPaths, o: Opts, g: KeygenParams, slot: string, spki: Buffer, signer: KeyObject | Signer,
  out: Out, err: Err, certFile?: (der: Buffer) => Buffer,
): void {
  const spec = { subject: g.subject, altNames: g.altNames, spki, keyType: g.type, hash: g.hash };
  if (o.primary === "kc") {
    out(encodePem("CERTIFICATE REQUEST", certificateRequest(spec, signer)));
    return;
  }
  const cert = selfSignedCertificate(spec, signer, g.start, g.end);
  writeSlot(p.publicKeysDir, slot, certFile ? certFile(cert) : cert, false);
  err(`Certificate added to database in slot ${slot}.\n`);
  if (g.format === "ber") out(cert);
  else out(encodePem("X509 CERTIFICATE", cert));
}

function generateOnDisk(p: IkedPaths, o: Opts, g: KeygenParams, out: Out, err: Err): void {
  err("Generating, please wait...\n");
  const { privateKey, publicKey } = g.type === "rsa"
    ? generateKeyPairSync("rsa", { modulusLength: g.bits })
    : generateKeyPairSync("dsa", { modulusLength: g.bits, divisorLength: g.bits === 1024 ? 160 : 256 });
  const slot = freeSlot(p);
  const pkcs8 = privateKey.export({ type: "pkcs8", format: "der" });
  try {
    writeSlot(p.privateKeysDir, slot, pkcs8, true);
  } finally {
    pkcs8.fill(0);
  }
  err(`Private key generated in slot ${slot}.\n`);
  emitGenerated(p, o, g, slot, publicKey.export({ type: "spki", format: "der" }), privateKey, out, err);
}

/** The private key slot named by the first argument (it must exist). */
function keySlotArg(p: IkedPaths, o: Opts): string {
  const slot = o.args[0];
  if (slot === undefined || !slots(p.privateKeysDir).includes(slot)) throw new IkecertError(`no private key in slot ${slot ?? "(none given)"}`);
  return slot;
}

async function list(p: IkedPaths, o: Opts, out: Out): Promise<void> {
  const want = o.args[0];
  for (const slot of slots(p.privateKeysDir).filter((s) => want === undefined || s === want)) {
    let held: KeySlot;
    try {
      held = readKeySlot(p, slot);
    } catch {
      out(`Local ID Slot Name: ${slot}\n\t(corrupt or unrecognised key; 'ikecert certlocal -r ${slot}' removes it)\n`);
      continue;
    }
    const cert = slots(p.publicKeysDir).includes(slot) ? readCert(p.publicKeysDir, slot) : undefined;
    if (held.kind === "token") {
      out(await describeTokenKey(p, slot, held.ref));
    } else {
      const info = describeKey(held.key);
      out(`Local ID Slot Name: ${slot}   Key Type: ${info.type}\n\tKey Size: ${info.bits}\n\tPublic key hash: ${info.hash}\n`);
    }
    if (cert) out(`\tCertificate: <${cert.subjectText}>\n`);
    if (o.flag("v")) out(held.kind === "disk" ? (held.key.export({ type: "pkcs8", format: "pem" }) as string) : "\t(a key on a token cannot be printed)\n");
  }
}

function addFromStdin(p: IkedPaths, err: Err): void {
  const bytes = readStdin();
  let key: KeyObject;
  try {
    key = loadKey(bytes);
  } finally {
    bytes.fill(0);
  }
  addPrivateKey(p, key, err);
}

/** Adds a disk key, in the slot of its certificate when that is already in the database. */
export function addPrivateKey(p: IkedPaths, key: KeyObject, err: Err): string {
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

/** Runs `certlocal` with parsed options. */
export async function certlocal(p: IkedPaths, o: Opts, out: Out, err: Err): Promise<void> {
  switch (o.primary) {
    case "ks":
    case "kc": {
      const g = keygenParams(o);
      if (o.value("T") !== undefined) return tokenGenerate(p, o, g, out, err);
      return generateOnDisk(p, o, g, out, err);
    }
    case "l":
      return list(p, o, out);
    case "e": {
      const slot = keySlotArg(p, o);
      const f = o.value("f") ?? "pkcs8";
      if (f === "pkcs12") return exportPkcs12(p, o, slot, out);
      const held = readKeySlot(p, slot);
      if (held.kind === "token") throw new IkecertError(`the private key in slot ${slot} is on PKCS#11 token "${held.ref.token}" and cannot leave it`);
      if (f === "pem") out(held.key.export({ type: "pkcs8", format: "pem" }) as string);
      else if (f === "pkcs8" || f === "ber") out(held.key.export({ type: "pkcs8", format: "der" }));
      else throw new IkecertError("-f must be pkcs8, ber, pem or pkcs12");
      return;
    }
    case "a": {
      const f = o.value("f");
      if (f === "pkcs12") return importPkcs12(p, o, err);
      if (f !== undefined) throw new IkecertError("-a takes -f pkcs12 only (keys are recognised as PKCS#8 or PKCS#1, DER or PEM)");
      return addFromStdin(p, err);
    }
    case "r": {
      const slot = keySlotArg(p, o);
      const held = readKeySlot(p, slot);
      if (held.kind === "token") return removeTokenKey(p, o, slot, held.ref, err);
      fs.rmSync(path.join(p.privateKeysDir, slot));
      err(`Private key in slot ${slot} removed.\n`);
      return;
    }
    case "U":
      return forgetTokenKey(p, o, keySlotArg(p, o), err);
    case "C":
      return copyKeyToToken(p, o, err);
    case "L":
      return linkTokenKey(p, o, err);
    default:
      throw new IkecertError(`certlocal does not take -${o.primary}`);
  }
}
