/**
 * The `ikeadm get defaults` table (reference ikeadm.md §3.5): the 28 rows of the original's two
 * `ike_defaults_t` records, compiled defaults beside the values in use.
 *
 * Phase 2 limits below were never published for the original; these are ours. The maxima are the
 * bounds ike.config enforces (config/limits.ts). XXX the minima are only reported: neither the
 * parser nor the exchange engine applies them yet.
 */
import { IKE_DEFAULTS, type IkeConfig } from "../config/index.js";
import { CONFIG_BOUNDS } from "../config/limits.js";
import type { DefaultsResult, DefaultsRow } from "../control/results.js";

/** Compiled Phase 2 limits and kernel defaults. */
export const P2_LIMITS = {
  /** Kernel (system) defaults, as the illumos ESP/AH tunables: hard 8 h, soft 24000 s, no byte limit. */
  sysLifetimeSecs: 28800,
  sysSoftlifeSecs: 24000,
  sysIdletimeSecs: 0,
  sysLifetimeBytes: 0,
  sysSoftlifeBytes: 0,
  minHardSecs: 60,
  minSoftSecs: 54,
  minIdleSecs: 30,
  minHardKb: 10,
  minSoftKb: 9,
  minDiffSecs: 6,
  minDiffKb: 1,
  /** The largest values ike.config accepts (config/limits.ts), so the table says what is enforced. */
  maxLifetimeSecs: CONFIG_BOUNDS.p2_lifetime_secs.max,
  maxLifetimeKb: CONFIG_BOUNDS.p2_lifetime_kb.max,
  /** Assumed throughput used to relate seconds and kilobytes. */
  conversionKbPerSec: 1024,
} as const;

/** The original door protocol version whose table this mirrors. */
export const DEFAULTS_VERSION = 4;

/** Build the table from the live configuration and the runtime ports. */
export function defaultsTable(config: IkeConfig, ports: { ikePort: number; nattPort: number }): DefaultsResult {
  const g = config.globals;
  const L = P2_LIMITS;
  const row = (token: string, unit: string, description: string, compiled: number, current?: number): DefaultsRow =>
    ({ token, unit, description, compiled, current: current ?? compiled });
  return {
    version: DEFAULTS_VERSION,
    rows: [
      row("p1_lifetime_secs", "seconds", "phase 1 lifetime", IKE_DEFAULTS.p1LifetimeSecs, g.p1LifetimeSecs),
      row("-", "seconds", "minimum phase 1 lifetime", IKE_DEFAULTS.p1MinLifetimeSecs),
      row("p1_nonce_len", "bytes", "phase 1 nonce length", IKE_DEFAULTS.p1NonceLen, g.p1NonceLen),
      row("p2_lifetime_secs", "seconds", "phase 2 lifetime", 0, g.p2LifetimeSecs),
      row("p2_softlife_secs", "seconds", "phase 2 soft lifetime", 0, g.p2SoftlifeSecs),
      row("p2_idletime_secs", "seconds", "phase 2 idle time", 0, g.p2IdletimeSecs),
      row("p2_lifetime_kb", "kilobytes", "phase 2 lifetime", 0, g.p2LifetimeKb),
      row("p2_softlife_kb", "kilobytes", "phase 2 soft lifetime", 0, g.p2SoftlifeKb),
      row("-", "seconds", "system phase 2 lifetime", L.sysLifetimeSecs),
      row("-", "seconds", "system phase 2 soft lifetime", L.sysSoftlifeSecs),
      row("-", "seconds", "system phase 2 idle time", L.sysIdletimeSecs),
      row("-", "bytes", "system phase 2 lifetime", L.sysLifetimeBytes),
      row("-", "bytes", "system phase 2 soft lifetime", L.sysSoftlifeBytes),
      row("-", "seconds", "minimum phase 2 hard lifetime", L.minHardSecs),
      row("-", "seconds", "minimum phase 2 soft lifetime", L.minSoftSecs),
      row("-", "seconds", "minimum phase 2 idle lifetime", L.minIdleSecs),
      row("-", "kilobytes", "minimum phase 2 hard lifetime", L.minHardKb),
      row("-", "kilobytes", "minimum phase 2 soft lifetime", L.minSoftKb),
      row("-", "seconds", "minimum phase 2 delta", L.minDiffSecs),
      row("-", "kilobytes", "minimum phase 2 delta", L.minDiffKb),
      row("-", "seconds", "maximum phase 2 lifetime", L.maxLifetimeSecs),
      row("-", "kbytes/s", "conversion factor", L.conversionKbPerSec),
      row("-", "kilobytes", "maximum phase 2 lifetime", L.maxLifetimeKb),
      row("p2_nonce_len", "bytes", "phase 2 nonce length", IKE_DEFAULTS.p2NonceLen, g.p2NonceLen),
      row("p2_pfs", "", "phase 2 PFS", IKE_DEFAULTS.p2Pfs, g.p2Pfs),
      row("max_certs", "", "max certificates", IKE_DEFAULTS.maxCerts, g.maxCerts),
      row("-", "", "IKE port number", IKE_DEFAULTS.ikePort, ports.ikePort),
      row("-", "", "NAT-T port number", IKE_DEFAULTS.nattPort, ports.nattPort),
    ],
  };
}
