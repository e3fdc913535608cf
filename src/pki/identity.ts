/**
 * Phase 1 identities and certificates (RFC 2407 §4.6.2.1, RFC 4945 §3): which ID payloads a
 * certificate can back, the one to present for a rule's `local_id_type`, and whether a received ID
 * payload names something the peer's certificate carries. Pure functions; the exchange (stage 2)
 * sends INVALID-ID-INFORMATION for `IKE_ERR_PKI_ID_MISMATCH` (errors.ts).
 */
import { IdType } from "../codec/constants.js";
import type { Certificate } from "./certificate.js";
import { DerError } from "./der.js";
import { PkiCode, pkiFail, type PkiResult } from "./errors.js";
import { addressCovers } from "../config/address.js";
import { decodeNameDer, formatName, globMatch, namesEqual } from "./name.js";
import { ipValueOf, type Selector } from "./selector.js";

/** An ID payload's type and identification data. */
export interface IdentityData {
  readonly idType: number;
  readonly data: Buffer;
}

/** Every identity the certificate backs: its subject DN (when not empty) and each subjectAltName. */
export function certIdentities(cert: Certificate): IdentityData[] {
  const san = cert.ext.subjectAltName;
  const out: IdentityData[] = [];
  if (cert.subject.rdns.length > 0) out.push({ idType: IdType.ID_DER_ASN1_DN, data: cert.subject.der });
  for (const ip of san.ip) out.push({ idType: ip.length === 4 ? IdType.ID_IPV4_ADDR : IdType.ID_IPV6_ADDR, data: ip });
  for (const d of san.dns) out.push({ idType: IdType.ID_FQDN, data: Buffer.from(d, "latin1") });
  for (const e of san.email) out.push({ idType: IdType.ID_USER_FQDN, data: Buffer.from(e, "latin1") });
  return out;
}

const NAMES: Record<number, string> = {
  [IdType.ID_DER_ASN1_DN]: "a subject DN",
  [IdType.ID_IPV4_ADDR]: "a subjectAltName IPv4 address",
  [IdType.ID_IPV6_ADDR]: "a subjectAltName IPv6 address",
  [IdType.ID_FQDN]: "a subjectAltName DNS name",
  [IdType.ID_USER_FQDN]: "a subjectAltName e-mail address",
};

/** Whether a `local_id` term (`IP=`, `DNS=`, `EMAIL=`) names this identity value. */
function picks(sel: Selector, id: IdentityData): boolean {
  const text = id.data.toString("latin1");
  switch (sel.kind) {
    case "ip":
      return (id.idType === IdType.ID_IPV4_ADDR || id.idType === IdType.ID_IPV6_ADDR) && addressCovers(sel.spec, ipValueOf(id.data));
    case "dns":
      return id.idType === IdType.ID_FQDN && globMatch(sel.value, text);
    case "email":
      return id.idType === IdType.ID_USER_FQDN && globMatch(sel.value, text);
    default:
      return false;
  }
}

/**
 * The ID payload to present with `cert` for a rule's `local_id_type` (an RFC 2407 ID type). When
 * `localId` names one of several values of that type (`DNS=gw2.example.net`), that value is
 * chosen; otherwise the first the certificate carries. Types a certificate cannot back (subnets,
 * ranges, ID_DER_ASN1_GN, ID_KEY_ID) and absent values are `IKE_ERR_PKI_ID_MISMATCH`.
 */
export function localIdentity(cert: Certificate, idType: number, localId?: Selector): PkiResult<IdentityData> {
  const all = certIdentities(cert).filter((i) => i.idType === idType);
  if (all.length === 0) {
    const what = NAMES[idType];
    return pkiFail(PkiCode.IdMismatch, what ? `certificate carries no ${what.replace(/^an? /, "")}` : `ID type ${idType} cannot be backed by a certificate`, cert.subjectText);
  }
  if (localId !== undefined && localId.kind !== "any") {
    const picked = all.find((id) => picks(localId, id));
    if (picked) return { ok: true, value: picked };
  }
  return { ok: true, value: all[0]! };
}

const ascii = (b: Buffer) => b.toString("latin1").toLowerCase().replace(/\.$/, "");

/**
 * Checks a received Phase 1 ID payload against the peer's (validated) certificate: the DN must
 * equal the subject or a subjectAltName directoryName; an FQDN, USER_FQDN or address must appear
 * in subjectAltName (FQDN and mailbox compared case-insensitively). Anything else is
 * `IKE_ERR_PKI_ID_MISMATCH`.
 */
export function checkPeerIdentity(id: IdentityData, cert: Certificate): PkiResult<void> {
  const san = cert.ext.subjectAltName;
  const ok = { ok: true as const, value: undefined };
  const no = (what: string) => pkiFail(PkiCode.IdMismatch, `ID payload ${what} is not in the certificate`, cert.subjectText);
  switch (id.idType) {
    case IdType.ID_DER_ASN1_DN: {
      let dn;
      try {
        dn = decodeNameDer(id.data);
      } catch (err) {
        if (err instanceof DerError || err instanceof RangeError) return pkiFail(PkiCode.IdMismatch, `ID_DER_ASN1_DN does not decode: ${err.message}`, cert.subjectText);
        throw err;
      }
      return namesEqual(dn, cert.subject) || san.dn.some((n) => namesEqual(dn, n)) ? ok : no(`DN "${formatName(dn)}"`);
    }
    case IdType.ID_FQDN:
      return san.dns.some((d) => ascii(Buffer.from(d, "latin1")) === ascii(id.data)) ? ok : no(`FQDN "${id.data.toString("latin1")}"`);
    case IdType.ID_USER_FQDN:
      return san.email.some((e) => e.toLowerCase() === id.data.toString("latin1").toLowerCase()) ? ok : no(`USER_FQDN "${id.data.toString("latin1")}"`);
    case IdType.ID_IPV4_ADDR:
    case IdType.ID_IPV6_ADDR:
      return san.ip.some((ip) => ip.equals(id.data)) ? ok : no(`address ${id.data.toString("hex")}`);
    default:
      return pkiFail(PkiCode.IdMismatch, `ID type ${id.idType} cannot be checked against a certificate`, cert.subjectText);
  }
}
