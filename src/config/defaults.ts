/**
 * Compiled defaults (what `ikeadm get defaults` reports when the file sets nothing). Values the
 * reference documents are marked; the rest the original never published, so these are ours.
 */
import { IdType } from "../codec/constants.js";

/** Daemon defaults for every tunable of ike.config. */
export const IKE_DEFAULTS = {
  /** Documented: 300 s. */
  expireTimer: 300,
  /** Documented: 5. */
  retryLimit: 5,
  /** Documented: 0.5 s. */
  retryTimerInit: 0.5,
  /** Documented: 30 s. */
  retryTimerMax: 30,
  /** Documented: `libpkcs11.so`. */
  pkcs11Path: "libpkcs11.so",
  /** Observed on the wire from Solaris peers: 8 h. */
  p1LifetimeSecs: 28800,
  /** Ours (the original's is unpublished): smallest `p1_lifetime_secs` the parser accepts. */
  p1MinLifetimeSecs: 60,
  /** Ours: 20 bytes (160 bits, above RFC 2409's 8-byte minimum for all our PRFs). */
  p1NonceLen: 20,
  /** Ours: as Phase 1. */
  p2NonceLen: 20,
  /** Ours: no PFS unless configured. */
  p2Pfs: 0,
  /** Ours: certificates accepted in one exchange. */
  maxCerts: 16,
  /** Documented: preshared rules present an IPv4 address by default. */
  localIdType: IdType.ID_IPV4_ADDR,
  /** Ours (extension): Dead Peer Detection off unless configured, as strongSwan and Libreswan. */
  dpdIntervalSecs: 0,
  /** Ours (extension): unanswered R-U-THEREs before a peer is dead. */
  dpdRetries: 5,
  /** IKE port. */
  ikePort: 500,
  /** NAT traversal port. */
  nattPort: 4500,
  /** Documented: default LDAP port. */
  ldapPort: 389,
} as const;
