/**
 * The certificate store at the original paths (ikecert.md §6, in-iked.md §4):
 *   etc/inet/ike/publickeys/<slot>        certificates, PEM or DER, one per file
 *   etc/inet/secret/ike.privatekeys/<slot> private keys (PKCS#8/PKCS#1, PEM or DER), root-only
 *   etc/inet/ike/crls/<slot>              CRLs, PEM or DER
 *
 * `loadPkiStore` reads everything into one frozen snapshot; any bad file makes `ok` false with a
 * diagnostic naming it, and the caller keeps the snapshot it had (startup refuses, SIGHUP keeps the
 * old one): all or nothing. Private keys are only checked here (owner, mode, size); their bytes are
 * read by the crypto workers when `bindPrivateKeys` registers them with the pool by key id, and the
 * worker answers with the public half, which must match the certificate of the same slot.
 */
import type { SecretFileOptions } from "../config/load.js";
import type { ConfigDiagnostic, ParseResult } from "../config/types.js";
import type { KeyDescription, TaskResult } from "../crypto/tasks.js";
import { MAX_CERT_BYTES, parseCertificate, type Certificate } from "./certificate.js";
import { MAX_CRL_BYTES, parseCrl, type Crl } from "./crl.js";
import type { PkiResult } from "./errors.js";
import { derObjects } from "./pem.js";
import { checkKeyDir, checkKeyFile, fileDiag, listSlots, readBounded } from "./store-files.js";

/** The three store directories (from src/daemon/paths.ts `ikedPaths(root)`). */
export interface PkiDirs {
  readonly publicKeysDir: string;
  readonly privateKeysDir: string;
  readonly crlsDir: string;
}

/** A certificate of the public-key store. */
export interface StoredCert {
  readonly slot: string;
  readonly file: string;
  readonly cert: Certificate;
}

/** A CRL of the CRL store. */
export interface StoredCrl {
  readonly slot: string;
  readonly file: string;
  readonly crl: Crl;
}

/** A private key file: where it is, never what it holds. */
export interface StoredKey {
  readonly slot: string;
  readonly file: string;
  /** The id the crypto pool knows it by. */
  readonly keyId: string;
}

/** One consistent view of the store. */
export interface PkiSnapshot {
  readonly dirs: PkiDirs;
  readonly certs: readonly StoredCert[];
  readonly crls: readonly StoredCrl[];
  readonly keys: readonly StoredKey[];
}

/** A private key registered with the pool and paired with its certificate. */
export interface KeyBinding {
  readonly slot: string;
  readonly keyId: string;
  readonly type: "rsa" | "dsa";
  readonly bits: number;
  /** The certificate of the same slot whose public key is this key's. */
  readonly cert?: StoredCert;
  /** For a key on a PKCS#11 token: its label, and whether it was locked (nobody logged in) at load. */
  readonly token?: { readonly label: string; readonly locked: boolean };
}

/** Largest file read from the store (PEM of the largest certificate, with room for comments). */
const MAX_CERT_FILE = 4 * MAX_CERT_BYTES;
/** Largest private key file (an RSA-8192 PEM is under 7 KiB). */
export const MAX_KEY_FILE = 64 * 1024;

/** The pool key id of a private key slot. */
export const keyIdOf = (slot: string): string => `ike.privatekeys/${slot}`;

/** An empty snapshot (no store directories, or nothing loaded yet). */
export function emptySnapshot(dirs: PkiDirs): PkiSnapshot {
  return Object.freeze({ dirs, certs: Object.freeze([]), crls: Object.freeze([]), keys: Object.freeze([]) });
}

/** Reads one PEM-or-DER object per slot of `dir` and parses it; problems name the file. */
async function loadSlots<T>(
  dir: string, kind: "certificate" | "crl", maxBytes: number, parse: (der: Buffer) => PkiResult<T>, diags: ConfigDiagnostic[],
): Promise<Array<{ slot: string; file: string; value: T }>> {
  const out: Array<{ slot: string; file: string; value: T }> = [];
  for (const slot of await listSlots(dir, diags)) {
    const file = `${dir}/${slot}`;
    const bytes = await readBounded(file, maxBytes);
    if (!Buffer.isBuffer(bytes)) {
      diags.push(bytes);
      continue;
    }
    const objs = derObjects(bytes, kind);
    const what = kind === "crl" ? "CRLs" : "certificates";
    if (typeof objs === "string") diags.push(fileDiag(file, "IKE_ERR_PKI_MALFORMED", objs));
    else if (objs.length !== 1) diags.push(fileDiag(file, "IKE_ERR_PKI_MALFORMED", `${objs.length} ${what} in one slot; store one per file`));
    else {
      const r = parse(objs[0]!);
      if (r.ok) out.push({ slot, file, value: r.value });
      else diags.push(fileDiag(file, r.error.code, r.error.message));
    }
  }
  return out;
}

async function loadCerts(dir: string, diags: ConfigDiagnostic[]): Promise<StoredCert[]> {
  const got = await loadSlots(dir, "certificate", MAX_CERT_FILE, parseCertificate, diags);
  return got.map(({ slot, file, value }) => Object.freeze({ slot, file, cert: value }));
}

async function loadCrls(dir: string, diags: ConfigDiagnostic[]): Promise<StoredCrl[]> {
  const got = await loadSlots(dir, "crl", 2 * MAX_CRL_BYTES, parseCrl, diags);
  return got.map(({ slot, file, value }) => Object.freeze({ slot, file, crl: value }));
}

async function loadKeys(dir: string, diags: ConfigDiagnostic[], opts: SecretFileOptions): Promise<StoredKey[]> {
  const dirProblem = await checkKeyDir(dir, opts);
  if (dirProblem) {
    diags.push(dirProblem);
    return [];
  }
  const out: StoredKey[] = [];
  for (const slot of await listSlots(dir, diags)) {
    const file = `${dir}/${slot}`;
    const problem = await checkKeyFile(file, MAX_KEY_FILE, opts);
    if (problem) diags.push(problem);
    else out.push(Object.freeze({ slot, file, keyId: keyIdOf(slot) }));
  }
  return out;
}

/** Reads the whole store. `ok` false: at least one error; do not swap this snapshot in. */
export async function loadPkiStore(dirs: PkiDirs, opts: SecretFileOptions = {}): Promise<ParseResult<PkiSnapshot>> {
  const diags: ConfigDiagnostic[] = [];
  const [certs, crls, keys] = await Promise.all([
    loadCerts(dirs.publicKeysDir, diags),
    loadCrls(dirs.crlsDir, diags),
    loadKeys(dirs.privateKeysDir, diags, opts),
  ]);
  const value: PkiSnapshot = Object.freeze({ dirs, certs: Object.freeze(certs), crls: Object.freeze(crls), keys: Object.freeze(keys) });
  return { ok: !diags.some((d) => d.severity === "error"), value, diagnostics: diags };
}

/** What `bindPrivateKeys` needs of the crypto pool (src/crypto/pool.ts `CryptoPool`). */
export interface KeyRegistry {
  addPrivateKey(keyId: string, source: { path: string; pkcs11Library?: string }): Promise<TaskResult<KeyDescription>>;
}

/**
 * Registers every private key with the pool (a worker reads and checks it) and pairs it with the
 * certificate of the same slot, which must hold the same public key. A key without a certificate
 * is a warning (an `ikecert certlocal -kc` request still waiting for its CA); a key that does not
 * load or does not match its certificate is an error naming the file. A key file may name a key
 * on a PKCS#11 token (ikecert -T); `pkcs11Library` (ike.config `pkcs11_path`) reaches it. Such a
 * key loads even while locked: its public half is on the token for anyone to read.
 */
export async function bindPrivateKeys(snap: PkiSnapshot, pool: KeyRegistry, pkcs11Library?: string): Promise<ParseResult<KeyBinding[]>> {
  const diags: ConfigDiagnostic[] = [];
  const source = (file: string) => (pkcs11Library === undefined ? { path: file } : { path: file, pkcs11Library });
  const results = await Promise.all(snap.keys.map((k) => pool.addPrivateKey(k.keyId, source(k.file))));
  const out: KeyBinding[] = [];
  snap.keys.forEach((k, i) => {
    const r = results[i]!;
    if (!r.ok) {
      diags.push(fileDiag(k.file, "IKE_ERR_PKI_KEY", `private key does not load: ${r.error.message}`));
      return;
    }
    const cert = snap.certs.find((c) => c.slot === k.slot);
    const base = { slot: k.slot, keyId: k.keyId, type: r.value.type, bits: r.value.bits, ...(r.value.token ? { token: r.value.token } : {}) };
    if (cert === undefined) {
      diags.push(fileDiag(k.file, "IKE_ERR_PKI_KEY_NO_CERT", `private key has no certificate ${snap.dirs.publicKeysDir}/${k.slot}; it is not used`, "warning"));
      out.push(Object.freeze(base));
    } else if (!cert.cert.spki.equals(r.value.spki)) {
      diags.push(fileDiag(k.file, "IKE_ERR_PKI_KEY_MISMATCH", `private key does not belong to the certificate ${cert.file} (${cert.cert.subjectText})`));
    } else out.push(Object.freeze({ ...base, cert }));
  });
  return { ok: !diags.some((d) => d.severity === "error"), value: out, diagnostics: diags };
}
