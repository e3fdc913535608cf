/**
 * The address ID we present (identity.ts localIdPayload): its type and bytes for IPv4 and IPv6
 * local addresses, the same on every call (the parsed form is remembered per address), and a
 * payload of its own each time, so that changing one cannot change the next.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { IdType, PayloadType, type IdPayload } from "../../../src/codec/index.js";
import type { ResolvedRule } from "../../../src/config/types.js";
import { localIdPayload } from "../../../src/ike/phase1/identity.js";

const rule = (localIdType: number): ResolvedRule => ({ localIdType, rule: {} }) as unknown as ResolvedRule;
const at = (address: string) => ({ address, port: 500 });

function id(address: string, t: number = IdType.ID_IPV4_ADDR): IdPayload {
  const r = localIdPayload(rule(t), at(address));
  assert.ok(typeof r !== "string", String(r));
  return r;
}

test("an address ID names the local address, IPv4 or IPv6, call after call", () => {
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(id("192.0.2.7"), { type: PayloadType.ID, idType: IdType.ID_IPV4_ADDR, protocolId: 0, port: 0, data: Buffer.from([192, 0, 2, 7]) });
    // The rule's address type is a family hint only: the address in use decides.
    assert.deepEqual(id("2001:db8::1", IdType.ID_IPV4_ADDR), {
      type: PayloadType.ID, idType: IdType.ID_IPV6_ADDR, protocolId: 0, port: 0,
      data: Buffer.from("20010db8000000000000000000000001", "hex"),
    });
    assert.equal(id("::ffff:10.1.2.3", IdType.ID_IPV6_ADDR).data.toString("hex"), "00000000000000000000ffff0a010203");
  }
});

test("each address ID is a payload of its own: changing one leaves the next as it was", () => {
  const a = id("198.51.100.9");
  a.data[0] = 0;
  (a as { port: number }).port = 500;
  const b = id("198.51.100.9");
  assert.notEqual(a.data, b.data);
  assert.deepEqual([...b.data], [198, 51, 100, 9]);
  assert.equal(b.port, 0);
});

test("many local addresses: every one still gives its own ID", () => {
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 600; i++) {
      const address = `10.${(i >> 8) & 255}.${i & 255}.1`;
      assert.deepEqual([...id(address).data], [10, (i >> 8) & 255, i & 255, 1], address);
    }
  }
});
