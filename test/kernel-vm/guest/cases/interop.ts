/**
 * in.iked against other IKEv1 implementations on a real kernel: strongSwan's charon (kernel-netlink,
 * no shim) and Libreswan's pluto, each in the right namespace, in.iked in the left one. Both roles
 * in turn: in.iked initiates on the ACQUIRE of a ping; then, after the peer ended that connection,
 * the peer initiates and in.iked responds. Each time the ping is answered over ESP only, and the SAs'
 * packet counters rise on both sides.
 *
 * strongSwan: tunnel mode (198.51.100.0/24 <-> 203.0.113.0/24), in.iked on XFRM.
 * Libreswan: transport mode, in.iked on PF_KEY, HMAC-SHA-512 (Linux PF_KEY truncates HMAC-SHA-256
 * to 96 bits where Libreswan, like RFC 4868, uses 128: the backend refuses it).
 */
import assert from "node:assert/strict";
import { IKED_REQID } from "../../../../src/kernel/kernel.js";
import { until } from "../../../helpers/netns.js";
import { kernelSas, startIked, type Iked } from "../iked.js";
import { startCharon, startPluto, type Peer, type PeerSpec } from "../peers.js";
import { network, ping, sniff, type Side } from "../world.js";
import { espOnWire } from "./daemon.js";
import type { GuestCase } from "./index.js";

const net4 = (s: Side) => `${s.inner4.replace(/\.1$/, ".0")}/24`;

/** Every SA on `side` (the peer's reqids, or ours) counted packets; at least `min` SAs. */
async function allCounted(side: Side, min: number, reqid?: number): Promise<void> {
  const sas = (await kernelSas(side)).filter((s) => reqid === undefined || s.reqid === reqid);
  assert.ok(sas.length >= min, `${side.dev}: ${sas.length} SAs, want ${min}`);
  for (const sa of sas) assert.ok(sa.packets >= 1, `${side.dev}: SA ${sa.spi.toString(16)} ${sa.src}>${sa.dst} counted no packet`);
}

async function bothRoles(
  kind: string,
  spec: PeerSpec,
  ipsecinit: (self: Side, peer: Side) => string,
  start: (self: Side, other: Side, spec: PeerSpec) => Promise<Peer>,
  flow: (left: Side, right: Side) => { to: string; back: string; source?: string; backSource?: string },
): Promise<void> {
  const [left, right] = await network();
  await left.ns.sysctl("net.core.xfrm_larval_drop=0");
  let peer: Peer | undefined;
  let iked: Iked | undefined;
  const why = () => `\n--- in.iked ---\n${iked?.output().slice(-4000)}\n--- peer ---\n${peer?.log()}`;
  try {
    peer = await start(right, left, spec);
    iked = await startIked(left, right, kind, ipsecinit(left, right));
    const f = flow(left, right);
    // in.iked initiates: the first ping's ACQUIRE. (The peer installs its SAs only on QM3, so the
    // first echo, released by our kernel on QM2, may find none there: up to three tries.)
    const seen = await sniff(async () => {
      let answered = false;
      for (let i = 0; i < 3 && !answered; i++) answered = await ping(left, f.to, { count: 1, wait: 30, ...(f.source !== undefined ? { source: f.source } : {}) });
      assert.ok(answered, `in.iked as initiator: no answer${why()}`);
      assert.ok(await ping(left, f.to, { count: 2, ...(f.source !== undefined ? { source: f.source } : {}) }), `in.iked as initiator: ping over the SAs${why()}`);
    });
    espOnWire(seen, 6);
    await allCounted(left, 2, IKED_REQID);
    await allCounted(right, 2);
    // The peer ends it (its Deletes remove our SAs), then initiates itself.
    await peer.terminate();
    await until("in.iked to drop the SAs on the peer's Delete", async () => (await kernelSas(left)).filter((s) => s.reqid === IKED_REQID).length === 0, 60_000).catch((err: Error) => {
      throw new Error(`${err.message}${why()}`);
    });
    await peer.initiate().catch((err: Error) => {
      throw new Error(`the peer could not initiate: ${err.message}${why()}`);
    });
    const d = iked;
    await until("in.iked to install the SAs as responder", () => d.count(/IPsec SAs installed/) >= 2, 60_000).catch((err: Error) => {
      throw new Error(`${err.message}${why()}`);
    });
    const seen2 = await sniff(async () => {
      assert.ok(await ping(right, f.back, { count: 3, ...(f.backSource !== undefined ? { source: f.backSource } : {}) }), `in.iked as responder: no answer${why()}`);
    });
    espOnWire(seen2, 6);
    await allCounted(left, 2, IKED_REQID);
    assert.equal(await iked.stop(), 0);
  } finally {
    await iked?.stop();
    await peer?.stop();
    await left.ns.sysctl("net.core.xfrm_larval_drop=1");
    for (const s of [left, right]) {
      await s.ns.ip("xfrm", "policy", "flush");
      await s.ns.ip("xfrm", "state", "flush");
    }
  }
}

function strongswanCase(): GuestCase {
  return {
    name: "strongSwan (charon, kernel-netlink) <-> in.iked (xfrm), ESP tunnel IPv4: in.iked initiates on a ping's ACQUIRE, then charon initiates",
    timeoutMs: 300_000,
    run: () =>
      bothRoles(
        "xfrm",
        { mode: "tunnel", localTs: "203.0.113.0/24", remoteTs: "198.51.100.0/24" },
        (self, peer) => `{ tunnel v4 negotiate tunnel laddr ${net4(self)} raddr ${net4(peer)} } ipsec { encr_algs aes(128) encr_auth_algs sha256 }\n`,
        startCharon,
        (left, right) => ({ to: right.inner4, source: left.inner4, back: left.inner4, backSource: right.inner4 }),
      ),
  };
}

function libreswanCase(): GuestCase {
  return {
    name: "Libreswan (pluto) <-> in.iked (pfkey), ESP transport IPv4: in.iked initiates on a ping's ACQUIRE, then pluto initiates",
    timeoutMs: 300_000,
    run: () =>
      bothRoles(
        "pfkey",
        { mode: "transport" },
        (self, peer) => `{ laddr ${self.v4} raddr ${peer.v4} } ipsec { encr_algs aes(128) encr_auth_algs sha512 }\n`,
        startPluto,
        (left, right) => ({ to: right.v4, back: left.v4 }),
      ),
  };
}

/** in.iked against strongSwan and Libreswan. */
export function interopCases(): GuestCase[] {
  return [strongswanCase(), libreswanCase()];
}
