/**
 * Main Mode + Quick Mode against a real strongSwan 5.9.8 (shared/interop), both directions, ESP in
 * transport mode host to host. Our SAs go to the in-memory SADB; strongSwan's to its fake XFRM
 * (xfrm.log), and the test checks that every SA both sides hold has the same SPI and keys.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { IkeEngine } from "../../src/ike/engine.js";
import { inlineDh } from "../helpers/dh.js";
import { MemoryKernel } from "../../src/kernel/memory.js";
import type { SaInfo } from "../../src/kernel/kernel.js";
import { UdpTransport } from "../../src/net/udp-transport.js";
import { selectForAcquire } from "../../src/policy/index.js";
import { InteropPeer, interopSkip, type Kv } from "../helpers/interop.js";
import { interopPlan, ipsecFrom, policyFrom, pskText, ruleText } from "./harness.js";

const { us: US, them: THEM, port: PORT } = interopPlan(1);
const PSK = "interop-secret-2";
const skip = interopSkip();

interface Case {
  readonly name: string;
  readonly ruleExtra: string;
  readonly ipsec: string;
  readonly ss: { esp: string; pfs: string };
}

const CASES: readonly Case[] = [
  { name: "esp aes128-sha1", ruleExtra: "", ipsec: "encr_algs aes encr_auth_algs sha1", ss: { esp: "aes128-sha1", pfs: "none" } },
  { name: "esp 3des-sha256 pfs 14", ruleExtra: "p2_pfs 14", ipsec: "encr_algs 3des encr_auth_algs sha256", ss: { esp: "3des-sha256", pfs: "14" } },
];

async function side(c: Case): Promise<{ engine: IkeEngine; transport: UdpTransport; kernel: MemoryKernel; policy: ReturnType<typeof policyFrom> }> {
  const transport = await UdpTransport.open({ addresses: [US], port: 500, nattPort: null });
  const policy = policyFrom(
    ruleText("ss", US, THEM, `p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes(256..256) }\n  ${c.ruleExtra}`),
    pskText(US, THEM, PSK),
  );
  const ipsec = ipsecFrom(`{ raddr ${THEM} } ipsec { ${c.ipsec} }\n`);
  const kernel = new MemoryKernel();
  const engine = new IkeEngine({ transport, dh: inlineDh, policy, kernel, ipsecPolicy: () => ipsec });
  return { engine, transport, kernel, policy };
}

function waitPhase2(engine: IkeEngine, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("no IPsec SAs within timeout")), ms);
    engine.once("phase2-up", () => (clearTimeout(t), resolve()));
    engine.once("phase2-failed", (_sa, reason) => (clearTimeout(t), reject(new Error(`Quick Mode failed: ${reason}`))));
    engine.once("phase1-failed", (_sa, reason) => (clearTimeout(t), reject(new Error(`Main Mode failed: ${reason}`))));
  });
}

/** Every SA strongSwan installed is in our kernel with the same keys, and vice versa. */
function assertSameSas(ours: SaInfo[], theirs: Kv[]): void {
  const mature = ours.filter((s) => s.state === "mature");
  const added = theirs.filter((s) => s.spi !== undefined && s.enc_key !== undefined);
  assert.equal(mature.length, 2, "inbound and outbound");
  for (const sa of mature) {
    const twin = added.find((t) => Number.parseInt(t.spi!, 16) === sa.spi && t.src === sa.src && t.dst === sa.dst);
    assert.ok(twin, `strongSwan has no SA ${sa.src}>${sa.dst} spi ${sa.spi.toString(16)}: ${JSON.stringify(added)}`);
    assert.equal(twin.enc_key, sa.keys!.enc!.toString("hex"), "encryption key");
    assert.equal(twin.auth_key, sa.keys!.auth!.toString("hex"), "authentication key");
  }
}

for (const [i, c] of CASES.entries()) {
  test(`strongSwan responder: we initiate Main + Quick Mode (${c.name})`, { skip, timeout: 90_000 }, async () => {
    const port = PORT + i * 4;
    const peer = await InteropPeer.startStrongSwan({
      name: `ike-qmr-${process.pid}-${i}`, role: "responder", local: THEM, remote: US, localPort: port, nattPort: port + 1,
      remotePort: 500, psk: PSK, cipher: "aes256", hash: "sha256", dh: 14, espMode: "transport", ...c.ss, logLevel: 4,
    });
    let s: Awaited<ReturnType<typeof side>> | undefined;
    try {
      s = await side(c);
      const done = waitPhase2(s.engine, 20_000);
      const sel = selectForAcquire(ipsecFrom(`{ raddr ${THEM} } ipsec { ${c.ipsec} }\n`), { src: { address: US, port: 0 }, dst: { address: THEM, port: 0 }, ulp: 0 });
      assert.ok(sel.kind === "ipsec");
      s.engine.negotiate(s.policy.ruleByLabel("ss")!, { address: US, port: 500 }, { address: THEM, port }, { mode: sel.mode, proposals: sel.proposals, localId: sel.localId, remoteId: sel.remoteId });
      await done;
      const st = await peer.status({ wait: 10 });
      assert.ok(st.established, `strongSwan says ${JSON.stringify(st.kv)}`);
      assertSameSas(await s.kernel.dump(undefined, { includeKeys: true }), (await peer.keys()).sa);
    } finally {
      s?.engine.close();
      await s?.transport.close();
      await s?.kernel.close();
      await peer.stop({ kill: true, purge: true });
    }
  });

  test(`strongSwan initiates Main + Quick Mode, we respond (${c.name})`, { skip, timeout: 90_000 }, async () => {
    const port = PORT + i * 4 + 2;
    const s = await side(c);
    const done = waitPhase2(s.engine, 25_000);
    done.catch(() => {}); // awaited below; a failed peer start must not leave it unhandled
    let peer: InteropPeer | undefined;
    try {
      peer = await InteropPeer.startStrongSwan({
        name: `ike-qmi-${process.pid}-${i}`, role: "initiator", local: THEM, remote: US, localPort: port, nattPort: port + 1,
        remotePort: 500, psk: PSK, cipher: "aes256", hash: "sha256", dh: 14, espMode: "transport", ...c.ss, logLevel: 4,
      });
      await done;
      const st = await peer.status({ wait: 10 });
      assert.ok(st.established, `strongSwan says ${JSON.stringify(st.kv)}`);
      assertSameSas(await s.kernel.dump(undefined, { includeKeys: true }), (await peer.keys()).sa);
      // A graceful stop makes strongSwan send Delete for its ESP SAs and the ISAKMP SA.
      const gone = new Promise<string>((resolve) => s.engine.once("sa-dead", (_sa, reason) => resolve(reason)));
      await peer.stop();
      assert.equal(await gone, "deleted by peer");
      assert.equal((await s.kernel.dump()).filter((x) => x.state === "mature").length, 0, "IPsec SAs deleted");
    } finally {
      s.engine.close();
      await s.transport.close();
      await s.kernel.close();
      await peer?.stop({ kill: true, purge: true });
    }
  });
}
