/**
 * Main + Quick Mode PSK against a real Libreswan 4.10 (shared/interop), both directions. pluto
 * binds 127.0.3.y:500 and we bind 127.0.3.x:500 (see `interopPlan`) (SO_REUSEADDR, so pluto's start-up probe of
 * 0.0.0.0:500 still works). Libreswan numbers proposals and transforms from 0, orders attributes
 * differently and sends no client IDs host to host; the SA keys in its xfrm.log must equal ours.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { MemoryKernel } from "../../src/kernel/memory.js";
import { parseKv } from "../helpers/interop.js";
import { interopTest, type Scenario } from "../helpers/scenario.js";
import { interopPlan, pskText, ruleText } from "./harness.js";

const { us: US, them: THEM } = interopPlan(3);
const PSK = "interop-secret-3";

/** Our engine on US:500 (pluto is on THEM:500). */
function host(s: Scenario) {
  return s.host({
    address: US,
    port: 500,
    ikeConfig: ruleText("lsw", US, THEM, "p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes(256..256) }"),
    preshared: pskText(US, THEM, PSK),
    ipsecinit: `{ raddr ${THEM} } ipsec { encr_algs aes encr_auth_algs sha1 }\n`,
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

const ls = { local: THEM, remote: US, psk: PSK, cipher: "aes256", hash: "sha256", dh: 14, esp: "aes128-sha1", espMode: "transport" as const };

interopTest("Libreswan responder: we initiate Main + Quick Mode", async (s) => {
  const peer = await s.libreswan({ name: `ike-lswr-${process.pid}`, role: "responder", ...ls });
  const h = await host(s);
  h.negotiate("lsw", { address: THEM, port: 500 });
  await h.waitFor("phase2-up");
  await s.established(peer);
  await assertSameKeys(h.kernel, peer.info.xfrmlog!);
});

interopTest("Libreswan initiates Main + Quick Mode, we respond", async (s) => {
  const h = await host(s);
  const peer = await s.libreswan({ name: `ike-lswi-${process.pid}`, role: "initiator", ...ls });
  await h.waitFor("phase2-up");
  await s.established(peer);
  await assertSameKeys(h.kernel, peer.info.xfrmlog!);
});
