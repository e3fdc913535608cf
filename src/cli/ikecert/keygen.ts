/**
 * -ks and -kc's key generation options (ikecert.md §2.1) and what both do once the key exists,
 * wherever it lives (disk: certlocal.ts; a token: token-certlocal.ts).
 */
import type { KeyObject } from "node:crypto";
import type { IkedPaths } from "../../daemon/paths.js";
import { certificateRequest, parseAltName, selfSignedCertificate, type AltName, type Signer } from "../../pki/build.js";
import { parseDn, type Ava } from "../../pki/name.js";
import { encodePem } from "../../pki/pem.js";
import { parseWhen } from "./dates.js";
import type { Opts } from "./options.js";
import { IkecertError, writeSlot } from "./store-ops.js";

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

/** Reads and checks -ks/-kc's options; usage errors throw IkecertError. */
export function keygenParams(o: Opts): KeygenParams {
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
