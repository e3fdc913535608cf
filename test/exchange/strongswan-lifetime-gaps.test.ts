/**
 * Issue 5's lifetime gaps against a real strongSwan 5.9.8 initiator, which ignores RESPONDER-LIFETIME:
 * our responder with a shorter Phase 1 lifetime (600 s against strongSwan's 1 h) sends the Phase 1
 * RESPONDER-LIFETIME in a protected Informational after MM6, and with a Phase 2 byte lifetime sends
 * the kilobyte RESPONDER-LIFETIME in QM2; nothing breaks, both sides install matching SAs, ours with
 * our byte limit; every packet passes `capture.sh check`. Addresses 127.0.8.200-201, ports 18900-18919 (clear of strongswan-protocol-gaps),
 * instance names eng2-*.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { IkeEngine } from "../../src/ike/engine.js";
import { inlineDh } from "../helpers/dh.js";
import { MemoryKernel } from "../../src/kernel/memory.js";
import { UdpTransport } from "../../src/net/udp-transport.js";
import { InteropPeer, interopSkip } from "../helpers/interop.js";
import type { Capture } from "../helpers/interop.js";
import { captureOn, checkCapture } from "../interop/common.js";
import { ipsecFrom, policyFrom, pskText, ruleText } from "./harness.js";

const slot = process.pid % 10;
const US = `127.0.8.${200 + slot * 2}`;
const THEM = `127.0.8.${201 + slot * 2}`;
const PORT = 18900 + slot * 8;
const PSK = "interop-lifetime-secret";
const skip = interopSkip();

test("strongSwan initiates (IKE 1 h, no byte limit); our 600 s Phase 1 and 2048 KB Phase 2 policy tell it with RESPONDER-LIFETIME and both sides install", { skip, timeout: 90_000 }, async () => {
  const transport = await UdpTransport.open({ addresses: [US], port: 500, nattPort: null });
  const policy = policyFrom(
    ruleText("ss", US, THEM, `p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes(256..256) p1_lifetime_secs 600 }\n  p2_lifetime_kb 2048`),
    pskText(US, THEM, PSK),
  );
  const ipsec = ipsecFrom(`{ raddr ${THEM} } ipsec { encr_algs aes encr_auth_algs sha1 }\n`);
  const kernel = new MemoryKernel();
  const engine = new IkeEngine({ transport, dh: inlineDh, policy, kernel, ipsecPolicy: () => ipsec });
  const up = new Promise<number | undefined>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("no IPsec SAs within 25 s")), 25_000);
    engine.once("phase2-up", (_sa, r) => (clearTimeout(t), resolve(r.lifeKb)));
    engine.once("phase2-failed", (_sa, reason) => (clearTimeout(t), reject(new Error(`Quick Mode failed: ${reason}`))));
  });
  up.catch(() => {}); // awaited below; a failed peer start must not leave it unhandled
  let peer: InteropPeer | undefined;
  let cap: Capture | undefined;
  try {
    cap = await captureOn(`eng2-lt-cap-${process.pid}`, PORT);
    peer = await InteropPeer.startStrongSwan({
      name: `eng2-lt-${process.pid}`, role: "initiator", local: THEM, remote: US, localPort: PORT, nattPort: PORT + 1,
      remotePort: 500, psk: PSK, cipher: "aes256", hash: "sha256", dh: 14, espMode: "transport", esp: "aes128-sha1", pfs: "none",
      ikeLifetime: 3600, logLevel: 4,
    });
    assert.equal(await up, 2048);
    const st = await peer.status({ wait: 10 });
    assert.ok(st.established, `strongSwan says ${JSON.stringify(st.kv)}`);
    const sa = engine.sas.all().find((s) => s.state === "established");
    assert.equal(sa?.lifeSecs, 600, "our Phase 1 expires at our lifetime");
    const ours = (await kernel.dump(undefined, { includeKeys: true })).filter((s) => s.state === "mature");
    assert.equal(ours.length, 2);
    assert.ok(ours.every((s) => s.hard.bytes === 2048 * 1024));
    const theirs = (await peer.keys()).sa.filter((s) => s.spi !== undefined && s.enc_key !== undefined);
    for (const o of ours) {
      const twin = theirs.find((t) => Number.parseInt(t.spi!, 16) === o.spi && t.src === o.src && t.dst === o.dst);
      assert.ok(twin, `strongSwan has no SA spi ${o.spi.toString(16)}`);
      assert.equal(twin.enc_key, o.keys!.enc!.toString("hex"));
    }
    // Every packet well formed, the encrypted ones decrypted with strongSwan's keys: the
    // Informational with the Phase 1 RESPONDER-LIFETIME after MM6 among them.
    const c = cap;
    cap = undefined;
    // `--expect` is ordered and our Informational races strongSwan's QM1: count it apart.
    const r = await checkCapture(c, { keysFromLog: [peer.log], expect: "main:6,quick:3" });
    assert.match(r.stdout, /\binfo\s+flags=E\s.*\{RESPONDER-LIFETIME\}/);
  } finally {
    await cap?.stop().catch(() => undefined);
    engine.close();
    await transport.close();
    await kernel.close();
    await peer?.stop({ kill: true, purge: true });
  }
});
