import { test } from "node:test";
import assert from "node:assert/strict";
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
