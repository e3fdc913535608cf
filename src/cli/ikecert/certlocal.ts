/**
 * `ikecert certlocal`: the private-key store (ikecert.md §2). -ks/-kc generate a key pair
 * (RSA 1024–4096 bits, DSA 1024/2048/3072) with a self-signed certificate or a PKCS#10 request;
 * -l lists, -e exports, -a imports, -r removes. Keys are stored as unencrypted PKCS#8 DER, or, with
 * -T, generated on a PKCS#11 token and named in the store by a reference (token-certlocal.ts has
 * -T's operations and -U, -C, -L). PKCS#12 import and export (-f pkcs12) are in pkcs12.ts.
 */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { IkedPaths } from "../../daemon/paths.js";
import { emitGenerated, keygenParams, type KeygenParams } from "./keygen.js";
import type { Opts } from "./options.js";
import { exportPkcs12, importPkcs12 } from "./pkcs12.js";
import { IkecertError, addPrivateKey, freeSlot, loadKey, publicKeyHash, readCert, readStdin, slots, spkiOf, writeSlot } from "./store-ops.js";
import { copyKeyToToken, describeTokenKey, forgetTokenKey, linkTokenKey, removeTokenKey, tokenGenerate } from "./token-certlocal.js";
import { readKeySlot, type KeySlot } from "./token-store.js";

type Out = (s: string | Buffer) => void;
type Err = (s: string) => void;

function describeKey(key: KeyObject): { type: string; bits: number; hash: string } {
  return { type: key.asymmetricKeyType ?? "?", bits: key.asymmetricKeyDetails?.modulusLength ?? 0, hash: publicKeyHash(spkiOf(key)) };
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
