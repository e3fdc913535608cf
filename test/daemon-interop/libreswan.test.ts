/**
 * The compiled in.iked on 127.0.6.1:500/4500 beside a real Libreswan 4.10 on 127.0.6.4:500: both
 * hold port 500 on their own address (the daemon never binds the wildcard). Libreswan initiates
 * Main Mode + Quick Mode; our SADB matches its xfrm.log; its Delete on stop reaches the daemon;
 * the capture passes `capture.sh check`, decrypted with the daemon's own `--keys-file`.
 *
 * Why a network namespace: Libreswan only uses port 500, and `capture.sh start` filters by port
 * only (`--ports`, plus `--iface` and `--netns`), so a capture in the host namespace would also
 * catch other tests' port-500 traffic (hostile garbage, other peers' SAs we hold no keys for).
 * The test makes a private namespace (`dmn-ls-<pid>`, loopback only, deleted at the end) and
 * runs the daemon, pluto and dumpcap inside it; ikeadm reaches the daemon through the socket
 * file as usual. Instance names dmn-*.
 */
import assert from "node:assert/strict";
import type { ListResult, P1View, SadbView } from "../../src/control/results.js";
import { xfrmSas } from "../helpers/engine-host.js";
import { interopTest } from "../helpers/scenario.js";
import { poll } from "../helpers/wait.js";
import { PSK, US, assertSameSadb, checkWithOurKeys, json, keymatArgs, mature, rootFor } from "./common.js";

interopTest("Libreswan on 127.0.6.4:500 initiates to in.iked on 127.0.6.1:500; SADB matches; Libreswan's Delete reaches us", async (s) => {
  const LIBRESWAN = "127.0.6.4";
  const root = rootFor(s, LIBRESWAN, "p1_xform { auth_method preshared oakley_group 14 auth_alg sha1 encr_alg aes(128..128) }");
  const ns = s.netns(`dmn-ls-${process.pid}`);
  const d = await s.daemon(root, [...keymatArgs(root), "--port", "500", "--natt-port", "4500"], {}, { netns: ns });
  const cap = await s.capture(`dmn-cap-ls-${process.pid}`, { ports: "500,4500", netns: ns });
  const peer = await s.libreswan({
    name: `dmn-ls-${process.pid}`, role: "initiator", local: LIBRESWAN, remote: US, remotePort: 500,
    mode: "main", auth: "psk", psk: PSK, cipher: "aes128", hash: "sha1", dh: 14, esp: "aes128-sha1", pfs: "none", espMode: "transport",
    netns: ns,
  });
  await s.established(peer, { context: () => d.output() });
  await poll(async () => (await mature(root)).length === 2, "our two IPsec SAs");
  assertSameSadb(await mature(root), xfrmSas(peer.info.xfrmlog ?? ""));
  assert.match(d.output(), /IKE engine started sockets=\["127\.0\.6\.1:500","127\.0\.6\.1:4500 \(NAT-T\)"\]/);

  await peer.stop({ purge: true });
  await poll(async () => (await json<ListResult<P1View>>(root, ["dump", "p1"])).items.length === 0, "our ISAKMP SA to go after Libreswan's Delete");
  await poll(async () => (await json<ListResult<SadbView>>(root, ["dump", "sadb"])).items.length === 0, "our IPsec SAs to go after Libreswan's Delete");

  // Libreswan's Deletes (encrypted informationals) decrypt with our Ka too.
  await checkWithOurKeys(cap, root, "main:6,quick:3,info:1");
});
