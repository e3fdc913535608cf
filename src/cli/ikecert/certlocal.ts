/**
 * `ikecert certlocal`: the private-key store (ikecert.md §2). -ks/-kc generate a key pair
 * (RSA 1024–4096 bits, DSA 1024/2048/3072) with a self-signed certificate or a PKCS#10 request;
 * -l lists, -e exports, -a imports, -r removes. Keys are stored as unencrypted PKCS#8 DER.
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { IkedPaths } from "../../daemon/paths.js";
import { certificateRequest, parseAltName, selfSignedCertificate, type AltName } from "../../pki/build.js";
import { parseDn } from "../../pki/name.js";
import { encodePem } from "../../pki/pem.js";
import type { Opts } from "./options.js";
import { parseWhen } from "./dates.js";
import { IkecertError, freeSlot, publicKeyHash, readCert, readStdin, slots, spkiOf, writeSlot } from "./store-ops.js";

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

/** Reads a private key file (PKCS#8 or PKCS#1, DER or PEM); the file's bytes are zeroed after. */
export function readPrivateKey(file: string): KeyObject {
  const bytes = fs.readFileSync(file);
  try {
    return loadKey(bytes);
  } finally {
    bytes.fill(0);
  }
}

function loadKey(bytes: Buffer): KeyObject {
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

function describeKey(key: KeyObject): { type: string; bits: number; hash: string } {
  return { type: key.asymmetricKeyType ?? "?", bits: key.asymmetricKeyDetails?.modulusLength ?? 0, hash: publicKeyHash(spkiOf(key)) };
}

function generate(p: IkedPaths, o: Opts, out: (s: string | Buffer) => void, err: (s: string) => void): void {
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

  err("Generating, please wait...\n");
  const { privateKey, publicKey } = t.type === "rsa"
    ? generateKeyPairSync("rsa", { modulusLength: bits })
    : generateKeyPairSync("dsa", { modulusLength: bits, divisorLength: bits === 1024 ? 160 : 256 });
  const spec = { subject, altNames, spki: publicKey.export({ type: "spki", format: "der" }), keyType: t.type, hash: t.hash };
  const slot = freeSlot(p);
  const pkcs8 = privateKey.export({ type: "pkcs8", format: "der" });
  try {
    writeSlot(p.privateKeysDir, slot, pkcs8, true);
  } finally {
    pkcs8.fill(0);
  }
  err(`Private key generated in slot ${slot}.\n`);
  if (o.primary === "kc") {
    out(encodePem("CERTIFICATE REQUEST", certificateRequest(spec, privateKey)));
    return;
  }
  const cert = selfSignedCertificate(spec, privateKey, start, end);
  writeSlot(p.publicKeysDir, slot, cert, false);
  err(`Certificate added to database in slot ${slot}.\n`);
  if (format === "ber") out(cert);
  else out(encodePem("X509 CERTIFICATE", cert));
}

/** Runs `certlocal` with parsed options. */
export function certlocal(p: IkedPaths, o: Opts, out: (s: string | Buffer) => void, err: (s: string) => void): void {
  switch (o.primary) {
    case "ks":
    case "kc":
      return generate(p, o, out, err);
    case "l": {
      const want = o.args[0];
      for (const slot of slots(p.privateKeysDir).filter((s) => want === undefined || s === want)) {
        let info;
        try {
          info = describeKey(readPrivateKey(path.join(p.privateKeysDir, slot)));
        } catch {
          out(`Local ID Slot Name: ${slot}\n\t(corrupt or unrecognised key; 'ikecert certlocal -r ${slot}' removes it)\n`);
          continue;
        }
        const cert = slots(p.publicKeysDir).includes(slot) ? readCert(p.publicKeysDir, slot) : undefined;
        out(`Local ID Slot Name: ${slot}   Key Type: ${info.type}\n\tKey Size: ${info.bits}\n\tPublic key hash: ${info.hash}\n`);
        if (cert) out(`\tCertificate: <${cert.subjectText}>\n`);
        if (o.flag("v")) out(readPrivateKey(path.join(p.privateKeysDir, slot)).export({ type: "pkcs8", format: "pem" }) as string);
      }
      return;
    }
    case "e": {
      const slot = o.args[0];
      if (slot === undefined || !slots(p.privateKeysDir).includes(slot)) throw new IkecertError(`no private key in slot ${slot ?? "(none given)"}`);
      const key = readPrivateKey(path.join(p.privateKeysDir, slot));
      const f = o.value("f") ?? "pkcs8";
      if (f === "pem") out(key.export({ type: "pkcs8", format: "pem" }) as string);
      else if (f === "pkcs8" || f === "ber") out(key.export({ type: "pkcs8", format: "der" }));
      else throw new IkecertError("-f must be pkcs8, ber or pem");
      return;
    }
    case "a": {
      const bytes = readStdin();
      let key: KeyObject;
      try {
        key = loadKey(bytes);
      } finally {
        bytes.fill(0);
      }
      if (key.asymmetricKeyType !== "rsa" && key.asymmetricKeyType !== "dsa") throw new IkecertError(`${key.asymmetricKeyType} keys cannot be used by IKEv1 here (RSA or DSA)`);
      const spki = spkiOf(key);
      // The key goes into the slot of its certificate, when that is already in the database.
      const paired = slots(p.publicKeysDir).find((s) => readCert(p.publicKeysDir, s)?.spki.equals(spki));
      const slot = paired !== undefined && !slots(p.privateKeysDir).includes(paired) ? paired : freeSlot(p);
      const pkcs8 = key.export({ type: "pkcs8", format: "der" });
      try {
        writeSlot(p.privateKeysDir, slot, pkcs8, true);
      } finally {
        pkcs8.fill(0);
      }
      err(`Private key added in slot ${slot}${paired === slot ? " (with its certificate)" : ""}.\n`);
      return;
    }
    case "r": {
      const slot = o.args[0];
      if (slot === undefined || !slots(p.privateKeysDir).includes(slot)) throw new IkecertError(`no private key in slot ${slot ?? "(none given)"}`);
      fs.rmSync(path.join(p.privateKeysDir, slot));
      err(`Private key in slot ${slot} removed.\n`);
      return;
    }
    default:
      throw new IkecertError(`certlocal does not take -${o.primary}`);
  }
}
