/**
 * What an unanswered first message (MM1) costs the responder, against a baseline measured in the
 * same run (decoding just the ISAKMP header, the floor of looking at a datagram):
 * - the stateless responder cookie (HMAC-SHA256 over the peer, the local end and the icookie);
 * - a whole `IkeEngine.receive()` of an MM1 that the half-open bound refuses (the flood case:
 *   no SA, no pool work, only a lookup and a counter).
 * `npm run bench -- ike`.
 */
import { Bench } from "tinybench";
import { decodeHeader, encodeMessage, PayloadType } from "../../src/codec/index.js";
import { CookieJar } from "../../src/ike/cookies.js";
import { IkeEngine } from "../../src/ike/engine.js";
import { inlineDh } from "../../test/helpers/dh.js";
import { buildSaPayload } from "../../src/ike/phase1/phase1.js";
import type { Phase1Policy } from "../../src/ike/ports.js";
import type { Transport } from "../../src/ike/transport.js";

const peer = { address: "192.0.2.1", port: 500 };
const local = { address: "192.0.2.2", port: 500 };

function mm1(): Buffer {
  const sa = buildSaPayload([
    { encr: 7, keyBits: 128, hash: 2, auth: 1, group: 14, lifeSecs: 28800 },
    { encr: 5, hash: 2, auth: 1, group: 2, lifeSecs: 28800 },
  ]);
  const vids = [1, 2, 3].map((i) => ({ type: PayloadType.VID, data: Buffer.alloc(16, i) }) as const);
  return encodeMessage({ icookie: Buffer.from("0102030405060708", "hex"), rcookie: Buffer.alloc(8), exchangeType: 2, flags: 0, messageId: 0 }, [sa, ...vids]);
}

export default async function (): Promise<void> {
  const datagram = mm1();
  const jar = new CookieJar();
  const transport: Transport = { send: () => true, onDatagram: () => {} };
  const policy: Phase1Policy = { ruleFor: () => undefined, ruleByLabel: () => undefined, presharedFor: () => undefined, presharedForId: () => undefined };
  const engine = new IkeEngine({ transport, dh: inlineDh, policy, halfOpen: { global: 0, perPeer: 0 } });
  const icookie = Buffer.from("0102030405060708", "hex");

  const bench = new Bench({ time: 1000, warmup: true });
  bench
    .add("baseline: decodeHeader(MM1)", () => void decodeHeader(datagram))
    .add("responder cookie (HMAC-SHA256)", () => void jar.rcookie(icookie, peer, local))
    .add("engine.receive(MM1) refused by the half-open bound", () => engine.receive(datagram, local, peer));
  await bench.run();
  engine.close();
  const medianNs = (i: number): number => ((bench.tasks[i]?.result as { latency?: { p50: number } } | undefined)?.latency?.p50 ?? 0) * 1e6;
  const base = medianNs(0);
  console.log(`MM1: ${datagram.length} bytes; refused: ${engine.stats.engine.halfOpenRefused}`);
  console.table(
    bench.tasks.map((t, i) => {
      const ns = medianNs(i);
      return { task: t.name, "ops/s (median)": ns > 0 ? Math.round(1e9 / ns) : 0, "p50 ns": Math.round(ns), "time vs baseline": base > 0 ? (ns / base).toFixed(2) : "-" };
    }),
  );
}
