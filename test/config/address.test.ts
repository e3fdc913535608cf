/** Address literals, specs, canonical text and coverage. */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { isIPv4 } from "node:net";
import { addressCovers, addressSpan, formatAddressSpec, formatIp, parseAddressSpec, parseIp } from "../../src/config/index.js";

test("IPv4 and IPv6 literals parse to numbers; names, zones and junk do not", () => {
  assert.deepEqual(parseIp("192.0.2.1"), { family: 4, value: 0xc0000201n });
  assert.deepEqual(parseIp("::"), { family: 6, value: 0n });
  assert.deepEqual(parseIp("::1"), { family: 6, value: 1n });
  assert.deepEqual(parseIp("1::"), { family: 6, value: 1n << 112n });
  assert.deepEqual(parseIp("::ffff:192.0.2.1"), { family: 6, value: 0xffffc0000201n });
  assert.deepEqual(parseIp("1:2:3:4:5:6:1.2.3.4"), parseIp("1:2:3:4:5:6:102:304"));
  for (const bad of ["", "1.2.3", "1.2.3.4.5", "01.2.3.4", "256.0.0.0", "host", "fe80::1%eth0", "1:2:3:4:5:6:7:8:9", ":::", "1::2::3", " 1.2.3.4"]) {
    assert.equal(parseIp(bad), undefined, bad);
  }
});

test("IPv6 text is RFC 5952 canonical", () => {
  assert.equal(formatIp(6, parseIp("2001:0DB8:0000:0000:0000:0000:0000:0001")!.value), "2001:db8::1");
  assert.equal(formatIp(6, parseIp("2001:db8:0:1:0:0:0:1")!.value), "2001:db8:0:1::1");
  assert.equal(formatIp(6, parseIp("2001:db8:0:0:1:0:0:1")!.value), "2001:db8::1:0:0:1");
  assert.equal(formatIp(6, parseIp("2001:db8:1:1:1:1:0:1")!.value), "2001:db8:1:1:1:1:0:1");
  assert.equal(formatIp(6, 0n), "::");
});

test("property: formatIp output parses back to the same number", () => {
  fc.assert(fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), (v) => {
    assert.deepEqual(parseIp(formatIp(6, v)), { family: 6, value: v });
  }), { numRuns: 500 });
  fc.assert(fc.property(fc.bigInt({ min: 0n, max: (1n << 32n) - 1n }), (v) => {
    assert.deepEqual(parseIp(formatIp(4, v)), { family: 4, value: v });
  }), { numRuns: 200 });
});

test("specs: prefix, netmask, range, and their coverage", () => {
  const spec = (t: string) => {
    const r = parseAddressSpec(t);
    assert.ok(r.ok, t);
    return r.spec;
  };
  const net = spec("10.1.2.77/24");
  assert.equal(formatAddressSpec(net), "10.1.2.77/24");
  assert.equal(addressSpan(net), 256n);
  assert.ok(addressCovers(net, parseIp("10.1.2.0")!));
  assert.ok(addressCovers(net, parseIp("10.1.2.255")!));
  assert.ok(!addressCovers(net, parseIp("10.1.3.0")!));
  assert.ok(!addressCovers(net, parseIp("::ffff:10.1.2.1")!));
  assert.deepEqual(spec("10.0.0.0/255.255.255.128"), { kind: "prefix", family: 4, addr: "10.0.0.0", prefixLen: 25 });
  assert.deepEqual(spec("10.0.0.0/0.0.0.0"), { kind: "prefix", family: 4, addr: "10.0.0.0", prefixLen: 0 });
  assert.deepEqual(spec("10.0.0.0/010"), { kind: "prefix", family: 4, addr: "10.0.0.0", prefixLen: 8 });
  const range = spec("10.0.0.9-10.0.0.9");
  assert.equal(addressSpan(range), 1n);
  assert.equal(addressSpan(spec("::/0")), 1n << 128n);
  assert.deepEqual(parseAddressSpec("10.0.0.0/x"), { ok: false, code: "IKE_ERR_CFG_BAD_ADDRESS", message: "prefix length 'x' is not a number from 0 to 32" });
  assert.deepEqual(parseAddressSpec("10.0.0.0/::"), { ok: false, code: "IKE_ERR_CFG_BAD_ADDRESS", message: "'::' is not a netmask of the same family" });
});

test("IPv4: parseIp takes exactly what net.isIPv4 takes, with the value of its four parts", () => {
  const reference = (t: string): bigint => t.split(".").reduce((v, p) => (v << 8n) | BigInt(Number(p)), 0n);
  const check = (t: string): void => {
    const got = parseIp(t);
    if (isIPv4(t)) assert.deepEqual(got, { family: 4, value: reference(t) }, t);
    else assert.notEqual(got?.family, 4, t);
  };
  for (const t of ["0.0.0.0", "255.255.255.255", "256.0.0.1", "01.2.3.4", "1.02.3.4", "1.2.3.00", "1.2.3", "1.2.3.4.", ".1.2.3.4", "1..2.3", "1.2.3.4.5", "1.2.3.-4", "1.2.3.4 ", "１.2.3.4", "1.2.3.1000", "", "."]) check(t);
  const part = fc.oneof(fc.integer({ min: 0, max: 300 }).map(String), fc.stringMatching(/^[0-9]{0,4}$/), fc.constantFrom("", "x", "00", "-1", "+1"));
  fc.assert(fc.property(fc.array(part, { minLength: 1, maxLength: 6 }), (parts) => check(parts.join("."))), { numRuns: 5000 });
});
