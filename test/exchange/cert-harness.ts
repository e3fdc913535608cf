/**
 * Certificates for in-process engine pairs (not a test file): a private `--root` per side holding
 * the store (publickeys, ike.privatekeys, crls) as the daemon reads it, loaded with the daemon's
 * own loader, its keys registered with a crypto pool, and a Phase 1 policy whose credentials are
 * src/pki's `PkiCredentials` over that store. The certificates come from test/pki/fixtures.ts
 * (make-certs.sh, strongSwan's pki and OpenSSL).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before } from "node:test";
import { parseIkeConfig, parsePreshared } from "../../src/config/index.js";
import { CryptoPool } from "../../src/crypto/pool.js";
import { loadPki } from "../../src/daemon/config-load.js";
import { ikedPaths } from "../../src/daemon/paths.js";
import { isRefusal, type OwnCredential, type Phase1Credentials } from "../../src/ike/phase1/credentials.js";
import { configPolicy, type Phase1Policy } from "../../src/ike/ports.js";
import { inlineVerifier, PkiCredentials, type CertCache, type PkiDirs, type SignatureVerifier } from "../../src/pki/index.js";
import { removeTestPki } from "../pki/fixtures.js";
import { settle, type Pair } from "./harness.js";

/** What goes into one side's store: certificate files by slot, key files by slot, CRL files. */
export interface StoreSpec {
  readonly certs: Readonly<Record<string, string>>;
  readonly keys?: Readonly<Record<string, string>>;
  readonly crls?: readonly string[];
}

/** One side's configuration with certificates. */
export interface CertSide {
  readonly policy: Phase1Policy;
  readonly credentials: PkiCredentials;
  readonly root: string;
}

const roots: string[] = [];

/** Removes every root this module made (call from an `after` hook). */
export function removeCertRoots(): void {
  for (const r of roots.splice(0)) fs.rmSync(r, { recursive: true, force: true });
}

/**
 * A one-thread crypto pool for a test file's engines; after the file's tests it is closed and the
 * roots and test PKI this module made are removed. Call at the top level of the file.
 */
export function poolForFile(): () => CryptoPool {
  let pool: CryptoPool | undefined;
  before(() => {
    pool = new CryptoPool({ threads: 1, warmGroups: [] });
  });
  after(async () => {
    await pool?.close();
    removeCertRoots();
    removeTestPki();
  });
  return () => pool!;
}

/**
 * Settle the pair until `pred` holds (pool work takes real time: a worker round trip), for at most
 * `ms`; with `tickMs`, the engines' clock moves that far each round, so retransmissions happen.
 */
export async function settleUntil(p: Pair, pred: () => boolean, ms = 20_000, tickMs = 0): Promise<void> {
  const until = Date.now() + ms;
  while (!pred() && Date.now() < until) {
    await settle(p, 2);
    await new Promise((r) => setTimeout(r, 1));
    // Retransmissions need the engines' clock to move (tickMs: how far per round).
    if (tickMs > 0 && !pred()) p.clock.advance(tickMs);
  }
}

/** Writes `spec` into the store directories `p` (created; the private key directory mode 0700, keys 0600). */
export function writeStore(p: PkiDirs, spec: StoreSpec): void {
  fs.mkdirSync(p.publicKeysDir, { recursive: true });
  fs.mkdirSync(p.crlsDir, { recursive: true });
  fs.mkdirSync(p.privateKeysDir, { recursive: true, mode: 0o700 });
  for (const [slot, file] of Object.entries(spec.certs)) fs.copyFileSync(file, path.join(p.publicKeysDir, slot));
  for (const [slot, file] of Object.entries(spec.keys ?? {})) fs.writeFileSync(path.join(p.privateKeysDir, slot), fs.readFileSync(file), { mode: 0o600 });
  (spec.crls ?? []).forEach((file, i) => fs.copyFileSync(file, path.join(p.crlsDir, String(i))));
}

/** The private key file make-certs.sh wrote beside a certificate. */
export const keyOf = (cert: string): string => cert.replace(/\.crt$/, ".key");

/**
 * A root with `spec`'s store, loaded (keys registered with `pool`), and the policy for `ikeConfig`
 * (and `preshared`, default none) with credentials over it. Throws on any load error (a test bug).
 */
export async function certSide(
  pool: CryptoPool,
  ikeConfig: string,
  spec: StoreSpec,
  opts: { readonly preshared?: string; readonly verifier?: SignatureVerifier; readonly cache?: CertCache; readonly now?: () => number } = {},
): Promise<CertSide> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "iked-cert-side-"));
  roots.push(root);
  const p = ikedPaths(root);
  writeStore(p, spec);
  const loaded = await loadPki(p, pool);
  if (!loaded.ok) throw new Error(`store of ${root}: ${loaded.errors.join("; ")}`);
  const c = parseIkeConfig(ikeConfig, "ike.config");
  if (!c.ok) throw new Error(`ike.config: ${JSON.stringify(c.diagnostics)}`);
  const k = parsePreshared(opts.preshared ?? "", "ike.preshared");
  if (!k.ok) throw new Error(`ike.preshared: ${JSON.stringify(k.diagnostics)}`);
  const credentials = new PkiCredentials({
    snapshot: loaded.value.snapshot,
    bindings: loaded.value.bindings,
    globals: c.value.globals,
    verifier: opts.verifier ?? inlineVerifier,
    ...(opts.cache !== undefined ? { cache: opts.cache } : {}),
    ...(opts.now !== undefined ? { now: opts.now } : {}),
  });
  const policy = configPolicy(() => ({ config: c.value, preshared: k.value, credentials }));
  return { policy, credentials, root };
}

/** The test CA's subject, as ike.config names it. */
export const TEST_CA = "C=US, O=IKEv1 Interop Test, CN=IKEv1 Interop Test CA";

/** ike.config text: `cert_root` the test CA (plus `globals`), one rule with certificates. */
export function certConfig(o: {
  readonly label?: string;
  readonly local: string;
  readonly remote: string;
  readonly localIdType: string;
  readonly localId: string;
  readonly remoteId: readonly string[];
  readonly method?: string;
  readonly xform?: string;
  readonly globals?: string;
}): string {
  const xform = o.xform ?? `p1_xform { auth_method ${o.method ?? "rsa_sig"} oakley_group 14 auth_alg sha256 encr_alg aes(128..128) }`;
  return `cert_root "${TEST_CA}"\n${o.globals ?? ""}
{
  label "${o.label ?? "cert"}"
  local_addr ${o.local}
  remote_addr ${o.remote}
  local_id_type ${o.localIdType}
  local_id "${o.localId}"
${o.remoteId.map((r) => `  remote_id "${r}"`).join("\n")}
  ${xform}
}
`;
}

/**
 * `side`'s policy with its own credential replaced by `forge(real)`: a peer that misbehaves (a
 * malformed or oversized certificate, a key that does not match, an ID its certificate lacks).
 */
export function forgedOwn(side: CertSide, forge: (real: OwnCredential) => OwnCredential): Phase1Policy {
  const real = side.credentials;
  const credentials: Phase1Credentials = {
    certRequests: () => real.certRequests(),
    own: (rule, method) => {
      const o = real.own(rule, method);
      return isRefusal(o) ? o : forge(o);
    },
    peer: (rule, method, id, certs) => real.peer(rule, method, id, certs),
    peerForEncryption: (rule) => real.peerForEncryption(rule),
    presharedPeerProblem: (rule, id) => real.presharedPeerProblem(rule, id),
  };
  return { ...side.policy, credentials: () => credentials };
}
