/**
 * The kernel boundary: the IPsec SA database as the IKE daemon sees it, with PF_KEY v2 meaning
 * (RFC 2367). Every request, response and event is plain data (strings, numbers, Buffers), so the
 * same interface can be served by the in-memory SADB (memory.ts), a PF_KEY backend, an XFRM netlink
 * backend, or a privileged helper on the far side of a message channel (see messages.ts).
 *
 *   daemon → kernel   GETSPI   larval SA with a fresh SPI            getSpi()
 *                     UPDATE   larval → mature (keys, lifetimes)     update()
 *                     ADD      new mature SA (outbound)              add()
 *                     UPDATE   a mature SA's UDP encapsulation       updateEncap()
 *                     DELETE / GET / FLUSH / DUMP                    delete() get() flush() dump()
 *                     REGISTER supported algorithms                  register()
 *   kernel → daemon   ACQUIRE  outbound traffic found no SA          "acquire" event
 *                     EXPIRE   soft or hard lifetime reached         "expire" event
 *                     DELETE / FLUSH by someone else                 "delete" / "flush" events
 *   backend → daemon  events lost (the event socket overran or failed)  "lost" event
 *
 * What only some backends can do is an optional member, and callers test for the member, never
 * for a class: `acquire` (raise an ACQUIRE on request, as the in-memory SADB does for `ikeadm
 * acquire`), the SPD (`installPolicies`, `removePolicies`, `dumpPolicies`: a real kernel's policy
 * database, spd.ts) and `rejectAcquire` (PF_KEY's negative answer to an ACQUIRE).
 *
 * Keys travel as Buffers. A backend copies them into its own storage; the caller keeps and wipes its
 * own copy. No response carries key bytes unless the caller asked with `includeKeys` (the daemon does
 * so only at privilege level 2 for `ikeadm dump`-style requests).
 */
import type { SaProto } from "./algorithms.js";
import type { SupportedAlgorithms } from "./algorithms.js";
import type { SpdEntry, SpdInstallReport, SpdPolicy } from "./spd-types.js";
import type { SaMode, TrafficSelector } from "./traffic.js";

export type { SaMode, TrafficSelector } from "./traffic.js";

export type { SaProto, SupportedAlgorithms } from "./algorithms.js";

/**
 * The reqid of every SA the daemon installs and of every policy template it puts in a real kernel
 * ("iced" below PF_KEY's IPSEC_MANUAL_REQID_MAX, 0x3fff, so Linux PF_KEY keeps it as given). Kernel
 * SAs match templates by reqid, so the daemon's SAs serve only the daemon's policies; and it tags
 * them: a restarted daemon removes the SAs with this reqid that a previous run left (the SPD's
 * priority band tags its policies the same way, spd.ts).
 */
export const IKED_REQID = 0x3ced;


/** SA state (RFC 2367 §2.3.1 `SADB_SASTATE_*`). */
export type SaState = "larval" | "mature" | "dying" | "dead";

/**
 * One lifetime (RFC 2367 §2.3.2 `sadb_lifetime`). 0 in a field means "no limit".
 * `addSeconds` counts from creation, `useSeconds` from first use, `idleSeconds` from the last use
 * (illumos `SADB_X_EXT_LIFETIME_IDLE`, what ike.config's `p2_idletime_secs` sets).
 */
export interface Lifetime {
  allocations: number;
  bytes: number;
  addSeconds: number;
  useSeconds: number;
  idleSeconds: number;
}

/** Hard and soft lifetimes as the caller gives them: missing fields mean no limit. */
export interface LifetimesSpec {
  hard?: Partial<Lifetime>;
  soft?: Partial<Lifetime>;
}

/** UDP encapsulation of ESP for NAT traversal (RFC 3948): the UDP ports and the original addresses. */
export interface UdpEncap {
  sport: number;
  dport: number;
  /** NAT-OA: the peer's address before translation, for transport-mode checksum fix-up. */
  originalSrc?: string;
  originalDst?: string;
}

/** New UDP ports for a mature SA's encapsulation (NAT-T: the peer's NAT mapping changed). */
export interface EncapPorts {
  sport: number;
  dport: number;
}

/**
 * What {@link Kernel.updateEncap} did: `updated`, the SA with its new ports; `gone`, the kernel holds
 * no such SA (it expired or was deleted a moment before: ESRCH/ENOENT, or found dead), which is no
 * refusal. Every backend answers `gone` the same way, so callers never read error codes for it.
 */
export type EncapUpdate = { readonly kind: "updated"; readonly sa: SaInfo } | { readonly kind: "gone" };

/** An address with a port (0 = any): the endpoints of traffic in an ACQUIRE. */
export interface Endpoint {
  address: string;
  port: number;
}

/** What the caller hands to ADD and UPDATE. */
export interface SaSpec {
  src: string;
  dst: string;
  proto: SaProto;
  spi: number;
  mode: SaMode;
  /** Ties the SA to a policy template (XFRM reqid); 0 = none. */
  reqid?: number;
  /** SPI of the SA in the other direction (illumos `SADB_X_EXT_PAIR`); 0 = none. */
  pairSpi?: number;
  encAlg?: number;
  encKey?: Buffer;
  authAlg?: number;
  authKey?: Buffer;
  compAlg?: number;
  /** Anti-replay window in packets (`sadb_sa_replay`, 0..255); 0 disables the check. */
  replayWindow?: number;
  lifetimes?: LifetimesSpec;
  encap?: UdpEncap;
  selector?: TrafficSelector;
  /** Key-management cookie (illumos `SADB_X_EXT_KM_COOKIE`): the ike.config rule's cookie. */
  kmCookie?: number;
  /** Human label of the rule that created the SA (not sent to the kernel by every backend). */
  label?: string;
  /** Sequence number of the ACQUIRE this SA answers (`sadb_msg_seq`); 0 = none. */
  seq?: number;
}

/** Traffic counters of an SA (`SADB_EXT_LIFETIME_CURRENT`). Times are clock milliseconds. */
export interface SaCounters {
  bytes: number;
  packets: number;
  allocations: number;
  addTime: number;
  /** First use, or null if the SA has carried nothing yet. */
  useTime: number | null;
  /** Last use, or null if the SA has carried nothing yet. */
  lastUseTime: number | null;
}

/** An SA as the kernel reports it. Keys only when the request set `includeKeys`. */
export interface SaInfo {
  src: string;
  dst: string;
  proto: SaProto;
  spi: number;
  mode: SaMode;
  state: SaState;
  reqid: number;
  pairSpi: number;
  encAlg: number;
  encKeyBits: number;
  authAlg: number;
  authKeyBits: number;
  compAlg: number;
  replayWindow: number;
  hard: Lifetime;
  soft: Lifetime;
  encap: UdpEncap | null;
  selector: TrafficSelector | null;
  kmCookie: number;
  label: string;
  seq: number;
  counters: SaCounters;
  /** Copies of the key bytes, present only with `includeKeys`. */
  keys?: { enc: Buffer | null; auth: Buffer | null };
}

/** SPI range for GETSPI (`SADB_EXT_SPIRANGE`), inclusive. */
export interface SpiRange {
  min: number;
  max: number;
}

/** Extra GETSPI fields: the ACQUIRE sequence number, mode and reqid of the SA to come. */
export interface GetSpiOptions {
  seq?: number;
  mode?: SaMode;
  reqid?: number;
}

/** Whether a read returns key bytes. Set only for level-2 (key-reading) administrators. */
export interface KeyOptions {
  includeKeys?: boolean;
}

/** DUMP filters. */
export interface DumpOptions extends KeyOptions {
  reqid?: number;
}

/**
 * One algorithm combination a policy allows (illumos extended ACQUIRE `X_EPROP`, RFC 2367 §2.3.7
 * `sadb_comb`): what the IKE initiator turns into a Phase 2 proposal.
 */
export interface AcquireCombination {
  proto: "esp" | "ah";
  encAlg: number;
  encMinBits: number;
  encMaxBits: number;
  authAlg: number;
  authMinBits: number;
  authMaxBits: number;
}

/** The policy that needed an SA: its index in the SPD, its selector and algorithm combinations. */
export interface AcquirePolicy {
  index: number;
  selector: TrafficSelector | null;
  combinations: AcquireCombination[];
}

/** What {@link Kernel.acquire} needs: the traffic that found no SA and the policy that asked for one. */
export interface AcquireRequest {
  src: Endpoint;
  dst: Endpoint;
  ulp?: number;
  proto?: SaProto;
  mode?: SaMode;
  policy?: Partial<AcquirePolicy>;
}

/** ACQUIRE: outbound traffic matched an IPsec policy and found no SA. */
export interface AcquireEvent {
  type: "acquire";
  /** Copy into the GETSPI/UPDATE/ADD that answers it. */
  seq: number;
  src: Endpoint;
  dst: Endpoint;
  /** Upper-layer protocol of the traffic (6 TCP, 17 UDP ...), 0 if unknown. */
  ulp: number;
  proto: SaProto;
  mode: SaMode;
  policy: AcquirePolicy;
  /**
   * Addresses of the SA the kernel wants, when a real kernel says: a tunnel-mode template's
   * endpoints (the peer to negotiate with), else the traffic's own. Absent from the in-memory SADB.
   */
  endpoints?: { src: string; dst: string };
}

/** Why a lifetime fired. `larval`: a GETSPI SA was never updated. */
export type ExpireReason = "addtime" | "usetime" | "idle" | "bytes" | "allocations" | "larval";

/** EXPIRE: a soft lifetime (renegotiate) or hard lifetime (SA gone) was reached. */
export interface ExpireEvent {
  type: "expire";
  kind: "soft" | "hard";
  reason: ExpireReason;
  /** The SA at the moment it fired, without keys; after a hard expire its state is "dead". */
  sa: SaInfo;
}

/**
 * DELETE by someone other than this daemon (an administrator's `ip xfrm state delete`, another key
 * manager): the SA is gone. Real kernels report it; the in-memory SADB has no one else to do it.
 */
export interface DeleteEvent {
  type: "delete";
  src: string;
  dst: string;
  proto: SaProto;
  spi: number;
}

/** FLUSH by someone other than this daemon: every SA (of `proto`, or of every protocol when null) is gone. */
export interface FlushEvent {
  type: "flush";
  proto: SaProto | null;
}

/**
 * Events lost: the backend's event socket overran (ENOBUFS: the kernel dropped notices because the
 * receive queue was full), a message was cut short, or the socket failed. Any EXPIRE, DELETE,
 * FLUSH or ACQUIRE may be among the missing; the daemon dumps the SAs and reconciles (resync.ts).
 * Real kernels only: the in-memory SADB loses nothing.
 */
export interface LostEvent {
  type: "lost";
  cause: "overrun" | "error";
  /** What the socket said (an error code and message), for the log. */
  detail: string;
}

/** Everything the kernel tells the daemon unasked. */
export type KernelEvent = AcquireEvent | ExpireEvent | DeleteEvent | FlushEvent | LostEvent;

/**
 * The kernel's key-management interface. Methods reject with `KernelError` (codes in errors.ts) and
 * never with key bytes in the message.
 */
export interface Kernel {
  /** GETSPI: reserves an SPI unique for (dst, proto), from `range` (never 0..255), as a larval SA. */
  getSpi(src: string, dst: string, proto: SaProto, range?: SpiRange, options?: GetSpiOptions): Promise<SaInfo>;
  /** UPDATE: completes a larval SA from GETSPI (or changes the lifetimes of a mature one). */
  update(sa: SaSpec): Promise<SaInfo>;
  /** ADD: installs a new mature SA. */
  add(sa: SaSpec): Promise<SaInfo>;
  /**
   * UPDATE of a mature ESP SA's UDP encapsulation to new `ports` (RFC 3947 section 7: the peer's NAT
   * mapping changed). The SA keeps its keys, lifetimes, counters and NAT-OA address. Resolves
   * `gone` for an SA the kernel does not hold (any more); rejects with EINVAL for an SA without UDP
   * encapsulation (none can be added to a mature SA) or a larval one.
   */
  updateEncap(src: string, dst: string, proto: SaProto, spi: number, ports: EncapPorts): Promise<EncapUpdate>;
  /** DELETE: removes an SA and wipes its keys. */
  delete(src: string, dst: string, proto: SaProto, spi: number): Promise<void>;
  /** GET: one SA. */
  get(src: string, dst: string, proto: SaProto, spi: number, options?: KeyOptions): Promise<SaInfo>;
  /** FLUSH: removes every SA (of one protocol); returns how many went. */
  flush(proto?: SaProto): Promise<number>;
  /** DUMP: every SA (of one protocol). */
  dump(proto?: SaProto, options?: DumpOptions): Promise<SaInfo[]>;
  /** REGISTER: announces a key manager for `proto` (ACQUIREs for it are sent from now on). */
  register(proto: SaProto): Promise<SupportedAlgorithms>;
  on(event: "acquire", listener: (event: AcquireEvent) => void): this;
  on(event: "expire", listener: (event: ExpireEvent) => void): this;
  on(event: "delete", listener: (event: DeleteEvent) => void): this;
  on(event: "flush", listener: (event: FlushEvent) => void): this;
  on(event: "lost", listener: (event: LostEvent) => void): this;
  off(event: "acquire", listener: (event: AcquireEvent) => void): this;
  off(event: "expire", listener: (event: ExpireEvent) => void): this;
  off(event: "delete", listener: (event: DeleteEvent) => void): this;
  off(event: "flush", listener: (event: FlushEvent) => void): this;
  off(event: "lost", listener: (event: LostEvent) => void): this;
  /**
   * Optional capability: raise ACQUIRE as outbound traffic without an SA would, and emit the
   * "acquire" event before returning (the in-memory SADB; `ikeadm acquire` needs it). A flow with an
   * ACQUIRE pending gets the same sequence number and no second event. Returns the sequence number,
   * or null when no key manager registered for the protocol. A backend whose ACQUIREs come only from
   * real traffic (PF_KEY, XFRM) leaves it out.
   */
  acquire?(req: AcquireRequest): number | null;
  /**
   * Optional capability (PF_KEY): the negative answer to ACQUIRE `seq` (RFC 2367 section 3.1.6), so
   * the kernel stops holding the traffic at once. XFRM has none (its larval state times out).
   */
  rejectAcquire?(seq: number, errno?: number): Promise<void>;
  /**
   * Optional capability: true when the backend itself deletes an SA idle for its `idleSeconds`
   * (the in-memory SADB). Linux XFRM and PF_KEY keep no idle lifetime, so the engine enforces
   * ike.config's `p2_idletime_secs` for them by watching the SAs' counters (src/ike/idle-sas.ts).
   */
  readonly enforcesIdle?: boolean;
  /**
   * Optional capability: true when the backend can lose events without hearing of it, so no "lost"
   * event comes (Linux PF_KEY: af_key drops a notice for a full receive queue and tells the
   * listening socket nothing). The daemon then resyncs periodically too (daemon/kernel-events.ts).
   */
  readonly losesEventsSilently?: boolean;
  /**
   * Optional capability (real kernels): makes the daemon's policies exactly `policies`, replacing
   * the previous set without a gap and removing stale ones of a previous run (spd.ts).
   */
  installPolicies?(policies: readonly SpdPolicy[]): Promise<SpdInstallReport>;
  /** Optional capability (real kernels): removes every policy of the daemon; returns how many. */
  removePolicies?(): Promise<number>;
  /** Optional capability (real kernels): every policy in the kernel, the daemon's marked `owned`. */
  dumpPolicies?(): Promise<SpdEntry[]>;
  /** Releases the backend (timers, sockets); the in-memory SADB also wipes every key it holds. */
  close(): Promise<void>;
}
