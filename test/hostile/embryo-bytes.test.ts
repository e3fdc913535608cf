/**
 * The embryonic Main Mode table (src/ike/embryos.ts) is bounded in bytes as well as entries: MM1
 * may carry VIDs, notifies and transforms up to a 64 KiB datagram, and every record keeps a copy of
 * its MM1, so a flood of maximum-size MM1s would otherwise hold capacity x 64 KiB.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_DATAGRAM, PayloadType } from "../../src/codec/index.js";
import { DEFAULT_EMBRYO_BYTES, DEFAULT_EMBRYO_LIMITS } from "../../src/ike/embryos.js";
import { VICTIM, close, negotiate, peerMm1, settle, setting, tables } from "./setup.js";

/** `mm1` with one VID payload appended that brings it to exactly `size` bytes. */
function padded(mm1: Buffer, size: number): Buffer {
  // Walk the payload chain to its last payload and make it point at the new VID.
  let at = 28;
  while (mm1[at]! !== PayloadType.None) at += mm1.readUInt16BE(at + 2);
  const vid = Buffer.alloc(size - mm1.length);
  vid.writeUInt8(PayloadType.None, 0);
  vid.writeUInt16BE(vid.length, 2);
  vid.fill(0x5a, 4);
  const out = Buffer.concat([mm1, vid]);
  out[at] = PayloadType.VID;
  out.writeUInt32BE(out.length, 24);
  return out;
}

test("a flood of maximum-size MM1s keeps the embryonic table under its byte bound; a normal MM1 still gets its MM2 and completes", async () => {
  // One genuine MM1 to grow, from a throwaway setting where it never arrives.
  const mm1 = await peerMm1();

  const s = setting({ victimRuleRemote: "10.0.0.0/8" });
  assert.equal(s.victim.engine.embryos.limits.bytes, DEFAULT_EMBRYO_BYTES, "the default bound applies");
  const big = padded(mm1, MAX_DATAGRAM);
  const N = 200;
  for (let i = 0; i < N; i++) {
    const d = Buffer.from(big);
    d.writeUInt32BE(i + 1, 0);
    s.network.submit(d, { address: `10.0.7.${(i % 200) + 1}`, port: 500 }, s.victim.endpoint);
  }
  await settle(s, 60);
  const table = s.victim.engine.embryos;
  const answers = s.wire.filter((r) => r.from.address === VICTIM);
  assert.equal(answers.length, N, "every MM1 got its MM2");
  assert.equal(s.victim.engine.stats.engine.embryonic, N);
  const perEntry = MAX_DATAGRAM + answers[0]!.datagram.length;
  assert.ok(table.bytes <= DEFAULT_EMBRYO_BYTES, `${table.bytes} bytes held, bound ${DEFAULT_EMBRYO_BYTES}`);
  assert.equal(table.size, Math.floor(DEFAULT_EMBRYO_BYTES / perEntry), "the byte bound, not the entry bound, limits the table");
  assert.ok(table.size < DEFAULT_EMBRYO_LIMITS.capacity);
  assert.equal(table.bytes, table.size * perEntry, "the table counts what its records hold");
  assert.equal(s.victim.engine.stats.engine.embryonicEvicted, N - table.size, "the oldest went first");

  // The honest peer's own (normal-size) MM1 gets its MM2 from the full table, and the exchange completes.
  negotiate(s);
  await settle(s);
  assert.equal((await tables(s.victim)).kernelSas, 2, "Main and Quick Mode completed");
  assert.equal(s.victim.engine.stats.engine.embryonicMissed, 0);
  assert.ok(table.bytes <= DEFAULT_EMBRYO_BYTES);
  await close(s);
});
