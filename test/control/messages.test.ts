/** Shape validation of admin requests: what is accepted and the error code of what is not. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { AdminError, validateRequest } from "../../src/control/messages.js";

const env = (req: unknown, extra: Record<string, unknown> = {}) => ({ v: 1, id: 3, req, ...extra });

test("well-formed requests are accepted", () => {
  for (const req of [
    { cmd: "get_debug" },
    { cmd: "set_debug", level: 0x58 },
    { cmd: "set_debug", level: 4, file: "/tmp/x.log" },
    { cmd: "get_rule", label: "a rule" },
    { cmd: "get_ps", id: { kind: "addr", local: "127.0.0.1", remote: "127.0.0.2" } },
    { cmd: "del_ps", id: { kind: "ident", localType: "fqdn", local: "a", remoteType: "fqdn", remote: "b" } },
    { cmd: "get_p1", id: { kind: "cookies", icookie: "00", rcookie: "11" } },
    { cmd: "read_rules" },
    { cmd: "write_ps", file: "/tmp/out" },
  ]) {
    const r = validateRequest(env(req));
    assert.ok(r.ok, JSON.stringify(req));
    assert.deepEqual(r.envelope.req, req);
  }
});

test("malformed requests get the matching door error code", () => {
  const cases: [unknown, number][] = [
    [null, AdminError.REQ_INVALID],
    [[1, 2], AdminError.REQ_INVALID],
    [{ v: 2, id: 1, req: { cmd: "get_debug" } }, AdminError.REQ_INVALID],
    [{ v: 1, id: -1, req: { cmd: "get_debug" } }, AdminError.REQ_INVALID],
    [env("get_debug"), AdminError.REQ_INVALID],
    [env({ cmd: "rm_rf" }), AdminError.CMD_INVALID],
    [env({ cmd: "__proto__" }), AdminError.CMD_INVALID],
    [env({ cmd: "set_debug", level: "all" }), AdminError.REQ_INVALID],
    [env({ cmd: "set_debug", level: 2 ** 40 }), AdminError.REQ_INVALID],
    [env({ cmd: "set_priv", level: 1.5 }), AdminError.REQ_INVALID],
    [env({ cmd: "get_debug", extra: 1 }), AdminError.REQ_INVALID],
    [env({ cmd: "get_rule", label: "x".repeat(256) }), AdminError.ID_INVALID],
    [env({ cmd: "get_rule", label: "" }), AdminError.ID_INVALID],
    [env({ cmd: "get_ps", id: { kind: "addr", local: "a" } }), AdminError.ID_INVALID],
    [env({ cmd: "get_ps", id: { kind: "addr", local: "a", remote: "b", x: 1 } }), AdminError.ID_INVALID],
    [env({ cmd: "write_rules", file: "relative/path" }), AdminError.LOC_INVALID],
    [env({ cmd: "read_ps", file: "/tmp/a\0b" }), AdminError.LOC_INVALID],
    [env({ cmd: "token_login", label: "x".repeat(32), pin: "" }), AdminError.ID_INVALID],
  ];
  for (const [value, code] of cases) {
    const r = validateRequest(value);
    assert.equal(r.ok, false, JSON.stringify(value));
    if (!r.ok) assert.equal(r.code, code, `${JSON.stringify(value)}: ${r.message}`);
  }
});

test("the request id is echoed even when the body is bad", () => {
  const r = validateRequest({ v: 1, id: 42, req: { cmd: "nope" } });
  assert.equal(r.ok, false);
  if (!r.ok) assert.equal(r.id, 42);
});

test("extensions: dump_sadb and acquire with optional numbers, bounds checked", () => {
  for (const req of [
    { cmd: "dump_sadb" },
    { cmd: "acquire", src: "127.0.0.1", dst: "127.0.0.2" },
    { cmd: "acquire", src: "::1", dst: "::2", ulp: 6, sport: 0, dport: 443, peer: "::3", peerPort: 16000 },
  ]) {
    const r = validateRequest(env(req));
    assert.ok(r.ok, JSON.stringify(req));
    assert.deepEqual(r.envelope.req, req);
  }
  const cases: [unknown, number][] = [
    [{ cmd: "acquire", src: "127.0.0.1" }, AdminError.REQ_INVALID],
    [{ cmd: "acquire", src: "127.0.0.1", dst: "127.0.0.2", ulp: "tcp" }, AdminError.REQ_INVALID],
    [{ cmd: "acquire", src: "127.0.0.1", dst: "127.0.0.2", ulp: 256 }, AdminError.DATA_INVALID],
    [{ cmd: "acquire", src: "127.0.0.1", dst: "127.0.0.2", dport: 65536 }, AdminError.DATA_INVALID],
    [{ cmd: "acquire", src: "127.0.0.1", dst: "127.0.0.2", peerPort: -1 }, AdminError.REQ_INVALID],
    [{ cmd: "acquire", src: "", dst: "127.0.0.2" }, AdminError.DATA_INVALID],
    [{ cmd: "acquire", src: "1".repeat(65), dst: "127.0.0.2" }, AdminError.DATA_INVALID],
    [{ cmd: "acquire", src: "127.0.0.1", dst: "127.0.0.2", keys: true }, AdminError.REQ_INVALID],
    [{ cmd: "dump_sadb", includeKeys: true }, AdminError.REQ_INVALID],
  ];
  for (const [req, code] of cases) {
    const r = validateRequest(env(req));
    assert.equal(r.ok, false, JSON.stringify(req));
    if (!r.ok) assert.equal(r.code, code, JSON.stringify(req));
  }
});
