/**
 * Loading ike.config and ike.preshared for startup, SIGHUP and `ikeadm read` (and ipsecinit.conf
 * for `in.iked -c`), with the diagnostics already formatted as `file:line:col: message`. A missing
 * pre-shared key file is not an error (a certificate-only setup has none); one with loose
 * permissions is.
 */
import fs from "node:fs";
import {
  bothContexts, formatDiagnostic, loadIkeConfig, loadPreshared, presharedIdentityContext, type ConfigContext, type ConfigDiagnostic, type ConfigFileOptions,
  type IkeConfig, type PresharedEntry,
} from "../config/index.js";
import { IKE_DEFAULTS } from "../config/defaults.js";
import { CryptoPool } from "../crypto/pool.js";
import { formatPolicyError, formatPolicyWarning, loadIpsecPolicy, weakPolicyAlgorithms } from "../policy/index.js";
import { spdErrors } from "../policy/spd.js";
import { tunnelEndpoints } from "./kernel-spd.js";
import { bindPrivateKeys, loadPkiStore, pkiConfigContext, type KeyBinding, type KeyRegistry, type PkiDirs, type PkiSnapshot } from "../pki/index.js";

/** Outcome of loading one file. */
export interface Loaded<T> {
  ok: boolean;
  value: T;
  errors: string[];
  warnings: string[];
}

function split(diags: readonly ConfigDiagnostic[]): { errors: string[]; warnings: string[] } {
  return {
    errors: diags.filter((d) => d.severity === "error").map(formatDiagnostic),
    warnings: diags.filter((d) => d.severity === "warning").map(formatDiagnostic),
  };
}

/** Read and parse an ike.config file (`opts`: see `ConfigFileOptions`; store checks with a context). */
export async function loadRules(file: string, opts: ConfigFileOptions = {}): Promise<Loaded<IkeConfig>> {
  const r = await loadIkeConfig(file, opts);
  return { ok: r.ok, value: r.value, ...split(r.diagnostics) };
}

/** Read and parse an ike.preshared file (permission check included); absent means no keys. */
export async function loadKeys(file: string, opts: { optional: boolean }): Promise<Loaded<PresharedEntry[]>> {
  if (opts.optional && !fs.existsSync(file)) {
    return { ok: true, value: [], errors: [], warnings: [`${file}: no pre-shared key file; no keys loaded`] };
  }
  const r = await loadPreshared(file);
  return { ok: r.ok, value: r.value, ...split(r.diagnostics) };
}

/** The certificate store and its private keys as registered with a pool. */
export interface LoadedPki {
  readonly snapshot: PkiSnapshot;
  readonly bindings: readonly KeyBinding[];
}

/**
 * Reads the certificate store and registers its private keys with `pool` (a worker reads each key
 * and answers its public half). Without a pool, a one-thread pool is started for the check and
 * closed after it, so the keys never load on this thread. `pkcs11Library` reaches keys on tokens.
 * With `generation`, the keys' pool ids carry it (`ike.privatekeys/<slot>#<generation>`), so a
 * reload registers the new store's keys beside the running ones and swaps them all at once, or
 * drops them all (daemon/pki-live.ts).
 */
export async function loadPki(dirs: PkiDirs, pool?: KeyRegistry, o: { readonly pkcs11Library?: string; readonly generation?: number } = {}): Promise<Loaded<LoadedPki>> {
  const read = await loadPkiStore(dirs);
  const g = o.generation;
  const store = g === undefined ? read : { ...read, value: { ...read.value, keys: read.value.keys.map((k) => ({ ...k, keyId: `${k.keyId}#${g}` })) } };
  let bound = { ok: true, value: [] as KeyBinding[], diagnostics: [] as readonly ConfigDiagnostic[] };
  if (store.value.keys.length > 0) {
    const own = pool ? undefined : new CryptoPool({ threads: 1, warmGroups: [] });
    try {
      bound = await bindPrivateKeys(store.value, pool ?? own!, o.pkcs11Library);
    } finally {
      await own?.close();
    }
  }
  const diags = [...store.diagnostics, ...bound.diagnostics];
  return { ok: store.ok && bound.ok, value: { snapshot: store.value, bindings: bound.value }, ...split(diags) };
}

/** The checks of ike.config beyond the file: pre-shared identities, and the store when there is one. */
export function rulesContext(preshared: readonly PresharedEntry[], pki?: LoadedPki): ConfigContext {
  const identities = presharedIdentityContext(preshared);
  return pki ? bothContexts(pkiConfigContext(pki.snapshot, pki.bindings), identities) : identities;
}

/** The PKCS#11 library ike.config's `pkcs11_path` names (read before the store: token keys need it). */
export async function pkcs11LibraryOf(configFile: string): Promise<string> {
  return (await loadIkeConfig(configFile)).value.globals.pkcs11Path ?? IKE_DEFAULTS.pkcs11Path;
}

/**
 * Both files, as startup, SIGHUP and `in.iked -c` read them: ike.preshared first, since a
 * pre-shared rule's identity may come from it (config/preshared-identity.ts). With `pki`, the
 * certificate store is read too and ike.config is checked against it (src/pki/config-check.ts).
 */
export async function loadAll(
  configFile: string,
  presharedFile: string,
  pki?: { dirs: PkiDirs; pool?: KeyRegistry; generation?: number },
): Promise<{ rules: Loaded<IkeConfig>; keys: Loaded<PresharedEntry[]>; pki?: Loaded<LoadedPki> }> {
  const store = pki ? await loadPki(pki.dirs, pki.pool, { pkcs11Library: await pkcs11LibraryOf(configFile), ...(pki.generation !== undefined ? { generation: pki.generation } : {}) }) : undefined;
  const keys = await loadKeys(presharedFile, { optional: true });
  const rules = await loadRules(configFile, { context: rulesContext(keys.value, store?.value) });
  return store ? { rules, keys, pki: store } : { rules, keys };
}

/**
 * The IPsec policy file for `in.iked -c`, as the daemon will read it: its errors, its weak-algorithm
 * warnings and a one-line summary. A missing file is no error (the daemon runs without a policy and
 * refuses Quick Mode); one that exists but cannot be read (a directory, a symlink loop) is, as it
 * is at start and on reload. With `kernel` (every backend but
 * `--kernel memory`), entries a kernel policy cannot express are errors too (`spdErrors`: the file
 * is applied whole or not at all), with tunnel endpoints from `config`.
 */
export async function checkPolicy(file: string, kernel?: { config: IkeConfig }): Promise<{ errors: string[]; warnings: string[]; summary: string }> {
  const r = await loadIpsecPolicy(file);
  if (r.missing) return { errors: [], warnings: [], summary: `${file}: not found; Quick Mode will be refused` };
  const errors = r.errors.length === 0 && kernel !== undefined ? spdErrors(r.policy, tunnelEndpoints(kernel.config)) : r.errors;
  const warnings = errors.length > 0 ? [] : weakPolicyAlgorithms(r.policy).map(formatPolicyWarning);
  return { errors: errors.map(formatPolicyError), warnings, summary: `${file}: ${r.policy.entries.length} policy entries` };
}
