/**
 * Revocation checking with CRLs (RFC 5280 §6.3, simplified to complete, direct CRLs): a
 * certificate is checked against a CRL its issuer signed, the newest one held or fetched. A CRL
 * that does not verify with the issuer's key, or whose issuer may not sign CRLs, is ignored; when no
 * usable, current CRL remains the answer is IKE_ERR_PKI_CRL_UNAVAILABLE (the certificate cannot be
 * shown not to be revoked). Where no current CRL is held, the `ldap_server` directory is asked
 * (at the issuer's entry), then, with `use_http`, the certificate's http:// distribution points.
 * `ignore_crls` skips all of this (chain.ts gets no `CrlIndex`).
 */
import type { Certificate } from "./certificate.js";
import type { Crl } from "./crl.js";
import { PkiCode, pkiFail, type PkiResult } from "./errors.js";
import { KeyUsage } from "./extensions.js";
import type { CertDirectory } from "./ldap.js";
import { namesEqual } from "./name.js";
import type { SignatureVerifier } from "./verifier.js";

/** Fetches the CRL at a distribution point (crl-fetch.ts); undefined when it cannot. */
export interface CrlSource {
  fetch(url: string): Promise<Crl | undefined>;
}

/** The CRLs of one store snapshot, plus optional fetching (`use_http`). Verified results are cached. */
export class CrlIndex {
  readonly #held: readonly Crl[];
  readonly #fetcher: CrlSource | undefined;
  readonly #directory: Pick<CertDirectory, "crls"> | undefined;
  /** `crlFingerprint/issuerFingerprint` → signature verified. */
  readonly #verified = new Map<string, boolean>();

  constructor(held: readonly Crl[], fetcher?: CrlSource, directory?: Pick<CertDirectory, "crls">) {
    this.#held = held;
    this.#fetcher = fetcher;
    this.#directory = directory;
  }

  async #usable(crls: readonly Crl[], issuer: Certificate, verifier: SignatureVerifier): Promise<Crl[]> {
    const ku = issuer.ext.keyUsage;
    if (ku !== undefined && !ku.has(KeyUsage.cRLSign)) return [];
    const mine = crls.filter((c) => namesEqual(c.issuer, issuer.subject)
      && !(c.authorityKeyId && issuer.ext.subjectKeyId && !c.authorityKeyId.equals(issuer.ext.subjectKeyId)));
    const todo = mine.filter((c) => !this.#verified.has(`${c.fingerprint}/${issuer.fingerprint}`));
    if (todo.length > 0) {
      const ok = await verifier(todo.map((c) => ({ spki: issuer.spki, sigAlg: c.sigAlg, tbs: c.tbs, signature: c.signature })));
      todo.forEach((c, i) => this.#verified.set(`${c.fingerprint}/${issuer.fingerprint}`, ok[i] === true));
    }
    return mine.filter((c) => this.#verified.get(`${c.fingerprint}/${issuer.fingerprint}`) === true);
  }

  /** Whether `cert`, issued by `issuer`, is shown unrevoked at `now`. */
  async check(cert: Certificate, issuer: Certificate, now: number, verifier: SignatureVerifier): Promise<PkiResult<void>> {
    const newest = (list: Crl[]) => list.sort((a, b) => b.thisUpdate - a.thisUpdate)[0];
    const current = (c: Crl | undefined) => c !== undefined && c.thisUpdate <= now && (c.nextUpdate === undefined || c.nextUpdate >= now);
    let crl = newest(await this.#usable(this.#held, issuer, verifier));
    if (!current(crl) && this.#directory) {
      const fresh = newest(await this.#usable(await this.#directory.crls(issuer.subject), issuer, verifier));
      if (fresh !== undefined && (crl === undefined || fresh.thisUpdate > crl.thisUpdate)) crl = fresh;
    }
    if (!current(crl) && this.#fetcher) {
      for (const url of cert.ext.crlDistributionPoints.filter((u) => u.startsWith("http://"))) {
        const got = await this.#fetcher.fetch(url);
        const fresh = got ? newest(await this.#usable([got], issuer, verifier)) : undefined;
        if (current(fresh)) {
          crl = fresh;
          break;
        }
      }
    }
    if (crl === undefined) return pkiFail(PkiCode.CrlUnavailable, `no CRL from ${issuer.subjectText} (add one with 'ikecert certrldb -a', or set use_http or ignore_crls)`, cert.subjectText);
    if (!current(crl)) return pkiFail(PkiCode.CrlUnavailable, `the CRL from ${issuer.subjectText} is out of date (next update ${new Date(crl.nextUpdate ?? 0).toISOString()})`, cert.subjectText);
    const when = crl.revoked.get(cert.serial);
    if (when !== undefined) {
      return pkiFail(PkiCode.Revoked, `certificate serial ${cert.serial} was revoked by ${issuer.subjectText} on ${new Date(when).toISOString()}`, cert.subjectText);
    }
    return { ok: true, value: undefined };
  }
}
