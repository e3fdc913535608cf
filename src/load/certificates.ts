/**
 * Certificates for a load run or the handshake bench's responder (`--auth rsa`): one certificate
 * and its private key (our identity) and one CA certificate (the `cert_root` the peer's
 * certificate must chain to), read from files as ikecert would store them (PEM or DER), held as a
 * store snapshot of their own, the key registered with the run's crypto pool, and Phase 1
 * credentials over them (src/pki `PkiCredentials`, signatures checked in the pool). CRLs are not
 * checked (`ignore_crls`): a load run has none.
 */
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { IkeGlobals } from "../config/types.js";
import type { CryptoPool } from "../crypto/pool.js";
import { bindPrivateKeys, derObjects, parseCertificate, PkiCredentials, poolVerifier, type PkiSnapshot, type StoredCert } from "../pki/index.js";

/** The files of `--cert`, `--key` and `--ca`. */
export interface CertFiles {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

/** The ike.config lines the credentials assume: the CA as slot 0, our certificate as slot 1. */
export const CERT_GLOBALS = 'cert_root "SLOT=0"\nignore_crls\n';
/** The rule's `local_id`: our certificate. */
export const CERT_LOCAL_ID = "SLOT=1";

async function readCert(file: string, slot: string): Promise<StoredCert | string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    return `${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
  const objs = derObjects(bytes, "certificate");
  if (typeof objs === "string" || objs.length !== 1) return `${file}: not one certificate`;
  const c = parseCertificate(objs[0]!);
  return c.ok ? { slot, file, cert: c.value } : `${file}: ${c.error.message}`;
}

/**
 * Credentials for `files` under `globals` (which must carry {@link CERT_GLOBALS}); the key is
 * registered with `pool` under an id of its own (`ikeload/<uuid>`: inline pools of one process
 * share their key ring), and the pool's key worker checks the file's owner and mode.
 */
export async function loadCertCredentials(files: CertFiles, globals: IkeGlobals, pool: CryptoPool): Promise<{ ok: true; value: PkiCredentials } | { ok: false; message: string }> {
  const [ca, own] = await Promise.all([readCert(files.ca, "0"), readCert(files.cert, "1")]);
  if (typeof ca === "string") return { ok: false, message: `--ca ${ca}` };
  if (typeof own === "string") return { ok: false, message: `--cert ${own}` };
  const snapshot: PkiSnapshot = {
    dirs: { publicKeysDir: "(--cert, --ca)", privateKeysDir: "(--key)", crlsDir: "(none)" },
    certs: [ca, own],
    crls: [],
    keys: [{ slot: "1", file: files.key, keyId: `ikeload/${randomUUID()}` }],
  };
  const bound = await bindPrivateKeys(snapshot, pool);
  const bad = bound.diagnostics.find((d) => d.severity === "error");
  if (!bound.ok || bad !== undefined) return { ok: false, message: `--key ${files.key}: ${bad?.message ?? "does not load"}` };
  return { ok: true, value: new PkiCredentials({ snapshot, bindings: bound.value, globals, verifier: poolVerifier(pool) }) };
}
