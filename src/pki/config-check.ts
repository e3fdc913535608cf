/**
 * The certificate side of `in.iked -c` (and of startup and reload once stage 2 wires it): the
 * ike.config certificate keywords checked against the store, with `file:line:col` at the keyword,
 * and every rule whose authentication method cannot work with what is on disk refused.
 *
 * Keywords:
 *   cert_root    each selector must match a CA certificate in publickeys, with a CRL from it in
 *                crls unless ignore_crls or use_http
 *   cert_trust   each selector must match a certificate in publickeys
 *   ignore_crls, use_http, proxy, max_certs   acted on by validation (proxy: http:// only; a
 *                warning when use_http is not set)
 *   ldap_server  acted on by validation (ldap.ts: issuer certificates and CRLs from the directory)
 *   socks        refused: not implemented (no fetching through SOCKS)
 *   pkcs11_path  the library that reaches keys on tokens; a token key nobody is logged in to is
 *                warned about (it signs once `ikeadm token login` unlocks it)
 * Rules with dss_sig, rsa_sig or rsa_encrypt:
 *   a trust anchor must exist; local_id must match a certificate whose private key is in
 *   ike.privatekeys, of the method's key type, whose usage allows the method and which carries an
 *   identity of local_id_type; rsa_encrypt also needs the peer's certificate (matching remote_id)
 *   on disk, since the initiator encrypts to it in its first message.
 */
import type { ConfigContext, ConfigReporter, IkeGlobals, IkeRule, Pos, RuleSites } from "../config/index.js";
import { AuthMethod } from "../codec/attributes-constants.js";
import { idTypeName } from "../config/names.js";
import { IKE_DEFAULTS } from "../config/defaults.js";
import { usageProblem } from "./chain.js";
import { parseProxy } from "./crl-fetch.js";
import { localIdentity } from "./identity.js";
import { namesEqual } from "./name.js";
import { identityAllowed, parseSelector, selectorMatches, type Selector } from "./selector.js";
import type { KeyBinding, PkiSnapshot, StoredCert } from "./store.js";

const METHOD_WORD: Record<number, string> = { [AuthMethod.DssSignatures]: "dss_sig", [AuthMethod.RsaSignatures]: "rsa_sig", [AuthMethod.RsaEncryption]: "rsa_encrypt" };

function sel(text: string, at: Pos, what: string, report: ConfigReporter): Selector | undefined {
  const s = parseSelector(text);
  if (typeof s === "string") {
    report.error("IKE_ERR_CFG_BAD_VALUE", at, `${what}: ${s}`);
    return undefined;
  }
  return s;
}

const first = (sites: ReadonlyMap<string, readonly Pos[]>, k: string): Pos => sites.get(k)?.[0] ?? { line: 1, col: 1 };

/** A ConfigContext that checks ike.config against `snap` and the keys `bindings` registered. */
export function pkiConfigContext(snap: PkiSnapshot, bindings: readonly KeyBinding[]): ConfigContext {
  const matching = (s: Selector) => snap.certs.filter((c) => selectorMatches(s, c.cert, c.slot));
  return {
    checkGlobals(g: IkeGlobals, sites, report) {
      g.certRoot.forEach((text, i) => {
        const at = sites.get("cert_root")?.[i] ?? first(sites, "cert_root");
        const s = sel(text, at, "cert_root", report);
        if (!s) return;
        const roots = matching(s);
        if (roots.length === 0) return report.error("IKE_ERR_PKI_NO_CERT", at, `cert_root "${text}" matches no certificate in ${snap.dirs.publicKeysDir}`);
        for (const r of roots.filter((c) => !c.cert.ext.basicConstraints?.ca)) {
          report.error("IKE_ERR_PKI_NOT_CA", at, `cert_root "${text}" matches ${r.file} (${r.cert.subjectText}), which is not a CA certificate`);
        }
        if (!g.ignoreCrls && !g.useHttp) {
          for (const r of roots.filter((c) => !snap.crls.some((l) => namesEqual(l.crl.issuer, c.cert.subject)))) {
            report.error("IKE_ERR_PKI_NO_CRL", at, `no CRL from ${r.cert.subjectText} in ${snap.dirs.crlsDir}; add one with 'ikecert certrldb -a', or set use_http or ignore_crls`);
          }
        }
      });
      g.certTrust.forEach((text, i) => {
        const at = sites.get("cert_trust")?.[i] ?? first(sites, "cert_trust");
        const s = sel(text, at, "cert_trust", report);
        if (s && matching(s).length === 0) report.error("IKE_ERR_PKI_NO_CERT", at, `cert_trust "${text}" matches no certificate in ${snap.dirs.publicKeysDir}`);
      });
      for (const at of sites.get("socks") ?? []) {
        report.error("IKE_ERR_CFG_UNSUPPORTED", at, "socks: SOCKS proxies are not supported by this iked; use_http fetches CRLs directly or through an HTTP proxy");
      }
      if (g.proxy !== undefined) {
        const p = parseProxy(g.proxy);
        if (typeof p === "string") report.error("IKE_ERR_CFG_BAD_VALUE", first(sites, "proxy"), `proxy: ${p}`);
        else if (!g.useHttp) report.warn("IKE_ERR_CFG_IGNORED", first(sites, "proxy"), "proxy has no effect without use_http");
      }
      for (const b of bindings.filter((k) => k.token?.locked)) {
        report.warn("IKE_ERR_PKI_KEY_LOCKED", first(sites, "pkcs11_path"),
          `the private key in slot ${b.slot} is on PKCS#11 token "${b.token!.label}", which nobody is logged in to: it cannot sign until 'ikeadm token login "${b.token!.label}"' (or ikecert -p stores the PIN)`);
      }
      if (g.maxCerts === 0) report.warn("IKE_ERR_CFG_BAD_RANGE", first(sites, "max_certs"), "max_certs 0 accepts no certificate: certificate rules cannot work");
    },
    checkRule(rule: IkeRule, g: IkeGlobals, sites: RuleSites, report) {
      checkCertRule(rule, g, sites, report, snap, bindings, matching);
    },
  };
}

function checkCertRule(
  rule: IkeRule, g: IkeGlobals, sites: RuleSites, report: ConfigReporter, snap: PkiSnapshot, bindings: readonly KeyBinding[],
  matching: (s: Selector) => StoredCert[],
): void {
  // The transforms the rule uses: its own or the file's (validate.ts already refused mixing).
  const certMethods = [...new Set(sites.p1Xforms.map((x) => x.authMethod))].filter((m) => m !== AuthMethod.PreSharedKey);
  if (certMethods.length === 0) return;
  const at = sites.rule;
  const where = (m: number): Pos => sites.xforms[sites.p1Xforms.findIndex((x) => x.authMethod === m)] ?? at;
  if ((g.maxCerts ?? IKE_DEFAULTS.maxCerts) === 0) report.error("IKE_ERR_CFG_BAD_RANGE", at, "rule uses certificates but max_certs is 0");
  if (g.certRoot.length === 0 && g.certTrust.length === 0) {
    report.error("IKE_ERR_PKI_NO_ANCHOR", at, `rule "${rule.label}" uses certificates but the file has no cert_root or cert_trust, so no peer certificate can be trusted`);
  }
  const remote = rule.remoteId.map((t, i) => sel(t, sites.remoteId[i] ?? at, "remote_id", report));
  const localAt = sites.localId ?? at;
  const local = rule.localId === undefined ? undefined : sel(rule.localId, localAt, "local_id", report);
  if (local === undefined) return;
  const certs = matching(local);
  if (certs.length === 0) {
    report.error("IKE_ERR_PKI_NO_CERT", localAt, `local_id "${rule.localId}" matches no certificate in ${snap.dirs.publicKeysDir}`);
    return;
  }
  const withKey = certs.flatMap((c) => bindings.filter((b) => b.cert?.slot === c.slot).map((b) => ({ c, b })));
  if (withKey.length === 0) {
    report.error("IKE_ERR_PKI_NO_KEY", localAt, `no private key in ${snap.dirs.privateKeysDir} for the certificate matching local_id (slot ${certs.map((c) => c.slot).join(", ")})`);
    return;
  }
  const idType = rule.localIdType ?? g.localIdType ?? IKE_DEFAULTS.localIdType;
  for (const m of certMethods) {
    const keyType = m === AuthMethod.DssSignatures ? "dsa" : "rsa";
    const usage = m === AuthMethod.RsaEncryption ? "encryption" : "signature";
    const typed = withKey.filter(({ b }) => b.type === keyType);
    if (typed.length === 0) {
      report.error("IKE_ERR_PKI_KEY_TYPE", where(m), `${METHOD_WORD[m]} needs a ${keyType.toUpperCase()} key; the certificate matching local_id has ${withKey.map(({ b }) => `a ${b.type.toUpperCase()}`).join(", ")} key`);
      continue;
    }
    const usable = typed.filter(({ c }) => usageProblem(c.cert, usage) === undefined);
    if (usable.length === 0) {
      report.error("IKE_ERR_PKI_KEY_USAGE", where(m), `${METHOD_WORD[m]}: ${typed[0]!.c.file}: ${usageProblem(typed[0]!.c.cert, usage)}`);
      continue;
    }
    const ids = usable.map(({ c }) => localIdentity(c.cert, idType, local));
    const bad = ids.find((r) => !r.ok);
    if (bad && !ids.some((r) => r.ok) && !bad.ok) {
      report.error("IKE_ERR_PKI_ID_TYPE", localAt, `local_id_type ${idTypeName(idType)}: ${bad.error.message} (${usable[0]!.c.file})`);
    }
    const now = Date.now();
    for (const { c } of usable.filter(({ c }) => now > c.cert.notAfter || now < c.cert.notBefore)) {
      report.warn("IKE_ERR_PKI_EXPIRED", localAt, `${c.file} (${c.cert.subjectText}) is outside its validity period`);
    }
    if (m === AuthMethod.RsaEncryption) {
      const selectors = remote.filter((s): s is Selector => s !== undefined);
      const peers = snap.certs.filter((c) => !certs.includes(c) && !c.cert.ext.basicConstraints?.ca && selectors.some((s) => s.kind !== "any") && identityAllowed(selectors, c.cert));
      if (peers.length === 0) {
        report.error("IKE_ERR_PKI_NO_PEER_CERT", where(m), `rsa_encrypt: the peer's certificate must be in ${snap.dirs.publicKeysDir} before the exchange; none matches remote_id`);
      }
    }
  }
}
