/**
 * Real PF_KEY messages from Linux 6.1 (captured in shared/kernel-vm) through the decoder and the
 * backend's translations: REGISTER's algorithm lists, an SA with NAT-T and lifetimes, GETSPI's
 * larval SA, policies with a tunnel template, a soft EXPIRE, an ACQUIRE with its proposals, and the
 * notices of other programs' changes. Linux writes extensions in its own order, not type order, so
 * re-encoding is checked by meaning, not bytes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { AuthAlg, EncAlg } from "../../../src/kernel/algorithms.js";
import { SaMetaTable } from "../../../src/kernel/sa-meta.js";
import { decodePfkey, encodePfkey, type PfkeyMessage } from "../../../src/kernel/pfkey/message.js";
import { pfkeyEvent } from "../../../src/kernel/pfkey/pfkey-events.js";
import { saInfoFromPfkey } from "../../../src/kernel/pfkey/pfkey-sa.js";
import { spdEntryFromPfkey } from "../../../src/kernel/pfkey/pfkey-spd.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../..");
const fixture = JSON.parse(readFileSync(path.join(root, "test/fixtures/kernel/pfkey-linux-6.1.json"), "utf8")) as { messages: Array<{ name: string; hex: string }> };
const msg = (name: string): PfkeyMessage => {
  const d = decodePfkey(Buffer.from(fixture.messages.find((m) => m.name === name)!.hex, "hex"));
  assert.ok(d.ok, `${name}: ${JSON.stringify(!d.ok && d.error)}`);
  return d.value;
};
const ctx = { policy: () => undefined, meta: new SaMetaTable(), nowSeconds: () => 0 };

test("every captured message decodes and re-encodes to the same meaning", () => {
  for (const m of fixture.messages) {
    const d = msg(m.name);
    const again = decodePfkey(encodePfkey(d));
    assert.ok(again.ok);
    assert.deepStrictEqual(again.value, d, m.name);
    assert.equal(encodePfkey(d).length, m.hex.length / 2, `${m.name}: same size`);
  }
});

test("REGISTER lists what the daemon negotiates", () => {
  const r = msg("register-esp-reply");
  const enc = r.ext.supportedEncrypt!.map((a) => a.id);
  const auth = r.ext.supportedAuth!.map((a) => a.id);
  for (const id of [EncAlg.DesCbc, EncAlg.TripleDesCbc, EncAlg.BlowfishCbc, EncAlg.Null, EncAlg.AesCbc]) assert.ok(enc.includes(id), `encryption ${id}`);
  for (const id of [AuthAlg.HmacMd5, AuthAlg.HmacSha1, AuthAlg.HmacSha256, AuthAlg.HmacSha384, AuthAlg.HmacSha512]) assert.ok(auth.includes(id), `auth ${id}`);
});

test("an SA: addresses, mode, reqid, algorithms and key sizes, NAT-T, lifetimes; keys only when asked", () => {
  for (const name of ["dump-one-sa", "add-notice-from-ip"]) {
    const sa = saInfoFromPfkey(msg(name), undefined, false);
    assert.ok(sa.ok);
    const v = sa.value;
    assert.deepEqual([v.src, v.dst, v.proto, v.spi, v.mode, v.reqid, v.state], ["192.0.2.1", "192.0.2.2", "esp", 0x1234, "tunnel", 7, "mature"]);
    assert.deepEqual([v.encAlg, v.encKeyBits, v.authAlg, v.authKeyBits], [EncAlg.AesCbc, 128, AuthAlg.HmacSha256, 256]);
    assert.deepEqual(v.encap, { sport: 4500, dport: 4500 });
    assert.deepEqual([v.soft.addSeconds, v.hard.addSeconds, v.soft.bytes, v.hard.bytes], [3, 600, 100000, 0]);
    assert.equal(v.keys, undefined);
  }
  const keyed = saInfoFromPfkey(msg("dump-one-sa"), undefined, true);
  assert.ok(keyed.ok);
  assert.deepEqual(keyed.value.keys, { enc: Buffer.alloc(16, 0x11), auth: Buffer.alloc(32, 0x22) });
  const larval = saInfoFromPfkey(msg("getspi-reply"), undefined, false);
  assert.ok(larval.ok);
  assert.deepEqual([larval.value.state, larval.value.src, larval.value.dst], ["larval", "192.0.2.2", "192.0.2.1"]);
  assert.ok(larval.value.spi >= 0x100 && larval.value.spi <= 0x1ff);
});

test("policies: selector, tunnel template, ownership by priority", () => {
  for (const name of ["spdadd-notice-from-ip", "spddump-one-policy"]) {
    const e = spdEntryFromPfkey(msg(name).ext, () => 4);
    assert.ok(e.ok);
    assert.deepEqual(e.value.selector, { src: "198.51.100.0/24", dst: "203.0.113.0/24", ulp: 17, srcPort: 0, dstPort: 53 });
    assert.deepEqual([e.value.dir, e.value.action, e.value.owned, e.value.rank, e.value.id], ["out", "ipsec", true, 1, 4]);
    assert.deepEqual(e.value.templates, [{ proto: "esp", mode: "tunnel", reqid: 7, optional: false, src: "192.0.2.1", dst: "192.0.2.2" }]);
  }
});

test("events: soft EXPIRE, ACQUIRE with proposals, others' DELETE; our FLUSH answer is not an event", () => {
  const exp = pfkeyEvent(msg("expire-soft"), ctx);
  assert.ok("event" in exp && exp.event.type === "expire");
  assert.deepEqual([exp.event.kind, exp.event.reason, exp.event.sa.spi, exp.event.sa.state], ["soft", "addtime", 0x1234, "dying"]);
  const acq = pfkeyEvent(msg("acquire-esp-transport"), ctx);
  assert.ok("event" in acq && acq.event.type === "acquire");
  assert.deepEqual([acq.event.src.address, acq.event.dst.address, acq.event.proto, acq.event.policy.index], ["127.0.0.1", "127.0.0.2", "esp", 0]);
  assert.ok(acq.event.policy.combinations.some((c) => c.encAlg === EncAlg.AesCbc && c.authAlg === AuthAlg.HmacSha1 && c.encMinBits === 128 && c.encMaxBits === 256));
  const del = pfkeyEvent(msg("delete-notice-from-ip"), ctx);
  assert.deepEqual(del, { event: { type: "delete", src: "192.0.2.1", dst: "192.0.2.2", proto: "esp", spi: 0x1234 } });
  assert.deepEqual(pfkeyEvent(msg("flush-notice"), ctx), { event: { type: "flush", proto: null } });
});
