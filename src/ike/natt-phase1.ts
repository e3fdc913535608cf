/**
 * NAT traversal's part in each Phase 1 message (RFC 3947 sections 3 and 4; the payloads and hashes
 * are natt.ts): the Phase 1 handler asks {@link NattPhase1.received} about every message a task
 * took and {@link NattPhase1.sending} about every message a task made, with the task's state, and
 * this adds vendor IDs and NAT-D payloads, reads the peer's, floats the SA to the NAT-T port and
 * keeps the NAT's mapping alive. Main Mode's MM1 is answered by admission.ts (no SA yet).
 *
 * ```
 *  state before a message we took      what it was   here
 *  MM initiator mm1-sent               MM2           version from its vendor ID
 *  MM responder mm2-sent               MM3           NAT-D read
 *  MM initiator mm3-sent               MM4           NAT-D read
 *  AM responder start                  AM1           version from its vendor IDs
 *  AM initiator am1-sent               AM2           version, NAT-D read
 *  AM responder am2-sent               AM3           NAT-D read (AM3's path, or AM2's)
 *
 *  state after a message we made       what it is    here
 *  MM initiator mm1-sent               MM1           vendor IDs
 *  MM mm3-sent / mm4-sent              MM3 / MM4     NAT-D
 *  MM initiator mm5-sent               MM5           float to 4500 when a NAT is between us
 *  AM initiator am1-sent               AM1           vendor IDs
 *  AM responder am2-sent               AM2           vendor ID, NAT-D
 *  AM initiator done                   AM3           float, then NAT-D
 * ```
 *
 * AM3 is the one message with NAT-D that travels after the float, and implementations differ on
 * which ports its hashes cover. We hash the path AM3 takes (port 4500), as strongSwan 5.9 does;
 * Libreswan 4.10 hashes the path of the AM2 it answers (port 500: it builds AM3 first and floats
 * only to send it). As responder we accept either: a side whose hash matches AM3's path or AM2's
 * is not behind a NAT.
 */
import type { Payload } from "../codec/index.js";
import type { IsakmpSa } from "./isakmp-sa.js";
import type { IkeLog } from "./log.js";
import { chosenVid, detectNat, KEEPALIVE_MS, natBetween, natDPayloads, nattVersionOf, NATT_PORT, offeredVids, type NatPath, type NattVersion } from "./natt.js";
import type { Outgoing } from "./step.js";
import { endpointKey, type Endpoint, type Transport } from "./transport.js";

/** Where a Phase 1 task is, as NAT-T needs to know it. */
export interface TaskPosition {
  readonly mode: "main" | "aggressive";
  readonly role: "initiator" | "responder";
  readonly state: string;
}

/** What {@link NattPhase1} works with. */
export interface NattPhase1Context {
  /** Our NAT-T port; undefined: NAT-T is off (no vendor ID is sent or answered). */
  readonly nattPort: number | undefined;
  readonly transport: Transport;
  readonly log: IkeLog;
}

/** The NAT-T steps of Phase 1. */
export class NattPhase1 {
  /** Aggressive Mode responders: the path their AM2 took, until AM3's NAT-D are read. */
  private readonly am2Paths = new WeakMap<IsakmpSa, NatPath>();

  constructor(private readonly ctx: NattPhase1Context) {}

  /** NAT-T is on. */
  get enabled(): boolean {
    return this.ctx.nattPort !== undefined;
  }

  /** A responder SA resumed from an MM1 whose MM2 chose `version`. */
  resumed(sa: IsakmpSa, version: NattVersion | undefined): void {
    if (version !== undefined && this.enabled) sa.natt = { version, detection: undefined, floated: false };
  }

  /** A message the task took (its step did not fail), `from` the endpoints it travelled between. */
  received(sa: IsakmpSa, at: TaskPosition, payloads: readonly Payload[], from: { readonly local: Endpoint; readonly remote: Endpoint }): void {
    if (!this.enabled) return;
    const s = at.state;
    const takesVid = (at.mode === "main" && at.role === "initiator" && s === "mm1-sent") || (at.mode === "aggressive" && (s === "start" || s === "am1-sent"));
    if (takesVid && sa.natt === undefined) {
      const version = nattVersionOf(payloads);
      if (version !== undefined) sa.natt = { version, detection: undefined, floated: false };
    }
    const readsNatD = s === "mm2-sent" || s === "mm3-sent" || s === "am1-sent" || s === "am2-sent";
    if (!readsNatD || sa.natt === undefined || sa.keymat === undefined) return;
    const am2 = at.mode === "aggressive" && s === "am2-sent" ? this.am2Paths.get(sa) : undefined;
    this.am2Paths.delete(sa);
    const d = detectNat(sa.keymat.suite.hash, sa.icookie, sa.rcookie, payloads, from.local, from.remote, am2 === undefined ? [] : [am2]);
    if (d === undefined) return;
    sa.natt.detection = d;
    this.ctx.log.info({ sa: sa.tag, localBehindNat: d.localBehindNat, peerBehindNat: d.peerBehindNat }, "NAT-D read");
  }

  /** A message the task made (state `at` after the step): payloads added, the SA floated. */
  sending(sa: IsakmpSa, at: TaskPosition, reply: Outgoing): Outgoing {
    if (!this.enabled) return reply;
    const s = at.state;
    if (at.role === "initiator" && (s === "mm1-sent" || s === "am1-sent") && sa.natt === undefined) {
      return { ...reply, payloads: [...reply.payloads, ...offeredVids()] };
    }
    const n = sa.natt;
    if (n === undefined || sa.keymat === undefined) return reply;
    if (s === "mm3-sent" || s === "mm4-sent") return { ...reply, payloads: [...reply.payloads, ...this.natD(sa, n.version)] };
    if (s === "am2-sent") {
      this.am2Paths.set(sa, { local: sa.local, remote: sa.remote });
      return { ...reply, payloads: [...reply.payloads, chosenVid(n.version), ...this.natD(sa, n.version)] };
    }
    if (at.role === "initiator" && s === "mm5-sent") {
      this.float(sa);
      return reply;
    }
    if (at.role === "initiator" && at.mode === "aggressive" && s === "done") {
      this.float(sa);
      return { ...reply, payloads: [...reply.payloads, ...this.natD(sa, n.version)] };
    }
    return reply;
  }

  /** The SA is up: behind a NAT, keep its mapping with a keepalive every 20 s (RFC 3948 section 2.3). */
  established(sa: IsakmpSa): void {
    if (sa.natt?.detection?.localBehindNat !== true || !sa.natt.floated) return;
    const transport = this.ctx.transport;
    const tick = (): void => {
      if (sa.state !== "established") return;
      transport.keepalive?.(sa.local, sa.remote);
      sa.setTimer("natt-keepalive", KEEPALIVE_MS, tick);
    };
    sa.setTimer("natt-keepalive", KEEPALIVE_MS, tick);
  }

  /**
   * The initiator moves to the NAT-T port when a NAT is between us (RFC 3947 section 4): from our
   * NAT-T socket to the peer's port 4500, every message from now on with the non-ESP marker.
   */
  private float(sa: IsakmpSa): void {
    const port = this.ctx.nattPort;
    if (port === undefined || sa.natt === undefined || sa.natt.floated || !natBetween(sa.natt)) return;
    const from = endpointKey(sa.remote);
    sa.local = { address: sa.local.address, port };
    sa.remote = { address: sa.remote.address, port: NATT_PORT };
    sa.natt.floated = true;
    this.ctx.log.info({ sa: sa.tag, from, to: endpointKey(sa.remote) }, "NAT-T: floated to the NAT-T port");
  }

  private natD(sa: IsakmpSa, version: NattVersion): Payload[] {
    return natDPayloads(version, sa.keymat!.suite.hash, sa.icookie, sa.rcookie, sa.local, sa.remote);
  }
}
