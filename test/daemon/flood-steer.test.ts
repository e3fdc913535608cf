/**
 * An established peer's Informational gets through an MM1 flood that overflows the daemon's IKE
 * socket (issue 11): datagrams with a non-zero responder cookie have a socket of their own
 * (src/net/udp-transport.ts, native/src/udp-bypass.c), so the kernel does not drop them with the
 * flood's.
 *
 * To overflow the receive buffer without racing the daemon, the test stops it (SIGSTOP), sends
 * MM1-shaped datagrams until the kernel counts drops on the IKE port (/proc/net/udp), then has the
 * peer send its one Delete for the ISAKMP SA (an Informational, never retransmitted) followed by
 * more flood, and lets the daemon go on (SIGCONT). With one socket the Delete is lost in the full
 * buffer and the daemon keeps the SA; with the pair it reads the Delete and the SA goes.
 *
 * Resources: addresses 127.0.14.1 (daemon), 127.0.14.2 (peer), 127.0.14.3 (flood), UDP ports
 * 19600-19602. Neither side is on port 500: every datagram carries the RFC 3948 marker.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { once } from "node:events";
import fs from "node:fs";
import type { ListResult, P1View, StatsResult } from "../../src/control/results.js";
import { EngineHost } from "../helpers/engine-host.js";
import { ikeConfig, preshared } from "../interop/common.js";
import { ikeadm, makeRoot, startDaemon, type RunningDaemon } from "./harness.js";

const DAEMON = "127.0.14.1";
const PEER = "127.0.14.2";
const FLOOD = "127.0.14.3";
const PORT = 19600;
const PPORT = 19602;
const PSK = "daemon-steer-psk";
const XF = "p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes(128..128) }";
const WAIT_MS = 60_000;

/** Receive-buffer drops the kernel counted on sockets bound to `port` (this namespace's /proc/net/udp). */
function drops(port: number): number {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  let n = 0;
  for (const line of fs.readFileSync("/proc/net/udp", "utf8").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1]?.endsWith(hex)) n += Number(f[f.length - 1]);
  }
  return n;
}

/** The state letter of process `pid` (`T`: stopped). */
function procState(pid: number): string {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
}

async function until(pred: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`never: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * `n` MM1-shaped datagrams: marker and a bare header (fresh initiator cookie, zero responder
 * cookie). Smaller than the Delete: the kernel drops a datagram whose size does not fit what is
 * left of the buffer, so a flood of large ones would leave room for a small Delete.
 */
async function burst(s: dgram.Socket, n: number, seq: { i: number }): Promise<void> {
  const sends: Promise<void>[] = [];
  for (let k = 0; k < n; k++, seq.i++) {
    const d = Buffer.alloc(4 + 28);
    d.writeUInt32BE(0xf1f1_0000 + seq.i, 4);
    d.writeUInt32BE(seq.i, 8);
    d[4 + 16] = 1; // SA
    d[4 + 17] = 0x10;
    d[4 + 18] = 2; // Identity Protection
    d.writeUInt32BE(28, 4 + 24);
    sends.push(new Promise<void>((r) => s.send(d, PORT, DAEMON, () => r())));
  }
  await Promise.all(sends);
}

async function p1s(root: string): Promise<P1View[]> {
  const r = await ikeadm(root, ["--json", "dump", "p1"]);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as ListResult<P1View>).items;
}

test("an established peer's Delete is read although an MM1 flood overflowed the IKE socket's buffer", { timeout: 240_000 }, async () => {
  const root = makeRoot(ikeConfig("peer", DAEMON, PEER, XF), preshared(DAEMON, PEER, PSK));
  let d: RunningDaemon | undefined;
  let peer: EngineHost | undefined;
  const flood = dgram.createSocket("udp4");
  try {
    d = await startDaemon(root, ["--port", String(PORT), "--natt-port", String(PORT + 1)]);
    peer = await EngineHost.open({ address: PEER, port: PPORT, ikeConfig: ikeConfig("to-daemon", PEER, DAEMON, XF), preshared: preshared(PEER, DAEMON, PSK) });
    const sa = peer.initiate("to-daemon", { address: DAEMON, port: PORT });
    await peer.waitFor("phase1-up");
    await until(async () => (await p1s(root)).some((p) => p.state === "ACTIVE" && p.remote.address === PEER), "the daemon's SA is up");

    flood.on("message", () => undefined);
    flood.bind(0, FLOOD);
    await once(flood, "listening");
    const daemon = d;
    daemon.signal("SIGSTOP");
    await until(() => procState(daemon.pid) === "T", "the daemon stopped");
    const seq = { i: 0 };
    const before = drops(PORT);
    await until(async () => {
      await burst(flood, 256, seq);
      return drops(PORT) > before || seq.i > 1_000_000;
    }, "the IKE socket's buffer overflowed");
    assert.ok(drops(PORT) > before, `${seq.i} datagrams sent, no drop counted`);

    const sent = peer.transport.stats().sent;
    void peer.engine.deleteSa(sa, "test: Delete during the flood", false);
    await until(() => peer!.transport.stats().sent > sent, "the peer sent its Delete");
    const dropsBeforeMore = drops(PORT);
    await until(async () => {
      await burst(flood, 256, seq);
      return drops(PORT) > dropsBeforeMore;
    }, "the flood still overflows after the Delete");
    daemon.signal("SIGCONT");

    await until(async () => !(await p1s(root)).some((p) => p.remote.address === PEER && p.state === "ACTIVE"), "the daemon read the Delete and dropped the SA");
    const stats = await ikeadm(root, ["--json", "get", "stats"]);
    assert.equal(stats.code, 0, stats.stderr);
    const t = (JSON.parse(stats.stdout) as StatsResult).transport ?? {};
    assert.ok(t.verifiedReceived! >= 3, `MM3, MM5 and the Delete came on the second socket: ${JSON.stringify(t)}`);
  } finally {
    if (d) d.signal("SIGCONT");
    flood.close();
    await peer?.close();
    await d?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
});
