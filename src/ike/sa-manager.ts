/**
 * The tables of ISAKMP SAs and Phase 2 exchanges, and the half-open bound.
 *
 * RFC 2408 section 3.1: an ISAKMP SA is named by its cookie pair; a first message carries a zero
 * rcookie, so until the responder's cookie is known an SA is found by its icookie (and the peer, so
 * two peers choosing the same icookie cannot collide). Phase 2 exchanges (Quick Mode,
 * informational) are named by the cookie pair and their message ID (RFC 2408 section 3.1, "Message
 * ID"): here by their ISAKMP SA (the one its cookie pair names) and the message ID.
 *
 * Half-open SAs (a Phase 1 in progress) are bounded globally and per peer. The engine asks
 * {@link SaManager.admitResponder} *before* any pool work for a new first message, as strongSwan's
 * receiver does, so a flood of spoofed MM1s costs a table lookup, not a DH computation.
 *
 * The tables keyed by the peer's address (first messages, SAs per peer, half-open per peer) rely
 * on an SA's peer address never changing: a NAT-T move changes only the port (dispatch.ts
 * `mayMove`, the float in natt-phase1.ts), so `remove()` finds an SA where `add()` filed it.
 */
import type { IsakmpSa, SaDestroyListener } from "./isakmp-sa.js";
import type { Endpoint } from "./transport.js";
import { ZERO_COOKIE } from "./cookies.js";
import { unpooledCopy } from "../crypto/unpooled-copy.js";

/** Bounds on Phase 1 exchanges in progress. */
export interface HalfOpenLimits {
  readonly global: number;
  readonly perPeer: number;
}

/** Defaults, sized like strongSwan's `block_threshold` (5 per peer) with a generous global cap. */
export const DEFAULT_HALF_OPEN: HalfOpenLimits = { global: 1024, perPeer: 5 };

/** Why a new responder exchange was refused. */
export type AdmitRefusal = "global-half-open" | "peer-half-open";

/**
 * Whether `from` is the peer of `sa`: the same address and port the SA talks to. A datagram with
 * the SA's cookies from anywhere else is someone who saw (or guessed) the cookies.
 */
export function isPeerOf(sa: IsakmpSa, from: Endpoint): boolean {
  return sameEndpoint(sa.remote, from);
}

/** Same address and port. */
export function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.address === b.address && a.port === b.port;
}

/**
 * Table keys: the cookies' bytes as one-byte characters (latin1 maps each byte to one character and
 * back, so distinct cookies make distinct keys), half as long as hex and quicker to make and hash;
 * built for every datagram's look-up. Never shown to anyone. Joined, not added: `+` makes a tree of
 * two strings (~50 bytes more), which the tables keep for the SA's life; a join is one flat string,
 * as quick to make and hash.
 */
function pairKey(icookie: Buffer, rcookie: Buffer): string {
  return [icookie.toString("latin1"), rcookie.toString("latin1")].join("");
}

function halfKey(icookie: Buffer, peer: Endpoint): string {
  return [icookie.toString("latin1"), peer.address].join("");
}

/** The engine's SA tables. `P2` is the Phase 2 exchange type. */
export class SaManager<P2 = unknown> implements SaDestroyListener {
  private readonly byPair = new Map<string, IsakmpSa>();
  private readonly byHalf = new Map<string, IsakmpSa>();
  /** By peer address: the SA itself while a peer has one (most do: no Set for it), a Set from the second on. */
  private readonly byPeer = new Map<string, IsakmpSa | Set<IsakmpSa>>();
  private readonly byRule = new Map<string, Set<IsakmpSa>>();
  private readonly halfOpen = new Set<IsakmpSa>();
  private readonly halfOpenPerPeer = new Map<string, number>();
  /**
   * Phase 2 exchanges by their ISAKMP SA, then message ID: a lookup per datagram builds no key
   * string, and an SA's removal takes its own with it instead of scanning every exchange. An SA
   * has a Map here only while it has an exchange.
   */
  private readonly phase2 = new Map<IsakmpSa, Map<number, P2>>();
  private phase2Held = 0;

  constructor(private readonly limits: HalfOpenLimits = DEFAULT_HALF_OPEN) {}

  /** Number of ISAKMP SAs held. */
  get size(): number {
    return this.byHalf.size;
  }

  /** Number of Phase 1 exchanges in progress. */
  get halfOpenCount(): number {
    return this.halfOpen.size;
  }

  /** Whether a new responder exchange from `peer` may start; checked before any pool work. */
  admitResponder(peer: Endpoint): AdmitRefusal | null {
    if (this.halfOpen.size >= this.limits.global) return "global-half-open";
    if ((this.halfOpenPerPeer.get(peer.address) ?? 0) >= this.limits.perPeer) return "peer-half-open";
    return null;
  }

  /** Insert a new SA; it counts as half-open until {@link markEstablished}. Removed on its destroy. */
  add(sa: IsakmpSa): void {
    const hk = halfKey(sa.icookie, sa.remote);
    if (this.byHalf.has(hk)) throw new Error(`duplicate SA ${sa.tag}`);
    this.byHalf.set(hk, sa);
    if (!sa.rcookie.equals(ZERO_COOKIE)) this.byPair.set(pairKey(sa.icookie, sa.rcookie), sa);
    const peer = this.byPeer.get(sa.remote.address);
    if (peer === undefined) this.byPeer.set(sa.remote.address, sa);
    else if (peer instanceof Set) peer.add(sa);
    else this.byPeer.set(sa.remote.address, new Set([peer, sa]));
    if (sa.rule !== undefined) addTo(this.byRule, sa.rule, sa);
    this.halfOpen.add(sa);
    this.halfOpenPerPeer.set(sa.remote.address, (this.halfOpenPerPeer.get(sa.remote.address) ?? 0) + 1);
    sa.onDestroy(this);
  }

  /** An SA of the tables was destroyed: it leaves them. */
  saDestroyed(sa: IsakmpSa): void {
    this.remove(sa);
  }

  /** Record the responder cookie an initiator learned from MM2/AM2. */
  setRcookie(sa: IsakmpSa, rcookie: Buffer): void {
    if (!sa.rcookie.equals(ZERO_COOKIE)) this.byPair.delete(pairKey(sa.icookie, sa.rcookie));
    // Held for the SA's life: an allocation of its own, not a view of Node's shared pool slab
    // (which it would keep alive whole).
    sa.rcookie = unpooledCopy(rcookie);
    this.byPair.set(pairKey(sa.icookie, sa.rcookie), sa);
  }

  /** The SA stops counting as half-open. */
  markEstablished(sa: IsakmpSa): void {
    this.leaveHalfOpen(sa);
  }

  /**
   * Find the SA a datagram belongs to: by the cookie pair, or by icookie and peer address when the
   * rcookie is zero (a retransmitted first message) or not yet known to us (MM2 for an initiator).
   */
  lookup(icookie: Buffer, rcookie: Buffer, peer: Endpoint): IsakmpSa | undefined {
    if (!rcookie.equals(ZERO_COOKIE)) {
      const sa = this.byPair.get(pairKey(icookie, rcookie));
      if (sa !== undefined) return sa;
    }
    const sa = this.byHalf.get(halfKey(icookie, peer));
    if (sa === undefined) return undefined;
    // A known rcookie must match: otherwise this is another exchange reusing the icookie.
    if (!rcookie.equals(ZERO_COOKIE) && !sa.rcookie.equals(ZERO_COOKIE) && !sa.rcookie.equals(rcookie)) return undefined;
    return sa;
  }

  /** SAs with this peer address (any port: NAT-T may move the peer to 4500). */
  byPeerAddress(address: string): IsakmpSa[] {
    const peer = this.byPeer.get(address);
    return peer === undefined ? [] : peer instanceof Set ? [...peer] : [peer];
  }

  /** The newest established SA between `local` and `remote` (other than `except`; with `peerId`, of that peer identity). */
  newestEstablished(remote: string, local: string, except?: IsakmpSa, peerId?: string): IsakmpSa | undefined {
    let best: IsakmpSa | undefined;
    for (const o of this.byPeerAddress(remote)) {
      if (o === except || o.state !== "established" || o.local.address !== local) continue;
      if (peerId !== undefined && o.phase1?.peerId !== peerId) continue;
      if (best === undefined || o.createdAt >= best.createdAt) best = o;
    }
    return best;
  }

  /** SAs made for this rule label. */
  byRuleLabel(label: string): IsakmpSa[] {
    return [...(this.byRule.get(label) ?? [])];
  }

  /** Every SA, in insertion order. */
  all(): IsakmpSa[] {
    return [...this.byHalf.values()];
  }

  /** Phase 2 exchange (Quick Mode, informational) of `sa` by message ID (RFC 2408 section 3.1). */
  getPhase2(sa: IsakmpSa, messageId: number): P2 | undefined {
    return this.phase2.get(sa)?.get(messageId >>> 0);
  }

  setPhase2(sa: IsakmpSa, messageId: number, ex: P2): void {
    let bySa = this.phase2.get(sa);
    if (bySa === undefined) this.phase2.set(sa, (bySa = new Map()));
    const mid = messageId >>> 0;
    if (!bySa.has(mid)) this.phase2Held++;
    bySa.set(mid, ex);
  }

  deletePhase2(sa: IsakmpSa, messageId: number): void {
    const bySa = this.phase2.get(sa);
    if (bySa === undefined || !bySa.delete(messageId >>> 0)) return;
    this.phase2Held--;
    if (bySa.size === 0) this.phase2.delete(sa);
  }

  /** Number of Phase 2 exchanges held. */
  get phase2Count(): number {
    return this.phase2Held;
  }

  private remove(sa: IsakmpSa): void {
    const hk = halfKey(sa.icookie, sa.remote);
    if (this.byHalf.get(hk) === sa) this.byHalf.delete(hk);
    const pk = pairKey(sa.icookie, sa.rcookie);
    if (this.byPair.get(pk) === sa) this.byPair.delete(pk);
    const peer = this.byPeer.get(sa.remote.address);
    if (peer === sa) this.byPeer.delete(sa.remote.address);
    else if (peer instanceof Set) {
      peer.delete(sa);
      // Back to the single SA: the Set goes.
      if (peer.size === 1) this.byPeer.set(sa.remote.address, peer.values().next().value as IsakmpSa);
    }
    if (sa.rule !== undefined) removeFrom(this.byRule, sa.rule, sa);
    this.leaveHalfOpen(sa);
    const bySa = this.phase2.get(sa);
    if (bySa !== undefined) {
      this.phase2Held -= bySa.size;
      this.phase2.delete(sa);
    }
  }

  private leaveHalfOpen(sa: IsakmpSa): void {
    if (!this.halfOpen.delete(sa)) return;
    const n = (this.halfOpenPerPeer.get(sa.remote.address) ?? 1) - 1;
    if (n <= 0) this.halfOpenPerPeer.delete(sa.remote.address);
    else this.halfOpenPerPeer.set(sa.remote.address, n);
  }
}

function addTo(m: Map<string, Set<IsakmpSa>>, k: string, sa: IsakmpSa): void {
  let s = m.get(k);
  if (s === undefined) m.set(k, (s = new Set()));
  s.add(sa);
}

function removeFrom(m: Map<string, Set<IsakmpSa>>, k: string, sa: IsakmpSa): void {
  const s = m.get(k);
  if (s === undefined) return;
  s.delete(sa);
  if (s.size === 0) m.delete(k);
}
