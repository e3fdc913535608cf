/**
 * ikeload's own bookkeeping (src/load/) keeps no long-lived `Map` or `Set` that goes empty after a
 * negotiation: V8 re-allocates such a table in old space each time it empties (in-flight.ts), which
 * at half of a responder's peak rate, with one or two negotiations in flight, is every negotiation.
 * Counted by wrapping the collections' delete/clear and keeping those called from src/load/ that
 * left the table empty. Also: the in-flight table itself.
 *
 * Addresses: responder 127.0.4.12:14030, sources 127.4.3.x on port 500.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { startResponder } from "../../bench/handshake/responder.js";
import type { IsakmpSa } from "../../src/ike/isakmp-sa.js";
import { InFlight } from "../../src/load/in-flight.js";
import { parseLoadArgs } from "../../src/load/options.js";
import { runLoad } from "../../src/load/runner.js";

const PSK = "load-own-tables";

/** Run `fn`, counting the deletes and clears of Maps and Sets, called from src/load/, that left one empty. */
async function emptyingDeletesFromLoad(fn: () => Promise<void>): Promise<string[]> {
  const sites: string[] = [];
  const originals: [object, "delete" | "clear", (...a: unknown[]) => unknown][] = [];
  for (const proto of [Map.prototype, Set.prototype] as const) {
    for (const name of ["delete", "clear"] as const) {
      const orig = proto[name] as (...a: unknown[]) => unknown;
      originals.push([proto, name, orig]);
      Object.defineProperty(proto, name, {
        configurable: true,
        writable: true,
        value: function (this: Map<unknown, unknown> | Set<unknown>, ...args: unknown[]) {
          const before = this.size;
          const r = orig.apply(this, args);
          if (before > 0 && this.size === 0) {
            const caller = new Error().stack?.split("\n")[2] ?? "";
            if (/[/\\]src[/\\]load[/\\]/.test(caller)) sites.push(caller.trim());
          }
          return r;
        },
      });
    }
  }
  try {
    await fn();
  } finally {
    for (const [proto, name, orig] of originals) Object.defineProperty(proto, name, { configurable: true, writable: true, value: orig });
  }
  return sites;
}

test("one negotiation at a time: ikeload empties none of its own Maps or Sets", async () => {
  const r = await startResponder({ address: "127.0.4.12", port: 14030, workers: 0, peers: "127.4.3.0/24", pskHex: Buffer.from(PSK).toString("hex"), dhGroup: 2, encr: "aes(128..128)", hash: "sha1" });
  try {
    const a = parseLoadArgs(["--target", `127.0.4.12:${r.port}`, "--source", "127.4.3.1", "--concurrency", "1", "--count", "6", "--psk", PSK, "--workers", "0"]);
    assert.ok(a.ok && !a.help, JSON.stringify(a));
    let established = 0;
    const sites = await emptyingDeletesFromLoad(async () => {
      const res = await runLoad(a.value);
      assert.ok(res.ok, JSON.stringify(res));
      established = res.value.established;
    });
    assert.equal(established, 6);
    // Closing at the end of the run (ReusedDh.close) may empty a table once: not per negotiation.
    assert.deepEqual(sites.filter((s) => !/\.close \(/.test(s)), []);
  } finally {
    await r.close();
  }
});

test("the in-flight table: get, replace, delete, size and drain in insertion order", () => {
  const t = new InFlight<number>();
  const [a, b, c] = [{}, {}, {}] as unknown as IsakmpSa[];
  t.set(a!, 1);
  t.set(b!, 2);
  t.set(c!, 3);
  assert.equal(t.size, 3);
  assert.equal(t.get(b!), 2);
  assert.equal(t.delete(b!), true);
  assert.equal(t.delete(b!), false);
  assert.equal(t.get(b!), undefined);
  t.set(a!, 4);
  assert.equal(t.size, 2);
  assert.equal(t.get(a!), 4);
  assert.deepEqual(t.drain(), [c, a]);
  assert.equal(t.size, 0);
  assert.equal(t.get(c!), undefined);
  assert.deepEqual(t.drain(), []);
});
