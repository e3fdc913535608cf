/**
 * Loading ike.config and ike.preshared for startup, SIGHUP and `ikeadm read`, with the
 * diagnostics already formatted as `file:line:col: message`. A missing pre-shared key file is
 * not an error (a certificate-only setup has none); one with loose permissions is.
 */
import fs from "node:fs";
import {
  formatDiagnostic, loadIkeConfig, loadPreshared, type ConfigDiagnostic, type ConfigFileOptions, type IkeConfig, type PresharedEntry,
} from "../config/index.js";

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

/** Read and parse an ike.config file (`opts`: see `ConfigFileOptions`). */
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

/** Both files, as startup, SIGHUP and `in.iked -c` read them. */
export async function loadAll(configFile: string, presharedFile: string): Promise<{ rules: Loaded<IkeConfig>; keys: Loaded<PresharedEntry[]> }> {
  const [rules, keys] = await Promise.all([loadRules(configFile), loadKeys(presharedFile, { optional: true })]);
  return { rules, keys };
}
