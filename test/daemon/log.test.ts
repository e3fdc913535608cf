/**
 * Logging: debug categories and expressions, category gating, secrets shown only at privilege
 * keymat, scrubbing of raw buffers, the debug log file and diagnostics_channel events.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import diagnostics from "node:diagnostics_channel";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import fc from "fast-check";
import { pino } from "pino";
import { DEBUG_ALL, describeDebugLevel, parseDebugLevel, parsePrivilege } from "../../src/log/categories.js";
import { LogHub } from "../../src/log/logger.js";
import { SECRET_FIELD_NAMES, Secret, scrubFields, scrubValue } from "../../src/log/secret.js";
import { isoTime, prettyDirect, prettyLine } from "../../src/log/pretty.js";

test("debug expressions follow the original's syntax", () => {
  const cases: [string, number][] = [
    ["phase1+phase2+policy", 0x58],
    ["88", 88],
    ["0x58", 0x58],
    ["all-op", DEBUG_ALL & ~0x4],
    ["-op", 0],
    ["p1+P2+pol", 0x58],
    ["all", 0x7ff],
    ["0", 0],
    ["010", 8],
    ["cert+key+0x100", 0x103],
  ];
  for (const [text, level] of cases) assert.deepEqual(parseDebugLevel(text), { ok: true, level }, text);
  for (const bad of ["", "phase3", "op++p1", "0xZZ", "op+"]) assert.equal(parseDebugLevel(bad).ok, false, bad);
  assert.deepEqual(describeDebugLevel(0x58), ["Phase 1 SA creation", "Phase 2 SA creation", "Policy management"]);
});

test("privilege words and numbers", () => {
  assert.deepEqual(parsePrivilege("BASE"), { ok: true, level: 0 });
  assert.deepEqual(parsePrivilege("modkeys"), { ok: true, level: 1 });
  assert.deepEqual(parsePrivilege("0x2"), { ok: true, level: 2 });
  assert.equal(parsePrivilege("3").ok, false);
  assert.equal(parsePrivilege("root").ok, false);
});

function hubToFile(debugLevel: number, privilege: 0 | 1 | 2): { hub: LogHub; read: () => string; done: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "iked-log-"));
  const file = path.join(dir, "debug.log");
  const hub = new LogHub({ debugLevel, privilege, destination: { kind: "file", path: file } });
  return { hub, read: () => fs.readFileSync(file, "utf8"), done: () => (hub.close(), fs.rmSync(dir, { recursive: true })) };
}

test("debug lines appear only for enabled categories; the level changes live", () => {
  const { hub, read, done } = hubToFile(0x8, 0);
  const log = hub.logger("ike");
  log.debug("phase1", "p1 detail", { peer: "127.0.0.2" });
  log.debug("phase2", "p2 detail");
  hub.setDebugLevel(0x10);
  log.debug("phase2", "p2 now");
  log.info("audit line");
  const text = read();
  assert.match(text, /DEBUG ike: p1 detail cat=phase1 peer=127\.0\.0\.2\n/);
  assert.doesNotMatch(text, /p2 detail/);
  assert.match(text, /p2 now/);
  assert.match(text, /INFO  ike: audit line/);
  assert.equal(fs.statSync(hub.destination.kind === "file" ? hub.destination.path : "").mode & 0o777, 0o600);
  done();
});

test("secrets are shown only at privilege keymat; buffers and secret names never", () => {
  const key = Buffer.from("00112233445566778899aabbccddeeff", "hex");
  for (const priv of [0, 1, 2] as const) {
    const { hub, read, done } = hubToFile(DEBUG_ALL, priv);
    const log = hub.logger("enc");
    log.secret("key", "derived", { skeyidD: new Secret(key) });
    log.debug("key", "oops", { raw: key, psk: "hunter2", s: new Secret(key) });
    log.with({ key: "hunter2" }).info("bound");
    const text = read();
    const hexShown = text.includes(key.toString("hex"));
    assert.equal(hexShown, priv === 2, `privilege ${priv}`);
    assert.doesNotMatch(text, /hunter2/);
    assert.match(text, /raw="\[16 bytes\]"/);
    if (priv < 2) assert.match(text, /skeyidD="\[redacted 16 bytes, privilege \d\]"/);
    done();
  }
});

test("warnings are published on diagnostics_channel", () => {
  const seen: unknown[] = [];
  const onMessage = (m: unknown) => seen.push(m);
  diagnostics.subscribe("iked:log:problem", onMessage);
  const { hub, done } = hubToFile(0, 0);
  hub.logger("cfg").warn("something odd");
  diagnostics.unsubscribe("iked:log:problem", onMessage);
  assert.deepEqual(seen, [{ level: "warn", subsystem: "cfg", msg: "something odd" }]);
  done();
});

test("pretty lines render fields and pass unparseable input through", () => {
  const line = prettyLine(JSON.stringify({ level: 40, time: "2026-01-01T00:00:00.000Z", sub: "ctl", msg: "hello", n: 1, s: "two words" }) + "\n");
  assert.equal(line, '2026-01-01T00:00:00.000Z WARN  ctl: hello n=1 s="two words"\n');
  assert.equal(prettyLine("not json"), "not json\n");
});

test("a line rendered straight from scalar fields is the line pino's JSON renders to", () => {
  let json = "";
  const p = pino({ level: "trace", base: null, timestamp: pino.stdTimeFunctions.isoTime, messageKey: "msg" }, { write: (l: string) => void (json = l) });
  const untimed = (line: string) => line.replace(/^\S+ /, "");
  const scalar = fc.oneof(
    fc.string(), fc.constantFrom("", "two words", 'a"b', "k=v", "tab\there", "\u00e9\u{1f600}"),
    fc.integer(), fc.double(), fc.constantFrom(Number.NaN, Infinity, -Infinity, -0),
    fc.boolean(), fc.constant(null), fc.constant(undefined),
  );
  fc.assert(fc.property(
    fc.constantFrom(10, 20, 30, 40, 50), fc.constantFrom("ike", "net", "cfg"), fc.string(),
    fc.dictionary(fc.string({ minLength: 1 }).filter((k) => !["level", "time", "msg", "sub", "pid", "hostname", "__proto__"].includes(k)), scalar),
    (level, sub, msg, fields) => {
      const direct = prettyDirect(level, sub, msg, fields);
      assert.ok(direct !== undefined);
      p.child({ sub })[pino.levels.labels[level] as "info"](fields, msg);
      assert.equal(untimed(direct), untimed(prettyLine(json)));
      assert.match(direct, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /);
    },
  ));
  // Objects, and fields named like the line's own keys, take pino's path.
  assert.equal(prettyDirect(30, "ike", "m", { o: { a: 1 } }), undefined);
  assert.equal(prettyDirect(30, "ike", "m", { err: new Error("x") }), undefined);
  assert.equal(prettyDirect(30, "ike", "m", { n: 1n }), undefined);
  assert.equal(prettyDirect(30, "ike", "m", { sub: "x" }), undefined);
  // Each of the line's own keys, whatever the value, and only those (not a key that merely starts alike).
  for (const key of ["level", "time", "msg", "sub", "pid", "hostname"]) {
    assert.equal(prettyDirect(30, "ike", "m", { a: 1, [key]: 1 }), undefined, key);
    assert.equal(prettyDirect(30, "ike", "m", { [`${key}s`]: 1 })?.endsWith(`ike: m ${key}s=1\n`), true, `${key}s`);
    assert.equal(prettyDirect(30, "ike", "m", { [key.toUpperCase()]: 1 })?.endsWith(`ike: m ${key.toUpperCase()}=1\n`), true, key.toUpperCase());
  }
  // A key made at run time (not a literal of the source) is recognised too.
  assert.equal(prettyDirect(30, "ike", "m", { [["ti", "me"].join("")]: 1 }), undefined);
});

test("scrubbing value by value while rendering gives the line of the scrubbed copy", () => {
  const untimed = (line: string | undefined) => line?.replace(/^\S+ /, "");
  const value = fc.oneof(
    fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(undefined),
    fc.uint8Array({ maxLength: 40 }), fc.string().map((t) => new Secret(t)), fc.constant({ o: 1 }), fc.constant(1n),
  );
  const name = fc.oneof(fc.string({ minLength: 1 }), fc.constantFrom(...SECRET_FIELD_NAMES, "__proto__", "sub", "msg"));
  fc.assert(fc.property(fc.constantFrom(20, 30, 40, 50), fc.string(), fc.array(fc.tuple(name, value), { maxLength: 8 }), (level, msg, entries) => {
    const fields: Record<string, unknown> = {};
    // Own keys, "__proto__" included, as a parsed or computed object can carry them.
    for (const [k, v] of entries) Object.defineProperty(fields, k, { value: v, enumerable: true, configurable: true, writable: true });
    assert.equal(untimed(prettyDirect(level, "ike", msg, fields, scrubValue)), untimed(prettyDirect(level, "ike", msg, scrubFields(fields))));
  }));
  // And through a logger, to a file: no secret byte, the same scrubbed text.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "iked-log-"));
  try {
    const file = path.join(dir, "log");
    const hub = new LogHub({ debugLevel: 0, privilege: 0, destination: { kind: "file", path: file } });
    hub.logger("ike").info("up", { sa: "s", key: "hunter2", skeyid: new Secret("k"), gxy: Buffer.alloc(3, 7), n: 1 });
    hub.close();
    assert.match(fs.readFileSync(file, "utf8"), /^\S+ INFO  ike: up sa=s key=\[redacted\] skeyid="\[secret 1 bytes\]" gxy="\[3 bytes\]" n=1\n$/);
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
});

test("a line's time is Date's ISO text, whatever times came before it", () => {
  const MAX = 8.64e15; // the largest time a Date holds
  const time = fc.oneof(
    fc.integer({ min: -MAX, max: MAX }),
    fc.integer({ min: Date.UTC(2020, 0), max: Date.UTC(2040, 0) }),
    fc.constantFrom(0, -1, 999, 1000, -1000, -1001, MAX, -MAX, Date.UTC(9999, 11, 31, 23, 59, 59, 999), Date.UTC(10000, 0)),
  );
  // Runs of times, near each other (same second, the next, one back) and far apart: the text
  // kept for a second must never leak into another's.
  fc.assert(fc.property(fc.array(fc.tuple(time, fc.integer({ min: -1500, max: 1500 })), { minLength: 1, maxLength: 20 }), (runs) => {
    for (const [t, step] of runs) {
      for (const u of [t, t + step]) {
        if (Math.abs(u) > MAX) continue;
        assert.equal(isoTime(u), new Date(u).toISOString());
      }
    }
  }));
  const before = Date.now();
  const now = isoTime();
  assert.ok(now >= new Date(before).toISOString() && now <= new Date().toISOString(), now);
});

test("the debug log refuses a FIFO, a symbolic link and a device without blocking, and keeps its old destination", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "iked-logdest-"));
  try {
    const good = path.join(dir, "good.log");
    const hub = new LogHub({ debugLevel: 0, privilege: 0, destination: { kind: "file", path: good } });
    const fifo = path.join(dir, "fifo");
    execFileSync("mkfifo", [fifo]);
    const link = path.join(dir, "link");
    fs.symlinkSync(path.join(dir, "target.log"), link);
    for (const bad of [fifo, link, "/dev/null"]) {
      assert.throws(() => hub.setDestination({ kind: "file", path: bad }), (e: NodeJS.ErrnoException) => typeof e.code === "string", bad);
      assert.deepEqual(hub.destination, { kind: "file", path: good }, bad);
    }
    assert.equal(fs.existsSync(path.join(dir, "target.log")), false, "the symbolic link was not followed");
    hub.logger("dmn").info("still logging");
    hub.close();
    assert.match(fs.readFileSync(good, "utf8"), /still logging/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("with stderr a regular file (the detached daemon), lines go to it whole and in order with other stderr writes; scrubbing holds", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "iked-log-"));
  const file = path.join(dir, "stderr.log");
  const fd = fs.openSync(file, "a", 0o600);
  const logger = new URL("../../src/log/logger.js", import.meta.url).href;
  const script = `
    import { LogHub } from ${JSON.stringify(logger)};
    const hub = new LogHub({ debugLevel: 0, privilege: 0, destination: { kind: "stderr" } });
    const log = hub.logger("ike");
    log.info("first", { sa: "s1", key: "hunter2", gxy: Buffer.alloc(8, 1), n: 3 });
    process.stderr.write("between\\n");
    log.warn("second", { psk: new Uint8Array(4) });
    console.error("after");
    log.info("third");
  `;
  try {
    execFileSync(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "ignore", fd] });
  } finally {
    fs.closeSync(fd);
  }
  const lines = fs.readFileSync(file, "utf8").split("\n");
  fs.rmSync(dir, { recursive: true });
  assert.equal(lines.length, 6, lines.join("\n"));
  assert.match(lines[0]!, /INFO  ike: first sa=s1 key=\[redacted\] gxy="\[8 bytes\]" n=3$/);
  assert.equal(lines[1], "between");
  assert.match(lines[2]!, /WARN  ike: second psk="\[4 bytes\]"$/);
  assert.equal(lines[3], "after");
  assert.match(lines[4]!, /INFO  ike: third$/);
  assert.equal(lines[5], "");
});
