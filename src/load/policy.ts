/**
 * The policy of a load run: one ike.config rule generated from the options (so the transform goes
 * through the same parser, checks and defaults as the daemon's configuration), one ipsecinit.conf
 * entry for Phase 2 (turned into each source's Quick Mode request the way an ACQUIRE would be), and
 * the pre-shared key, either given literally or looked up per source/target pair in an
 * ike.preshared file read with the daemon's loader (and its permission checks).
 */
import {
  findPresharedByAddress, findPresharedByIdentity, formatDiagnostic, loadPreshared, parseAddressSpec, parseIkeConfig, releasePreshared, resolveRule, secureKey,
} from "../config/index.js";
import { IdType } from "../codec/index.js";
import type { IkeGlobals, PresharedEntry, ResolvedRule } from "../config/types.js";
import type { QuickModeRequest } from "../ike/phase2/quick-mode.js";
import type { Phase1Policy } from "../ike/ports.js";
import { parseIpsecPolicy, selectForAcquire } from "../policy/index.js";
import { CERT_GLOBALS, CERT_LOCAL_ID } from "./certificates.js";
import type { LoadOptions } from "./options.js";

/** The label of the generated rule (shown in the engine's logs). */
export const LOAD_RULE_LABEL = "ikeload";

/** A policy problem (bad transform text, unreadable key file); `message` never holds key bytes. */
export interface LoadPolicyError {
  readonly code: string;
  readonly message: string;
}

/** The generated ike.config text for `o` (no secrets in it). */
export function loadRuleText(
  o: Pick<LoadOptions, "encr" | "hash" | "dhGroup" | "p1LifetimeSecs" | "target" | "pfsGroup" | "p2LifetimeSecs"> & { readonly auth?: LoadOptions["auth"] },
  firstSource: string,
  lastSource: string,
): string {
  const local = firstSource === lastSource ? firstSource : `${firstSource}-${lastSource}`;
  const a = o.auth;
  const certs = a?.kind === "rsa" ? [`  local_id_type ${a.idType}`, `  local_id "${CERT_LOCAL_ID}"`, `  remote_id "${a.remoteId}"`] : [];
  return [
    ...(a?.kind === "rsa" ? [CERT_GLOBALS] : []),
    "{",
    `  label "${LOAD_RULE_LABEL}"`,
    `  local_addr ${local}`,
    `  remote_addr ${o.target.address}`,
    ...certs,
    `  p1_xform { auth_method ${a?.kind === "rsa" ? "rsa_sig" : "preshared"} oakley_group ${o.dhGroup} auth_alg ${o.hash} encr_alg ${o.encr} p1_lifetime_secs ${o.p1LifetimeSecs} }`,
    `  p2_pfs ${o.pfsGroup}`,
    ...(o.p2LifetimeSecs !== undefined ? [`  p2_lifetime_secs ${o.p2LifetimeSecs}`] : []),
    "}",
    "",
  ].join("\n");
}

/**
 * Build the policy; the rule is returned too, for `IkeEngine.initiate`. The keys live in secure
 * memory until the caller runs `release` (after the engine is closed); on failure nothing is held.
 */
export async function loadPolicy(
  o: LoadOptions,
  sources: readonly string[],
): Promise<
  | { ok: true; policy: Phase1Policy; rule: ResolvedRule; globals: IkeGlobals; requestFor: (source: string) => QuickModeRequest | undefined; release: () => void }
  | { ok: false; error: LoadPolicyError }
> {
  const first = sources[0]!;
  const last = sources[sources.length - 1]!;
  const parsed = parseIkeConfig(loadRuleText(o, first, last), "<ikeload options>");
  const cfgErr = parsed.diagnostics.find((d) => d.severity === "error");
  if (!parsed.ok || cfgErr !== undefined) {
    return { ok: false, error: { code: cfgErr?.code ?? "IKE_ERR_LOAD_USAGE", message: `transform options: ${cfgErr ? cfgErr.message : "rejected"}` } };
  }
  const rawRule = parsed.value.rules[0];
  if (rawRule === undefined) return { ok: false, error: { code: "IKE_ERR_LOAD_USAGE", message: "transform options: no rule" } };
  const rule = resolveRule(parsed.value, rawRule);

  let entries: readonly PresharedEntry[];
  if (o.psk.kind === "none") {
    entries = [];
  } else if (o.psk.kind === "file") {
    const r = await loadPreshared(o.psk.path);
    const bad = r.diagnostics.find((d) => d.severity === "error");
    if (!r.ok || bad !== undefined) {
      releasePreshared(r.value);
      return { ok: false, error: { code: bad?.code ?? "IKE_ERR_CFG_IO", message: bad ? formatDiagnostic(bad) : `${o.psk.path}: rejected` } };
    }
    entries = r.value;
    const missing = sources.find((s) => findPresharedByAddress(entries, s, o.target.address, o.mode) === undefined);
    if (missing !== undefined) {
      releasePreshared(entries);
      return { ok: false, error: { code: "IKE_ERR_LOAD_NO_KEY", message: `${o.psk.path}: no ${o.mode}-mode key for ${missing} <-> ${o.target.address}` } };
    }
  } else {
    const localSpec = parseAddressSpec(first === last ? first : `${first}-${last}`);
    const remoteSpec = parseAddressSpec(o.target.address);
    if (!localSpec.ok || !remoteSpec.ok) return { ok: false, error: { code: "IKE_ERR_LOAD_USAGE", message: "source or target address not usable as an identity" } };
    const v6 = o.target.address.includes(":");
    // The option string itself cannot be wiped; the Buffer decoded from it is, by secureKey.
    const key = secureKey(Buffer.from(o.psk.secret, "utf8"));
    entries = [
      {
        localId: { type: first === last ? (v6 ? IdType.ID_IPV6_ADDR : IdType.ID_IPV4_ADDR) : v6 ? IdType.ID_IPV6_ADDR_RANGE : IdType.ID_IPV4_ADDR_RANGE, addr: localSpec.spec },
        remoteId: { type: v6 ? IdType.ID_IPV6_ADDR : IdType.ID_IPV4_ADDR, addr: remoteSpec.spec },
        ikeMode: o.mode,
        key,
        keyBits: key.length * 8,
      },
    ];
  }
  const release = (): void => void releasePreshared(entries);
  const ipsec = parseIpsecPolicy(`{ raddr ${o.target.address} } ipsec { ${o.ipsecAction} }\n`);
  if (ipsec.errors.length > 0) {
    release();
    return { ok: false, error: { code: "IKE_ERR_LOAD_USAGE", message: `Phase 2 options: ${ipsec.errors.map((e) => e.message).join("; ")}` } };
  }
  const requests = new Map<string, QuickModeRequest | undefined>();
  const requestFor = (source: string): QuickModeRequest | undefined => {
    if (!requests.has(source)) {
      const sel = selectForAcquire(ipsec.policy, { src: { address: source, port: 0 }, dst: { address: o.target.address, port: 0 }, ulp: 0 });
      requests.set(source, sel.kind === "ipsec" ? { mode: sel.mode, proposals: sel.proposals, localId: sel.localId, remoteId: sel.remoteId } : undefined);
    }
    return requests.get(source);
  };
  if (o.phase2 && requestFor(first) === undefined) {
    release();
    return { ok: false, error: { code: "IKE_ERR_LOAD_USAGE", message: `Phase 2 options give no usable proposal (${o.ipsecAction})` } };
  }
  const methods = {
    ruleFor: (): ResolvedRule | undefined => undefined,
    ruleByLabel: (label: string): ResolvedRule | undefined => (label === LOAD_RULE_LABEL ? rule : undefined),
    presharedFor: (local: string, remote: string, mode: "main" | "aggressive"): PresharedEntry | undefined => findPresharedByAddress(entries, local, remote, mode),
    presharedForId: (peerId: PresharedEntry["remoteId"], localAddr: string, mode: "main" | "aggressive"): PresharedEntry | undefined =>
      findPresharedByIdentity(entries, peerId, { localAddr, mode }),
  };
  // Not a fresh literal: the engine's Phase1Policy is growing (presharedForId) while we build.
  const policy: Phase1Policy = methods;
  return { ok: true, policy, rule, globals: parsed.value.globals, requestFor, release };
}
