/**
 * The IPsec SAs each ISAKMP SA negotiated, and how to negotiate again the ones we initiated. The
 * Quick Mode handler records them; peer Deletes, our own Deletes and INITIAL-CONTACT (RFC 2407
 * section 4.6.3.3) remove them from the kernel through here, which also forgets how to rekey them;
 * an expiring Phase 1 hands its SAs to a newer one; a kernel soft EXPIRE asks which exchange to
 * repeat, a hard EXPIRE (or a kernel SA removed by someone else) which ISAKMP SA to send the Delete
 * under.
 *
 * An ISAKMP SA that goes with no successor and leaves its IPsec SAs in the kernel (its lifetime
 * with no newer SA to hand over to, our Delete of it alone, the peer's Delete of it) leaves them
 * carrying traffic until they expire or are deleted. They are kept per address pair (`orphans`,
 * {@link orphan}) until then, so that a Quick Mode responder still sees that the peer's
 * renegotiation of their traffic is a rekey ({@link carries}), and a Main Mode initiator that it
 * still holds state with the peer ({@link holdsWith}).
 */
import type { ResolvedRule } from "../config/types.js";
import type { ExpireEvent, Kernel, SaProto } from "../kernel/kernel.js";
import type { HeldPair } from "../kernel/resync.js";
import { saKey } from "../kernel/sa-record.js";
import type { IsakmpSa } from "./isakmp-sa.js";
import type { IkeLog } from "./log.js";
import type { ChosenSa } from "./phase2/install.js";
import type { QuickModeRequest } from "./phase2/quick-mode.js";
import { followPorts, nothingFollowed, type PeerFollowed, type RecordedPair } from "./natt-follow.js";
import { udpVersion } from "./phase2/nat-oa.js";
import type { Endpoint } from "./transport.js";

/** What renegotiating an IPsec SA pair needs. */
export interface RekeyTarget {
  readonly rule: ResolvedRule;
  readonly local: Endpoint;
  readonly remote: Endpoint;
  readonly request: QuickModeRequest;
}

/** An IPsec SA pair and the ISAKMP SA it was negotiated (or handed over) under. */
export type IpsecOwner = RecordedPair;

/** What a kernel EXPIRE calls for. */
export type ExpireAction = { readonly kind: "rekey"; readonly target: RekeyTarget } | ({ readonly kind: "delete" } & IpsecOwner);

interface RekeyInfo extends RekeyTarget {
  readonly keys: readonly string[];
  started: boolean;
}

/** The IPsec SA table of one engine. */
export class IpsecSas {
  /** Per ISAKMP SA, the IPsec SAs negotiated under it (for Deletes, hand-over, rekey decisions). */
  private readonly installed = new Map<IsakmpSa, ChosenSa[]>();
  /** For IPsec SAs we initiated, keyed `proto:dst:spi` (both directions): how to negotiate them again. */
  private readonly rekeyInfo = new Map<string, RekeyInfo>();
  /**
   * Every IPsec SA we installed, keyed `proto:dst:spi` (both directions): the peer identity and
   * address pair it was negotiated with, which outlives the ISAKMP SA (INITIAL-CONTACT purges by it).
   */
  private readonly owners = new Map<string, string>();
  /**
   * Pairs {@link removePair} is deleting, keyed `proto:peer:outboundSpi`: held in `installed` until
   * the kernel has answered both deletes, but left out of {@link held}, so that a resync whose dump
   * comes back in between does not take the half already deleted for one the kernel lost. An
   * array, not a `Set`: it holds the few removals under way, and a `Set` that every pair enters and
   * leaves re-allocates its hash table in old space each time it empties (sa-manager.ts).
   */
  private readonly removing: string[] = [];
  /**
   * Pairs still in the kernel whose ISAKMP SA went with no successor ({@link orphan}), keyed by
   * address pair (`local|remote`); an entry leaves when its pair leaves the kernel (hard EXPIRE,
   * DELETE, FLUSH, a Delete from the peer, INITIAL-CONTACT). Empty unless Phase 1 SAs die before
   * their IPsec SAs, so the paths that look here first ask whether it is empty.
   */
  private readonly orphans = new Map<string, ChosenSa[]>();
  private added: ((sa: IsakmpSa) => void) | undefined;

  constructor(
    private readonly kernel: Kernel | undefined,
    private readonly log: IkeLog,
  ) {}

  /** `fn` hears of every ISAKMP SA that gains IPsec SAs (recorded or handed over): the idle watch. */
  onPairsAdded(fn: (sa: IsakmpSa) => void): void {
    this.added = fn;
  }

  /** The IPsec SAs negotiated under `sa` and still held. */
  of(sa: IsakmpSa): readonly ChosenSa[] {
    return this.installed.get(sa) ?? [];
  }

  /**
   * Every IPsec SA pair held, as the kernel names its halves: what a resync compares with a dump.
   * Pairs being deleted are left out (see `removing`).
   */
  held(): HeldPair[] {
    const out: HeldPair[] = [];
    const push = (local: string, remote: string, list: readonly ChosenSa[]): void => {
      for (const c of list) {
        if (this.removing.length > 0 && this.removing.includes(saKey(c.proto, c.outboundSpi, remote))) continue;
        out.push({
          proto: c.proto,
          inbound: { src: remote, dst: local, spi: c.inboundSpi },
          outbound: { src: local, dst: remote, spi: c.outboundSpi },
        });
      }
    };
    for (const [sa, list] of this.installed) push(sa.local.address, sa.remote.address, list);
    // Orphans too: a resync that finds one gone (its EXPIRE or DELETE lost) forgets it.
    for (const [key, list] of this.orphans) {
      const [local, remote] = addressesOf(key);
      push(local, remote, list);
    }
    return out;
  }

  /**
   * A finished Quick Mode's SAs under `sa`; with the `request` we initiated it for, they are
   * renegotiated on the kernel's soft EXPIRE.
   */
  record(sa: IsakmpSa, sas: readonly ChosenSa[], request: QuickModeRequest | undefined): void {
    // concat: a list of exactly its length (a spread leaves spare room, held for the SA's life).
    this.installed.set(sa, this.of(sa).concat(sas));
    sa.ipsecCreated += sas.length;
    this.added?.(sa);
    const owner = ownerOf(sa, sa.phase1?.peerId ?? "");
    const keys = sas.flatMap((c) => [saKey(c.proto, c.inboundSpi, sa.local.address), saKey(c.proto, c.outboundSpi, sa.remote.address)]);
    for (const k of keys) this.owners.set(k, owner);
    const rule = sa.config;
    if (request === undefined || rule === undefined) return;
    // A rekey answers no ACQUIRE: the first one's sequence number would mean nothing to the kernel.
    const { seq: _seq, ...again } = request;
    const info: RekeyInfo = { rule, local: sa.local, remote: sa.remote, request: again, keys, started: false };
    for (const k of keys) this.rekeyInfo.set(k, info);
  }

  /** `from` expires: its IPsec SAs belong to `to` (the newest established SA with the peer) now. */
  handOver(from: IsakmpSa, to: IsakmpSa): void {
    const mine = this.of(from);
    if (mine.length === 0) return;
    this.installed.set(to, this.of(to).concat(mine));
    this.installed.set(from, []);
    this.added?.(to);
  }

  /**
   * `sa` goes and leaves its IPsec SAs in the kernel, where they carry traffic until they expire or
   * are deleted (its lifetime with no heir, our Delete of it alone, the peer's Delete of it): they
   * become orphans of the address pair (see the file comment). Called before `sa` is destroyed.
   * Other ends (the engine closing, INITIAL-CONTACT, a load generator dropping its SAs) only
   * {@link release} it.
   */
  orphan(sa: IsakmpSa): void {
    const list = this.installed.get(sa);
    if (list === undefined || list.length === 0) return;
    this.installed.set(sa, []);
    const remote = sa.remote.address;
    const key = pairKey(sa.local.address, remote);
    let kept = this.orphans.get(key);
    for (const c of list) {
      // Being deleted (removePair) already: not kept.
      if (!this.owners.has(saKey(c.proto, c.outboundSpi, remote))) continue;
      if (kept === undefined) this.orphans.set(key, (kept = []));
      kept.push(c);
    }
  }

  /** `sa` is gone: forget its list (what {@link orphan} did not keep is no longer followed). */
  release(sa: IsakmpSa): void {
    this.installed.delete(sa);
  }

  /**
   * A kernel EXPIRE. Soft, for an IPsec SA we initiated and not yet renegotiated: what to negotiate
   * again. Hard: forget how to rekey the pair, and name its ISAKMP SA, under which the peer is told
   * (RFC 2408 section 3.15) and the other half of the pair is removed. Undefined when there is
   * nothing to do.
   */
  expire(ev: ExpireEvent): ExpireAction | undefined {
    const { proto, dst, spi } = ev.sa;
    if (ev.kind === "hard") this.owners.delete(saKey(proto, spi, dst));
    if (ev.kind === "hard") {
      if (proto === "ipcomp") return undefined;
      this.forget(proto, dst, spi);
      // An orphan has no ISAKMP SA to send the Delete under: it is forgotten and its other half
      // removed (a byte lifetime ends the halves apart).
      if (this.orphanLeft(proto, ev.sa.src, dst, spi)) return undefined;
      const owner = this.owner(proto, dst, spi);
      return owner === undefined ? undefined : { kind: "delete", ...owner };
    }
    const info = this.rekeyInfo.get(saKey(proto, spi, dst));
    if (info === undefined || info.started) return undefined;
    info.started = true;
    return { kind: "rekey", target: info };
  }

  /**
   * Whether a pair of ours between `local` and `remote` has the protocol and traffic
   * (phase2/traffic-key.ts) of `chosen`: the kernel would move that traffic to `chosen`'s outbound
   * SA the moment it is added (a rekey). The pairs are those held under `holders` (the ISAKMP SAs
   * with the peer) and those whose ISAKMP SA went with no successor (orphans).
   */
  carries(holders: readonly IsakmpSa[], local: string, remote: string, chosen: ChosenSa): boolean {
    const same = (c: ChosenSa): boolean => c.proto === chosen.proto && c.traffic === chosen.traffic;
    for (const o of holders) {
      if (o.local.address !== local) continue;
      if (this.of(o).some(same)) return true;
    }
    return this.orphans.size > 0 && this.orphans.get(pairKey(local, remote))?.some(same) === true;
  }

  /**
   * Whether we hold an IPsec SA pair between `local` and `remote`: under one of `holders` (the
   * ISAKMP SAs with the peer) or with none left (orphans).
   */
  holdsWith(holders: readonly IsakmpSa[], local: string, remote: string): boolean {
    for (const o of holders) if (o.local.address === local && this.of(o).length > 0) return true;
    return this.orphans.size > 0 && this.orphans.has(pairKey(local, remote));
  }

  /**
   * The kernel SA `spi` from `src` to `dst` (either half of a pair) left the kernel: forget the
   * orphan pair it belongs to, if any. True when there was one.
   */
  dropOrphan(proto: SaProto, src: string, dst: string, spi: number): boolean {
    if (this.orphans.size === 0) return false;
    // Our outbound half (src = local), or our inbound half (dst = local).
    return (this.dropOrphanWhere(pairKey(src, dst), (c) => c.proto === proto && c.outboundSpi === spi) ?? this.dropOrphanWhere(pairKey(dst, src), (c) => c.proto === proto && c.inboundSpi === spi)) !== undefined;
  }

  /**
   * The peer of `sa` is dead (DPD): the pairs negotiated with its identity on `sa`'s addresses that
   * outlived their ISAKMP SA go as well, kernel included (another identity's behind the same
   * address stay, as with INITIAL-CONTACT). No Delete: nobody would read it.
   */
  async removeOrphansOf(sa: IsakmpSa): Promise<void> {
    if (this.orphans.size === 0) return;
    const remote = sa.remote.address;
    const owner = ownerOf(sa, sa.phase1?.peerId ?? "");
    const theirs = (this.orphans.get(pairKey(sa.local.address, remote)) ?? []).filter((c) => this.owners.get(saKey(c.proto, c.outboundSpi, remote)) === owner);
    for (const c of theirs) await this.removePair(sa, c.proto, c.outboundSpi, c.inboundSpi);
  }

  /**
   * Half of an orphan pair left the kernel by itself (its hard EXPIRE, a DELETE by someone else, a
   * resync that finds it gone): as for a held pair, the pair is forgotten with its owners and how
   * to rekey it (no EXPIRE will come for the half that is gone), and its other half is removed
   * from the kernel; left there, an outbound half would carry traffic the peer cannot answer, with
   * no rekey, until its own hard lifetime. No Delete: there is no ISAKMP SA to send it under. True
   * when it was an orphan.
   */
  orphanLeft(proto: SaProto, src: string, dst: string, spi: number): boolean {
    if (this.orphans.size === 0) return false;
    let local = src;
    let remote = dst;
    let c = this.dropOrphanWhere(pairKey(src, dst), (o) => o.proto === proto && o.outboundSpi === spi);
    if (c === undefined) {
      [local, remote] = [dst, src];
      c = this.dropOrphanWhere(pairKey(local, remote), (o) => o.proto === proto && o.inboundSpi === spi);
    }
    if (c === undefined) return false;
    this.forget(c.proto, remote, c.outboundSpi);
    this.owners.delete(saKey(c.proto, c.inboundSpi, local));
    this.owners.delete(saKey(c.proto, c.outboundSpi, remote));
    const rest = src === local ? { src: remote, dst: local, spi: c.inboundSpi } : { src: local, dst: remote, spi: c.outboundSpi };
    void this.kernel?.delete(rest.src, rest.dst, c.proto, rest.spi).catch((err: unknown) => this.log.debug({ spi: rest.spi, err: String(err) }, "other half of an orphan pair already gone"));
    return true;
  }

  /** Takes the first pair matching `match` out of the orphans of address pair `key`. */
  private dropOrphanWhere(key: string, match: (c: ChosenSa) => boolean): ChosenSa | undefined {
    const list = this.orphans.get(key);
    const found = list?.find(match);
    if (list === undefined || found === undefined) return undefined;
    const left = list.filter((c) => c !== found);
    if (left.length === 0) this.orphans.delete(key);
    else this.orphans.set(key, left);
    return found;
  }

  /** The ISAKMP SA and pair of the IPsec SA `spi` towards `dst` (either direction), if we hold it. */
  owner(proto: SaProto, dst: string, spi: number): IpsecOwner | undefined {
    for (const [sa, list] of this.installed) {
      const chosen = list.find((c) => c.proto === proto && ((c.inboundSpi === spi && sa.local.address === dst) || (c.outboundSpi === spi && sa.remote.address === dst)));
      if (chosen !== undefined) return { sa, chosen };
    }
    return undefined;
  }

  /**
   * The kernel lost every SA (of `proto`, or all): a FLUSH by someone else. Forgets them and how to
   * rekey them; returns them per ISAKMP SA, for Deletes to the peers.
   */
  flushed(proto: SaProto | null): IpsecOwner[] {
    const out: IpsecOwner[] = [];
    for (const [key, list] of this.orphans) {
      const [local, remote] = addressesOf(key);
      for (const c of list) {
        if (proto !== null && c.proto !== proto) continue;
        this.forget(c.proto, remote, c.outboundSpi);
        this.owners.delete(saKey(c.proto, c.inboundSpi, local));
        this.owners.delete(saKey(c.proto, c.outboundSpi, remote));
      }
      const left = proto === null ? [] : list.filter((c) => c.proto !== proto);
      if (left.length === 0) this.orphans.delete(key);
      else this.orphans.set(key, left);
    }
    for (const [sa, list] of this.installed) {
      const gone = list.filter((c) => proto === null || c.proto === proto);
      if (gone.length === 0) continue;
      for (const c of gone) {
        this.forget(c.proto, sa.remote.address, c.outboundSpi);
        this.owners.delete(saKey(c.proto, c.inboundSpi, sa.local.address));
        this.owners.delete(saKey(c.proto, c.outboundSpi, sa.remote.address));
        out.push({ sa, chosen: c });
      }
      sa.ipsecDeleted += gone.length;
      this.installed.set(sa, list.filter((c) => !gone.includes(c)));
    }
    return out;
  }

  /** How many IPsec SAs (both directions) a soft EXPIRE would renegotiate. */
  get rekeyable(): number {
    return this.rekeyInfo.size;
  }

  /**
   * Whether our outbound SA `outboundSpi` towards `sa`'s peer was negotiated with the identity `sa`
   * authenticated on the same address pair (under `sa` or an older ISAKMP SA): only then is it that
   * peer's to delete. Another identity's behind the same address (one NAT, several users) and SAs
   * we did not negotiate are not, as with INITIAL-CONTACT ({@link purgePeer}).
   */
  ownedByPeerOf(sa: IsakmpSa, proto: "esp" | "ah", outboundSpi: number): boolean {
    return this.owners.get(saKey(proto, outboundSpi, sa.remote.address)) === ownerOf(sa, sa.phase1?.peerId ?? "");
  }

  /** Remove our outbound SA `outboundSpi` to the peer of `sa` and its inbound partner from the kernel. */
  async removePair(sa: IsakmpSa, proto: "esp" | "ah", outboundSpi: number, inboundSpi: number | undefined): Promise<void> {
    const kernel = this.kernel;
    if (kernel === undefined) return;
    let pair = inboundSpi;
    this.forget(proto, sa.remote.address, outboundSpi);
    const removing = saKey(proto, outboundSpi, sa.remote.address);
    this.owners.delete(removing);
    // Every await below catches what it throws: the key always leaves `removing` at the end.
    this.removing.push(removing);
    try {
      if (pair === undefined) pair = (await kernel.get(sa.local.address, sa.remote.address, proto, outboundSpi)).pairSpi || undefined;
      await kernel.delete(sa.local.address, sa.remote.address, proto, outboundSpi);
    } catch (err) {
      this.log.debug({ sa: sa.tag, spi: outboundSpi, err: String(err) }, "outbound SA already gone");
    }
    if (pair !== undefined) {
      this.owners.delete(saKey(proto, pair, sa.local.address));
      try {
        await kernel.delete(sa.remote.address, sa.local.address, proto, pair);
      } catch (err) {
        this.log.debug({ sa: sa.tag, spi: pair, err: String(err) }, "inbound SA already gone");
      }
    }
    this.removing.splice(this.removing.indexOf(removing), 1);
    // Recorded under `sa`, or (the peer's Delete through a newer ISAKMP SA) under an older one.
    const match = (c: ChosenSa): boolean => c.proto === proto && c.outboundSpi === outboundSpi;
    const holder = this.installed.get(sa)?.some(match) === true ? sa : [...this.installed.keys()].find((o) => o.remote.address === sa.remote.address && this.installed.get(o)!.some(match));
    const list = holder === undefined ? undefined : this.installed.get(holder);
    if (holder !== undefined && list !== undefined) {
      const left = list.filter((c) => !match(c));
      holder.ipsecDeleted += list.length - left.length;
      this.installed.set(holder, left);
    } else if (this.orphans.size > 0) this.dropOrphanWhere(pairKey(sa.local.address, sa.remote.address), match);
  }

  /**
   * NAT rebinding (RFC 3947 sections 4 and 7): an authenticated message moved `sa` from `before` to
   * the peer's new port. Every UDP-encapsulated ESP SA that used the old mapping (those under `sa`,
   * and under any other ISAKMP SA still between `before`'s endpoints) gets the new ports in the
   * kernel, both directions (natt-follow.ts: refused and gone pairs are returned). The addresses
   * never change here: the dispatcher moves an SA only between ports of the same addresses.
   */
  followPeer(sa: IsakmpSa, before: { readonly local: Endpoint; readonly remote: Endpoint }): Promise<PeerFollowed> {
    if (this.kernel === undefined || udpVersion(sa) === undefined) return Promise.resolve(nothingFollowed());
    const same = (a: Endpoint, b: Endpoint): boolean => a.address === b.address && a.port === b.port;
    const pairs: IpsecOwner[] = [];
    for (const [owner, list] of this.installed) {
      if (owner !== sa && !(udpVersion(owner) !== undefined && same(owner.local, before.local) && same(owner.remote, before.remote))) continue;
      for (const chosen of list) pairs.push({ sa: owner, chosen });
    }
    return followPorts(this.kernel, this.log, sa, pairs);
  }

  /**
   * A Quick Mode under `sa` finished with `sas` in the kernel at UDP ports `sa` has left since: it
   * followed a NAT rebinding while the exchange ran (a responder installs before QM2 and records
   * on QM3; a committing initiator installs on QM2 and records on CONNECTED), and that move's
   * {@link followPeer} did not know them yet. They take `sa`'s current ports now.
   */
  catchUp(sa: IsakmpSa, sas: readonly ChosenSa[]): Promise<PeerFollowed> {
    if (this.kernel === undefined || udpVersion(sa) === undefined) return Promise.resolve(nothingFollowed());
    return followPorts(this.kernel, this.log, sa, sas.map((chosen) => ({ sa, chosen })));
  }

  /**
   * RFC 2407 section 4.6.3.3, INITIAL-CONTACT: the peer (`peerId` on `sa`'s address pair) has no
   * state with us any more, so every IPsec SA we negotiated with that identity between these
   * addresses is stale, ours from older ISAKMP SAs included (they may have outlived their Phase 1).
   * SAs of other identities behind the same address (one NAT, several users) and SAs we did not
   * negotiate stay. Run on the new SA's queue before its first Quick Mode, so nothing it negotiates
   * is caught. Returns how many kernel SAs were deleted.
   */
  async purgePeer(sa: IsakmpSa, peerId: string): Promise<number> {
    const kernel = this.kernel;
    if (kernel === undefined) return 0;
    const local = sa.local.address;
    const remote = sa.remote.address;
    const owner = ownerOf(sa, peerId);
    const dump = await kernel.dump();
    // Owners of SAs the kernel no longer has (removed behind our back) are forgotten here.
    const live = new Set(dump.map((s) => saKey(s.proto, s.spi, s.dst)));
    for (const k of [...this.owners.keys()]) if (!live.has(k)) this.owners.delete(k);
    let deleted = 0;
    for (const s of dump) {
      if (!((s.src === local && s.dst === remote) || (s.src === remote && s.dst === local))) continue;
      const key = saKey(s.proto, s.spi, s.dst);
      if (this.owners.get(key) !== owner) continue;
      this.owners.delete(key);
      try {
        if (s.proto === "esp" || s.proto === "ah") this.forget(s.proto, s.dst, s.spi);
        this.dropOrphan(s.proto, s.src, s.dst, s.spi);
        await kernel.delete(s.src, s.dst, s.proto, s.spi);
        deleted++;
      } catch (err) {
        this.log.debug({ sa: sa.tag, spi: s.spi, err: String(err) }, "SA already gone");
      }
    }
    this.log.info({ sa: sa.tag, deleted }, "INITIAL-CONTACT: stale IPsec SAs with the peer deleted");
    return deleted;
  }

  /** Entry counts of the tables, for leak checks. */
  debugSizes(): { installed: number; rekeyInfo: number; owners: number; orphans: number } {
    return { installed: this.installed.size, rekeyInfo: this.rekeyInfo.size, owners: this.owners.size, orphans: this.orphans.size };
  }

  /**
   * The IPsec SA `spi` towards `dst` was deleted (peer Delete, ours, INITIAL-CONTACT): forget how
   * to rekey its pair, since no EXPIRE will ever come for it to do so.
   */
  private forget(proto: "esp" | "ah", dst: string, spi: number): void {
    const info = this.rekeyInfo.get(saKey(proto, spi, dst));
    for (const k of info?.keys ?? []) this.rekeyInfo.delete(k);
  }
}

/** The key of an address pair in `orphans`. */
function pairKey(local: string, remote: string): string {
  return `${local}|${remote}`;
}

/** The local and remote addresses of a {@link pairKey}. */
function addressesOf(key: string): [string, string] {
  const bar = key.indexOf("|");
  return [key.slice(0, bar), key.slice(bar + 1)];
}

/**
 * Who an IPsec SA was negotiated with: the peer identity and the address pair, joined into one flat
 * string (a table keeps it for the SA's life).
 */
function ownerOf(sa: IsakmpSa, peerId: string): string {
  return [peerId, sa.local.address, sa.remote.address].join("|");
}
