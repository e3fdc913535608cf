/**
 * Main + Quick Mode PSK against a real Libreswan 4.10 (shared/interop), both directions. pluto
 * binds 127.0.3.y:500 and we bind 127.0.3.x:500 (see `interopPlan`) (SO_REUSEADDR, so pluto's start-up probe of
 * 0.0.0.0:500 still works). Libreswan numbers proposals and transforms from 0, orders attributes
 * differently and sends no client IDs host to host; the SA keys in its xfrm.log must equal ours.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { IkeEngine } from "../../src/ike/engine.js";
import { inlineDh } from "../helpers/dh.js";
import { MemoryKernel } from "../../src/kernel/memory.js";
import { UdpTransport } from "../../src/net/udp-transport.js";
import { selectForAcquire } from "../../src/policy/index.js";
import { InteropPeer, interopSkip, parseKv } from "../helpers/interop.js";
import { interopPlan, ipsecFrom, policyFrom, pskText, ruleText } from "./harness.js";

const { us: US, them: THEM } = interopPlan(3);
const PSK = "interop-secret-3";
const IPSEC = `{ raddr ${THEM} } ipsec { encr_algs aes encr_auth_algs sha1 }\n`;
const skip = interopSkip();

async function side() {
  const transport = await UdpTransport.open({ addresses: [US], port: 500, nattPort: null });
  const policy = policyFrom(
    ruleText("lsw", US, THEM, "p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes(256..256) }"),
    pskText(US, THEM, PSK),
  );
  const ipsec = ipsecFrom(IPSEC);
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

async function assertSameKeys(kernel: MemoryKernel, xfrmlog: string): Promise<void> {
  const lines = readFileSync(xfrmlog, "utf8").split("\n").filter((l) => /\b(add_sa|update_sa)\b/.test(l) && l.includes("enc_key="));
  const theirs = lines.map(parseKv);
  const ours = (await kernel.dump(undefined, { includeKeys: true })).filter((s) => s.state === "mature");
  assert.equal(ours.length, 2);
  for (const sa of ours) {
    const twin = theirs.find((t) => Number.parseInt(t.spi ?? "", 16) === sa.spi && t.dst === sa.dst);
    assert.ok(twin, `Libreswan has no SA spi ${sa.spi.toString(16)}: ${lines.join("\n")}`);
    assert.equal(twin.enc_key, sa.keys!.enc!.toString("hex"));
    assert.equal(twin.auth_key, sa.keys!.auth!.toString("hex"));
  }
}

const common = {
  local: THEM, remote: US, psk: PSK, cipher: "aes256", hash: "sha256", dh: 14, esp: "aes128-sha1", espMode: "transport" as const,
};

test("Libreswan responder: we initiate Main + Quick Mode", { skip, timeout: 120_000 }, async () => {
  const peer = await InteropPeer.startLibreswan({ name: `ike-lswr-${process.pid}`, role: "responder", ...common });
  let s: Awaited<ReturnType<typeof side>> | undefined;
  try {
    s = await side();
    const done = waitPhase2(s.engine, 25_000);
    const sel = selectForAcquire(ipsecFrom(IPSEC), { src: { address: US, port: 0 }, dst: { address: THEM, port: 0 }, ulp: 0 });
    assert.ok(sel.kind === "ipsec");
    s.engine.negotiate(s.policy.ruleByLabel("lsw")!, { address: US, port: 500 }, { address: THEM, port: 500 }, { mode: sel.mode, proposals: sel.proposals, localId: sel.localId, remoteId: sel.remoteId });
    await done;
    const st = await peer.status({ wait: 10 });
    assert.ok(st.established, `Libreswan says ${JSON.stringify(st.kv)}`);
    await assertSameKeys(s.kernel, peer.info.xfrmlog!);
  } finally {
    s?.engine.close();
    await s?.transport.close();
    await s?.kernel.close();
    await peer.stop({ kill: true, purge: true });
  }
});

test("Libreswan initiates Main + Quick Mode, we respond", { skip, timeout: 120_000 }, async () => {
  const s = await side();
  const done = waitPhase2(s.engine, 30_000);
  done.catch(() => {}); // awaited below; a failed peer start must not leave it unhandled
  let peer: InteropPeer | undefined;
  try {
    peer = await InteropPeer.startLibreswan({ name: `ike-lswi-${process.pid}`, role: "initiator", ...common });
    await done;
    const st = await peer.status({ wait: 10 });
    assert.ok(st.established, `Libreswan says ${JSON.stringify(st.kv)}`);
    await assertSameKeys(s.kernel, peer.info.xfrmlog!);
  } finally {
    s.engine.close();
    await s.transport.close();
    await s.kernel.close();
    await peer?.stop({ kill: true, purge: true });
  }
});
