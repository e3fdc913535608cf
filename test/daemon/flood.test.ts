/**
 * The real daemon under an MM1 flood over UDP on loopback (issue 11, item 1): in.iked (temporary
 * --root, --kernel memory) answers MM1s from its bounded embryonic table and keeps no per-peer
 * state before MM3 returns its cookie, so an honest peer's Main Mode attempts all succeed within
 * their retransmission budget while MM1s pour in spoofed from the honest peer's own address and
 * from 256 other addresses. The flood comes from this process's sockets.
 *
 * Resources: addresses 127.0.12.1 (daemon), 127.0.12.2 (honest peer), 127.13.0.0/16 (flood),
 * UDP ports 19500-19502. Neither side is on port 500: every datagram carries the RFC 3948 marker.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import dgram from "node:dgram";
import fs from "node:fs";
import { ExchangeType } from "../../src/codec/index.js";
import type { StatsResult } from "../../src/control/results.js";
import type { IsakmpSa } from "../../src/ike/isakmp-sa.js";
import { EngineHost } from "../helpers/engine-host.js";
import { ikeConfig, preshared } from "../interop/common.js";
import { ikeadm, makeRoot, startDaemon, type RunningDaemon } from "./harness.js";

const DAEMON = "127.0.12.1";
const HONEST = "127.0.12.2";
const PORT = 19500;
const HPORT = 19502;
const PSK = "daemon-flood-psk";
const XF = "p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes(128..128) }";
const MARKER = Buffer.alloc(4);
/** How many flood MM1s may wait unanswered (a fraction of a default 208 KiB socket buffer). */
const WINDOW = 128;

/** Bind a UDP socket to `address` (any port). */
async function socketOn(address: string): Promise<dgram.Socket> {
  const s = dgram.createSocket("udp4");
  s.on("message", () => undefined);
  await new Promise<void>((resolve, reject) => {
    s.once("error", reject);
    s.bind({ address, port: 0 }, () => resolve());
  });
  return s;
}

/**
 * MM1s with fresh initiator cookies from `sockets`, round robin, until stopped; counts what it
 * sent. Paced (64 every 10 ms, a few thousand a second) and never more than WINDOW ahead of the
 * daemon's MM2s (a batch waits up to a second for them): this test is about what the daemon does
 * with the MM1s it reads, not about how many a saturated socket buffer loses before it can read
 * them, which on a starved CPU would be the honest peer's too (that is `npm run bench -- flood`).
 */
function flood(sockets: readonly dgram.Socket[], mm1: Buffer): { sent(): number; stop(): Promise<number> } {
  let sent = 0;
  let answered = 0;
  let running = true;
  const count = (): void => void answered++;
  for (const s of sockets) s.on("message", count);
  const done = (async () => {
    while (running) {
      for (let waited = 0; running && sent - answered > WINDOW && waited < 1000; waited += 5) await new Promise((r) => setTimeout(r, 5));
      const batch: Promise<unknown>[] = [new Promise((r) => setTimeout(r, 10))];
      for (let k = 0; k < 64; k++, sent++) {
        const d = Buffer.concat([MARKER, mm1]);
        d.writeUInt32BE(0xf100_0000 + (sent >>> 12), 4);
        d.writeUInt32BE((sent * 2654435761) >>> 0, 8);
        const s = sockets[sent % sockets.length]!;
        batch.push(new Promise<void>((r) => s.send(d, PORT, DAEMON, () => r())));
      }
      await Promise.all(batch);
    }
  })();
  return {
    sent: () => sent,
    async stop() {
      running = false;
      await done;
      for (const s of sockets) s.off("message", count);
      return sent;
    },
  };
}

/** Wait until `sa` is established (resolves true) or dead (false). */
async function outcome(host: EngineHost, sa: IsakmpSa): Promise<boolean> {
  await host.waitUntil(() => sa.state === "established" || sa.isDead(), `attempt ${sa.tag}`, 60_000);
  return sa.state === "established";
}

test("in.iked under an MM1 flood from the peer's own address and 256 others: every attempt of the peer succeeds", { timeout: 240_000 }, async () => {
  const root = makeRoot(ikeConfig("flood", DAEMON, "127.0.0.0/8", XF), preshared(DAEMON, HONEST, PSK));
  let d: RunningDaemon | undefined;
  let honest: EngineHost | undefined;
  const sockets: dgram.Socket[] = [];
  try {
    d = await startDaemon(root, ["--port", String(PORT), "--natt-port", String(PORT + 1)]);
    honest = await EngineHost.open({ address: HONEST, port: HPORT, ikeConfig: ikeConfig("to-daemon", HONEST, DAEMON, XF), preshared: preshared(HONEST, DAEMON, PSK) });
    // A genuine MM1 to copy: the honest host's, to a socket of ours.
    const sniff = await socketOn("127.0.12.3");
    const mm1 = await new Promise<Buffer>((resolve) => {
      sniff.once("message", (m) => resolve(Buffer.from(m.subarray(4))));
      honest!.initiate("to-daemon", { address: "127.0.12.3", port: sniff.address().port });
    });
    sniff.close();
    assert.equal(mm1[18], ExchangeType.IdentityProtection);
    for (const sa of honest.engine.sas.all()) sa.destroy("template captured");
    sockets.push(await socketOn(HONEST));
    for (let i = 0; i < 256; i++) sockets.push(await socketOn(`127.13.${i >> 4}.${(i & 15) + 1}`));
    const f = flood(sockets, mm1);
    const results: boolean[] = [];
    try {
      // At least five attempts, and as many more as it takes for 3000 flood MM1s to go out meanwhile.
      while (!results.includes(false) && (results.length < 5 || f.sent() < 3000)) {
        results.push(await outcome(honest, honest.initiate("to-daemon", { address: DAEMON, port: PORT })));
      }
    } finally {
      await f.stop();
    }
    assert.ok(results.length >= 5 && results.every((ok) => ok), `${results.length} attempts: ${honest.describe()}`);
    const stats = await ikeadm(root, ["--json", "get", "stats"]);
    assert.equal(stats.code, 0, stats.stderr);
    const s = (JSON.parse(stats.stdout) as StatsResult).engine as unknown as Record<string, number>;
    // The flood reached the daemon (paced on loopback it is rarely lost, but the machine is shared).
    assert.ok(s.embryonic! >= 1000, JSON.stringify(s));
    assert.equal(s.halfOpenRefused, 0, "no address's half-open bound filled");
    assert.equal(s.embryonicMissed, 0);
  } finally {
    for (const s of sockets) s.close();
    await honest?.close();
    await d?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
});
