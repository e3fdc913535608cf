/**
 * `ikecert certdb` with PKCS#11 tokens (ikecert.md §3):
 *   -a [-p] [-T token]   the certificate also goes to the token when -T names one or when its
 *                        private key is a token key (certlocal -kc -T); -p stores the PIN in that
 *                        key's reference
 *   -r certspec          on a token certificate: also removes its certificate and public-key objects
 *   -U slot -T token     forgets a token certificate's slot; the token keeps the object
 *   -C certspec -T token copies the certificate and its public key to the token (the slot then
 *                        says it is there too)
 *   -L pattern -T token  adds the token's certificates matching a certspec to the database
 * The database keeps every certificate's bytes (the daemon reads them there); token-store.ts says
 * how a slot records that the certificate is on a token.
 */
import { createPublicKey } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { IkedPaths } from "../../daemon/paths.js";
import { pkcs11js } from "../../crypto/pkcs11.js";
import { formatTokenKeyFile, type TokenKeyFile } from "../../crypto/token-key-file.js";
import { parseCertificate, type Certificate } from "../../pki/certificate.js";
import { allMatch } from "../../pki/selector.js";
import type { Opts } from "./options.js";
import { IkecertError, certsMatching, certspec, freeSlot, slots, spkiOf, writeSlot } from "./store-ops.js";
import { certificateDer, createCertificate, destroyObjects, importKey, newId, objectsOf, tokenPublicKey } from "./token-objects.js";
import { copyParts, loginToken, openToken, tokenCall } from "./token-session.js";
import { readKeySlot, tokenCertFile, tokenOfCert } from "./token-store.js";

type Err = (s: string) => void;

/** The private key slot holding `spki`'s key, on disk or (reachable) on a token. */
export async function keySlotOf(p: IkedPaths, spki: Buffer): Promise<{ slot: string; ref?: TokenKeyFile } | undefined> {
  for (const slot of slots(p.privateKeysDir)) {
    try {
      const held = readKeySlot(p, slot);
      if (held.kind === "disk") {
        if (spkiOf(held.key).equals(spki)) return { slot };
        continue;
      }
      const t = await openToken(p, held.ref.token);
      if (tokenCall(() => tokenPublicKey(t, held.ref.id))?.spki.equals(spki)) return { slot, ref: held.ref };
    } catch {
      // An unreadable key or an unreachable token pairs with nothing; certlocal -l shows why.
    }
  }
  return undefined;
}

/**
 * certdb -a's token part: puts `cert` on the token (-T, or its key's token) and returns the slot
 * file's bytes; -p stores the PIN in the key's reference.
 */
export async function certToToken(p: IkedPaths, o: Opts, cert: Certificate, key: { slot: string; ref?: TokenKeyFile } | undefined, err: Err): Promise<Buffer> {
  const label = o.value("T") ?? key?.ref?.token;
  if (label === undefined) {
    if (o.flag("p")) throw new IkecertError("-p needs -T token");
    return cert.der;
  }
  if (key?.ref && key.ref.token !== label.trimEnd()) throw new IkecertError(`the certificate's private key is on token "${key.ref.token}", not "${label}"`);
  const t = await openToken(p, label);
  await loginToken(t, o, true);
  const id = key?.ref?.id ?? newId();
  tokenCall(() => createCertificate(t, cert.der, cert.subject.der, id, cert.subjectText.slice(0, 64)));
  err(`Certificate stored on token "${t.label}" (id ${id.toString("hex")}).\n`);
  if (o.flag("p")) {
    if (!key?.ref) throw new IkecertError("-p: the certificate has no private key on the token to keep the PIN with");
    writeSlot(p.privateKeysDir, key.slot, Buffer.from(formatTokenKeyFile({ ...key.ref, pin: t.pin! })), true);
    err(`The PIN of token "${t.label}" is stored in ${path.join(p.privateKeysDir, key.slot)} (root only).\n`);
  }
  return tokenCertFile(cert.der, t.label, id);
}

/** certdb -r's token part: the certificate and public-key objects. */
export async function removeCertObjects(p: IkedPaths, o: Opts, on: { token: string; id: Buffer }, err: Err): Promise<void> {
  const js = pkcs11js();
  const t = await openToken(p, on.token);
  await loginToken(t, o, false);
  const n = tokenCall(() => destroyObjects(t, on.id, [js.CKO_CERTIFICATE, js.CKO_PUBLIC_KEY]));
  err(`Removed ${n} certificate and public-key objects from token "${on.token}".\n`);
}

/** certdb -U: forget a token certificate's slot. */
export function forgetTokenCert(p: IkedPaths, o: Opts, err: Err): void {
  const label = o.value("T")?.trimEnd();
  const slot = o.args[0];
  if (label === undefined) throw new IkecertError("-U needs -T token");
  if (slot === undefined || !slots(p.publicKeysDir).includes(slot)) throw new IkecertError(`no certificate in slot ${slot ?? "(none given)"}`);
  if (tokenOfCert(p, slot)?.token !== label) throw new IkecertError(`the certificate in slot ${slot} is not on token "${label}"`);
  fs.rmSync(path.join(p.publicKeysDir, slot));
  err(`Certificate slot ${slot} forgotten; the certificate stays on token "${label}".\n`);
}

/** certdb -C: copy a certificate and its public key to the token. */
export async function copyCertToToken(p: IkedPaths, o: Opts, err: Err): Promise<void> {
  const label = o.value("T");
  if (label === undefined) throw new IkecertError("-C needs -T token");
  if (o.args.length === 0) throw new IkecertError("-C needs a certspec");
  const hit = certsMatching(p, certspec(o.args)).find((h) => h.cert);
  if (!hit?.cert) throw new IkecertError("no certificate matches");
  if (tokenOfCert(p, hit.slot)) throw new IkecertError(`the certificate in slot ${hit.slot} is already on a token`);
  const cert = hit.cert;
  const key = await keySlotOf(p, cert.spki);
  const t = await openToken(p, label);
  await loginToken(t, o, false);
  const id = key?.ref?.token === t.label ? key.ref.id : newId();
  const failed = copyParts(t, hit.slot, id, [
    ["certificate", () => createCertificate(t, cert.der, cert.subject.der, id, cert.subjectText.slice(0, 64))],
    ["public key", () => importKey(t, createPublicKey({ key: cert.spki, format: "der", type: "spki" }), id, cert.subjectText.slice(0, 64), "public")],
  ], err);
  if (!failed.includes("certificate")) writeSlot(p.publicKeysDir, hit.slot, tokenCertFile(cert.der, t.label, id), false);
  if (failed.length > 0) throw new IkecertError(`-C: ${failed.join(" and ")} not copied`);
}

/** certdb -L: add the token's certificates matching a certspec. */
export async function linkTokenCert(p: IkedPaths, o: Opts, err: Err): Promise<void> {
  const label = o.value("T");
  if (label === undefined) throw new IkecertError("-L needs -T token");
  if (o.args.length === 0) throw new IkecertError("-L needs a pattern (a certspec)");
  const spec = certspec(o.args);
  const js = pkcs11js();
  const t = await openToken(p, label);
  const have = new Set(certsMatching(p, []).map((h) => h.cert?.fingerprint));
  let added = 0;
  for (const obj of tokenCall(() => objectsOf(t, js.CKO_CERTIFICATE))) {
    const r = parseCertificate(tokenCall(() => certificateDer(t, obj)));
    if (!r.ok || !allMatch(spec, r.value, "") || have.has(r.value.fingerprint)) continue;
    const key = await keySlotOf(p, r.value.spki);
    const slot = key && !slots(p.publicKeysDir).includes(key.slot) ? key.slot : freeSlot(p);
    writeSlot(p.publicKeysDir, slot, tokenCertFile(r.value.der, t.label, obj.id), false);
    err(`Certificate <${r.value.subjectText}> from token "${t.label}" added in slot ${slot}.\n`);
    added++;
  }
  if (added === 0) throw new IkecertError(`no new certificate on token "${t.label}" matches`);
}
