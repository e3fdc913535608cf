/**
 * What Phase 1 authentication asks of the certificate layer (the engine's `Phase1Credentials`
 * port, src/ike/phase1/credentials.ts, which this class satisfies structurally so src/pki needs
 * nothing from src/ike), over one store snapshot and one ike.config:
 *
 * - our side: the certificate `local_id` selects among those whose private key the pool holds, of
 *   the key type and usage the method needs; the ID payload `local_id_type` asks for from it; the
 *   chain we send (our certificate, then the store's CA certificates above it, without the root);
 * - CERTREQ: the subjects of the `cert_root` CAs;
 * - the peer's side: its certificate (from its CERT payloads, or, when it sent none, from the store
 *   or the certificate cache by its ID), validated to a `cert_root`/`cert_trust` anchor (chain.ts:
 *   dates, CA flags, key usage, path length, CRLs unless `ignore_crls`, `max_certs`), its ID payload
 *   matched against the certificate and the rule's `remote_id`;
 * - pre-shared keys: the peer's ID against `remote_id` (when the rule names any).
 *
 * Every refusal carries the notify errors.ts `notifyFor` maps its code to, and the reason.
 *
 * The certificate cache (certcache.ts): a peer certificate found there for the usage skips path
 * validation (its ID and `remote_id` are still checked); a freshly validated one is added once the
 * exchange authenticated the peer with it; a peer that sends no certificate is looked for there too
 * (and, for a DN, in `ldap_server`).
 */
import { AuthMethod } from "../codec/attributes-constants.js";
import { IdType } from "../codec/constants.js";
import { Notify } from "../codec/notify-constants.js";
import type { IkeGlobals, ResolvedRule } from "../config/types.js";
import type { CertCache } from "./certcache.js";
import { isSelfIssued, type Certificate } from "./certificate.js";
import { parseCertPayloads, type CertPayloadData } from "./cert-payloads.js";
import { usageProblem, validatePath, type CertUsage, type ValidatedPath } from "./chain.js";
import { notifyFor, PkiCode, type PkiErrorCode } from "./errors.js";
import { checkPeerIdentity, localIdentity, type IdentityData } from "./identity.js";
import type { CertDirectory } from "./ldap.js";
import { decodeNameDer, namesEqual, type DistinguishedName } from "./name.js";
import type { CrlSource } from "./revocation.js";
import { identityAllowed, identityValueAllowed, parseSelector, selectorMatches, type Selector } from "./selector.js";
import type { KeyBinding, PkiSnapshot } from "./store.js";
import { trustFor, type TrustSetup } from "./trust.js";
import type { SignatureVerifier } from "./verifier.js";

/** `ldap_server` as the credentials use it: issuers and CRLs (validation), end entities by subject. */
export type PeerDirectory = CertDirectory & { userCertificates?(subject: DistinguishedName): Promise<Certificate[]> };

/** What the credentials are built from. */
export interface CredentialsOptions {
  readonly snapshot: PkiSnapshot;
  readonly bindings: readonly KeyBinding[];
  readonly globals: IkeGlobals;
  /** Where chain and CRL signatures are checked (`poolVerifier(pool)` in the daemon). */
  readonly verifier: SignatureVerifier;
  /** CRL fetching for `use_http`. */
  readonly fetcher?: CrlSource;
  /** `ldap_server`. */
  readonly directory?: PeerDirectory;
  readonly cache?: CertCache;
  /** Validation time, ms (default Date.now). */
  readonly now?: () => number;
}

/** A refusal, as the engine's port has it. */
export interface Refusal {
  readonly refused: true;
  readonly notify: number;
  readonly reason: string;
}

/** Our credential, as the engine's port has it. */
export interface OwnCert {
  readonly keyId: string;
  readonly keyType: "rsa" | "dsa";
  readonly id: IdentityData;
  readonly chain: readonly Buffer[];
  readonly subject: string;
}

/** The peer's validated credential, as the engine's port has it. */
export interface PeerCert {
  readonly publicKey: Buffer;
  readonly keyType: "rsa" | "dsa";
  readonly subject: string;
  readonly certificate: Buffer;
  remember(): void;
}

const refuse = (notify: number, reason: string): Refusal => ({ refused: true, notify, reason });
const refuseCode = (code: PkiErrorCode, reason: string): Refusal => refuse(notifyFor(code), reason);

const keyTypeOf = (method: number): "rsa" | "dsa" => (method === AuthMethod.DssSignatures ? "dsa" : "rsa");
const usageOf = (method: number): CertUsage => (method === AuthMethod.RsaEncryption ? "encryption" : "signature");
const methodName = (method: number): string =>
  method === AuthMethod.DssSignatures ? "dss_sig" : method === AuthMethod.RsaEncryption ? "rsa_encrypt" : "rsa_sig";

/** The certificate layer over one snapshot; build a new one when the store or ike.config changes. */
export class PkiCredentials {
  readonly #o: CredentialsOptions;
  readonly #trust: TrustSetup;
  readonly #now: () => number;
  readonly #own = new Map<ResolvedRule["rule"], Map<number, OwnCert | Refusal>>();
  readonly #remote = new Map<ResolvedRule["rule"], Selector[]>();

  constructor(o: CredentialsOptions) {
    this.#o = o;
    this.#trust = trustFor(o.snapshot, o.globals, o.fetcher, o.directory);
    this.#now = o.now ?? Date.now;
  }

  /** The DER subjects of the `cert_root` CAs, for CERTREQ payloads. */
  certRequests(): readonly Buffer[] {
    return this.#trust.anchors.roots.map((c) => c.subject.der);
  }

  /** Our certificate, key and ID for `rule` under `method` (cached per rule). */
  own(rule: ResolvedRule, method: number): OwnCert | Refusal {
    let byMethod = this.#own.get(rule.rule);
    if (byMethod === undefined) this.#own.set(rule.rule, (byMethod = new Map()));
    let got = byMethod.get(method);
    if (got === undefined) byMethod.set(method, (got = this.#findOwn(rule, method)));
    return got;
  }

  #findOwn(rule: ResolvedRule, method: number): OwnCert | Refusal {
    const text = rule.rule.localId;
    const sel = text === undefined ? undefined : parseSelector(text);
    if (sel === undefined || typeof sel === "string") return refuse(Notify.CertificateUnavailable, `rule "${rule.rule.label}" has no usable local_id`);
    const keyType = keyTypeOf(method);
    const usage = usageOf(method);
    const now = this.#now();
    const candidates = this.#o.bindings
      .filter((b) => b.cert !== undefined && b.type === keyType && selectorMatches(sel, b.cert.cert, b.cert.slot) && usageProblem(b.cert.cert, usage) === undefined)
      .sort((a, b) => Number(current(b.cert!.cert, now)) - Number(current(a.cert!.cert, now)));
    for (const b of candidates) {
      const cert = b.cert!.cert;
      const id = localIdentity(cert, rule.localIdType, sel);
      if (!id.ok) continue;
      return { keyId: b.keyId, keyType, id: id.value, chain: this.#chainOf(cert), subject: cert.subjectText };
    }
    return refuse(Notify.CertificateUnavailable, `${methodName(method)}: no certificate matching local_id "${text}" with a ${keyType.toUpperCase()} private key, ${usage} usage and an identity of local_id_type ${rule.localIdType}`);
  }

  /** Our certificate and the store's CA certificates above it, up to (not including) a self-signed root. */
  #chainOf(leaf: Certificate): Buffer[] {
    const out = [leaf.der];
    const cas = this.#o.snapshot.certs.map((c) => c.cert).filter((c) => c.ext.basicConstraints?.ca === true);
    let top = leaf;
    while (out.length < this.#trust.maxCerts) {
      const up = cas.find((c) => namesEqual(c.subject, top.issuer) && c.fingerprint !== top.fingerprint);
      if (up === undefined || isSelfIssued(up)) break;
      out.push(up.der);
      top = up;
    }
    return out;
  }

  #remoteSelectors(rule: ResolvedRule): Selector[] {
    let sels = this.#remote.get(rule.rule);
    if (sels === undefined) {
      // A selector that does not parse was refused by `in.iked -c` and at load; it selects nothing.
      sels = rule.rule.remoteId.map((t) => parseSelector(t)).filter((s): s is Selector => typeof s !== "string");
      this.#remote.set(rule.rule, sels);
    }
    return sels;
  }

  /** The peer's certificate for its ID, validated; see the file comment. */
  async peer(rule: ResolvedRule, method: number, id: IdentityData, payloads: readonly CertPayloadData[]): Promise<PeerCert | Refusal> {
    const parsed = parseCertPayloads(payloads, this.#trust.maxCerts);
    if (!parsed.ok) return refuseCode(parsed.error.code, `peer's CERT payload: ${parsed.error.message}`);
    let leaf: Certificate | undefined;
    let others: Certificate[] = [];
    if (parsed.value.length > 0) {
      leaf = parsed.value.find((c) => checkPeerIdentity(id, c).ok) ?? parsed.value[0]!;
      others = parsed.value.filter((c) => c !== leaf);
    } else {
      leaf = await this.#held(id);
      if (leaf === undefined) return refuseCode(PkiCode.CertUnavailable, "the peer sent no certificate, and none on disk, in the cache or in ldap_server backs its ID");
    }
    return this.#check(rule, method, leaf, others, id);
  }

  /** A certificate for `id` from the store, the cache, or (a DN) the directory; one valid now first. */
  async #held(id: IdentityData): Promise<Certificate | undefined> {
    const backs = (c: Certificate) => checkPeerIdentity(id, c).ok;
    const store = this.#o.snapshot.certs.map((c) => c.cert).filter((c) => c.ext.basicConstraints?.ca !== true);
    const cached = this.#o.cache?.find(backs).map((e) => e.path.leaf) ?? [];
    const now = this.#now();
    const best = (l: Certificate[]) => l.filter(backs).sort((a, b) => Number(current(b, now)) - Number(current(a, now)))[0];
    const found = best([...store, ...cached]);
    if (found !== undefined || this.#o.directory?.userCertificates === undefined || id.idType !== IdType.ID_DER_ASN1_DN) return found;
    let dn: DistinguishedName;
    try {
      dn = decodeNameDer(id.data);
    } catch {
      // An ID_DER_ASN1_DN that does not decode names nobody the directory could hold.
      return undefined;
    }
    return best(await this.#o.directory.userCertificates(dn));
  }

  /**
   * RSA encryption: the peer's certificate by the rule's `remote_id`, before the peer said anything:
   * a certificate on disk that is neither a CA's nor one of ours (we hold its key).
   */
  async peerForEncryption(rule: ResolvedRule): Promise<PeerCert | Refusal> {
    const sels = this.#remoteSelectors(rule);
    const now = this.#now();
    const ours = new Set(this.#o.bindings.map((b) => b.cert?.cert.fingerprint));
    const leaf = this.#o.snapshot.certs
      .map((c) => c.cert)
      .filter((c) => c.ext.basicConstraints?.ca !== true && !ours.has(c.fingerprint) && sels.some((s) => s.kind !== "any") && identityAllowed(sels, c))
      .sort((a, b) => Number(current(b, now)) - Number(current(a, now)))[0];
    if (leaf === undefined) return refuseCode(PkiCode.CertUnavailable, `rsa_encrypt: no certificate on disk matches remote_id of rule "${rule.rule.label}"`);
    return this.#check(rule, AuthMethod.RsaEncryption, leaf, [], undefined);
  }

  async #check(rule: ResolvedRule, method: number, leaf: Certificate, others: Certificate[], id: IdentityData | undefined): Promise<PeerCert | Refusal> {
    const keyType = keyTypeOf(method);
    if (leaf.keyFamily !== keyType) {
      return refuseCode(PkiCode.UnsupportedAlgorithm, `${methodName(method)} needs a ${keyType.toUpperCase()} key; "${leaf.subjectText}" has a ${leaf.keyFamily} key`);
    }
    const usage = usageOf(method);
    const cache = this.#o.cache;
    const hit = cache?.get(leaf.fingerprint, usage);
    const v = hit !== undefined ? { ok: true as const, value: hit.path } : await validatePath(leaf, others, { ...this.#trust, now: this.#now(), verifier: this.#o.verifier, usage });
    if (!v.ok) return refuseCode(v.error.code, `peer certificate "${v.error.subject ?? leaf.subjectText}": ${v.error.message}`);
    if (id !== undefined) {
      const matched = checkPeerIdentity(id, leaf);
      if (!matched.ok) return refuseCode(matched.error.code, matched.error.message);
    }
    if (!identityAllowed(this.#remoteSelectors(rule), leaf)) {
      return refuseCode(PkiCode.IdNotAllowed, `peer "${leaf.subjectText}" is not allowed by remote_id of rule "${rule.rule.label}"`);
    }
    // A cached path stays as it was validated: re-adding it would stretch its time to live.
    let remembered = hit !== undefined;
    return {
      publicKey: leaf.spki,
      keyType,
      subject: leaf.subjectText,
      certificate: leaf.der,
      remember: () => {
        if (remembered) return;
        remembered = true;
        cache?.add(v.value, usage);
      },
    };
  }

  /** Pre-shared keys: why `remote_id` refuses `id`, or null (no `remote_id`: anything). */
  presharedPeerProblem(rule: ResolvedRule, id: IdentityData): string | null {
    if (rule.rule.remoteId.length === 0) return null;
    return identityValueAllowed(this.#remoteSelectors(rule), id) ? null : `peer's ID is not allowed by remote_id of rule "${rule.rule.label}"`;
  }
}

function current(c: Certificate, now: number): boolean {
  return c.notBefore <= now && now <= c.notAfter;
}

export type { ValidatedPath };
