/**
 * Validation inputs from a store snapshot and the ike.config globals: the anchors `cert_root` and
 * `cert_trust` select, the store's CA certificates as intermediates, and the CRL index (none with
 * `ignore_crls`). Built once per snapshot swap; `validatePath` then needs only the peer's certificates.
 */
import type { IkeGlobals } from "../config/types.js";
import { IKE_DEFAULTS } from "../config/defaults.js";
import type { Certificate } from "./certificate.js";
import type { TrustAnchors } from "./chain.js";
import type { CertDirectory } from "./ldap.js";
import { CrlIndex, type CrlSource } from "./revocation.js";
import { parseSelector, selectorMatches } from "./selector.js";
import type { PkiSnapshot } from "./store.js";

/** Everything of `ValidationOptions` that comes from configuration. */
export interface TrustSetup {
  readonly anchors: TrustAnchors;
  readonly intermediates: readonly Certificate[];
  readonly crls?: CrlIndex;
  readonly directory?: CertDirectory;
  readonly maxCerts: number;
}

function select(snap: PkiSnapshot, selectors: readonly string[]): Certificate[] {
  const out: Certificate[] = [];
  for (const text of selectors) {
    const s = parseSelector(text);
    // A selector that does not parse was refused by `in.iked -c`/startup; here it selects nothing.
    if (typeof s === "string") continue;
    for (const c of snap.certs) if (selectorMatches(s, c.cert, c.slot) && !out.includes(c.cert)) out.push(c.cert);
  }
  return out;
}

/** The trust setup for `snap` under `globals`; `fetcher` when use_http is set, `directory` for ldap_server. */
export function trustFor(snap: PkiSnapshot, globals: IkeGlobals, fetcher?: CrlSource, directory?: CertDirectory): TrustSetup {
  const roots = select(snap, globals.certRoot).filter((c) => c.ext.basicConstraints?.ca === true);
  const trusted = select(snap, globals.certTrust);
  const intermediates = snap.certs.map((c) => c.cert).filter((c) => c.ext.basicConstraints?.ca === true && !roots.includes(c));
  const base = { anchors: { roots, trusted }, intermediates, maxCerts: globals.maxCerts ?? IKE_DEFAULTS.maxCerts, ...(directory ? { directory } : {}) };
  return globals.ignoreCrls ? base : { ...base, crls: new CrlIndex(snap.crls.map((c) => c.crl), globals.useHttp ? fetcher : undefined, directory) };
}
