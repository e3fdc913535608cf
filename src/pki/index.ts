/**
 * Public API of the certificate layer (stage 2 wires it into the exchanges). Everything else in
 * src/pki is internal.
 */
export { parseCertificate, isSelfIssued, MAX_CERT_BYTES, type Certificate, type KeyFamily } from "./certificate.js";
export { parseCrl, MAX_CRL_BYTES, type Crl } from "./crl.js";
export { parseCertPayloads, type CertPayloadData } from "./cert-payloads.js";
export { validatePath, usageProblem, type CertUsage, type TrustAnchors, type ValidatedPath, type ValidationOptions } from "./chain.js";
export { CrlIndex, type CrlSource } from "./revocation.js";
export { CrlFetcher, parseProxy, type CrlFetchOptions } from "./crl-fetch.js";
export { inlineVerifier, poolVerifier, type SignatureVerifier, type SignedDataPool, type SignedItem } from "./verifier.js";
export { PkiCode, notifyFor, type PkiError, type PkiErrorCode, type PkiResult } from "./errors.js";
export { certIdentities, checkPeerIdentity, localIdentity, type IdentityData } from "./identity.js";
export { allMatch, identityAllowed, identityValueAllowed, parseSelector, selectorMatches, selectorMatchesId, type Selector } from "./selector.js";
export { decodeNameDer, formatName, parseDn, encodeName, namesEqual, dnMatches, type DistinguishedName } from "./name.js";
export {
  bindPrivateKeys, emptySnapshot, keyIdOf, loadPkiStore, type KeyBinding, type KeyRegistry, type PkiDirs, type PkiSnapshot,
  type StoredCert, type StoredCrl, type StoredKey,
} from "./store.js";
export { pkiConfigContext } from "./config-check.js";
export { LdapDirectory, ldapDn, type CertDirectory, type LdapOptions } from "./ldap.js";
export { CertCache, type CachedCert, type CertCacheOptions } from "./certcache.js";
export { trustFor } from "./trust.js";
export { PkiCredentials, type CredentialsOptions, type PeerDirectory } from "./phase1-credentials.js";
export { derObjects } from "./pem.js";
