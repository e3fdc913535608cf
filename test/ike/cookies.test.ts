import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { CookieJar, ZERO_COOKIE } from "../../src/ike/cookies.js";
import { ManualClock } from "../helpers/manual-clock.js";

const peer = { address: "192.0.2.1", port: 500 };
const local = { address: "192.0.2.2", port: 500 };

test("icookies are random, 8 bytes and never zero", () => {
  let n = 0;
  const jar = new CookieJar({ random: (len) => (n++ === 0 ? Buffer.alloc(len) : Buffer.alloc(len, 7)) });
  const c = jar.icookie();
  assert.equal(c.length, 8);
  assert.ok(!c.equals(ZERO_COOKIE));
  const real = new CookieJar();
  assert.ok(!real.icookie().equals(real.icookie()));
});

test("rcookie is a stateless function of the first message, bound to peer, local and icookie", () => {
  const clock = new ManualClock();
  const jar = new CookieJar({ clock, rotateMs: 60_000 });
  const ic = Buffer.from("0102030405060708", "hex");
  const r1 = jar.rcookie(ic, peer, local);
  assert.ok(r1.equals(jar.rcookie(ic, peer, local)), "retransmitted MM1 gets the same rcookie");
  assert.ok(!r1.equals(jar.rcookie(ic, { ...peer, port: 4500 }, local)));
  assert.ok(!r1.equals(jar.rcookie(ic, { ...peer, address: "192.0.2.9" }, local)));
  assert.ok(!r1.equals(jar.rcookie(Buffer.from("0102030405060709", "hex"), peer, local)));
  assert.ok(jar.isOurs(r1, ic, peer, local));
  assert.ok(!jar.isOurs(r1, ic, { ...peer, address: "192.0.2.9" }, local));
  assert.ok(!jar.isOurs(Buffer.alloc(4), ic, peer, local));
});

test("secrets rotate per bucket; the previous secret is still honoured, older ones are not", () => {
  const clock = new ManualClock(0);
  const jar = new CookieJar({ clock, rotateMs: 1000 });
  const ic = Buffer.from("aaaaaaaaaaaaaaaa", "hex");
  const r1 = jar.rcookie(ic, peer, local);
  clock.advance(1000);
  assert.ok(!jar.rcookie(ic, peer, local).equals(r1), "new bucket, new rcookie");
  assert.ok(jar.isOurs(r1, ic, peer, local), "previous bucket still accepted");
  clock.advance(1000);
  assert.ok(!jar.isOurs(r1, ic, peer, local), "two buckets old: refused");
  const r3 = jar.rcookie(ic, peer, local);
  clock.advance(5000);
  assert.ok(!jar.isOurs(r3, ic, peer, local), "a jump of several buckets forgets the old secret");
});

/** The responder cookie as the file comment defines it, computed with Node's HMAC. */
function reference(secret: Buffer, bucket: number, ic: Buffer, p: { address: string; port: number }, l: { address: string; port: number }): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(bucket);
  const ep = (e: { address: string; port: number }): Buffer => Buffer.concat([Buffer.from(e.address, "latin1"), Buffer.from([0, e.port >> 8, e.port & 0xff])]);
  const out = createHmac("sha256", secret).update(b).update(ic).update(ep(p)).update(ep(l)).digest().subarray(0, 8);
  return out.equals(ZERO_COOKIE) ? Buffer.concat([Buffer.from([1]), out.subarray(1)]) : out;
}

test("rcookie is HMAC-SHA256(secret, bucket | icookie | peer | local) truncated to 8 bytes, for any address length", () => {
  const clock = new ManualClock(0);
  const secrets: Buffer[] = [];
  const jar = new CookieJar({ clock, rotateMs: 60_000, random: (n) => (secrets.push(Buffer.alloc(n, secrets.length + 0x41)), secrets.at(-1)!) });
  const ic = Buffer.from("a1a2a3a4a5a6a7a8", "hex");
  const peers = [
    peer,
    { address: "2001:db8::1", port: 4500 },
    { address: "fe80::1%eth0", port: 65535 },
    { address: "x".repeat(300), port: 0 },
    { address: "127.64.1.2", port: 500 },
  ];
  for (const p of peers) {
    for (const l of [local, { address: "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", port: 500 }]) {
      const r = jar.rcookie(ic, p, l);
      assert.deepEqual(r, reference(secrets[0]!, 0, ic, p, l), `${p.address} -> ${l.address}`);
      assert.ok(jar.isOurs(r, ic, p, l));
    }
  }
  const before = jar.rcookie(ic, peer, local);
  clock.advance(60_000);
  assert.deepEqual(jar.rcookie(ic, peer, local), reference(secrets[1]!, 1, ic, peer, local), "the next bucket's secret");
  assert.ok(jar.isOurs(before, ic, peer, local), "the previous secret still verifies");
});
