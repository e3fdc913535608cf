/**
 * Decode and encode rates of two typical messages, against baselines measured in the same run:
 * - a Main Mode first message like strongSwan's MM1 (SA with one proposal of four transforms, five
 *   vendor IDs; the recorded capture when test/fixtures/packets has one, otherwise built here);
 * - a Quick Mode first message plaintext (HASH, SA, NONCE, ID, ID).
 * Baselines: `Buffer.from` copy of the same bytes (the floor of touching the datagram) and the
 * reference interpreter (what the compiled decoders replace).
 */
import { Bench } from "tinybench";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  decodeMessage, decodePayloads, encodeMessage, encodePayloads, PayloadType as P,
  type Payload, type PlainMessage, type DataAttribute, type TransformPayload,
} from "../../src/codec/index.js";
import { decodeMessageUsing, decodePayloadsUsing } from "../../src/codec/message.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

function tv(type: number, value: number): DataAttribute {
  return { format: "tv", type, value };
}

function builtMm1(): Buffer {
  const transform = (n: number, enc: number, keyLen: number, hash: number, group: number): TransformPayload => ({
    type: P.Transform, transformNumber: n, transformId: 1,
    attributes: [tv(1, enc), tv(14, keyLen), tv(2, hash), tv(3, 1), tv(4, group), tv(11, 1), { format: "tlv", type: 12, value: Buffer.from("00002a30", "hex") }],
  });
  const sa: Payload = { type: P.SA, doi: 1, situation: 1, proposals: [{ type: P.Proposal, proposalNumber: 1, protocolId: 1, spi: Buffer.alloc(0), transforms: [
    transform(1, 7, 128, 2, 14), transform(2, 7, 256, 4, 14), transform(3, 7, 128, 4, 19), transform(4, 5, 0, 2, 2)] }] };
  const vids: Payload[] = [1, 2, 3, 4, 5].map((i) => ({ type: P.VID, data: Buffer.alloc(16, i) }));
  return encodeMessage({ icookie: Buffer.from("0102030405060708", "hex"), rcookie: Buffer.alloc(8), exchangeType: 2, flags: 0, messageId: 0 }, [sa, ...vids]);
}

function capturedMm1(): Buffer | undefined {
  const file = path.join(root, "test/fixtures/packets/mm-psk-aes128-sha256-g14-pfs.json");
  if (!existsSync(file)) return undefined;
  const j = JSON.parse(readFileSync(file, "utf8")) as { packets: { name: string; hex: string }[] };
  const p = j.packets.find((x) => x.name.endsWith("-1-main-i"));
  return p === undefined ? undefined : Buffer.from(p.hex, "hex");
}

function qm1Plaintext(): Buffer {
  const payloads: Payload[] = [
    { type: P.HASH, data: Buffer.alloc(20, 0x11) },
    { type: P.SA, doi: 1, situation: 1, proposals: [{ type: P.Proposal, proposalNumber: 1, protocolId: 3, spi: Buffer.from("c1234567", "hex"), transforms: [
      { type: P.Transform, transformNumber: 1, transformId: 12, attributes: [tv(1, 1), { format: "tlv", type: 2, value: Buffer.from("00000e10", "hex") }, tv(4, 1), tv(5, 2), tv(6, 128)] }] }] },
    { type: P.NONCE, data: Buffer.alloc(32, 0x22) },
    { type: P.ID, idType: 4, protocolId: 0, port: 0, data: Buffer.from("0a000000ffffff00", "hex") },
    { type: P.ID, idType: 4, protocolId: 0, port: 0, data: Buffer.from("0a010000ffffff00", "hex") },
  ];
  return encodePayloads(payloads);
}

export default async function (): Promise<void> {
  const mm1 = capturedMm1() ?? builtMm1();
  const qm1 = qm1Plaintext();
  const mm1Decoded = decodeMessage(mm1);
  const qm1Decoded = decodePayloads(P.HASH, qm1);
  if (!mm1Decoded.ok || mm1Decoded.value.kind !== "plain" || !qm1Decoded.ok) throw new Error("benchmark messages do not decode");
  const mm1Msg: PlainMessage = mm1Decoded.value;
  const qm1Payloads = qm1Decoded.value;
  console.log(`MM1: ${mm1.length} bytes, ${mm1Msg.payloads.length} payloads (${capturedMm1() ? "strongSwan capture" : "built"}); QM1 plaintext: ${qm1.length} bytes`);

  const bench = new Bench({ time: 1000, warmup: true });
  bench
    .add("baseline: Buffer.from copy of MM1", () => void Buffer.from(mm1))
    .add("MM1 decode (reference interpreter)", () => void decodeMessageUsing(mm1, "reference"))
    .add("MM1 decode", () => void decodeMessage(mm1))
    .add("MM1 encode", () => void encodeMessage(mm1Msg.header, mm1Msg.payloads))
    .add("QM1 plaintext decode (reference interpreter)", () => void decodePayloadsUsing(P.HASH, qm1, {}, "reference"))
    .add("QM1 plaintext decode", () => void decodePayloads(P.HASH, qm1))
    .add("QM1 plaintext encode", () => void encodePayloads(qm1Payloads));
  await bench.run();
  // Medians, not means: on a shared machine a preempted sample inflates the mean latency, and the
  // mean of per-sample rates leans the other way; the median sample is one undisturbed call.
  const medianNs = (i: number): number => ((bench.tasks[i]?.result as { latency?: { p50: number } } | undefined)?.latency?.p50 ?? 0) * 1e6;
  const base = medianNs(0);
  console.table(bench.tasks.map((t, i) => {
    const ns = medianNs(i);
    const meanMs = (t.result as { latency?: { mean: number } } | undefined)?.latency?.mean ?? 0;
    return { task: t.name, "ops/s (median)": ns > 0 ? Math.round(1e9 / ns) : 0, "p50 ns": Math.round(ns), "mean ns": Math.round(meanMs * 1e6), "time vs baseline": base > 0 ? (ns / base).toFixed(2) : "-" };
  }));
}
