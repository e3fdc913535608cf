/**
 * The protocol gaps closed in issue 5 against a real strongSwan 5.9.8, which ignores
 * RESPONDER-LIFETIME and never sets the commit bit: our responder with a shorter Phase 2 lifetime
 * sends RESPONDER-LIFETIME in QM2 and nothing breaks (both sides install matching SAs, ours with
 * our shorter lifetime); and our Quick Mode rekey on the kernel's soft EXPIRE, with a short
 * lifetime, lands in strongSwan. Addresses 127.0.8.x, ports 18000-18999, instance names eng-*.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { IkeEngine } from "../../src/ike/engine.js";
import type { QuickModeResult } from "../../src/ike/phase2/quick-mode.js";
import { selectForAcquire } from "../../src/policy/index.js";
import { inlineDh } from "../helpers/dh.js";
import { MemoryKernel } from "../../src/kernel/memory.js";
import { UdpTransport } from "../../src/net/udp-transport.js";
import { InteropPeer, interopSkip } from "../helpers/interop.js";
import { ipsecFrom, policyFrom, pskText, ruleText } from "./harness.js";

const slot = process.pid % 40;
const US = `127.0.8.${1 + slot * 2}`;
const THEM = `127.0.8.${2 + slot * 2}`;
const PORT = 18000 + slot * 20;
const PSK = "interop-gaps-secret";
const skip = interopSkip();

test("strongSwan initiates with a 1 h child lifetime; our 600 s policy answers with RESPONDER-LIFETIME and both sides install", { skip, timeout: 90_000 }, async () => {
  const transport = await UdpTransport.open({ addresses: [US], port: 500, nattPort: null });
  const policy = policyFrom(
    ruleText("ss", US, THEM, `p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes(256..256) }\n  p2_lifetime_secs 600`),
    pskText(US, THEM, PSK),
  );
  const ipsec = ipsecFrom(`{ raddr ${THEM} } ipsec { encr_algs aes encr_auth_algs sha1 }\n`);
  const kernel = new MemoryKernel();
  const engine = new IkeEngine({ transport, dh: inlineDh, policy, kernel, ipsecPolicy: () => ipsec });
  const up = new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("no IPsec SAs within 25 s")), 25_000);
    engine.once("phase2-up", (_sa, r) => (clearTimeout(t), resolve(r.lifeSecs)));
    engine.once("phase2-failed", (_sa, reason) => (clearTimeout(t), reject(new Error(`Quick Mode failed: ${reason}`))));
  });
  up.catch(() => {}); // awaited below; a failed peer start must not leave it unhandled
  let peer: InteropPeer | undefined;
  try {
    peer = await InteropPeer.startStrongSwan({
      name: `eng-rl-${process.pid}`, role: "initiator", local: THEM, remote: US, localPort: PORT, nattPort: PORT + 1,
      remotePort: 500, psk: PSK, cipher: "aes256", hash: "sha256", dh: 14, espMode: "transport", esp: "aes128-sha1", pfs: "none",
      childLifetime: 3600, logLevel: 2,
    });
    assert.equal(await up, 600);
    const st = await peer.status({ wait: 10 });
    assert.ok(st.established, `strongSwan says ${JSON.stringify(st.kv)}`);
    const ours = (await kernel.dump(undefined, { includeKeys: true })).filter((s) => s.state === "mature");
    assert.equal(ours.length, 2);
    assert.ok(ours.every((s) => s.hard.addSeconds === 600));
    const theirs = (await peer.keys()).sa.filter((s) => s.spi !== undefined && s.enc_key !== undefined);
    for (const sa of ours) {
      const twin = theirs.find((t) => Number.parseInt(t.spi!, 16) === sa.spi && t.src === sa.src && t.dst === sa.dst);
      assert.ok(twin, `strongSwan has no SA spi ${sa.spi.toString(16)}`);
      assert.equal(twin.enc_key, sa.keys!.enc!.toString("hex"));
    }
  } finally {
    engine.close();
    await transport.close();
    await kernel.close();
    await peer?.stop({ kill: true, purge: true });
  }
});

test("our soft EXPIRE (p2_lifetime_secs 12, soft 6) renegotiates the IPsec SAs with a strongSwan responder", { skip, timeout: 90_000 }, async () => {
  const port = PORT + 4;
  const peer = await InteropPeer.startStrongSwan({
    name: `eng-rk-${process.pid}`, role: "responder", local: THEM, remote: US, localPort: port, nattPort: port + 1,
    remotePort: 500, psk: PSK, cipher: "aes256", hash: "sha256", dh: 14, espMode: "transport", esp: "aes128-sha1", pfs: "none", logLevel: 2,
  });
  const transport = await UdpTransport.open({ addresses: [US], port: 500, nattPort: null });
  const policy = policyFrom(
    ruleText("ss", US, THEM, `p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes(256..256) }\n  p2_lifetime_secs 12 p2_softlife_secs 6`),
    pskText(US, THEM, PSK),
  );
  const ipsec = ipsecFrom(`{ raddr ${THEM} } ipsec { encr_algs aes encr_auth_algs sha1 }\n`);
  const kernel = new MemoryKernel();
  const engine = new IkeEngine({ transport, dh: inlineDh, policy, kernel, ipsecPolicy: () => ipsec });
  kernel.on("expire", (ev) => engine.expire(ev));
  const ups: QuickModeResult[] = [];
  const two = new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${ups.length} Quick Modes within 30 s`)), 30_000);
    engine.on("phase2-up", (_sa, r) => {
      ups.push(r);
      if (ups.length === 2) (clearTimeout(t), resolve());
    });
    engine.once("phase2-failed", (_sa, reason) => (clearTimeout(t), reject(new Error(`Quick Mode failed: ${reason}`))));
  });
  try {
    const sel = selectForAcquire(ipsec, { src: { address: US, port: 0 }, dst: { address: THEM, port: 0 }, ulp: 0 });
    assert.ok(sel.kind === "ipsec");
    engine.negotiate(policy.ruleByLabel("ss")!, { address: US, port: 500 }, { address: THEM, port }, { mode: sel.mode, proposals: sel.proposals, localId: sel.localId, remoteId: sel.remoteId });
    await two;
    assert.notEqual(ups[1]!.sas[0]!.inboundSpi, ups[0]!.sas[0]!.inboundSpi, "new SPIs");
    assert.equal(engine.sas.all().filter((s) => s.state === "established").length, 1, "the rekey reused the ISAKMP SA");
    const theirs = (await peer.keys()).sa.filter((s) => s.spi !== undefined && s.enc_key !== undefined);
    for (const spi of [ups[1]!.sas[0]!.inboundSpi, ups[1]!.sas[0]!.outboundSpi]) {
      assert.ok(theirs.some((t) => Number.parseInt(t.spi!, 16) === spi), `strongSwan installed the rekeyed SPI ${spi.toString(16)}`);
    }
  } finally {
    engine.close();
    await transport.close();
    await kernel.close();
    await peer.stop({ kill: true, purge: true });
  }
});
