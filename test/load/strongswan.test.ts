/**
 * ikeload against a real strongSwan 5.9.8 responder (shared/interop), skipped when the harness is
 * unavailable. strongSwan accepts any peer (`remote %any`, `unique no`) with one PSK on
 * 127.0.4.20:14200 (NAT-T port 14201); the load comes from 127.4.2.x:500, so no non-ESP marker is
 * involved. Quick Mode proposes ESP aes128-sha1 in transport mode, host to host. It also checks that
 * strongSwan accepted our Deletes (one for the ESP SAs, one for the ISAKMP SA per negotiation).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { InteropPeer, interopSkip } from "../helpers/interop.js";
import { parseLoadArgs } from "../../src/load/options.js";
import { runLoad } from "../../src/load/runner.js";

const PSK = "load-ss-secret-7";

test("a small closed-loop run (Main + Quick Mode) against strongSwan: established > 0, no failures, Deletes accepted", { skip: interopSkip(), timeout: 120_000 }, async () => {
  const peer = await InteropPeer.startStrongSwan({
    name: `load-t-${process.pid}`,
    role: "responder",
    local: "127.0.4.20",
    remote: "%any",
    localPort: 14200,
    nattPort: 14201,
    remotePort: 500,
    psk: PSK,
    cipher: "aes128",
    hash: "sha1",
    dh: 2,
    unique: "no",
    fragmentation: "no",
    esp: "aes128-sha1",
    espMode: "transport",
    logLevel: 1,
  });
  try {
    const a = parseLoadArgs(["--target", "127.0.4.20:14200", "--source", "127.4.2.1", "--concurrency", "3", "--count", "6", "--psk", PSK, "--workers", "0", "--expire", "20"]);
    assert.ok(a.ok && !a.help);
    const res = await runLoad(a.value);
    assert.ok(res.ok, JSON.stringify(res));
    assert.ok(res.value.established > 0);
    assert.equal(res.value.failed, 0, JSON.stringify(res.value.failures));
    assert.equal(res.value.established, 6);
    assert.equal(res.value.latencyMs.phase1and2?.count, 6);
    // charon logs each Delete it authenticated. On a loaded machine it may log the last ones
    // seconds later: poll (up to 15 s) until both counts reach the number established.
    const count = async (re: RegExp): Promise<number> => ((await readFile(peer.log, "utf8")).match(re) ?? []).length;
    let ikeDeletes = 0;
    let espDeletes = 0;
    for (let i = 0; i < 150; i++) {
      ikeDeletes = await count(/received DELETE for IKE_SA/g);
      espDeletes = await count(/received DELETE for ESP CHILD_SA/g);
      if (ikeDeletes >= res.value.established && espDeletes >= res.value.established) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(ikeDeletes, res.value.established);
    assert.equal(espDeletes, res.value.established);
  } finally {
    await peer.stop({ kill: true, purge: true });
  }
});

test("Aggressive Mode + Quick Mode against strongSwan: established > 0, no failures", { skip: interopSkip(), timeout: 120_000 }, async () => {
  const peer = await InteropPeer.startStrongSwan({
    name: `load-ta-${process.pid}`,
    role: "responder",
    local: "127.0.4.21",
    remote: "%any",
    localPort: 14210,
    nattPort: 14211,
    remotePort: 500,
    mode: "aggressive",
    psk: PSK,
    cipher: "aes256",
    hash: "sha256",
    dh: 14,
    unique: "no",
    fragmentation: "no",
    esp: "aes128-sha1",
    espMode: "transport",
    logLevel: 1,
  });
  try {
    const a = parseLoadArgs(["--target", "127.0.4.21:14210", "--source", "127.4.2.20", "--concurrency", "2", "--count", "4", "--mode", "aggressive", "--psk", PSK, "--cipher", "aes256", "--hash", "sha256", "--dh", "14", "--workers", "0", "--expire", "20"]);
    assert.ok(a.ok && !a.help);
    const res = await runLoad(a.value);
    assert.ok(res.ok, JSON.stringify(res));
    assert.ok(res.value.established > 0);
    assert.equal(res.value.failed, 0, JSON.stringify(res.value.failures));
  } finally {
    await peer.stop({ kill: true, purge: true });
  }
});
