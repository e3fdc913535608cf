/**
 * The whole-exchange fuzzer checks itself: its re-authentication of changed Quick Mode and
 * Informational messages gives exactly the HASH the engine computes, and a bug planted in the
 * engine (a throw on a peer's DPD, a table that keeps entries, a Quick Mode never forgotten) is
 * reported as a crash, a leak and a hang.
 */
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { ExchangeType, PayloadType } from "../../src/codec/index.js";
import { EngineIo } from "../../src/ike/engine-io.js";
import { InfoHandler } from "../../src/ike/info-handler.js";
import { IpsecSas } from "../../src/ike/ipsec-sas.js";
import { SaManager } from "../../src/ike/sa-manager.js";
import { fuzzExchanges } from "./fuzz/exchange-fuzzer.js";
import { rehash } from "./fuzz/interceptor.js";
import { fuzzPairs, startExchange } from "./fuzz/pairs.js";
import { settle } from "./harness.js";

test("re-authenticating an unchanged QM1, QM2 or Informational gives the engine's own HASH(1)/HASH(2)", async (t: TestContext) => {
  const checked: string[] = [];
  const encode = EngineIo.prototype.encode;
  const position = new Map<string, number>();
  const nonceI = new Map<string, Buffer>();
  t.mock.method(EngineIo.prototype, "encode", function (this: EngineIo, ...args: Parameters<typeof encode>) {
    const [sa, o, exchangeType = 0, mid = 0] = args;
    const key = `${sa.icookie.toString("hex")}/${mid}`;
    const n = position.get(key) ?? 0;
    position.set(key, n + 1);
    if (exchangeType === ExchangeType.QuickMode && n === 0) nonceI.set(key, Buffer.from(o.payloads.find((p) => p.type === PayloadType.NONCE)!.data as Buffer));
    if ((exchangeType === ExchangeType.QuickMode && n < 2) || exchangeType === ExchangeType.Informational) {
      const again = rehash(sa, [...o.payloads], exchangeType, mid, n, nonceI.get(key));
      const hash = (p: (typeof again)[number] | undefined) => (p?.type === PayloadType.HASH ? p.data : undefined);
      assert.ok(hash(again[0])!.equals(hash(o.payloads[0])!), `${exchangeType} position ${n}`);
      checked.push(`${exchangeType}/${n}`);
    }
    return encode.apply(this, args);
  });
  const [p] = fuzzPairs([]);
  startExchange(p!);
  await settle(p!.pair, 40);
  assert.deepEqual(checked, [`${ExchangeType.QuickMode}/0`, `${ExchangeType.QuickMode}/1`]);
  const sa = p!.pair.a.engine.sas.all()[0]!;
  await p!.pair.a.engine.deleteSa(sa);
  assert.ok(checked.includes(`${ExchangeType.Informational}/0`));
  p!.pair.a.engine.close();
  p!.pair.b.engine.close();
});

test("a planted throw on a peer's DPD is reported as a crash", async (t: TestContext) => {
  const handle = (InfoHandler.prototype as unknown as { protected: (i: unknown) => Promise<void> }).protected;
  t.mock.method(InfoHandler.prototype as unknown as { protected: (i: unknown) => Promise<void> }, "protected", function (this: InfoHandler, i: { payloads: readonly { type: number; notifyType?: number }[] }) {
    if (i.payloads.some((x) => x.type === PayloadType.N && x.notifyType === 36136)) throw new TypeError("planted bug");
    return handle.call(this, i);
  });
  const r = await fuzzExchanges({ count: 40, seed: 1 });
  assert.ok(r.crashes.length > 0 && r.crashes.every((c) => /planted bug/.test(c)), r.crashes.slice(0, 3).join("\n"));
});

test("a planted table leak (IPsec SA lists never released) is reported as a leak", async (t: TestContext) => {
  t.mock.method(IpsecSas.prototype, "release", () => undefined);
  const r = await fuzzExchanges({ count: 40, seed: 2 });
  assert.ok(r.leaks.length > 0, "leak found");
  assert.match(r.leaks[0]!, /engine\.installed: 0 -> 1/);
});

test("a planted hang (finished Quick Modes never forgotten) is reported as a hang", async (t: TestContext) => {
  t.mock.method(SaManager.prototype, "deletePhase2", () => undefined);
  const r = await fuzzExchanges({ count: 40, seed: 3 });
  assert.ok(r.hangs.some((h) => /Quick Mode\(s\) still in the Phase 2 table/.test(h)), r.hangs.slice(0, 3).join("\n"));
});
