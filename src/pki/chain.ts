/**
 * Certification path building and validation (RFC 5280 §6.1, the parts IKE needs) from a peer's
 * certificate to a trust anchor:
 *   - `cert_trust` certificates are trusted as they are: a peer presenting one is accepted without a
 *     path (its dates and usage still checked);
 *   - `cert_root` certificates are anchors: the path runs leaf → intermediates (the store's and the
 *     peer's CERT payloads) → a root, matched by name and, where both exist, key identifier;
 *   - every certificate on the path, the root included: validity dates, no unknown critical extension;
 *   - every issuer: basicConstraints cA, keyCertSign when keyUsage is present, pathLenConstraint;
 *   - the leaf: keyUsage and extendedKeyUsage fit IKE (see `usageProblem`);
 *   - every link's signature, checked by the `SignatureVerifier` (the crypto pool in the daemon);
 *   - revocation by CRL for every certificate below the root, unless `ignore_crls`;
 *   - at most `max_certs` certificates on the path and in what the peer sent;
 *   - an issuer that neither the store nor the peer supplies is asked of the `ldap_server`
 *     directory (ldap.ts), when one is configured; it must validate like any other.
 * Path building is greedy (issuer candidates by key identifier, then by current validity) without
 * backtracking: XXX a peer cross-certified under two roots may need the candidate not tried first.
 */
import type { Certificate } from "./certificate.js";
import { PkiCode, pkiFail, type PkiResult } from "./errors.js";
import { KeyUsage } from "./extensions.js";
import { formatName, namesEqual } from "./name.js";
import { Eku } from "./oids.js";
import type { CertDirectory } from "./ldap.js";
import type { CrlIndex } from "./revocation.js";
import type { SignatureVerifier } from "./verifier.js";

/** Anchors from ike.config: `cert_root` CAs and directly trusted `cert_trust` certificates. */
export interface TrustAnchors {
  readonly roots: readonly Certificate[];
  readonly trusted: readonly Certificate[];
}

/** What the peer's certificate will be used for (RFC 2409 §5.1 signatures, §5.2 encryption). */
export type CertUsage = "signature" | "encryption";

/** Everything a validation needs. */
export interface ValidationOptions {
  readonly anchors: TrustAnchors;
  /** CA certificates from the store (the peer's own extra certificates are passed separately). */
  readonly intermediates: readonly Certificate[];
  /** Revocation checking; absent with `ignore_crls`. */
  readonly crls?: CrlIndex;
  /** `ldap_server`: where missing issuer certificates are looked for. */
  readonly directory?: CertDirectory;
  /** `max_certs`. */
  readonly maxCerts: number;
  /** Validation time, ms since the epoch. */
  readonly now: number;
  readonly verifier: SignatureVerifier;
  readonly usage: CertUsage;
}

/** A validated path: the leaf first, the anchor last. */
export interface ValidatedPath {
  readonly leaf: Certificate;
  readonly path: readonly Certificate[];
  readonly anchor: "cert_root" | "cert_trust";
}

/** EKUs that allow IKE (RFC 4945 §5.1.3.12); absent EKU allows everything. */
const IKE_EKUS: ReadonlySet<string> = new Set([
  Eku.anyExtendedKeyUsage, Eku.ipsecIKE, Eku.ipsecEndSystem, Eku.ipsecTunnel, Eku.ipsecUser, Eku.serverAuth, Eku.clientAuth,
]);

/** Why the leaf may not be used for IKE `usage`, or undefined. */
export function usageProblem(c: Certificate, usage: CertUsage): string | undefined {
  const ku = c.ext.keyUsage;
  if (ku !== undefined) {
    if (usage === "signature" && !ku.has(KeyUsage.digitalSignature) && !ku.has(KeyUsage.nonRepudiation)) {
      return "keyUsage allows neither digitalSignature nor nonRepudiation";
    }
    if (usage === "encryption" && !ku.has(KeyUsage.keyEncipherment)) return "keyUsage does not allow keyEncipherment";
  }
  const eku = c.ext.extKeyUsage;
  if (eku !== undefined && !eku.some((e) => IKE_EKUS.has(e))) return `extendedKeyUsage (${eku.join(", ")}) allows no IKE use`;
  return undefined;
}

type Failure = ReturnType<typeof pkiFail>;

function dateProblem(c: Certificate, now: number): Failure | undefined {
  if (now < c.notBefore) return pkiFail(PkiCode.NotYetValid, `not valid before ${new Date(c.notBefore).toISOString()}`, c.subjectText);
  if (now > c.notAfter) return pkiFail(PkiCode.Expired, `expired ${new Date(c.notAfter).toISOString()}`, c.subjectText);
  if (c.ext.unknownCritical.length > 0) return pkiFail(PkiCode.CriticalExtension, `unsupported critical extension ${c.ext.unknownCritical.join(", ")}`, c.subjectText);
  return undefined;
}

function mayIssue(issuer: Certificate, child: Certificate): boolean {
  if (!namesEqual(issuer.subject, child.issuer)) return false;
  const aki = child.ext.authorityKeyId;
  const ski = issuer.ext.subjectKeyId;
  return aki === undefined || ski === undefined || aki.equals(ski);
}

function pickIssuer(child: Certificate, pool: readonly Certificate[], used: ReadonlySet<string>, now: number): Certificate | undefined {
  const cands = pool.filter((c) => !used.has(c.fingerprint) && mayIssue(c, child));
  const keyed = cands.filter((c) => child.ext.authorityKeyId && c.ext.subjectKeyId);
  const current = (l: Certificate[]) => l.find((c) => c.notBefore <= now && now <= c.notAfter) ?? l[0];
  return current(keyed.length > 0 ? keyed : cands);
}

function caProblem(issuer: Certificate, below: number): Failure | undefined {
  const bc = issuer.ext.basicConstraints;
  if (!bc?.ca) return pkiFail(PkiCode.NotCa, "issuer is not a CA (basicConstraints cA is not set)", issuer.subjectText);
  const ku = issuer.ext.keyUsage;
  if (ku !== undefined && !ku.has(KeyUsage.keyCertSign)) return pkiFail(PkiCode.NotCa, "issuer's keyUsage does not allow keyCertSign", issuer.subjectText);
  if (bc.pathLen !== undefined && below > bc.pathLen) {
    return pkiFail(PkiCode.PathLength, `pathLenConstraint ${bc.pathLen} allows fewer CA certificates below it than the ${below} found`, issuer.subjectText);
  }
  return undefined;
}

/**
 * Validates the peer's certificate `leaf`, with the extra certificates it sent in `received`,
 * against the anchors. Failures carry the code stage 2 maps to a notify (errors.ts `notifyFor`).
 */
export async function validatePath(leaf: Certificate, received: readonly Certificate[], o: ValidationOptions): Promise<PkiResult<ValidatedPath>> {
  if (received.length + 1 > o.maxCerts) {
    return pkiFail(PkiCode.ChainTooLong, `${received.length + 1} certificates received, max_certs is ${o.maxCerts}`, leaf.subjectText);
  }
  const usage = usageProblem(leaf, o.usage);
  if (usage) return pkiFail(PkiCode.KeyUsage, usage, leaf.subjectText);
  if (o.anchors.trusted.some((t) => t.fingerprint === leaf.fingerprint)) {
    return dateProblem(leaf, o.now) ?? { ok: true, value: { leaf, path: [leaf], anchor: "cert_trust" } };
  }
  // Build leaf → … → root.
  const path: Certificate[] = [leaf];
  const used = new Set([leaf.fingerprint]);
  const cas = [...received, ...o.intermediates];
  for (;;) {
    const top = path[path.length - 1]!;
    const root = pickIssuer(top, o.anchors.roots, used, o.now);
    if (root) {
      path.push(root);
      break;
    }
    if (path.length >= o.maxCerts) return pkiFail(PkiCode.ChainTooLong, `no root within max_certs (${o.maxCerts}) certificates`, leaf.subjectText);
    let next = pickIssuer(top, cas, used, o.now);
    if (!next && o.directory) {
      const have = new Set(cas.map((c) => c.fingerprint));
      cas.push(...(await o.directory.caCertificates(top.issuer)).filter((c) => !have.has(c.fingerprint)));
      next = pickIssuer(top, cas, used, o.now);
    }
    if (!next) return pkiFail(PkiCode.UnknownCa, `no cert_root or cert_trust certificate vouches for issuer "${formatName(top.issuer)}"`, top.subjectText);
    path.push(next);
    used.add(next.fingerprint);
  }
  for (const c of path) {
    const bad = dateProblem(c, o.now);
    if (bad) return bad;
  }
  // Issuers from the root down: `below` counts the non-self-issued CA certificates under each.
  for (let i = 1; i < path.length; i++) {
    const below = path.slice(1, i).filter((c) => !namesEqual(c.subject, c.issuer)).length;
    const bad = caProblem(path[i]!, below);
    if (bad) return bad;
  }
  const links = path.slice(0, -1).map((c, i) => ({ spki: path[i + 1]!.spki, sigAlg: c.sigAlg, tbs: c.tbs, signature: c.signature }));
  const sigs = await o.verifier(links);
  const badSig = sigs.findIndex((ok) => !ok);
  if (badSig >= 0) {
    return pkiFail(PkiCode.BadCertSignature, `signature does not verify with the key of "${path[badSig + 1]!.subjectText}"`, path[badSig]!.subjectText);
  }
  if (o.crls) {
    for (let i = 0; i < path.length - 1; i++) {
      const r = await o.crls.check(path[i]!, path[i + 1]!, o.now, o.verifier);
      if (!r.ok) return r;
    }
  }
  return { ok: true, value: { leaf, path, anchor: "cert_root" } };
}
