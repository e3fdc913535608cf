/**
 * The compiled in.iked on 127.0.6.1:500/4500 beside a real Libreswan 4.10 on 127.0.6.4:500: both
 * hold port 500 on their own address (the daemon never binds the wildcard). Libreswan initiates
 * Main Mode + Quick Mode; our SADB matches its xfrm.log; its Delete on stop reaches the daemon.
 *
 * No capture is recorded: a port-500 filter would also catch other tests' (hostile) traffic on
 * other 127.x addresses. Instance names dmn-*.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";
import type { ListResult, P1View, SadbView } from "../../src/control/results.js";
import { startDaemon, type RunningDaemon } from "../daemon/harness.js";
import { xfrmSas } from "../helpers/engine-host.js";
import { InteropPeer, interopSkip } from "../helpers/interop.js";
import { poll } from "../interop/common.js";
import { PSK, US, assertSameSadb, json, mature, rootWith } from "./common.js";

const skip = interopSkip();

test("Libreswan on 127.0.6.4:500 initiates to in.iked on 127.0.6.1:500; SADB matches; Libreswan's Delete reaches us", { skip, timeout: 180_000 }, async () => {
  const LIBRESWAN = "127.0.6.4";
  const root = rootWith(LIBRESWAN, "p1_xform { auth_method preshared oakley_group 14 auth_alg sha1 encr_alg aes(128..128) }");
  let d: RunningDaemon | undefined;
  let peer: InteropPeer | undefined;
  try {
    d = await startDaemon(root, ["-p", "keymat", "--port", "500", "--natt-port", "4500"]);
    peer = await InteropPeer.startLibreswan({
      name: `dmn-ls-${process.pid}`, role: "initiator", local: LIBRESWAN, remote: US, remotePort: 500,
      mode: "main", auth: "psk", psk: PSK, cipher: "aes128", hash: "sha1", dh: 14, esp: "aes128-sha1", pfs: "none", espMode: "transport",
    });
    const st = await peer.status({ wait: 30 });
    assert.ok(st.established, `Libreswan says ${JSON.stringify(st.kv)}\n${d.output()}`);
    await poll(async () => (await mature(root)).length === 2, "our two IPsec SAs");
    assertSameSadb(await mature(root), xfrmSas(peer.info.xfrmlog ?? ""));
    assert.match(d.output(), /IKE engine started sockets=\["127\.0\.6\.1:500","127\.0\.6\.1:4500 \(NAT-T\)"\]/);

    await peer.stop({ purge: true });
    await poll(async () => (await json<ListResult<P1View>>(root, ["dump", "p1"])).items.length === 0, "our ISAKMP SA to go after Libreswan's Delete");
    await poll(async () => (await json<ListResult<SadbView>>(root, ["dump", "sadb"])).items.length === 0, "our IPsec SAs to go after Libreswan's Delete");
  } finally {
    await d?.stop();
    await peer?.stop({ kill: true, purge: true });
    fs.rmSync(root, { recursive: true, force: true });
  }
});
