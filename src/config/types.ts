/**
 * Typed, validated objects produced by the `ike.config` and `ike.preshared` parsers.
 *
 * Conventions:
 * - Numbers that go on the wire keep their RFC values (RFC 2409 Appendix A attribute classes,
 *   RFC 2407 §4.6.2.1 identification types); the word tables live in `names.ts`.
 * - A field that the file did not set is absent (never `undefined`-valued), so that
 *   parse → write → parse yields deep-equal objects. Defaults are applied by `resolveRule()`.
 * - Addresses are canonical text (dotted quad, RFC 5952 IPv6), so objects stay serialisable.
 */
import type { MetricsSetting } from "./metrics-address.js";

/** IP address family. */
export type Family = 4 | 6;

/**
 * One `IPaddr/prefix/range` form of ike.config (`local_addr`, `remote_addr`) or an IP
 * identity of ike.preshared. A `/ADDR` netmask is stored as its prefix length.
 */
export type AddressSpec =
  | { readonly kind: "single"; readonly family: Family; readonly addr: string }
  | { readonly kind: "prefix"; readonly family: Family; readonly addr: string; readonly prefixLen: number }
  | { readonly kind: "range"; readonly family: Family; readonly start: string; readonly end: string };

/** AES key-length restriction `aes(low..high)`, in bits (each 128, 192 or 256). */
export interface KeyLengthRange {
  readonly low: number;
  readonly high: number;
}

/** One `p1_xform { ... }`: a Phase 1 proposal (RFC 2409 Appendix A values). */
export interface P1Xform {
  /** Authentication method, attribute class 3 (preshared 1, dss_sig 2, rsa_sig 3, rsa_encrypt 4). */
  readonly authMethod: number;
  /** Oakley group description, attribute class 4. */
  readonly oakleyGroup: number;
  /** Encryption algorithm, attribute class 1 (des 1, blowfish 3, 3des 5, aes 7). */
  readonly encrAlg: number;
  /** Key-length restriction; only present for AES with an explicit `(low..high)`. */
  readonly encrKeyLen?: KeyLengthRange;
  /** Hash algorithm, attribute class 2 (md5 1, sha1 2, sha256 4, sha384 5, sha512 6). */
  readonly authAlg: number;
  /** Per-transform Phase 1 lifetime in seconds. */
  readonly p1LifetimeSecs?: number;
}

/** One `{ ... }` rule of ike.config, as written (defaults not applied). */
export interface IkeRule {
  /** Unique rule name, at most 255 bytes. */
  readonly label: string;
  /** Local addresses the rule covers (at least one). */
  readonly localAddr: readonly AddressSpec[];
  /** Peer addresses the rule covers (at least one). */
  readonly remoteAddr: readonly AddressSpec[];
  /** Phase 1 identity type this host presents (RFC 2407 ID type number). */
  readonly localIdType?: number;
  /** Certificate selector choosing the local certificate/identity (first one in the rule wins). */
  readonly localId?: string;
  /** Certificate selectors of acceptable peer identities; `""` means any. */
  readonly remoteId: readonly string[];
  /** The rule's own Phase 1 proposals, in proposal order; empty = use the global list. */
  readonly p1Xforms: readonly P1Xform[];
  readonly p2Pfs?: number;
  readonly p2LifetimeSecs?: number;
  readonly p2SoftlifeSecs?: number;
  readonly p2IdletimeSecs?: number;
  readonly p2LifetimeKb?: number;
  readonly p2SoftlifeKb?: number;
  /** Extension: the peer's IKE UDP port when initiating (default 500). */
  readonly remotePort?: number;
  /** Extension (RFC 3706): idle seconds before a DPD R-U-THERE; 0 turns DPD off. */
  readonly dpdIntervalSecs?: number;
  /** Extension (RFC 3706): unanswered R-U-THEREs before the peer is dead. */
  readonly dpdRetries?: number;
}

/** An LDAP server of `ldap_server "host[:port],..."`. */
export interface LdapServer {
  readonly host: string;
  /** Defaults to 389 when the file gives none. */
  readonly port: number;
}

/** File-level parameters: globals (§3) and the defaults rules and transforms inherit (§4). */
export interface IkeGlobals {
  readonly certRoot: readonly string[];
  readonly certTrust: readonly string[];
  readonly expireTimer?: number;
  readonly ignoreCrls: boolean;
  readonly ldapServer: readonly LdapServer[];
  readonly pkcs11Path?: string;
  readonly retryLimit?: number;
  readonly retryTimerInit?: number;
  readonly retryTimerMax?: number;
  readonly proxy?: string;
  readonly socks?: string;
  readonly useHttp: boolean;
  readonly maxCerts?: number;
  readonly p1LifetimeSecs?: number;
  readonly p1NonceLen?: number;
  readonly p2LifetimeSecs?: number;
  readonly p2SoftlifeSecs?: number;
  readonly p2IdletimeSecs?: number;
  readonly p2LifetimeKb?: number;
  readonly p2SoftlifeKb?: number;
  readonly p2NonceLen?: number;
  readonly p2Pfs?: number;
  readonly localIdType?: number;
  /**
   * Extension: percent of the crypto pool's threads that DH for peers which have not returned our
   * cookie (Aggressive Mode responders) may occupy (default 50).
   */
  readonly unverifiedDhShare?: number;
  /** Extension: where the metrics endpoint listens (`metrics`); absent means off. */
  readonly metrics?: MetricsSetting;
  /** Extension (RFC 3706): default of the rules' `dpd_interval_secs` (0, DPD off, when absent). */
  readonly dpdIntervalSecs?: number;
  /** Extension (RFC 3706): default of the rules' `dpd_retries` (5 when absent). */
  readonly dpdRetries?: number;
}

/** A whole ike.config file. */
export interface IkeConfig {
  readonly globals: IkeGlobals;
  /** File-level `p1_xform` list, used by rules that have none of their own. */
  readonly p1Xforms: readonly P1Xform[];
  /** Rules in file order. */
  readonly rules: readonly IkeRule[];
}

/** A rule with file-level defaults and compiled defaults applied (see `resolveRule`). */
export interface ResolvedRule {
  readonly rule: IkeRule;
  readonly localIdType: number;
  readonly p1Xforms: readonly P1Xform[];
  readonly p1NonceLen: number;
  readonly p2NonceLen: number;
  readonly p2Pfs: number;
  /** Absent: take the lifetime the kernel proposed in the ACQUIRE. */
  readonly p2LifetimeSecs?: number;
  /** Present exactly when `p2LifetimeSecs` is: as configured, else 90% of the hard lifetime. */
  readonly p2SoftlifeSecs?: number;
  readonly p2IdletimeSecs?: number;
  readonly p2LifetimeKb?: number;
  /** Present exactly when `p2LifetimeKb` is: as configured, else 90% of it. */
  readonly p2SoftlifeKb?: number;
  readonly remotePort: number;
  /** Dead Peer Detection (RFC 3706): idle seconds before an R-U-THERE; 0 = no DPD vendor ID, no probes. */
  readonly dpdIntervalSecs: number;
  /** Unanswered R-U-THEREs, `dpdIntervalSecs` apart, before the peer is declared dead. */
  readonly dpdRetries: number;
}

/** Which Phase 1 exchange a pre-shared key serves. */
export type IkeMode = "main" | "aggressive" | "both";

/**
 * An identity of ike.preshared. IP forms carry an address; name forms (FQDN, USER_FQDN, DN,
 * GN, KEY_ID) carry the text. An `ip` id written with `/N` becomes the matching *_SUBNET type.
 */
export type PresharedId =
  | { readonly type: number; readonly addr: AddressSpec }
  | { readonly type: number; readonly name: string };

/** One `{ ... }` entry of ike.preshared. The key never appears in any message. */
export interface PresharedEntry {
  readonly localId: PresharedId;
  readonly remoteId: PresharedId;
  readonly ikeMode: IkeMode;
  /** Key bytes; bits past `keyBits` in the last byte are zero. */
  readonly key: Buffer;
  /** Exact key length in bits. */
  readonly keyBits: number;
}

/** Problem severity: errors make the file invalid; warnings (e.g. ignored duplicates) do not. */
export type Severity = "error" | "warning";

/**
 * One problem found in a file, with a 1-based position (line 0, col 0: the whole file, e.g. an
 * I/O or permission problem). Messages never contain secrets.
 */
export interface ConfigDiagnostic {
  /** Stable code, `IKE_ERR_CFG_*` or `IKE_ERR_PSK_*`. */
  readonly code: string;
  readonly severity: Severity;
  readonly file: string;
  readonly line: number;
  readonly col: number;
  /** Human text without the `file:line:col:` prefix (see `formatDiagnostic`). */
  readonly message: string;
}

/**
 * Outcome of parsing a file. `value` always holds what could be validated (invalid rules or
 * entries left out), so a daemon run with `ignore_errors` can still load it; `ok` is true
 * when there are no error-severity diagnostics.
 */
export interface ParseResult<T> {
  readonly ok: boolean;
  readonly value: T;
  readonly diagnostics: readonly ConfigDiagnostic[];
}
