/**
 * Mutation fuzz of the kernel decoders (XFRM netlink, PF_KEY v2), time-bounded: valid messages from
 * the generators are mutated (bit flips, byte stores, truncation, extension, length-field edits,
 * splices) and fed to the decoders and to what the backends do with a decoded message (SA, policy
 * and event translation). Every input must return, never throw; an accepted message must survive a
 * second encode and decode unchanged. The seed is printed; replay with FUZZ_SEED, lengthen with
 * FUZZ_MS.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import { SaMetaTable } from "../../src/kernel/sa-meta.js";
import { splitMessages } from "../../src/kernel/wire/netlink.js";
import { decodeXfrm, encodeXfrm } from "../../src/kernel/xfrm/message.js";
import { xfrmEvent } from "../../src/kernel/xfrm/xfrm-events.js";
import { saInfoFromUsersa } from "../../src/kernel/xfrm/xfrm-sa.js";
import { spdEntryFromXfrm } from "../../src/kernel/xfrm/xfrm-spd.js";
import { decodePfkey, encodePfkey } from "../../src/kernel/pfkey/message.js";
import { pfkeyEvent } from "../../src/kernel/pfkey/pfkey-events.js";
import { saInfoFromPfkey } from "../../src/kernel/pfkey/pfkey-sa.js";
import { spdEntryFromPfkey } from "../../src/kernel/pfkey/pfkey-spd.js";
import { pfkeyMessage, xfrmControl, xfrmMessage } from "./kernel-arbitraries.js";
import { Rng } from "./mutate.js";

const seed = Number(process.env["FUZZ_SEED"] ?? Date.now() % 0x7fffffff);
const budgetMs = Number(process.env["FUZZ_MS"] ?? 3000);

/** Offsets of length fields: netlink nlmsg_len (u32) and nla_len (u16) guesses, PF_KEY sadb lens (u16). */
function lengthOffsets(b: Buffer, kind: "xfrm" | "pfkey"): number[] {
  const out: number[] = [];
  if (kind === "xfrm") {
    for (let at = 0; at + 16 <= b.length; ) {
      out.push(at);
      const len = b.readUInt32LE(at);
      if (len < 16) break;
      at += Math.ceil(len / 4) * 4;
    }
  } else {
    out.push(4);
    for (let at = 16; at + 4 <= b.length; ) {
      out.push(at);
      const words = b.readUInt16LE(at);
      if (words === 0) break;
      at += words * 8;
    }
  }
  return out;
}

function mutate(rng: Rng, seedBytes: Buffer, other: Buffer, kind: "xfrm" | "pfkey"): Buffer {
  let b: Buffer = Buffer.from(seedBytes);
  const rounds = 1 + rng.int(3);
  for (let r = 0; r < rounds && b.length > 0; r++) {
    switch (rng.int(7)) {
      case 0:
        b[rng.int(b.length)]! ^= 1 << rng.int(8);
        break;
      case 1:
        b[rng.int(b.length)] = rng.pick([0, 0xff, 0x7f, 0x80, rng.int(256)]);
        break;
      case 2:
        b = b.subarray(0, rng.int(b.length));
        break;
      case 3:
        b = Buffer.concat([b, Buffer.from(Array.from({ length: 1 + rng.int(24) }, () => rng.int(256)))]);
        break;
      case 4: {
        const offs = lengthOffsets(b, kind);
        const at = rng.pick(offs.length > 0 ? offs : [0]);
        if (at + 2 <= b.length) b.writeUInt16LE(rng.pick([0, 1, 2, 3, 4, 8, 0xffff, rng.int(0x10000), (b.readUInt16LE(at) + rng.int(5) - 2) & 0xffff]), at);
        break;
      }
      case 5: {
        // A 16-bit field somewhere set to a small value: attribute types, lengths, families.
        const at = rng.int(Math.max(1, b.length - 1));
        if (at + 2 <= b.length) b.writeUInt16LE(rng.int(40), at);
        break;
      }
      default: {
        const cut = rng.int(b.length);
        b = Buffer.concat([b.subarray(0, cut), other.subarray(rng.int(Math.max(1, other.length)))]);
      }
    }
  }
  return b;
}

const meta = new SaMetaTable();

function xfrmOne(b: Buffer): boolean {
  const split = splitMessages(b);
  if (!split.ok) return false;
  let accepted = false;
  for (const nl of split.value) {
    const d = decodeXfrm(nl, 0);
    if (!d.ok) continue;
    accepted = true;
    const m = d.value;
    if (m.body.kind !== "other") {
      const again = splitMessages(encodeXfrm(m));
      assert.ok(again.ok);
      const d2 = decodeXfrm(again.value[0]!, 0);
      assert.ok(d2.ok && isDeepStrictEqual(d2.value, m), "re-encoding an accepted message changes it");
    }
    if (m.body.kind === "usersa") saInfoFromUsersa(m.body.info, m.attrs, undefined, true);
    if (m.body.kind === "userpolicy") spdEntryFromXfrm(m.body.info, m.attrs, () => 1);
    xfrmEvent(m, { ownPort: 7, idOf: () => 1, meta, nowSeconds: () => 1_700_000_000 });
  }
  return accepted;
}

function pfkeyOne(b: Buffer): boolean {
  const d = decodePfkey(b);
  if (!d.ok) return false;
  const d2 = decodePfkey(encodePfkey(d.value));
  assert.ok(d2.ok && isDeepStrictEqual(d2.value, d.value), "re-encoding an accepted message changes it");
  saInfoFromPfkey(d.value, undefined, true);
  spdEntryFromPfkey(d.value.ext, () => 1);
  pfkeyEvent(d.value, { policy: () => ({ id: 1, selector: { src: "192.0.2.0/24", dst: "198.51.100.0/24", ulp: 0, srcPort: 0, dstPort: 0 }, mode: "tunnel" }), meta, nowSeconds: () => 1_700_000_000 });
  return true;
}

test(`kernel decoders survive mutated messages (seed ${seed}, ${budgetMs} ms; FUZZ_SEED to replay)`, { timeout: 120_000 }, () => {
  const xSeeds = fc.sample(fc.array(fc.oneof(xfrmMessage, xfrmControl), { minLength: 1, maxLength: 3 }), { seed, numRuns: 150 }).map((ms) => Buffer.concat(ms.map(encodeXfrm)));
  const pSeeds = fc.sample(pfkeyMessage, { seed, numRuns: 150 }).map(encodePfkey);
  const rng = new Rng(seed);
  const end = Date.now() + budgetMs;
  const stats = { xfrm: 0, pfkey: 0, xfrmAccepted: 0, pfkeyAccepted: 0 };
  let last: Buffer = Buffer.alloc(0);
  try {
    while (Date.now() < end) {
      for (let i = 0; i < 200; i++) {
        if (rng.int(2) === 0) {
          last = mutate(rng, rng.pick(xSeeds), rng.pick(xSeeds), "xfrm");
          stats.xfrm++;
          if (xfrmOne(last)) stats.xfrmAccepted++;
        } else {
          last = mutate(rng, rng.pick(pSeeds), rng.pick(pSeeds), "pfkey");
          stats.pfkey++;
          if (pfkeyOne(last)) stats.pfkeyAccepted++;
        }
      }
    }
  } catch (err) {
    throw new Error(`seed ${seed}: input ${last.toString("hex")}: ${(err as Error).stack}`);
  }
  console.log(`kernel fuzz: seed ${seed}: ${JSON.stringify(stats)}`);
  assert.ok(stats.xfrmAccepted > 0 && stats.xfrmAccepted < stats.xfrm, "XFRM mutants both pass and fail");
  assert.ok(stats.pfkeyAccepted > 0 && stats.pfkeyAccepted < stats.pfkey, "PF_KEY mutants both pass and fail");
});
