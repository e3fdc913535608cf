/**
 * The compiled in.iked (temporary --root, --kernel memory) against a real strongSwan 5.9.8 over
 * loopback: strongSwan initiates Main Mode + Quick Mode to the daemon; the daemon initiates to a
 * strongSwan responder through `ikeadm acquire`; `del p1` and daemon shutdown send Deletes
 * strongSwan acts on; `ikeadm dump sadb` matches the SAs strongSwan installed (xfrm.log), keys
 * included at privilege keymat; every capture passes `capture.sh check`, decrypted with the
 * daemon's own `--keys-file` (icookie,Ka lines), not strongSwan's log.
 *
 * Resources (shared machine): addresses 127.0.6.1-3, UDP ports 16000-16019, instance names dmn-*.
 * Neither side is on port 500, so both use the RFC 3948 non-ESP marker (the harness's marker rule).
 */
import assert from "node:assert/strict";
import type { ListResult, P1View, SadbView, StatsResult } from "../../src/control/results.js";
import { ikeadm } from "../daemon/harness.js";
import { interopTest } from "../helpers/scenario.js";
import { poll } from "../helpers/wait.js";
import { SS_INITIATOR, SS_RESPONDER, US, assertSameSadb, checkWithOurKeys, json, keymatArgs, mature, rootFor, strongSwanFor } from "./common.js";

interopTest("strongSwan initiates to in.iked: MM + QM, ikeadm views match strongSwan, del p1 reaches it", async (s) => {
  const ourPort = 16000;
  const ssPort = 16002;
  const root = rootFor(s, SS_INITIATOR);
  const d = await s.daemon(root, [...keymatArgs(root), "--port", String(ourPort), "--natt-port", String(ourPort + 1)]);
  const cap = await s.capture(`dmn-cap-resp-${process.pid}`, ourPort);
  const peer = await s.strongSwan(strongSwanFor(`dmn-ss-init-${process.pid}`, "initiator", SS_INITIATOR, ssPort, ourPort));
  await s.established(peer, { context: () => d.output() });
  await poll(async () => (await mature(root)).length === 2, "our two IPsec SAs");

  assertSameSadb(await mature(root), (await peer.keys()).sa);

  const p1 = (await json<ListResult<P1View>>(root, ["dump", "p1"])).items;
  assert.equal(p1.length, 1);
  assert.equal(p1[0]!.initiator, false);
  assert.equal(p1[0]!.state, "ACTIVE");
  assert.deepEqual(p1[0]!.remote, { address: SS_INITIATOR, port: ssPort });
  const text = (await ikeadm(root, ["dump", "p1"])).stdout;
  assert.match(text, /^       Local host is the responder; IKE version 1\.0; state ACTIVE; rule "dmn 127\.0\.6\.2"$/m);
  assert.match(text, /^XFORM: Authentication method: pre-shared key; Encryption alg: AES-CBC\(128\); Authentication alg: SHA256;/m);
  assert.match(text, new RegExp(`^REMIP: Remote \\(Initiator\\) IP address: AF_INET: port ${ssPort}, 127\\.0\\.6\\.2$`, "m"));
  const stats = (await ikeadm(root, ["get", "stats"])).stdout;
  assert.match(stats, /^Current:   initiator:          0   responder:          1$/m);
  assert.match(stats, /^Total:     initiator:          0   responder:          1$/m);
  assert.equal((await json<StatsResult>(root, ["get", "stats"])).p1.resp_p1_fail, 0);

  // Lowered to base, the daemon sends no key bytes.
  assert.equal((await ikeadm(root, ["set", "priv", "base"])).code, 0);
  assert.ok((await mature(root)).every((sa) => sa.encKeyHex === undefined && sa.authKeyHex === undefined));

  const del = await ikeadm(root, ["del", "p1", US, SS_INITIATOR]);
  assert.equal(del.code, 0, del.stderr);
  await poll(async () => (await peer.status()).code === 1, "strongSwan to drop the SAs after our Delete");
  assert.equal((await json<ListResult<SadbView>>(root, ["dump", "sadb"])).items.length, 0);
  assert.equal((await json<ListResult<P1View>>(root, ["dump", "p1"])).items.length, 0);

  await checkWithOurKeys(cap, root, "main:6,quick:3,info:2");
});

interopTest("in.iked initiates to a strongSwan responder on ikeadm acquire; shutdown sends Deletes", async (s) => {
  const ourPort = 16010;
  const ssPort = 16012;
  const root = rootFor(s, SS_RESPONDER);
  const d = await s.daemon(root, [...keymatArgs(root), "--port", String(ourPort), "--natt-port", String(ourPort + 1)]);
  const cap = await s.capture(`dmn-cap-init-${process.pid}`, ourPort);
  const peer = await s.strongSwan(strongSwanFor(`dmn-ss-resp-${process.pid}`, "responder", SS_RESPONDER, ssPort, ourPort));

  const acq = await ikeadm(root, ["acquire", US, SS_RESPONDER, "proto", "tcp", "dport", "443", "peer", `${SS_RESPONDER}:${ssPort}`]);
  assert.equal(acq.code, 0, acq.stderr + acq.stdout);
  assert.match(acq.stdout, new RegExp(`negotiating with 127\\.0\\.6\\.3:${ssPort}\\.`));
  await s.established(peer, { context: () => d.output() });
  await poll(async () => (await mature(root)).length === 2, "our two IPsec SAs");
  assertSameSadb(await mature(root), (await peer.keys()).sa);
  assert.match((await ikeadm(root, ["get", "stats"])).stdout, /^Total:     initiator:          1   responder:          0$/m);
  const p1 = (await json<ListResult<P1View>>(root, ["dump", "p1"])).items;
  assert.equal(p1[0]?.initiator, true);
  assert.equal(p1[0]?.qmCreated, 1);

  // SIGTERM: the daemon deletes its SAs politely before it exits.
  assert.equal(await d.stop(), 0);
  await poll(async () => (await peer.status()).code === 1, "strongSwan to drop the SAs after our shutdown Deletes");

  await checkWithOurKeys(cap, root, "main:6,quick:3,info:2");
});
