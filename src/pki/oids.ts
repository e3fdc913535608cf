/**
 * Object identifiers used by the PKI code: DN attribute types (RFC 4519/5280 short names, as the
 * reference's DN syntax writes them), X.509v3 extensions (RFC 5280 §4.2), key and signature
 * algorithms (RFC 3279, 4055, 5758, 8410).
 */

/** DN attribute types by short name, and back. `E`/`EMAIL` are spellings of emailAddress. */
export const ATTRIBUTE_OIDS: ReadonlyMap<string, string> = new Map([
  ["CN", "2.5.4.3"],
  ["SN", "2.5.4.4"],
  ["SERIALNUMBER", "2.5.4.5"],
  ["C", "2.5.4.6"],
  ["L", "2.5.4.7"],
  ["ST", "2.5.4.8"],
  ["STREET", "2.5.4.9"],
  ["O", "2.5.4.10"],
  ["OU", "2.5.4.11"],
  ["T", "2.5.4.12"],
  ["TITLE", "2.5.4.12"],
  ["GN", "2.5.4.42"],
  ["G", "2.5.4.42"],
  ["INITIALS", "2.5.4.43"],
  ["DNQ", "2.5.4.46"],
  ["UID", "0.9.2342.19200300.100.1.1"],
  ["DC", "0.9.2342.19200300.100.1.25"],
  ["E", "1.2.840.113549.1.9.1"],
  ["EMAIL", "1.2.840.113549.1.9.1"],
  ["EMAILADDRESS", "1.2.840.113549.1.9.1"],
  ["UNSTRUCTUREDNAME", "1.2.840.113549.1.9.2"],
]);

/** The short name printed for an attribute OID (first spelling above wins, E for email). */
export const ATTRIBUTE_NAMES: ReadonlyMap<string, string> = new Map(
  [...ATTRIBUTE_OIDS].reverse().map(([name, oid]) => [oid, name === "EMAILADDRESS" || name === "EMAIL" ? "E" : name]),
);

/** Attributes whose values are PrintableString by convention (RFC 5280 Appendix A). */
export const PRINTABLE_ATTRIBUTES: ReadonlySet<string> = new Set(["2.5.4.6", "2.5.4.5", "2.5.4.46"]);
/** Attributes carried as IA5String. */
export const IA5_ATTRIBUTES: ReadonlySet<string> = new Set(["1.2.840.113549.1.9.1", "0.9.2342.19200300.100.1.25"]);

/** X.509v3 extensions this code reads. */
export const Ext = {
  subjectKeyIdentifier: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  issuerAltName: "2.5.29.18",
  basicConstraints: "2.5.29.19",
  cRLNumber: "2.5.29.20",
  reasonCode: "2.5.29.21",
  invalidityDate: "2.5.29.24",
  deltaCRLIndicator: "2.5.29.27",
  issuingDistributionPoint: "2.5.29.28",
  certificateIssuer: "2.5.29.29",
  nameConstraints: "2.5.29.30",
  cRLDistributionPoints: "2.5.29.31",
  certificatePolicies: "2.5.29.32",
  authorityKeyIdentifier: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
  freshestCRL: "2.5.29.46",
  authorityInfoAccess: "1.3.6.1.5.5.7.1.1",
} as const;

/** Extended key usages (RFC 5280 §4.2.1.12, RFC 4945 §5.1.3.12). */
export const Eku = {
  anyExtendedKeyUsage: "2.5.29.37.0",
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
  ipsecEndSystem: "1.3.6.1.5.5.7.3.5",
  ipsecTunnel: "1.3.6.1.5.5.7.3.6",
  ipsecUser: "1.3.6.1.5.5.7.3.7",
  ipsecIKE: "1.3.6.1.5.5.7.3.17",
} as const;

/** Subject public key algorithms. */
export const KeyAlg = {
  rsaEncryption: "1.2.840.113549.1.1.1",
  rsassaPss: "1.2.840.113549.1.1.10",
  dsa: "1.2.840.10040.4.1",
  ecPublicKey: "1.2.840.10045.2.1",
  ed25519: "1.3.101.112",
  ed448: "1.3.101.113",
} as const;

/** Hash algorithm OIDs (for RSASSA-PSS parameters). */
export const HASH_OIDS: ReadonlyMap<string, string> = new Map([
  ["1.3.14.3.2.26", "sha1"],
  ["2.16.840.1.101.3.4.2.4", "sha224"],
  ["2.16.840.1.101.3.4.2.1", "sha256"],
  ["2.16.840.1.101.3.4.2.2", "sha384"],
  ["2.16.840.1.101.3.4.2.3", "sha512"],
]);

/** MGF1 (RFC 8017 Appendix B.2.1). */
export const MGF1 = "1.2.840.113549.1.1.8";

/** Signature algorithms with a fixed hash: OID → key family and hash (`null`: the algorithm hashes itself). */
export const SIGNATURE_OIDS: ReadonlyMap<string, { family: "rsa" | "dsa" | "ecdsa" | "ed25519" | "ed448"; hash: string | null; name: string }> = new Map([
  ["1.2.840.113549.1.1.4", { family: "rsa", hash: "md5", name: "md5WithRSAEncryption" }],
  ["1.2.840.113549.1.1.5", { family: "rsa", hash: "sha1", name: "sha1WithRSAEncryption" }],
  ["1.2.840.113549.1.1.14", { family: "rsa", hash: "sha224", name: "sha224WithRSAEncryption" }],
  ["1.2.840.113549.1.1.11", { family: "rsa", hash: "sha256", name: "sha256WithRSAEncryption" }],
  ["1.2.840.113549.1.1.12", { family: "rsa", hash: "sha384", name: "sha384WithRSAEncryption" }],
  ["1.2.840.113549.1.1.13", { family: "rsa", hash: "sha512", name: "sha512WithRSAEncryption" }],
  ["1.2.840.10040.4.3", { family: "dsa", hash: "sha1", name: "dsa-with-sha1" }],
  ["2.16.840.1.101.3.4.3.1", { family: "dsa", hash: "sha224", name: "dsa-with-sha224" }],
  ["2.16.840.1.101.3.4.3.2", { family: "dsa", hash: "sha256", name: "dsa-with-sha256" }],
  ["1.2.840.10045.4.1", { family: "ecdsa", hash: "sha1", name: "ecdsa-with-SHA1" }],
  ["1.2.840.10045.4.3.1", { family: "ecdsa", hash: "sha224", name: "ecdsa-with-SHA224" }],
  ["1.2.840.10045.4.3.2", { family: "ecdsa", hash: "sha256", name: "ecdsa-with-SHA256" }],
  ["1.2.840.10045.4.3.3", { family: "ecdsa", hash: "sha384", name: "ecdsa-with-SHA384" }],
  ["1.2.840.10045.4.3.4", { family: "ecdsa", hash: "sha512", name: "ecdsa-with-SHA512" }],
  ["1.3.101.112", { family: "ed25519", hash: null, name: "Ed25519" }],
  ["1.3.101.113", { family: "ed448", hash: null, name: "Ed448" }],
]);

/** RSASSA-PSS signature algorithm (parameters carry the hash). */
export const RSASSA_PSS = KeyAlg.rsassaPss;
