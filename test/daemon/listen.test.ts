/**
 * Listening on every local address a rule can use (src/daemon/listen.ts): which addresses a
 * configuration wants on a given host, the watcher opening and closing sockets as addresses come
 * and go, and (in a network namespace of its own) the daemon doing it on a real interface, with an
 * answer leaving from the very address the peer wrote to.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import { promisify } from "node:util";
import { parseIkeConfig } from "../../src/config/index.js";
import { decodeMessage } from "../../src/codec/index.js";
import { listenAddresses, ListenWatcher, type ListenChange, type ListenSockets } from "../../src/daemon/listen.js";
import { nattVersionOf } from "../../src/ike/natt.js";
import { kernelSkip } from "../helpers/netns.js";
import { makeRoot, startDaemon, type RunningDaemon } from "./harness.js";

const run = promisify(execFile);
const XF = "p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes }";

/** A rule for `local` to 203.0.113.9. */
const rule = (label: string, local: string): string => `{ label "${label}" local_addr ${local} remote_addr 203.0.113.9 ${XF} }\n`;

function config(text: string) {
  const c = parseIkeConfig(text, "ike.config");
  if (!c.ok) throw new Error(JSON.stringify(c.diagnostics));
  return c.value;
}

test("a subnet, a range, 0.0.0.0/0 and ::/0 take every host address they cover; named hosts always", () => {
  const host = ["127.0.0.1", "10.1.2.3", "10.9.0.1", "192.0.2.7", "::1", "2001:db8::5"];
  assert.deepEqual(listenAddresses(config(rule("s", "10.1.0.0/16")), host), ["10.1.2.3"]);
  assert.deepEqual(listenAddresses(config(rule("r", "10.9.0.0-10.9.0.9")), host), ["10.9.0.1"]);
  assert.deepEqual(listenAddresses(config(rule("any4", "0.0.0.0/0")), host), ["127.0.0.1", "10.1.2.3", "10.9.0.1", "192.0.2.7"]);
  assert.deepEqual(listenAddresses(config(rule("any6", "::/0").replace("203.0.113.9", "2001:db8::9")), host), ["::1", "2001:db8::5"]);
  assert.deepEqual(listenAddresses(config(rule("h", "198.51.100.1")), host), ["198.51.100.1"], "a named host even when absent");
});

test("the watcher opens sockets for addresses that appear and closes those that go; named ones stay", async () => {
  let host = ["127.0.0.1"];
  const bound = new Set<string>();
  const log: string[] = [];
  const sockets: ListenSockets = {
    addresses: () => [...bound],
    addAddress: async (a) => {
      if (a === "10.1.0.66") throw new Error("EADDRNOTAVAIL");
      bound.add(a);
    },
    removeAddress: async (a) => void bound.delete(a),
  };
  const c = config(`{ label "s" local_addr 10.1.0.0/16 remote_addr 203.0.113.9 ${XF} }\n{ label "h" local_addr 10.1.0.66 remote_addr 203.0.113.8 ${XF} }\n`);
  const w = new ListenWatcher({ sockets, config: () => c, host: () => host, onChange: (ch) => log.push(JSON.stringify(ch)) });
  await w.sync();
  assert.deepEqual([...bound], [], "10.1.0.66 is named but cannot be bound yet");
  host = ["127.0.0.1", "10.1.0.5", "10.1.0.66"];
  sockets.addAddress = async (a) => void bound.add(a);
  await w.sync();
  assert.deepEqual([...bound].sort(), ["10.1.0.5", "10.1.0.66"]);
  host = ["127.0.0.1"];
  await w.sync();
  assert.deepEqual([...bound], ["10.1.0.66"], "the subnet's address closed, the named one kept");
  // A reload without the subnet rule closes nothing that is still on the host.
  host = ["127.0.0.1", "10.1.0.7"];
  await w.sync();
  const c2 = config(`{ label "h" local_addr 10.1.0.66 remote_addr 203.0.113.8 ${XF} }\n`);
  const w2 = new ListenWatcher({ sockets, config: () => c2, host: () => host });
  await w2.sync();
  await w2.sync();
  assert.deepEqual([...bound].sort(), ["10.1.0.66", "10.1.0.7"]);
  assert.equal(log.length, 4);
});

test("a named address that cannot be bound is reported once while it stays missing, and once when it is bound", async () => {
  let present = false;
  const bound = new Set<string>();
  const changes: ListenChange[] = [];
  const sockets: ListenSockets = {
    addresses: () => [...bound],
    addAddress: async (a) => {
      if (!present) throw new Error("bind EADDRNOTAVAIL");
      bound.add(a);
    },
    removeAddress: async (a) => void bound.delete(a),
  };
  const named = config(`{ label "vrrp" local_addr 192.0.2.10 remote_addr 203.0.113.9 ${XF} }\n`);
  const other = config(`{ label "other" local_addr 192.0.2.11 remote_addr 203.0.113.9 ${XF} }\n`);
  let c = named;
  const w = new ListenWatcher({ sockets, config: () => c, host: () => (present ? ["192.0.2.10"] : []), onChange: (ch) => changes.push(ch) });
  for (let i = 0; i < 5; i++) await w.sync();
  assert.deepEqual(changes, [{ added: [], removed: [], failed: [{ address: "192.0.2.10", error: "bind EADDRNOTAVAIL" }], recovered: [] }], "five passes, one report");
  present = true;
  await w.sync();
  await w.sync();
  assert.deepEqual(changes.slice(1), [{ added: ["192.0.2.10"], removed: [], failed: [], recovered: ["192.0.2.10"] }], "bound: said once");
  // A reload naming another absent address: reported once; one dropped and named again later is new.
  c = other;
  present = false;
  await w.sync();
  await w.sync();
  c = named;
  bound.clear();
  await w.sync();
  assert.deepEqual(changes.slice(2).map((ch) => ch.failed.map((f) => f.address)), [["192.0.2.11"], ["192.0.2.10"]]);
});

/** Sockets whose bind of 192.0.2.1 waits until `release()`; `inFirstBind` settles once it waits. */
function gatedSockets(): { bound: Set<string>; sockets: ListenSockets; inFirstBind: Promise<void>; release: () => void } {
  const bound = new Set<string>();
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  let entered: () => void = () => undefined;
  const inFirstBind = new Promise<void>((r) => (entered = r));
  const sockets: ListenSockets = {
    addresses: () => [...bound],
    addAddress: async (a) => {
      if (a === "192.0.2.1") {
        entered();
        await gate;
      }
      bound.add(a);
    },
    removeAddress: async (a) => void bound.delete(a),
  };
  return { bound, sockets, inFirstBind, release: () => release() };
}

test("a reload during a pass is acted on: the pass asked for then runs after it with the new configuration", async () => {
  const { bound, sockets, inFirstBind, release } = gatedSockets();
  let c = config(rule("a", "192.0.2.1"));
  const w = new ListenWatcher({ sockets, config: () => c, host: () => ["192.0.2.1", "192.0.2.2"] });
  const first = w.sync();
  await inFirstBind;
  // SIGHUP now: the live configuration holds the new rules, and the service asks for a pass.
  c = config(rule("a", "192.0.2.1") + rule("b", "192.0.2.2"));
  const afterReload = w.sync();
  const alsoAfterReload = w.sync();
  release();
  await first;
  await afterReload;
  await alsoAfterReload;
  assert.deepEqual([...bound].sort(), ["192.0.2.1", "192.0.2.2"], "the address the reload added is bound");
});

test("stop: the pass under way binds nothing more, a pass asked for during it (a reload) never runs, and stop waits for the first", async () => {
  const { bound, sockets, inFirstBind, release } = gatedSockets();
  let c = config(rule("a", "192.0.2.1") + rule("c", "192.0.2.3"));
  const w = new ListenWatcher({ sockets, config: () => c, host: () => ["192.0.2.1", "192.0.2.2", "192.0.2.3"] });
  const first = w.sync();
  await inFirstBind;
  // A reload asks for a pass, then the daemon stops (its transport closes once stop() settles).
  c = config(rule("a", "192.0.2.1") + rule("b", "192.0.2.2") + rule("c", "192.0.2.3"));
  const afterReload = w.sync();
  let stopped = false;
  const stopping = w.stop().then(() => (stopped = true));
  await Promise.resolve();
  assert.equal(stopped, false, "stop waits for the bind under way");
  release();
  await stopping;
  assert.deepEqual([...bound], ["192.0.2.1"], "the bind under way finished before stop settled; nothing after it");
  await first;
  await afterReload;
  await w.sync();
  assert.deepEqual([...bound], ["192.0.2.1"], "no pass after stop");
});

/** A namespace with an interface (a veth pair, both ends inside); the test's own, removed at the end. */
async function netns(): Promise<{ name: string; exec: (...a: string[]) => Promise<string>; remove: () => Promise<void> }> {
  const name = `natt-listen-${process.pid}`;
  await run("ip", ["netns", "add", name]);
  const exec = async (...a: string[]) => (await run("ip", ["netns", "exec", name, ...a])).stdout;
  const remove = async () => void (await run("ip", ["netns", "del", name]).catch(() => undefined)); // gone already: nothing to undo
  try {
    await exec("ip", "link", "set", "lo", "up");
    await exec("ip", "link", "add", "d0", "type", "veth", "peer", "name", "d1");
    await exec("ip", "link", "set", "d1", "up");
    await exec("ip", "link", "set", "d0", "up");
  } catch (err) {
    await remove();
    throw err;
  }
  return { name, exec, remove };
}

async function until(pred: () => Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Send an MM1 to `to`:500 from `from` inside the namespace (with the NAT-T vendor IDs when `natt`);
 * the source address of the first answer and the answer itself (undefined: none).
 */
async function mm1Answer(exec: (...a: string[]) => Promise<string>, from: string, to: string, natt = false): Promise<{ source: string; answer: Buffer | undefined }> {
  const dist = new URL("../../src/", import.meta.url).pathname;
  const script = `
    import dgram from "node:dgram";
    import { encodeMessage, ExchangeType } from "${dist}codec/index.js";
    import { buildSaPayload } from "${dist}ike/phase1/phase1.js";
    import { offeredVids } from "${dist}ike/natt.js";
    const sa = buildSaPayload([{ encr: 7, keyBits: 128, hash: 4, auth: 1, group: 14, lifeSecs: 3600 }]);
    const mm1 = encodeMessage({ icookie: Buffer.from("0102030405060708", "hex"), rcookie: Buffer.alloc(8), exchangeType: ExchangeType.IdentityProtection, flags: 0, messageId: 0 }, [sa, ...(${natt} ? offeredVids() : [])]);
    const s = dgram.createSocket("udp4");
    // Sent again each second until answered, as an initiator retransmits (an address just added
    // may not take the first one).
    const again = setInterval(() => s.send(mm1, 500, "${to}"), 1000);
    s.bind(0, "${from}", () => s.send(mm1, 500, "${to}"));
    s.on("message", (m, r) => { console.log(r.address + ":" + r.port + " " + m.toString("hex")); clearInterval(again); s.close(); });
    setTimeout(() => { console.log("none"); clearInterval(again); s.close(); }, 20000).unref();
  `;
  const [source = "none", hex] = (await exec(process.execPath, "--input-type=module", "-e", script)).trim().split(" ");
  return { source, answer: hex === undefined ? undefined : Buffer.from(hex, "hex") };
}

/** The source address of the answer to an MM1 (see {@link mm1Answer}). */
async function answerFrom(exec: (...a: string[]) => Promise<string>, from: string, to: string): Promise<string> {
  return (await mm1Answer(exec, from, to)).source;
}

test("in.iked listens on addresses of a subnet rule as they are added and removed, and answers from the address used", { skip: kernelSkip(), timeout: 120_000 }, async () => {
  const ns = await netns();
  const root = makeRoot(`{\n label "lan"\n local_addr 10.77.0.0/24\n remote_addr 10.77.0.0/24\n ${XF}\n}\n`, `{\n localidtype ip\n localid 10.77.0.0/24\n remoteidtype ip\n remoteid 10.77.0.0/24\n key "listen-test"\n}\n`);
  let d: RunningDaemon | undefined;
  const listening = async () => (await ns.exec("ss", "-Hluna")).split("\n").map((l) => l.trim().split(/\s+/)[3]).filter((x): x is string => x !== undefined);
  try {
    d = await startDaemon(root, ["--port", "500", "--natt-port", "4500"], {}, { netns: ns.name });
    assert.deepEqual((await listening()).filter((a) => a.startsWith("10.77.")), []);
    await ns.exec("ip", "addr", "add", "10.77.0.5/24", "dev", "d0");
    await ns.exec("ip", "addr", "add", "10.77.0.6/24", "dev", "d0");
    await until(async () => ["10.77.0.5:500", "10.77.0.5:4500", "10.77.0.6:500", "10.77.0.6:4500"].every((a) => listening().then((l) => l.includes(a))), "sockets on 10.77.0.5 and 10.77.0.6");
    await d.waitFor(/IKE sockets opened and closed/);
    // One socket per address: the MM2 comes back from the address the MM1 went to.
    await ns.exec("ip", "addr", "add", "10.77.0.9/24", "dev", "d0");
    assert.equal(await answerFrom(ns.exec, "10.77.0.9", "10.77.0.6"), "10.77.0.6:500");
    assert.equal(await answerFrom(ns.exec, "10.77.0.9", "10.77.0.5"), "10.77.0.5:500");
    await ns.exec("ip", "addr", "del", "10.77.0.6/24", "dev", "d0");
    await until(async () => !(await listening()).some((a) => a.startsWith("10.77.0.6:")), "the sockets of 10.77.0.6 closed");
    assert.ok((await listening()).includes("10.77.0.5:500"));
  } finally {
    await d?.stop();
    await ns.remove();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("NAT-T is on for an address that appears after start: the MM2 it answers chooses RFC 3947", { skip: kernelSkip(), timeout: 120_000 }, async () => {
  const ns = await netns();
  const root = makeRoot(`{\n label "lan"\n local_addr 10.78.0.0/24\n remote_addr 10.78.0.0/24\n ${XF}\n}\n`, `{\n localidtype ip\n localid 10.78.0.0/24\n remoteidtype ip\n remoteid 10.78.0.0/24\n key "listen-natt"\n}\n`);
  let d: RunningDaemon | undefined;
  try {
    // No address of the rule on the host at start (DHCP has not answered yet).
    d = await startDaemon(root, ["--port", "500", "--natt-port", "4500"], {}, { netns: ns.name });
    await d.waitFor(/no IKE socket is bound yet/);
    await ns.exec("ip", "addr", "add", "10.78.0.5/24", "dev", "d0");
    await ns.exec("ip", "addr", "add", "10.78.0.9/24", "dev", "d0");
    const listening = async () => (await ns.exec("ss", "-Hluna")).split("\n").map((l) => l.trim().split(/\s+/)[3]);
    await until(async () => ["10.78.0.5:500", "10.78.0.5:4500"].every((a) => listening().then((l) => l.includes(a))), "sockets on 10.78.0.5");
    const r = await mm1Answer(ns.exec, "10.78.0.9", "10.78.0.5", true);
    assert.equal(r.source, "10.78.0.5:500", d.output());
    assert.ok(r.answer !== undefined);
    const mm2 = decodeMessage(r.answer);
    assert.ok(mm2.ok && mm2.value.kind === "plain", "MM2 decodes");
    assert.equal(nattVersionOf(mm2.value.payloads), "rfc3947", "MM2 carries the RFC 3947 vendor ID: NAT-T is on");
  } finally {
    await d?.stop();
    await ns.remove();
    fs.rmSync(root, { recursive: true, force: true });
  }
});
