/** The daemon-side wiring helpers of the IKE engine: which addresses get sockets, log categories. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseIkeConfig } from "../../src/config/index.js";
import { engineLog, localAddresses } from "../../src/daemon/ike-service.js";
import type { DebugCategoryName } from "../../src/log/categories.js";
import type { Fields, Logger } from "../../src/log/logger.js";

test("sockets: host addresses of local_addr only (single or full-length prefix), each once", () => {
  const text = `p1_xform { auth_method preshared oakley_group 14 auth_alg sha1 encr_alg aes }
{ label "a" local_addr 127.0.6.1 remote_addr 127.0.6.2 }
{ label "b" local_addr 127.0.6.1 remote_addr 127.0.6.3 }
{ label "c" local_addr 10.0.0.0/8 remote_addr 127.0.6.4 }
{ label "d" local_addr 10.1.1.1-10.1.1.9 remote_addr 127.0.6.5 }
{ label "e" local_addr 127.0.6.9/32 remote_addr 127.0.6.6 }
{ label "f" local_addr ::1 remote_addr ::2 }
`;
  const c = parseIkeConfig(text, "ike.config");
  assert.ok(c.ok, JSON.stringify(c));
  assert.deepEqual(localAddresses(c.value), ["127.0.6.1", "127.0.6.9", "::1"]);
});

test("engine log lines map to the original's debug categories; levels kept", () => {
  const seen: string[] = [];
  const log = {
    enabled: () => true,
    debug: (cat: DebugCategoryName, msg: string, _f?: Fields) => seen.push(`debug ${cat} ${msg}`),
    info: (msg: string, _f?: Fields) => seen.push(`info ${msg}`),
    warn: (msg: string, _f?: Fields) => seen.push(`warn ${msg}`),
    error: (msg: string, _f?: Fields) => seen.push(`error ${msg}`),
  } as unknown as Logger;
  const l = engineLog(log);
  l.debug({ sa: "x" }, "ISAKMP SA state");
  l.debug({ sa: "x", mid: 7 }, "retransmitted");
  l.debug({}, "Quick Mode responder chose a proposal");
  l.debug({ peer: "p" }, "datagram dropped");
  l.info({}, "Phase 1 SA established");
  l.warn({}, "w");
  l.error({}, "e");
  assert.deepEqual(seen, [
    "debug phase1 ISAKMP SA state",
    "debug phase2 retransmitted",
    "debug phase2 Quick Mode responder chose a proposal",
    "debug op datagram dropped",
    "info Phase 1 SA established",
    "warn w",
    "error e",
  ]);
});

test("engine debug calls stop at a bit test when none of phase1, phase2, op is on; one on lets them through to the logger's own check", () => {
  const on = new Set<string>();
  const asked: string[] = [];
  const seen: string[] = [];
  const log = {
    enabled: (cat: DebugCategoryName) => (asked.push(cat), on.has(cat)),
    debug: (cat: DebugCategoryName, msg: string) => seen.push(`${cat} ${msg}`),
  } as unknown as Logger;
  const l = engineLog(log);
  l.debug({ sa: "x" }, "ISAKMP SA state");
  l.debug({ sa: "x", mid: 7 }, "retransmitted");
  assert.deepEqual(seen, []);
  assert.deepEqual([...new Set(asked)].sort(), ["op", "phase1", "phase2"]);
  on.add("op");
  l.debug({ sa: "x", mid: 7 }, "retransmitted");
  assert.deepEqual(seen, ["phase2 retransmitted"]);
});

test("the engine log says whether any of its debug categories is on (what the engine asks before building a debug line)", () => {
  const on = new Set<string>();
  const l = engineLog({ enabled: (cat: DebugCategoryName) => on.has(cat) } as unknown as Logger);
  assert.equal(l.debugEnabled?.(), false);
  on.add("phase2");
  assert.equal(l.debugEnabled?.(), true);
  on.clear();
  on.add("op");
  assert.equal(l.debugEnabled?.(), true);
  on.clear();
  on.add("cert");
  assert.equal(l.debugEnabled?.(), false);
});
