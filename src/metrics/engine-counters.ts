/**
 * The metric each engine counter ({@link EngineStats}, src/ike/stats.ts) is exported as. The table
 * is typed by the counters' names, so a counter added to the engine (the hostile-network defences,
 * for instance) fails to compile until it has its one line here: that line is the whole hook.
 *
 * Several counters may share one metric, told apart by a label (`rekeys_total{phase}`,
 * `defence_drops_total{defence}`); the label names of one metric must agree. Names get the `iked_`
 * prefix where they are registered.
 */
import type { EngineStats } from "../ike/stats.js";

/** Where one engine counter goes: metric name (without `iked_`), its help, and its label. */
export interface EngineCounterLine {
  readonly name: string;
  readonly help: string;
  readonly label?: readonly [name: string, value: string];
}

const REBIND = "After a NAT rebinding: kernel IPsec SAs given the peer's new UDP port (updated), SAs of pairs the kernel refused it for (failed: the pairs deleted)";
const DPD = "Dead Peer Detection (RFC 3706) messages: R-U-THEREs we sent, ACKs that answered one, ACKs ignored";
const DEFENCE = "Datagrams or exchanges the hostile-network defences refused, by defence";

/** One line per engine counter. */
export const ENGINE_COUNTERS: { readonly [K in keyof EngineStats]: EngineCounterLine } = {
  datagramsIn: { name: "datagrams_received_total", help: "ISAKMP datagrams received" },
  datagramsOut: { name: "datagrams_sent_total", help: "ISAKMP datagrams sent (retransmissions included)" },
  dropped: { name: "datagrams_dropped_total", help: "Datagrams dropped before or at an SA: undecodable, unknown cookies, refused, replayed" },
  retransmitsAnswered: { name: "retransmits_answered_total", help: "Retransmitted requests answered from the reply cache" },
  retransmitsSent: { name: "retransmits_sent_total", help: "Our own retransmissions of unanswered messages" },
  phase1Rekeys: { name: "rekeys_total", help: "Rekeys started before a lifetime ran out, by phase", label: ["phase", "1"] },
  phase2Rekeys: { name: "rekeys_total", help: "Rekeys started before a lifetime ran out, by phase", label: ["phase", "2"] },
  halfOpenRefused: { name: "defence_drops_total", help: DEFENCE, label: ["defence", "half_open_limit"] },
  expired: { name: "exchanges_expired_total", help: "Unfinished exchanges discarded by expire_timer or the retry limit" },
  embryonic: { name: "embryonic_total", help: "MM1s answered with MM2 and an embryonic record, before any SA" },
  embryonicEvicted: { name: "embryonic_evicted_total", help: "Embryonic Main Mode records dropped to make room for newer ones" },
  embryonicMissed: { name: "embryonic_missed_total", help: "MM3s carrying our cookie whose embryonic record had expired or been evicted" },
  unverifiedBytesIn: { name: "unverified_bytes_total", help: "Bytes from and to peers that have not returned our cookie, by direction", label: ["direction", "in"] },
  unverifiedBytesOut: { name: "unverified_bytes_total", help: "Bytes from and to peers that have not returned our cookie, by direction", label: ["direction", "out"] },
  amplificationRefused: { name: "defence_drops_total", help: DEFENCE, label: ["defence", "amplification"] },
  unverifiedDhRefused: { name: "defence_drops_total", help: DEFENCE, label: ["defence", "unverified_dh"] },
  nattMoves: { name: "natt_moves_total", help: "ISAKMP SAs that followed their peer to new endpoints (NAT-T float or NAT rebinding)" },
  nattIpsecRebound: { name: "natt_ipsec_rebinds_total", help: REBIND, label: ["outcome", "updated"] },
  nattIpsecRebindFailed: { name: "natt_ipsec_rebinds_total", help: REBIND, label: ["outcome", "failed"] },
  dpdProbes: { name: "dpd_messages_total", help: DPD, label: ["kind", "r_u_there_sent"] },
  dpdAcks: { name: "dpd_messages_total", help: DPD, label: ["kind", "ack_received"] },
  dpdAcksIgnored: { name: "dpd_messages_total", help: DPD, label: ["kind", "ack_ignored"] },
  dpdPeersDead: { name: "dpd_dead_peers_total", help: "Peers declared dead by Dead Peer Detection (RFC 3706), their SAs deleted" },
};

/** Each metric the table names once, with its label name (if any) and help. */
export function engineMetricFamilies(): Map<string, { help: string; labelNames: string[] }> {
  const out = new Map<string, { help: string; labelNames: string[] }>();
  for (const line of Object.values(ENGINE_COUNTERS) as EngineCounterLine[]) {
    const labelNames = line.label === undefined ? [] : [line.label[0]];
    const seen = out.get(line.name);
    if (seen !== undefined && seen.labelNames.join() !== labelNames.join()) {
      throw new Error(`engine counters disagree on the labels of ${line.name}`);
    }
    if (seen === undefined) out.set(line.name, { help: line.help, labelNames });
  }
  return out;
}
