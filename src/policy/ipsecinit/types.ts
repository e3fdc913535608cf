/**
 * Typed form of `ipsecinit.conf` (illumos ipsecconf(8) syntax):
 *
 *   { pattern } action { properties } [ or action { properties } ]*
 *
 * e.g. `{ laddr 10.0.0.1 raddr 10.0.0.2 ulp tcp rport 23 } ipsec { encr_algs aes encr_auth_algs sha1 sa shared }`.
 * Addresses are prefixes; "any" fields are `null` (or 0 for ports) and match everything.
 */
import type { Prefix } from "../../kernel/address.js";

/** Which datagrams an entry applies to. */
export type PolicyDir = "in" | "out" | "both";

/** Actions: `pass` is read as `bypass`. `apply` is outbound-only ipsec, `permit` inbound-only. */
export type PolicyActionType = "ipsec" | "apply" | "permit" | "bypass" | "drop";

/** Mode the IPsec SAs of a tunnel entry use (`negotiate`). */
export type NegotiateMode = "tunnel" | "transport";

/** An inclusive number range (ICMP type or code). */
export interface NumberRange {
  min: number;
  max: number;
}

/** The `{ pattern }` of an entry. Local/remote are as seen from this host. */
export interface PolicyPattern {
  local: Prefix | null;
  remote: Prefix | null;
  /** 0 = any port. */
  localPort: number;
  remotePort: number;
  /** Upper-layer protocol number, or null for any. */
  ulp: number | null;
  icmpType: NumberRange | null;
  icmpCode: NumberRange | null;
  /** Tunnel interface name (`tunnel ip.tun0`), null for host policy. */
  tunnel: string | null;
  negotiate: NegotiateMode | null;
  dir: PolicyDir | null;
}

/**
 * One algorithm choice: `aes(128..256)`, `sha1`, `any(192..)`. `id` is the PF_KEY algorithm number
 * (kernel/algorithms.ts) or "any". Key bits: 0 means "no bound" on that side.
 */
export interface AlgorithmChoice {
  id: number | "any";
  /** The word as written, for messages. */
  name: string;
  minBits: number;
  maxBits: number;
}

/** One `action { properties }`. */
export interface PolicyAction {
  type: PolicyActionType;
  /** `auth_algs`: AH with this MAC. */
  ah: AlgorithmChoice | null;
  /** `encr_algs`: ESP with this cipher. */
  espEncr: AlgorithmChoice | null;
  /** `encr_auth_algs`: ESP with this MAC. */
  espAuth: AlgorithmChoice | null;
  sa: "shared" | "unique";
  dir: PolicyDir | null;
}

/** One policy entry of the file. */
export interface PolicyEntry {
  /** 1-based position in the file (ipsecconf's index). */
  index: number;
  file: string;
  /** Where the entry's '{' is (1-based), for messages that name the entry. */
  line: number;
  col: number;
  pattern: PolicyPattern;
  /** The action and its `or` alternatives, in file order (an initiator tries them in this order). */
  actions: PolicyAction[];
  /** Effective direction: pattern or property `dir`, else implied by the action. */
  dir: PolicyDir;
}

/** A parsed `ipsecinit.conf`. */
export interface IpsecPolicy {
  file: string;
  entries: PolicyEntry[];
}

/** Stable codes of policy file errors. */
export type PolicyErrorCode =
  | "IKE_ERR_POLICY_SYNTAX"
  | "IKE_ERR_POLICY_KEYWORD"
  | "IKE_ERR_POLICY_DUPLICATE"
  | "IKE_ERR_POLICY_VALUE"
  | "IKE_ERR_POLICY_CONFLICT"
  | "IKE_ERR_POLICY_HOSTNAME"
  | "IKE_ERR_POLICY_IO"
  | "IKE_ERR_POLICY_UNSUPPORTED"
  | "IKE_ERR_POLICY_TOO_MANY_ERRORS";

/** A policy file error with its position (1-based line and column). */
export interface PolicyError {
  code: PolicyErrorCode;
  message: string;
  file: string;
  line: number;
  col: number;
}

/** `file:line:col: message`, the form the daemon and `--check` print. */
export function formatPolicyError(e: PolicyError): string {
  return `${e.file}:${e.line}:${e.col}: ${e.message}`;
}
