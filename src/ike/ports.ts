/**
 * What the engine is handed besides a transport: the crypto pool (DH for now) and the policy that
 * answers "which rule, which pre-shared key". Both are plain interfaces so tests can substitute
 * deterministic versions, and so the daemon can move either behind a thread or process boundary.
 *
 * `CryptoPool` (src/crypto/pool.ts) satisfies {@link DhPort} as it is (tests use the on-thread ports
 * of test/helpers/dh.ts); {@link configPolicy} adapts a loaded ike.config and ike.preshared through
 * the config module's lookup helpers.
 */
import { findPresharedByAddress, findPresharedByIdentity, findPresharedByRemoteAddress, findRule, findRuleByLabel, resolveRule } from "../config/index.js";
import type { IkeConfig, IkeRule, PresharedEntry, PresharedId, ResolvedRule } from "../config/types.js";
import type { DhExchange, DhKeyPair } from "../crypto/dh.js";
import type { AbortLike } from "../crypto/abort-like.js";
import type { TaskResult } from "../crypto/tasks.js";
import type { Phase1Credentials } from "./phase1/credentials.js";

/** Diffie-Hellman through the crypto pool. Peer values come back as errors, never as throws. */
export interface DhPort {
  dhGenerate(group: number, options?: { readonly signal?: AbortLike }): Promise<TaskResult<DhKeyPair>>;
  dhAgree(
    group: number,
    privateValue: Uint8Array,
    peerPublic: Uint8Array,
    options?: { readonly signal?: AbortLike },
  ): Promise<TaskResult<Buffer>>;
  /**
   * The responder's g^x and g^xy in one call (one pool round trip; x never leaves the worker).
   * Optional: {@link respondDh} falls back to dhGenerate + dhAgree on a port without it.
   */
  dhGenerateAndAgree?(group: number, peerPublic: Uint8Array, options?: { readonly signal?: AbortLike }): Promise<TaskResult<DhExchange>>;
}

/**
 * A responder's DH: our public value and g^xy for the peer's `peerPublic`. Errors are the port's
 * (`IKE_ERR_DH_PUBLIC_*` for a refused peer value). The caller owns `sharedSecret` and wipes it.
 */
export async function respondDh(
  dh: DhPort,
  group: number,
  peerPublic: Uint8Array,
  options?: { readonly signal?: AbortLike },
): Promise<TaskResult<DhExchange>> {
  if (dh.dhGenerateAndAgree !== undefined) return dh.dhGenerateAndAgree(group, peerPublic, options);
  const kp = await dh.dhGenerate(group, options);
  if (!kp.ok) return kp;
  try {
    const r = await dh.dhAgree(group, kp.value.privateValue, peerPublic, options);
    return r.ok ? { ok: true, value: { publicValue: kp.value.publicValue, sharedSecret: r.value } } : r;
  } finally {
    kp.value.privateValue.fill(0);
  }
}

/** Rule and key lookups for Phase 1. */
export interface Phase1Policy {
  /** The rule covering this address pair (responder, or an initiator started by addresses). */
  ruleFor(local: string, remote: string): ResolvedRule | undefined;
  /** The rule with this label (`ikeadm` and tests start exchanges by label). */
  ruleByLabel(label: string): ResolvedRule | undefined;
  /**
   * The pre-shared key entry for this address pair and exchange mode: one with address identities
   * covering both, else one for the remote address whose local identity is a name (what we present).
   */
  presharedFor(local: string, remote: string, mode: "main" | "aggressive"): PresharedEntry | undefined;
  /** The pre-shared key entry for a peer identity (Aggressive Mode responder: the key follows AM1's ID). */
  presharedForId(peerId: PresharedId, localAddress: string, mode: "main" | "aggressive"): PresharedEntry | undefined;
  /**
   * The certificate layer of the current configuration (src/pki/phase1-credentials.ts), asked once
   * per exchange so an exchange sees one store snapshot; absent: certificate methods are refused.
   */
  credentials?(): Phase1Credentials | undefined;
}

/**
 * A {@link Phase1Policy} over parsed files; `get` is called per lookup, so a reload takes effect.
 * A rule is resolved once per configuration object (a configuration is never changed in place: a
 * reload or `ikeadm add|del` makes a new one), so lookups under one configuration return the same
 * {@link ResolvedRule}, which what is kept per rule (mm1-answers.ts) relies on.
 */
export function configPolicy(
  get: () => { readonly config: IkeConfig; readonly preshared: readonly PresharedEntry[]; readonly credentials?: Phase1Credentials },
): Phase1Policy {
  const resolved = new WeakMap<IkeConfig, WeakMap<IkeRule, ResolvedRule>>();
  const resolve = (config: IkeConfig, r: IkeRule): ResolvedRule => {
    let rules = resolved.get(config);
    if (rules === undefined) resolved.set(config, (rules = new WeakMap()));
    let rule = rules.get(r);
    if (rule === undefined) rules.set(r, (rule = resolveRule(config, r)));
    return rule;
  };
  return {
    credentials() {
      return get().credentials;
    },
    ruleFor(local, remote) {
      const { config } = get();
      const r = findRule(config, local, remote);
      return r && resolve(config, r);
    },
    ruleByLabel(label) {
      const { config } = get();
      const r = findRuleByLabel(config, label);
      return r && resolve(config, r);
    },
    presharedFor(local, remote, mode) {
      const entries = get().preshared;
      return findPresharedByAddress(entries, local, remote, mode) ?? findPresharedByRemoteAddress(entries, remote, mode);
    },
    presharedForId(peerId, localAddress, mode) {
      return findPresharedByIdentity(get().preshared, peerId, { localAddr: localAddress, mode });
    },
  };
}
