import { test } from "node:test";
import assert from "node:assert/strict";
import { addMarker, classify, markerExpected } from "../../src/net/marker.js";

test("marker rule: NAT-T socket always, else only when neither port is 500", () => {
  assert.equal(markerExpected(4500, 4500, true), true);
  assert.equal(markerExpected(500, 10500, false), false);
  assert.equal(markerExpected(13500, 500, false), false);
  assert.equal(markerExpected(13500, 13501, false), true);
});

test("addMarker prefixes four zero bytes and classify strips them", () => {
  const ike = Buffer.from("0102030405060708", "hex");
  const wire = addMarker(ike);
  assert.equal(wire.toString("hex"), "000000000102030405060708");
  const r = classify(wire, true);
  assert.equal(r.kind, "ike");
  assert.ok(r.kind === "ike" && r.datagram.equals(ike));
});

test("keepalive, ESP and runts are recognised", () => {
  assert.equal(classify(Buffer.from([0xff]), true).kind, "keepalive");
  assert.equal(classify(Buffer.from([0xff]), false).kind, "keepalive");
  assert.equal(classify(Buffer.from("c0000001000000010000", "hex"), true).kind, "esp");
  assert.equal(classify(Buffer.from("000000", "hex"), true).kind, "runt");
  assert.equal(classify(Buffer.from("00000000", "hex"), true).kind, "runt");
  assert.equal(classify(Buffer.alloc(0), false).kind, "runt");
  // Without the marker rule, bytes are passed through untouched (the codec judges them).
  const r = classify(Buffer.from("c0000001", "hex"), false);
  assert.ok(r.kind === "ike" && r.datagram.toString("hex") === "c0000001");
});
