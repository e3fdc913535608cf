/**
 * The certificate cache: keyed by fingerprint, per usage, bounded (least recently used goes),
 * expiring after its TTL or with a certificate on the path, flushed whole; cache ids stable for
 * pinned (store) certificates and handed out once per certificate.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Certificate } from "../../src/pki/certificate.js";
import { CertCache } from "../../src/pki/certcache.js";
import type { ValidatedPath } from "../../src/pki/chain.js";

const cert = (fp: string, notAfter = 1e15, subjectText = `CN=${fp}`) => ({ fingerprint: fp, notAfter, subjectText }) as unknown as Certificate;
const path = (leaf: Certificate, ...up: Certificate[]): ValidatedPath => ({ leaf, path: [leaf, ...up], anchor: "cert_root" });

test("add and get by fingerprint and usage", () => {
  let now = 1000;
  const c = new CertCache({ now: () => now });
  const e = c.add(path(cert("aa")), "signature");
  assert.equal(e.id, 1);
  assert.equal(c.get("aa", "signature"), e);
  assert.equal(c.get("aa", "encryption"), undefined, "validated for signatures only");
  const both = c.add(path(cert("aa")), "encryption");
  assert.deepEqual([...both.usages].sort(), ["encryption", "signature"]);
  assert.equal(both.id, 1, "same certificate, same id");
  assert.equal(c.get("bb", "signature"), undefined);
  now += 1;
  assert.equal(c.size, 1);
});

test("entries expire after the TTL, or when a certificate on the path expires first", () => {
  let now = 0;
  const c = new CertCache({ ttlMs: 1000, now: () => now });
  c.add(path(cert("long")), "signature");
  c.add(path(cert("short"), cert("ca", 500)), "signature");
  now = 499;
  assert.ok(c.get("short", "signature"));
  now = 500;
  assert.equal(c.get("short", "signature"), undefined, "the CA expired");
  now = 999;
  assert.ok(c.get("long", "signature"));
  now = 1000;
  assert.equal(c.get("long", "signature"), undefined, "TTL reached");
  assert.equal(c.size, 0);
});

test("bounded: the least recently used entry goes first", () => {
  const c = new CertCache({ maxEntries: 2 });
  c.add(path(cert("1")), "signature");
  c.add(path(cert("2")), "signature");
  assert.ok(c.get("1", "signature"), "1 is now the most recent");
  c.add(path(cert("3")), "signature");
  assert.deepEqual(c.entries().map((e) => e.fingerprint), ["1", "3"]);
});

test("find looks through live entries by leaf", () => {
  const c = new CertCache();
  c.add(path(cert("x", 1e15, "CN=gw1")), "signature");
  c.add(path(cert("y", 1e15, "CN=gw2")), "signature");
  assert.deepEqual(c.find((l) => l.subjectText === "CN=gw2").map((e) => e.fingerprint), ["y"]);
});

test("flush empties the cache; pinned store certificates keep their ids, others get new ones", () => {
  const c = new CertCache();
  c.pin(["store1"]);
  assert.equal(c.idFor("store1"), 1);
  assert.equal(c.add(path(cert("peer")), "signature").id, 2);
  assert.equal(c.flush(), 1);
  assert.equal(c.size, 0);
  assert.equal(c.idFor("store1"), 1);
  assert.equal(c.add(path(cert("peer")), "signature").id, 3, "a forgotten certificate is numbered anew");
  c.pin([]);
  c.flush();
  assert.equal(c.idFor("store1"), 4, "no longer in the store: its id went");
});
