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
 * The table key of a cookie (an icookie, or an rcookie among the SAs sharing an icookie): its bytes
 * as one-byte characters (latin1 maps each byte to one character and back, so distinct cookies make
 * distinct keys), half as long as hex and quicker to make and hash; built for every datagram's
 * look-up. Never shown to anyone.
 */
function cookieKey(cookie: Buffer): string {
  return cookie.toString("latin1");
}

/**
 * The SAs sharing one icookie: two peers chose it, or someone sends first messages with one
 * icookie from many sources (up to the half-open bound, 1024 by default). Keyed, not a list, so
 * that a look-up, add or remove costs the same however many there are: by peer address (the
 * icookie alone names an SA only from its peer, and one per address), and by rcookie once known
 * (the pair names it from any address; the newest SA with the pair, as the pair's table held).
 * Made only when an icookie is shared: no table per SA otherwise.
 */
interface SharedIcookie {
  readonly byAddress: Map<string, IsakmpSa>;
  readonly byRcookie: Map<string, IsakmpSa>;
}

function isShared(same: IsakmpSa | SharedIcookie): same is SharedIcookie {
  return (same as SharedIcookie).byAddress !== undefined;
}

/** Files `sa` among the SAs sharing its icookie (its peer address not yet there: checked by the caller). */
function share(shared: SharedIcookie, sa: IsakmpSa): void {
  shared.byAddress.set(sa.remote.address, sa);
  if (!sa.rcookie.equals(ZERO_COOKIE)) shared.byRcookie.set(cookieKey(sa.rcookie), sa);
}

/** One peer address's SAs and how many of them are half-open. */
interface PeerEntry {
  /** The SA itself while the peer has one (most do: no Set for it), a Set from the second on. */
  sas: IsakmpSa | Set<IsakmpSa>;
  halfOpen: number;
}

/**
 * The engine's SA tables. `P2` is the Phase 2 exchange type.
 *
 * Few long-lived tables, each touched once per SA: V8 re-allocates a `Map`'s or `Set`'s hash table
 * in old space when a delete empties or shrinks it, so every table an SA enters and leaves costs
 * old-space garbage and, at a few hundred negotiations a second, full GCs
 * (bench/handshake/README.md, "where in.iked's old space per negotiation is allocated"). Hence one
 * table by icookie for both cookie look-ups, one record per peer address for its SAs and its
 * half-open count, the half-open mark on the SA itself, and the Phase 2 exchanges in a `WeakMap`
 * (never iterated) whose per-SA tables are born and die with their SA.
 */
export class SaManager<P2 = unknown> implements SaDestroyListener {
  /**
   * By icookie: the SA itself while one SA has it (all but always), their {@link SharedIcookie}
   * tables when several do. The cookie pair and the peer address pick among them ({@link lookup}).
   */
  private readonly byIcookie = new Map<string, IsakmpSa | SharedIcookie>();
  /** By peer address. */
  private readonly byPeer = new Map<string, PeerEntry>();
  private held = 0;
  private halfOpenHeld = 0;
  /**
   * Phase 2 exchanges by their ISAKMP SA, then message ID: a lookup per datagram builds no key
   * string, and an SA's removal takes its own with it instead of scanning every exchange. An SA
   * has a Map here only while it has an exchange.
   */
  private readonly phase2 = new WeakMap<IsakmpSa, Map<number, P2>>();
  private phase2Held = 0;

  constructor(private readonly limits: HalfOpenLimits = DEFAULT_HALF_OPEN) {}

  /** Number of ISAKMP SAs held. */
  get size(): number {
    return this.held;
  }

  /** Number of Phase 1 exchanges in progress. */
  get halfOpenCount(): number {
    return this.halfOpenHeld;
  }

  /** Whether a new responder exchange from `peer` may start; checked before any pool work. */
  admitResponder(peer: Endpoint): AdmitRefusal | null {
    if (this.halfOpenHeld >= this.limits.global) return "global-half-open";
    if ((this.byPeer.get(peer.address)?.halfOpen ?? 0) >= this.limits.perPeer) return "peer-half-open";
    return null;
  }

  /** Insert a new SA; it counts as half-open until {@link markEstablished}. Removed on its destroy. */
  add(sa: IsakmpSa): void {
    const ik = cookieKey(sa.icookie);
    const same = this.byIcookie.get(ik);
    if (same === undefined) this.byIcookie.set(ik, sa);
    else if (isShared(same)) {
      if (same.byAddress.has(sa.remote.address)) throw new Error(`duplicate SA ${sa.tag}`);
      share(same, sa);
    } else {
      if (same.remote.address === sa.remote.address) throw new Error(`duplicate SA ${sa.tag}`);
      const shared: SharedIcookie = { byAddress: new Map(), byRcookie: new Map() };
      share(shared, same);
      share(shared, sa);
      this.byIcookie.set(ik, shared);
    }
    this.held++;
    const peer = this.byPeer.get(sa.remote.address);
    if (peer === undefined) this.byPeer.set(sa.remote.address, { sas: sa, halfOpen: 1 });
    else {
      if (peer.sas instanceof Set) peer.sas.add(sa);
      else peer.sas = new Set([peer.sas, sa]);
      peer.halfOpen++;
    }
    sa.halfOpen = true;
    this.halfOpenHeld++;
    sa.onDestroy(this);
  }

  /** An SA of the tables was destroyed: it leaves them. */
  saDestroyed(sa: IsakmpSa): void {
    this.remove(sa);
  }

  /** Record the responder cookie an initiator learned from MM2/AM2. */
  setRcookie(sa: IsakmpSa, rcookie: Buffer): void {
    // Held for the SA's life: an allocation of its own, not a view of Node's shared pool slab
    // (which it would keep alive whole). Filed by icookie, the SA needs no new table entry unless
    // it shares its icookie.
    const same = this.byIcookie.get(cookieKey(sa.icookie));
    if (same !== undefined && isShared(same) && same.byAddress.get(sa.remote.address) === sa) {
      if (!sa.rcookie.equals(ZERO_COOKIE) && same.byRcookie.get(cookieKey(sa.rcookie)) === sa) same.byRcookie.delete(cookieKey(sa.rcookie));
      same.byRcookie.set(cookieKey(rcookie), sa);
    }
    sa.rcookie = unpooledCopy(rcookie);
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
    const same = this.byIcookie.get(cookieKey(icookie));
    if (same === undefined) return undefined;
    const zero = rcookie.equals(ZERO_COOKIE);
    let sa: IsakmpSa | undefined;
    // The pair names the SA from any address (NAT-T may have moved the peer); the icookie alone
    // only from the SA's peer address.
    if (!isShared(same)) {
      if (!zero && same.rcookie.equals(rcookie)) return same;
      sa = same.remote.address === peer.address ? same : undefined;
    } else {
      const byPair = zero ? undefined : same.byRcookie.get(cookieKey(rcookie));
      if (byPair !== undefined) return byPair;
      sa = same.byAddress.get(peer.address);
    }
    if (sa === undefined) return undefined;
    // A known rcookie must match: otherwise this is another exchange reusing the icookie.
    if (!zero && !sa.rcookie.equals(ZERO_COOKIE) && !sa.rcookie.equals(rcookie)) return undefined;
    return sa;
  }

  /** SAs with this peer address (any port: NAT-T may move the peer to 4500). */
  byPeerAddress(address: string): IsakmpSa[] {
    const peer = this.byPeer.get(address)?.sas;
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

  /** SAs made for this rule label, in the order added (a scan: for operators, not per datagram). */
  byRuleLabel(label: string): IsakmpSa[] {
    return this.all().filter((sa) => sa.rule === label);
  }

  /** Every SA, in the order added (SAs sharing an icookie together, at the first one's place). */
  all(): IsakmpSa[] {
    const out: IsakmpSa[] = [];
    for (const same of this.byIcookie.values()) {
      if (isShared(same)) out.push(...same.byAddress.values());
      else out.push(same);
    }
    return out;
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

  /** Entry counts of the tables and the counters, for leak checks. */
  debugSizes(): { byIcookie: number; byPeer: number; held: number; halfOpen: number; peerHalfOpen: number; phase2: number } {
    let peerHalfOpen = 0;
    for (const peer of this.byPeer.values()) peerHalfOpen += peer.halfOpen;
    return { byIcookie: this.byIcookie.size, byPeer: this.byPeer.size, held: this.held, halfOpen: this.halfOpenHeld, peerHalfOpen, phase2: this.phase2Held };
  }

  private remove(sa: IsakmpSa): void {
    const ik = cookieKey(sa.icookie);
    const same = this.byIcookie.get(ik);
    if (same === sa) {
      this.byIcookie.delete(ik);
      this.held--;
    } else if (same !== undefined && isShared(same) && same.byAddress.get(sa.remote.address) === sa) {
      same.byAddress.delete(sa.remote.address);
      const rk = cookieKey(sa.rcookie);
      if (same.byRcookie.get(rk) === sa) same.byRcookie.delete(rk);
      // Back to the single SA: the tables go.
      if (same.byAddress.size === 1) this.byIcookie.set(ik, same.byAddress.values().next().value as IsakmpSa);
      this.held--;
    }
    this.leaveHalfOpen(sa);
    const peer = this.byPeer.get(sa.remote.address);
    if (peer !== undefined) {
      if (peer.sas === sa) this.byPeer.delete(sa.remote.address);
      else if (peer.sas instanceof Set && peer.sas.delete(sa)) {
        // Back to the single SA: the Set goes.
        if (peer.sas.size === 1) peer.sas = peer.sas.values().next().value as IsakmpSa;
      }
    }
    const bySa = this.phase2.get(sa);
    if (bySa !== undefined) {
      this.phase2Held -= bySa.size;
      this.phase2.delete(sa);
    }
  }

  private leaveHalfOpen(sa: IsakmpSa): void {
    if (!sa.halfOpen) return;
    sa.halfOpen = false;
    this.halfOpenHeld--;
    const peer = this.byPeer.get(sa.remote.address);
    if (peer !== undefined) peer.halfOpen--;
  }
}
