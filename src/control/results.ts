/**
 * Result shapes of admin replies, shared by the daemon (which fills them) and `ikeadm` (which
 * prints them in the original's layout, or as JSON with `--json`). Plain data only, so they
 * cross the msgpack frame unchanged. Key bytes appear only in fields whose names end in `Hex`
 * (`PresharedView.keyHex`, `P1KeysView`, `SadbView.encKeyHex`/`authKeyHex`), and the daemon fills
 * them only at privilege level 2; `ikeadm -p` masks every such field.
 */
import type { DpdView } from "../ike/dpd-state.js";
import type { AddressSpec, IkeMode, P1Xform, PresharedId } from "../config/types.js";
import type { NegotiationCounts } from "../ike/negotiation-stats.js";
import type { EngineStats, P1Stats } from "../ike/stats.js";

/** `get debug` / `set debug`. */
export interface DebugResult {
  level: number;
  /** For set: the level before. */
  previous?: number;
  /** Where debug output goes now ("stderr" or a path). */
  destination: string;
}

/** `get priv` / `set priv`. */
export interface PrivResult {
  level: number;
  previous?: number;
}

/** One row of `get defaults`: compiled default and value in use. */
export interface DefaultsRow {
  /** ike.config keyword, or "-" when not tunable in the file. */
  token: string;
  unit: string;
  description: string;
  compiled: number;
  current: number;
}

/** `get defaults`. */
export interface DefaultsResult {
  /** The original door version this table mirrors (4). */
  version: number;
  rows: DefaultsRow[];
}

/** A rule as `get|dump rule` shows it: the rule plus the values it resolves to. */
export interface RuleView {
  label: string;
  /** Key-management cookie assigned to the label (stable while the daemon runs). */
  kmcookie: number;
  localIdType: number;
  localAddr: AddressSpec[];
  remoteAddr: AddressSpec[];
  localId?: string;
  remoteId: string[];
  p1Xforms: P1Xform[];
  /** True when p1Xforms come from the file-level list. */
  globalXforms: boolean;
  p1NonceLen: number;
  p2NonceLen: number;
  p2Pfs: number;
  p2LifetimeSecs?: number;
  p2SoftlifeSecs?: number;
  p2IdletimeSecs?: number;
  p2LifetimeKb?: number;
  p2SoftlifeKb?: number;
}

/** A pre-shared key entry as `get|dump preshared` shows it. */
export interface PresharedView {
  localId: PresharedId;
  remoteId: PresharedId;
  ikeMode: IkeMode;
  keyBits: number;
  /** Key bytes in hex; present only when the daemon runs at privilege keymat (2). */
  keyHex?: string;
}

/** `dump groups` row. */
export interface GroupView {
  value: number;
  strength: number;
  description: string;
}

/** `dump encralgs` row; keyMin/keyMax 0 when the key length is fixed. */
export interface EncrAlgView {
  value: number;
  name: string;
  keyMin: number;
  keyMax: number;
}

/** `dump authalgs` row. */
export interface AuthAlgView {
  value: number;
  name: string;
}

/** Any `dump`, and `get rule|preshared` (one item). */
export interface ListResult<T> {
  items: T[];
}

/** `read` / `write` / `add` / `del` outcome. */
export interface ChangeResult {
  /** File read or written, or the source name of an added definition. */
  file?: string;
  /** Rules or entries now live (read), written (write), added or deleted. */
  count: number;
  /** Non-fatal diagnostics (`file:line:col: warning: ...`). */
  warnings: string[];
}

/** `get stats` (filled by the exchange engine; the field names are the original's `ike_stats_t`). */
export interface StatsResult extends Partial<StatsExtension> {
  p1: P1Stats;
  /** Extension: engine counters the original does not have (printed only with `--json`). */
  engine?: EngineStats;
  /** PKCS#11 library in use, if one is loaded. */
  pkcs11Lib?: string;
  /** Extension: the kernel backend SAs go to (xfrm, pfkey or memory). */
  kernelBackend?: string;
  /**
   * Extension: the UDP sockets' counters (datagrams received, keepalives, ESP and runts dropped,
   * `verifiedReceived`: read from the IKE port's socket for datagrams with a responder cookie).
   */
  transport?: Record<string, number>;
}

/** One histogram series: its labels, observations, their sum and the count at or below each bound. */
export interface HistogramView {
  labels: Record<string, string>;
  count: number;
  sum: number;
  /** Upper bound (seconds, or "+Inf") to the number of observations at or below it. */
  buckets: Record<string, number>;
}

/**
 * Extension: what the metrics endpoint exports (src/metrics), in `get stats --json` for scripts
 * without Prometheus; the same counters, read at the same moment.
 */
export interface StatsExtension {
  /** Negotiations started, established and failed by phase, exchange, role and failure class. */
  negotiations: NegotiationCounts;
  /** Phase 1 exchanges in progress. */
  halfOpen: number;
  /** Kernel messages by type and direction, and failed requests by type and error. */
  kernel: { backend: string; sent: Record<string, number>; received: Record<string, number>; errors: { type: string; error: string; count: number }[] };
  /** The crypto pool: queue, batches, worker failures and restarts, requests by task. */
  pool: {
    threads: number; queued: number; running: number; dispatches: number; requests: number;
    workerFailures: number; workerErrors: number; workerRestarts: number; tasks: Record<string, number>;
  };
  /** Negotiation latency histograms (seconds): Phase 1, and Phase 1 + first Quick Mode. */
  latency: { phase1: HistogramView[]; negotiation: HistogramView[] };
  /** Where the metrics endpoint listens, or "off". */
  metrics: string;
}

/** A UDP endpoint in a reply. */
export interface EndpointView {
  address: string;
  port: number;
}

/** The negotiated Phase 1 transform (`XFORM:`); numbers are the RFC 2409 attribute values. */
export interface P1XformView {
  authMethod: number;
  encrAlg: number;
  /** Negotiated key length in bits (0 when the cipher has a fixed key). */
  keyBits: number;
  hashAlg: number;
  group: number;
  /** Phase 2 PFS group of the rule, 0 for none. */
  pfs: number;
  lifeSecs: number;
  lifeKb: number;
}

/**
 * Phase 1 keying material of one SA (the original's `KEY:` records), hex. Sent only when the
 * daemon runs at privilege keymat (2), from `Phase1Keymat.exportForKeymatPrivilege()`.
 */
export interface P1KeysView {
  skeyidHex: string;
  skeyidDHex: string;
  skeyidAHex: string;
  skeyidEHex: string;
  /** Ka, the Phase 1 encryption key. */
  encKeyHex: string;
  /** The Phase 1 CBC IV now (last block of the Phase 1 chain; Phase 2 IVs derive from it). */
  ivHex: string;
}

/**
 * One Phase 1 SA as `get|dump p1` shows it (the original's `ike_p1_sa_t`); `keys` only at
 * privilege keymat (2), once the keys are derived.
 */
export interface P1View {
  /** Cookies, 16 hex digits each. */
  icookie: string;
  rcookie: string;
  initiator: boolean;
  /** Display state: INITIALIZING, NEGOTIATING, ACTIVE, EXPIRED, DELETED. */
  state: string;
  /** ike.config rule label the SA was made under. */
  rule?: string;
  local: EndpointView;
  remote: EndpointView;
  /** Present once Phase 1 completed. */
  xform?: P1XformView;
  /** Creation and establishment times, ms since the epoch. */
  createdMs: number;
  establishedMs?: number;
  /** IPsec SAs negotiated by Quick Mode under this SA (`STATS:`). */
  qmCreated: number;
  /** Identities (`LOCID:`/`REMID:`), once known. */
  localId?: string;
  remoteId?: string;
  /** `KEY:` material; present only at privilege keymat (2). */
  keys?: P1KeysView;
  /** Dead Peer Detection (RFC 3706) state; times are ms since the epoch. */
  dpd?: DpdView;
  /** NAT traversal (`NATT:`, an extension), once both sides announced it. */
  natt?: P1NattView;
}

/** The NAT-T state of one Phase 1 SA (RFC 3947). */
export interface P1NattView {
  /** The version both sides announced: rfc3947, draft-03, draft-02n, draft-02. */
  version: string;
  /** Who NAT-D showed behind a NAT; undefined until NAT-D was read. */
  localBehindNat?: boolean;
  peerBehindNat?: boolean;
  /** The SA moved to the NAT-T port. */
  floated: boolean;
}

/** One SA of the kernel's SADB (`dump sadb`, an extension). */
export interface SadbView {
  src: string;
  dst: string;
  proto: string;
  /** SPI, 8 hex digits. */
  spi: string;
  mode: string;
  state: string;
  reqid: number;
  encAlg: number;
  encKeyBits: number;
  authAlg: number;
  authKeyBits: number;
  label: string;
  /** Key bytes in hex; only at privilege keymat (2). */
  encKeyHex?: string;
  authKeyHex?: string;
  /** ESP in UDP (NAT-T, RFC 3948): ports and the original address from NAT-OA. */
  encap?: { sport: number; dport: number; originalSrc?: string; originalDst?: string };
}

/** `dump sadb` (an extension): the kernel's SAs, read from the kernel, and which backend it is. */
export interface SadbResult extends ListResult<SadbView> {
  kernel?: string;
}

/** What `acquire` (an extension) did. */
export interface AcquireResult {
  /** ACQUIRE sequence number the kernel assigned (0 when none). */
  seq: number;
  /**
   * started | pending (an ACQUIRE for this flow is already being answered) | in-progress (a Quick
   * Mode for this traffic is under way) | no-ipsec-policy |
   * no-rule | bypass | drop | none | no-algorithms | not-registered
   */
  outcome: string;
  /** Where the engine initiates to, when it started. */
  peer?: EndpointView;
}

/**
 * `dump certcache` row (the door's ike_certcache_t): `linkage` -1 obtained via a CERT payload,
 * 0 public certificate only, 1 private key linked but locked (a token nobody is logged in to),
 * 2 private key available. `slot` and `token` are extensions (the store slot, the key's token).
 */
export interface CertCacheView {
  id: number;
  subject?: string;
  issuer?: string;
  trusted: boolean;
  linkage: -1 | 0 | 1 | 2;
  slot?: string;
  token?: string;
}

/** `flush certcache`: cached certificates dropped, and the store's reload warnings. */
export interface FlushCertCacheResult {
  flushed: number;
  warnings: string[];
}

/** `token login|logout`: how many of the store's private keys live on the token. */
export interface TokenResult {
  token: string;
  keys: number;
  /** Login: the token was logged in already, so PKCS#11 did not check the PIN. */
  already?: boolean;
}
