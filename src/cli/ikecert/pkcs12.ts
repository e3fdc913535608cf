/**
 * PKCS#12 (RFC 7292) for `ikecert certlocal`: an extension, since the reference defines no PKCS#12
 * option. Built on node-forge.
 *
 *   -a -f pkcs12 [-P file]        reads a PKCS#12 file on standard input: its private key goes to the
 *                                 key store, the certificate of that key to the database in the same
 *                                 slot, and any other certificate (a CA chain) to the database. RSA
 *                                 and DSA keys; what OpenSSL writes by default (PBES2, AES-256,
 *                                 HMAC-SHA-256 MAC) and with -legacy (3DES, RC2-40, SHA-1 MAC).
 *   -e -f pkcs12 [-P file] slot   writes the slot's private key and certificate as PKCS#12 (PBES2
 *                                 AES-256 with PBKDF2, SHA-1 MAC, 2048 iterations), readable by
 *                                 OpenSSL. RSA only: node-forge encodes RSA keys and certificates
 *                                 only, so DSA keys are refused, as are keys on tokens (they never
 *                                 leave them).
 * The password is asked for (-P, a terminal, or for -e the first line of standard input; see
 * secret.ts). forge holds key numbers in JavaScript numbers it cannot wipe; ikecert is short-lived.
 */
import { createPrivateKey, type KeyObject } from "node:crypto";
import forge from "node-forge";
import type { IkedPaths } from "../../daemon/paths.js";
import { MAX_CERT_BYTES, parseCertificate, type Certificate } from "../../pki/certificate.js";
import type { Opts } from "./options.js";
import { readSecret } from "./secret.js";
import { IkecertError, addCertificate, addPrivateKey, certsMatching, readCert, readStdin, slots, spkiOf } from "./store-ops.js";
import { readKeySlot } from "./token-store.js";

/** Largest PKCS#12 file accepted (a key and a chain of a few certificates are a few KiB). */
const MAX_P12 = 256 * 1024;

const binary = (b: Buffer): string => b.toString("binary");
const bytesOf = (asn1: forge.asn1.Asn1): Buffer => Buffer.from(forge.asn1.toDer(asn1).getBytes(), "binary");

function decode(bytes: Buffer, password: string): forge.pkcs12.Pkcs12Pfx {
  try {
    const asn1 = forge.asn1.fromDer(binary(bytes), true);
    return forge.pkcs12.pkcs12FromAsn1(asn1, true, password);
  } catch (err) {
    // forge's messages name the structure or say "wrong password?"; none carries the password.
    throw new IkecertError(`standard input is not a PKCS#12 file this password opens (${(err as Error).message})`);
  }
}

function bagsOf(p12: forge.pkcs12.Pkcs12Pfx, type: string): forge.pkcs12.Bag[] {
  return p12.getBags({ bagType: type })[type] ?? [];
}

/** The key of a key bag as a KeyObject: forge decodes RSA keys; other types keep their PrivateKeyInfo. */
function keyOf(bag: forge.pkcs12.Bag): KeyObject {
  const der = bag.key ? bytesOf(forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(bag.key))) : bytesOf(bag.asn1);
  try {
    return createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  } catch {
    throw new IkecertError("the PKCS#12 file's private key does not decode");
  } finally {
    der.fill(0);
  }
}

function certOf(bag: forge.pkcs12.Bag): Certificate {
  const der = bag.cert ? bytesOf(forge.pki.certificateToAsn1(bag.cert)) : bytesOf(bag.asn1);
  if (der.length > MAX_CERT_BYTES) throw new IkecertError(`a certificate in the PKCS#12 file is larger than ${MAX_CERT_BYTES} bytes`);
  const r = parseCertificate(der);
  if (!r.ok) throw new IkecertError(`a certificate in the PKCS#12 file: ${r.error.message}`);
  return r.value;
}

/** -a -f pkcs12. */
export async function importPkcs12(p: IkedPaths, o: Opts, err: (s: string) => void): Promise<void> {
  const bytes = readStdin(MAX_P12);
  const password = await readSecret(o, "the PKCS#12 password", true);
  const p12 = decode(bytes, password);
  bytes.fill(0);
  const keyBags = [...bagsOf(p12, forge.pki.oids.pkcs8ShroudedKeyBag!), ...bagsOf(p12, forge.pki.oids.keyBag!)];
  if (keyBags.length !== 1) throw new IkecertError(`the PKCS#12 file holds ${keyBags.length} private keys; import files with one`);
  const key = keyOf(keyBags[0]!);
  const certs = bagsOf(p12, forge.pki.oids.certBag!).map(certOf);
  const spki = spkiOf(key);
  const leaf = certs.find((c) => c.spki.equals(spki));
  const slot = addPrivateKey(p, key, err);
  const known = new Set(certsMatching(p, []).map((h) => h.cert?.fingerprint));
  for (const c of [...(leaf ? [leaf] : []), ...certs.filter((c) => c !== leaf)]) {
    if (known.has(c.fingerprint)) {
      err(`Certificate <${c.subjectText}> is already in the database.\n`);
      continue;
    }
    addCertificate(p, c === leaf ? { slot } : undefined, c.der, err);
    known.add(c.fingerprint);
  }
  if (!leaf) err("The PKCS#12 file has no certificate for its private key.\n");
}

/** -e -f pkcs12 slot. */
export async function exportPkcs12(p: IkedPaths, o: Opts, slot: string, out: (s: string | Buffer) => void): Promise<void> {
  const held = readKeySlot(p, slot);
  if (held.kind === "token") throw new IkecertError(`the private key in slot ${slot} is on PKCS#11 token "${held.ref.token}" and cannot leave it`);
  if (held.key.asymmetricKeyType !== "rsa") {
    throw new IkecertError(`PKCS#12 export takes RSA keys only (node-forge cannot encode ${held.key.asymmetricKeyType?.toUpperCase()} keys); export it with -f pkcs8`);
  }
  const cert = slots(p.publicKeysDir).includes(slot) ? readCert(p.publicKeysDir, slot) : undefined;
  const password = await readSecret(o, "the PKCS#12 password", false);
  const pkcs8 = held.key.export({ type: "pkcs8", format: "der" });
  let key: forge.pki.rsa.PrivateKey;
  try {
    key = forge.pki.privateKeyFromAsn1(forge.asn1.fromDer(binary(pkcs8))) as forge.pki.rsa.PrivateKey;
  } finally {
    pkcs8.fill(0);
  }
  const chain = cert ? [forge.pki.certificateFromAsn1(forge.asn1.fromDer(binary(cert.der)))] : [];
  const p12 = forge.pkcs12.toPkcs12Asn1(key, chain, password, {
    algorithm: "aes256", count: 2048, generateLocalKeyId: true, ...(cert ? { friendlyName: cert.subjectText } : {}),
  });
  out(bytesOf(p12));
}
