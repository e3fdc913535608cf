/**
 * The recorded strongSwan/Libreswan packets (test/fixtures/packets/*.json, when present) against the
 * codec: every packet decodes, a clear one re-encodes to its bytes, a decrypted body re-encodes to its
 * bytes before the padding, and each message conforms to the rule for its place in its exchange.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { checkRules, decodeDecrypted, decodeMessage, encodeMessage, encodePayloads, type MessagePosition, type PlainMessage } from "../../src/codec/index.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const dir = path.join(root, "test/fixtures/packets");

interface Fixture { source: string; packets: { name: string; hex: string; plaintextHex?: string }[] }

const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".json")).sort() : [];

// The recorded packets are committed: without them every capture test below would vanish silently.
test("capture fixtures are present", () => {
  assert.ok(files.length > 0, `no capture fixtures in ${dir}`);
});

/** MMn/AMn/QMn from the order of messages of each exchange in a capture; null for fragments. */
function positionOf(name: string, counters: Map<string, number>, messageId: number): MessagePosition | null {
  const m = /-(main|aggressive|quick|info|fragment)-[ir]/.exec(name);
  if (m === null || m[1] === "fragment") return null;
  if (m[1] === "info") return "INFO";
  const key = m[1] === "quick" ? `quick-${messageId}` : m[1]!;
  const n = (counters.get(key) ?? 0) + 1;
  counters.set(key, n);
  const prefix = m[1] === "main" ? "MM" : m[1] === "aggressive" ? "AM" : "QM";
  return `${prefix}${n}` as MessagePosition;
}

for (const file of files) {
  test(`capture ${file}: decode, mirror, rules`, () => {
    const fixture = JSON.parse(readFileSync(path.join(dir, file), "utf8")) as Fixture;
    const counters = new Map<string, number>();
    for (const p of fixture.packets) {
      const wire = Buffer.from(p.hex, "hex");
      const r = decodeMessage(wire);
      assert.ok(r.ok, `${p.name}: ${r.ok ? "" : `${r.error.code} at ${r.error.offset}`}`);
      let plain: PlainMessage;
      if (r.value.kind === "plain") {
        plain = r.value;
        assert.equal(encodeMessage(plain.header, plain.payloads).toString("hex"), p.hex, p.name);
      } else {
        if (p.plaintextHex === undefined) continue;
        const body = Buffer.from(p.plaintextHex, "hex");
        const d = decodeDecrypted(r.value.header, body);
        assert.ok(d.ok, `${p.name}: ${d.ok ? "" : `${d.error.code} at ${d.error.offset}`}`);
        plain = d.value;
        const again = encodePayloads(plain.payloads);
        assert.equal(again.toString("hex"), body.subarray(0, again.length).toString("hex"), p.name);
      }
      const pos = positionOf(p.name, counters, plain.header.messageId);
      if (pos === null) continue;
      const e = checkRules(pos, plain.header, plain.payloads);
      assert.equal(e, null, `${p.name} as ${pos}: ${e?.code} ${e?.detail}`);
    }
  });
}
