/**
 * Junk that looks like a Quick Mode on an established ISAKMP SA (issue 11 item 2, found again by the
 * whole-exchange fuzzer: a QM1 whose ciphertext was cut short) never enters the Phase 2 table: a
 * Quick Mode exchange exists only once a message for its message ID has decrypted, decoded and
 * passed the codec's rules. Before, an undecryptable QM1 left an entry behind for good, with no
 * timer to end it.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeEncrypted, ExchangeType, HeaderFlag, PayloadType } from "../../src/codec/index.js";
import { initiate, settle } from "./harness.js";
import { closePair, esp, qmPair, requestFor } from "./qm-helpers.js";

for (const [what, length] of [["not a multiple of the block size", 37], ["decrypting to garbage", 48]] as const) {
  test(`an encrypted Quick Mode message ${what} leaves no Phase 2 entry; a real one still succeeds`, async () => {
    const p = qmPair(esp("10.0.0.2"), esp("10.0.0.1"));
    initiate(p, "to-b");
    await settle(p);
    const saB = p.b.engine.sas.all()[0]!;
    assert.equal(saB.state, "established");
    for (let i = 0; i < 20; i++) {
      const junk = encodeEncrypted(
        { icookie: saB.icookie, rcookie: saB.rcookie, exchangeType: ExchangeType.QuickMode, flags: HeaderFlag.Encryption, messageId: 0x1000 + i },
        PayloadType.HASH,
        Buffer.alloc(length, i + 1),
      );
      p.b.engine.receive(junk, p.b.endpoint, p.a.endpoint);
    }
    await settle(p);
    assert.equal(p.b.engine.sas.phase2Count, 0, "no Quick Mode entry for junk");
    const sa = p.a.engine.sas.all()[0]!;
    let ups = 0;
    p.b.engine.on("phase2-up", () => ups++);
    assert.ok(p.a.engine.quickMode(sa, requestFor(p)));
    await settle(p);
    assert.equal(ups, 1);
    await closePair(p);
  });
}
