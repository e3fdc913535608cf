import { test } from "node:test";
import assert from "node:assert/strict";
import { canonicalAddress, formatPrefix, parseAddress, parsePrefix, prefixContains, prefixCovers } from "../../src/kernel/address.js";

test("addresses print in one canonical form", () => {
  const cases: Array<[string, string | null]> = [
    ["192.0.2.1", "192.0.2.1"],
    ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    ["::", "::"],
    ["::1", "::1"],
    ["fe80::", "fe80::"],
    ["::ffff:192.0.2.1", "::ffff:c000:201"],
    ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"],
    ["010.0.0.1", null],
    ["1::2::3", null],
    ["fe80::1%eth0", null],
    ["example.com", null],
    ["", null],
  ];
  for (const [input, want] of cases) assert.equal(canonicalAddress(input), want, input);
});

test("prefixes parse, mask host bits and match", () => {
  const p = parsePrefix("10.1.2.3/16")!;
  assert.equal(formatPrefix(p), "10.1.0.0/16");
  assert.ok(prefixContains(p, parseAddress("10.1.255.1")!));
  assert.ok(!prefixContains(p, parseAddress("10.2.0.1")!));
  assert.ok(!prefixContains(p, parseAddress("::1")!));
  assert.ok(prefixCovers(p, parsePrefix("10.1.4.0/24")!));
  assert.ok(!prefixCovers(p, parsePrefix("10.0.0.0/8")!));
  assert.equal(formatPrefix(parsePrefix("2001:db8:abcd::1/35")!), "2001:db8:a000::/35");
  assert.equal(formatPrefix(parsePrefix("0.0.0.0/0")!), "0.0.0.0/0");
  assert.ok(prefixContains(parsePrefix("0.0.0.0/0")!, parseAddress("203.0.113.9")!));
  for (const bad of ["10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "::/129", "x/8"]) assert.equal(parsePrefix(bad), null, bad);
});
