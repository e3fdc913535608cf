/**
 * Writes ike.config text from typed objects (`ikeadm write rule`), in a form `parseIkeConfig`
 * reads back to deep-equal objects: strings are always quoted, numbers decimal, addresses in
 * canonical text, each transform on one line.
 */
import { formatMetricsSetting } from "./metrics-address.js";
import { ConfigError } from "../errors.js";
import { formatAddressSpec } from "./address.js";
import { authMethodWord, configIdTypeWord, encrWord, hashWord } from "./names.js";
import { formatFloat } from "./numbers.js";
import type { IkeConfig, IkeGlobals, IkeRule, LdapServer, P1Xform } from "./types.js";

/**
 * Quotes a string for ike.config: backslash before `"` and `\`. A line break cannot be
 * represented (strings end at end of line), so it is refused.
 */
export function quoteConfigString(s: string): string {
  if (/[\r\n]/.test(s)) throw new ConfigError("IKE_ERR_CFG_UNREPRESENTABLE", "a string with a line break cannot be written to ike.config");
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function word(w: string | undefined, what: string, v: number): string {
  if (w === undefined) throw new ConfigError("IKE_ERR_CFG_UNREPRESENTABLE", `${what} ${v} has no ike.config name`);
  return w;
}

/** One `p1_xform { ... }` on a single line. */
export function formatP1Xform(x: P1Xform): string {
  const parts = [
    `auth_method ${word(authMethodWord(x.authMethod), "authentication method", x.authMethod)}`,
    `oakley_group ${x.oakleyGroup}`,
    `encr_alg ${word(encrWord(x.encrAlg), "encryption algorithm", x.encrAlg)}${x.encrKeyLen ? `(${x.encrKeyLen.low}..${x.encrKeyLen.high})` : ""}`,
    `auth_alg ${word(hashWord(x.authAlg), "hash algorithm", x.authAlg)}`,
  ];
  if (x.p1LifetimeSecs !== undefined) parts.push(`p1_lifetime_secs ${x.p1LifetimeSecs}`);
  return `p1_xform { ${parts.join(" ")} }`;
}

const P2_LINES = [
  ["p2LifetimeSecs", "p2_lifetime_secs"],
  ["p2SoftlifeSecs", "p2_softlife_secs"],
  ["p2IdletimeSecs", "p2_idletime_secs"],
  ["p2LifetimeKb", "p2_lifetime_kb"],
  ["p2SoftlifeKb", "p2_softlife_kb"],
] as const;

/** One rule as a `{ ... }` block. */
export function formatIkeRule(r: IkeRule): string {
  const lines = [`\tlabel ${quoteConfigString(r.label)}`];
  if (r.localIdType !== undefined) lines.push(`\tlocal_id_type ${word(configIdTypeWord(r.localIdType), "identity type", r.localIdType)}`);
  if (r.localId !== undefined) lines.push(`\tlocal_id ${quoteConfigString(r.localId)}`);
  for (const id of r.remoteId) lines.push(`\tremote_id ${quoteConfigString(id)}`);
  for (const a of r.localAddr) lines.push(`\tlocal_addr ${formatAddressSpec(a)}`);
  for (const a of r.remoteAddr) lines.push(`\tremote_addr ${formatAddressSpec(a)}`);
  if (r.remotePort !== undefined) lines.push(`\tremote_port ${r.remotePort}\t# iked extension`);
  if (r.dpdIntervalSecs !== undefined) lines.push(`\tdpd_interval_secs ${r.dpdIntervalSecs}\t# iked extension`);
  if (r.dpdRetries !== undefined) lines.push(`\tdpd_retries ${r.dpdRetries}\t# iked extension`);
  if (r.p2Pfs !== undefined) lines.push(`\tp2_pfs ${r.p2Pfs}`);
  for (const [field, kw] of P2_LINES) {
    const v = r[field];
    if (v !== undefined) lines.push(`\t${kw} ${v}`);
  }
  for (const x of r.p1Xforms) lines.push(`\t${formatP1Xform(x)}`);
  return `{\n${lines.join("\n")}\n}\n`;
}

function formatLdap(list: readonly LdapServer[]): string {
  return list.map((s) => `${s.host.includes(":") ? `[${s.host}]` : s.host}:${s.port}`).join(",");
}

/** File-level parameters, one per line. */
export function formatIkeGlobals(g: IkeGlobals): string {
  const out: string[] = [];
  for (const c of g.certRoot) out.push(`cert_root ${quoteConfigString(c)}`);
  for (const c of g.certTrust) out.push(`cert_trust ${quoteConfigString(c)}`);
  if (g.ignoreCrls) out.push("ignore_crls");
  if (g.ldapServer.length > 0) out.push(`ldap_server ${quoteConfigString(formatLdap(g.ldapServer))}`);
  if (g.useHttp) out.push("use_http");
  if (g.pkcs11Path !== undefined) out.push(`pkcs11_path ${quoteConfigString(g.pkcs11Path)}`);
  if (g.proxy !== undefined) out.push(`proxy ${quoteConfigString(g.proxy)}`);
  if (g.socks !== undefined) out.push(`socks ${quoteConfigString(g.socks)}`);
  const nums: [number | undefined, string][] = [
    [g.expireTimer, "expire_timer"],
    [g.retryLimit, "retry_limit"],
    [g.maxCerts, "max_certs"],
    [g.p1LifetimeSecs, "p1_lifetime_secs"],
    [g.p1NonceLen, "p1_nonce_len"],
    [g.p2NonceLen, "p2_nonce_len"],
    [g.p2Pfs, "p2_pfs"],
    ...P2_LINES.map(([f, kw]): [number | undefined, string] => [g[f], kw]),
  ];
  if (g.retryTimerInit !== undefined) out.push(`retry_timer_init ${formatFloat(g.retryTimerInit)}`);
  if (g.retryTimerMax !== undefined) out.push(`retry_timer_max ${formatFloat(g.retryTimerMax)}`);
  for (const [v, kw] of nums) if (v !== undefined) out.push(`${kw} ${v}`);
  if (g.metrics !== undefined) out.push(`metrics ${quoteConfigString(formatMetricsSetting(g.metrics))}`);
  if (g.localIdType !== undefined) out.push(`local_id_type ${word(configIdTypeWord(g.localIdType), "identity type", g.localIdType)}`);
  if (g.unverifiedDhShare !== undefined) out.push(`unverified_dh_share ${g.unverifiedDhShare}\t# iked extension`);
  if (g.dpdIntervalSecs !== undefined) out.push(`dpd_interval_secs ${g.dpdIntervalSecs}\t# iked extension`);
  if (g.dpdRetries !== undefined) out.push(`dpd_retries ${g.dpdRetries}\t# iked extension`);
  return out.length > 0 ? `${out.join("\n")}\n` : "";
}

/** Rules only (what `ikeadm write rule` needs when the globals live elsewhere). */
export function formatIkeConfigRules(rules: readonly IkeRule[]): string {
  return rules.map(formatIkeRule).join("\n");
}

/** A whole ike.config file: globals, the global transform list, then the rules. */
export function formatIkeConfig(config: IkeConfig): string {
  const parts = ["# ike.config written by iked\n", formatIkeGlobals(config.globals)];
  if (config.p1Xforms.length > 0) parts.push(config.p1Xforms.map((x) => `${formatP1Xform(x)}\n`).join(""));
  if (config.rules.length > 0) parts.push(formatIkeConfigRules(config.rules));
  return parts.filter((p) => p.length > 0).join("\n");
}
