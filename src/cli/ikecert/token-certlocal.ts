/**
 * `ikecert certlocal` with PKCS#11 tokens (ikecert.md §2, §2.1):
 *   -ks|-kc ... -T token [-p]  the token generates and keeps the key pair; the store gets a key
 *                              reference (src/crypto/token-key-file.ts); -ks also puts the
 *                              certificate on the token. -p keeps the PIN in the reference, so the
 *                              daemon logs in by itself; otherwise `ikeadm token login` unlocks it.
 *   -r slot                    on a token key: also removes the token's private and public key objects
 *   -U slot -T token           forgets the reference, the token's objects stay
 *   -C certspec -T token       copies the disk key, its public key and certificate to the token
 *                              (every part is tried; the originals stay on disk and in use)
 *   -L pattern -T token [-p]   names an existing token key in the store: `pattern` is a certspec
 *                              matched against the token's certificates, else the key's CKA_LABEL
 */
import fs from "node:fs";
import path from "node:path";
import type { IkedPaths } from "../../daemon/paths.js";
import { pkcs11js } from "../../crypto/pkcs11.js";
import { formatTokenKeyFile, type TokenKeyFile } from "../../crypto/token-key-file.js";
import { parseCertificate } from "../../pki/certificate.js";
import { encodeName, formatName } from "../../pki/name.js";
import { allMatch } from "../../pki/selector.js";
import { emitGenerated, type KeygenParams } from "./keygen.js";
import type { Opts } from "./options.js";
import { IkecertError, certsMatching, certspec, freeSlot, publicKeyHash, readCert, slots, writeSlot } from "./store-ops.js";
import { certificateDer, createCertificate, destroyObjects, generateKeyPair, importKey, newId, objectsOf, tokenPublicKey, tokenSigner } from "./token-objects.js";
import { copyParts, loginToken, openToken, tokenCall, type TokenSession } from "./token-session.js";
import { readKeySlot, tokenCertFile } from "./token-store.js";

type Out = (s: string | Buffer) => void;
type Err = (s: string) => void;

function tokenLabel(o: Opts): string {
  const label = o.value("T");
  if (label === undefined) throw new IkecertError(`-${o.primary} needs -T token`);
  return label;
}

function writeReference(p: IkedPaths, slot: string, t: TokenSession, id: Buffer, o: Opts, err: Err): void {
  const ref: TokenKeyFile = o.flag("p") && t.pin !== undefined ? { token: t.label, id, pin: t.pin } : { token: t.label, id };
  writeSlot(p.privateKeysDir, slot, Buffer.from(formatTokenKeyFile(ref)), true);
  if (ref.pin !== undefined) err(`The PIN of token "${t.label}" is stored in ${path.join(p.privateKeysDir, slot)} (root only).\n`);
}

/** -ks/-kc -T: a key pair generated on the token. */
export async function tokenGenerate(p: IkedPaths, o: Opts, g: KeygenParams, out: Out, err: Err): Promise<void> {
  const t = await openToken(p, tokenLabel(o));
  await loginToken(t, o, false);
  const id = newId();
  const label = formatName(g.subject).slice(0, 64);
  err(`Generating on PKCS#11 token "${t.label}", please wait...\n`);
  const { priv, key } = tokenCall(() => generateKeyPair(t, g.type, g.bits, id, label));
  const slot = freeSlot(p);
  writeReference(p, slot, t, id, o, err);
  err(`Private key generated on token "${t.label}" (id ${id.toString("hex")}), slot ${slot}.\n`);
  emitGenerated(p, o, g, slot, key.spki, tokenSigner(t, priv, g.type, g.hash, key.bits), out, err, (der) => {
    tokenCall(() => createCertificate(t, der, encodeName(g.subject), id, label));
    return tokenCertFile(der, t.label, id);
  });
}

/** certlocal -l's lines for a key on a token (its public half read from the token, no login). */
export async function describeTokenKey(p: IkedPaths, slot: string, ref: TokenKeyFile): Promise<string> {
  const head = `Local ID Slot Name: ${slot}`;
  try {
    const t = await openToken(p, ref.token);
    const key = tokenCall(() => tokenPublicKey(t, ref.id));
    if (!key) return `${head}\n\tToken: "${ref.token}" (id ${ref.id.toString("hex")}): no public key object\n`;
    return `${head}   Key Type: ${key.type}\n\tToken: "${ref.token}" (id ${ref.id.toString("hex")})${ref.pin !== undefined ? ", PIN stored" : ""}\n` +
      `\tKey Size: ${key.bits}\n\tPublic key hash: ${publicKeyHash(key.spki)}\n`;
  } catch (e) {
    if (!(e instanceof IkecertError)) throw e;
    return `${head}\n\tToken: "${ref.token}" (id ${ref.id.toString("hex")}): ${e.message}\n`;
  }
}

/** -r on a token key: the reference and the token's key objects. */
export async function removeTokenKey(p: IkedPaths, o: Opts, slot: string, ref: TokenKeyFile, err: Err): Promise<void> {
  const js = pkcs11js();
  const t = await openToken(p, ref.token);
  await loginToken(t, o, false);
  const n = tokenCall(() => destroyObjects(t, ref.id, [js.CKO_PRIVATE_KEY, js.CKO_PUBLIC_KEY]));
  fs.rmSync(path.join(p.privateKeysDir, slot));
  err(`Private key in slot ${slot} removed, with ${n} key objects on token "${ref.token}".\n`);
}

/** -U: forget the reference only. */
export function forgetTokenKey(p: IkedPaths, o: Opts, slot: string, err: Err): void {
  const label = tokenLabel(o).trimEnd();
  const held = readKeySlot(p, slot);
  if (held.kind !== "token" || held.ref.token !== label) throw new IkecertError(`slot ${slot} does not name a key on token "${label}"`);
  fs.rmSync(path.join(p.privateKeysDir, slot));
  err(`Private key reference in slot ${slot} forgotten; the objects on token "${label}" are kept.\n`);
}

/** -C: copy a disk key, its public key and certificate to the token; every part is tried. */
export async function copyKeyToToken(p: IkedPaths, o: Opts, err: Err): Promise<void> {
  if (o.args.length === 0) throw new IkecertError("-C needs a certspec");
  const hit = certsMatching(p, certspec(o.args)).find((h) => h.cert && slots(p.privateKeysDir).includes(h.slot));
  if (!hit?.cert) throw new IkecertError("no certificate with a private key matches");
  const held = readKeySlot(p, hit.slot);
  if (held.kind === "token") throw new IkecertError(`the key of slot ${hit.slot} is already on token "${held.ref.token}"`);
  const t = await openToken(p, tokenLabel(o));
  await loginToken(t, o, false);
  const id = newId();
  const label = hit.cert.subjectText.slice(0, 64);
  const failed = copyParts(t, hit.slot, id, [
    ["private key", () => importKey(t, held.key, id, label, "private")],
    ["public key", () => importKey(t, held.key, id, label, "public")],
    ["certificate", () => createCertificate(t, hit.cert!.der, hit.cert!.subject.der, id, label)],
  ], err);
  if (failed.length > 0) throw new IkecertError(`-C: ${failed.join(" and ")} not copied`);
}

/** -L: name an existing token key in the store. */
export async function linkTokenKey(p: IkedPaths, o: Opts, err: Err): Promise<void> {
  if (o.args.length === 0) throw new IkecertError("-L needs a pattern (a certspec, or the key's label)");
  const js = pkcs11js();
  const t = await openToken(p, tokenLabel(o));
  await loginToken(t, o, false);
  const keys = tokenCall(() => objectsOf(t, js.CKO_PRIVATE_KEY));
  const certs = tokenCall(() => objectsOf(t, js.CKO_CERTIFICATE)).map((c) => ({ c, parsed: parseCertificate(tokenCall(() => certificateDer(t, c))) }));
  let spec: ReturnType<typeof certspec> | undefined;
  try {
    spec = certspec(o.args);
  } catch {
    spec = undefined;
  }
  const byCert = spec ? keys.filter((k) => certs.some(({ c, parsed }) => c.id.equals(k.id) && parsed.ok && allMatch(spec!, parsed.value, ""))) : [];
  const hits = byCert.length > 0 ? byCert : keys.filter((k) => k.label === o.args.join(" "));
  if (hits.length === 0) throw new IkecertError(`no private key on token "${t.label}" matches`);
  if (hits.length > 1) throw new IkecertError(`${hits.length} keys on token "${t.label}" match (ids ${hits.map((k) => k.id.toString("hex")).join(", ")}); be more specific`);
  const id = hits[0]!.id;
  const linked = slots(p.privateKeysDir).map((s) => ({ s, held: readKeySlot(p, s) })).find(({ held }) => held.kind === "token" && held.ref.token === t.label && held.ref.id.equals(id));
  if (linked) throw new IkecertError(`that key is already in slot ${linked.s}`);
  const cert = certs.find(({ c, parsed }) => c.id.equals(id) && parsed.ok)?.parsed;
  const spki = tokenCall(() => tokenPublicKey(t, id))?.spki ?? (cert?.ok ? cert.value.spki : undefined);
  const paired = spki && slots(p.publicKeysDir).find((s) => !slots(p.privateKeysDir).includes(s) && readCert(p.publicKeysDir, s)?.spki.equals(spki));
  const slot = paired || freeSlot(p);
  writeReference(p, slot, t, id, o, err);
  // The token's certificate joins the database unless it is there already (beside another key).
  const elsewhere = spki && slots(p.publicKeysDir).find((s) => readCert(p.publicKeysDir, s)?.spki.equals(spki));
  if (!paired && !elsewhere && cert?.ok) writeSlot(p.publicKeysDir, slot, tokenCertFile(cert.value.der, t.label, id), false);
  const note = paired ? " (with its certificate)" : elsewhere ? `; its certificate is in slot ${elsewhere}, beside another private key` : cert?.ok ? " (its certificate from the token added)" : "";
  err(`Key ${id.toString("hex")} on token "${t.label}" linked in slot ${slot}${note}.\n`);
}
