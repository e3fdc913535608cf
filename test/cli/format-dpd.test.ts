/** `ikeadm get|dump p1`: the DPD lines of the IKESA: record (RFC 3706 state). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { formatP1 } from "../../src/cli/ikeadm/format-sa.js";
import type { P1View } from "../../src/control/results.js";

const base: P1View = {
  icookie: "0123456789abcdef", rcookie: "fedcba9876543210", initiator: true, state: "ACTIVE",
  local: { address: "10.0.0.1", port: 500 }, remote: { address: "10.0.0.2", port: 500 }, createdMs: 0, qmCreated: 0,
};

test("DPD in use: enabled, handshake state, last heard, both sequence numbers", () => {
  const lines = formatP1({ ...base, dpd: { enabled: true, weSent: true, peerSent: true, lastHeardMs: 1000, lastAckMs: 2000, outstanding: 0, seq: 42, peerSeq: 7 } });
  assert.equal(lines[2], "       Dead Peer Detection (RFC 3706) is enabled; handshake successful at Thu, 01 Jan 1970 00:00:02 GMT");
  assert.equal(lines[3], "       DPD: peer last heard Thu, 01 Jan 1970 00:00:01 GMT; our seq 42; peer seq 7");
  const probing = formatP1({ ...base, dpd: { enabled: true, weSent: true, peerSent: true, lastHeardMs: 0, outstanding: 2, seq: 9 } });
  assert.match(probing[2]!, /handshake in progress, 2 R-U-THERE unanswered$/);
  assert.match(probing[3]!, /our seq 9; peer seq none yet$/);
});

test("DPD not in use says why", () => {
  const off = (weSent: boolean, peerSent: boolean): string => formatP1({ ...base, dpd: { enabled: false, weSent, peerSent, lastHeardMs: 0, outstanding: 0 } })[2]!;
  assert.equal(off(false, true), "       Dead Peer Detection (RFC 3706): not in use (not configured)");
  assert.equal(off(true, false), "       Dead Peer Detection (RFC 3706): not in use (peer did not send the DPD vendor ID)");
  assert.match(formatP1(base)[2]!, /^LIFTM:|^LOCIP:/, "no DPD line without DPD state");
});
