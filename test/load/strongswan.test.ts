/**
 * ikeload against a real strongSwan 5.9.8 responder (shared/interop), skipped when the harness is
 * unavailable. strongSwan accepts any peer (`remote %any`, `unique no`) with one PSK on
 * 127.0.4.20:14200 (NAT-T port 14201); the load comes from 127.4.2.x:500, so no non-ESP marker is
 * involved. Quick Mode proposes ESP aes128-sha1 in transport mode, host to host. It also checks that
 * strongSwan accepted our Deletes (one for the ESP SAs, one for the ISAKMP SA per negotiation).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { interopTest } from "../helpers/scenario.js";
import { poll } from "../helpers/wait.js";
import { parseLoadArgs } from "../../src/load/options.js";
import { runLoad } from "../../src/load/runner.js";

const PSK = "load-ss-secret-7";

interopTest("a small closed-loop run (Main + Quick Mode) against strongSwan: established > 0, no failures, Deletes accepted", async (s) => {
  const peer = await s.strongSwan({
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
  const a = parseLoadArgs(["--target", "127.0.4.20:14200", "--source", "127.4.2.1", "--concurrency", "3", "--count", "6", "--psk", PSK, "--workers", "0", "--expire", "20"]);
  assert.ok(a.ok && !a.help);
  const res = await runLoad(a.value);
  assert.ok(res.ok, JSON.stringify(res));
  assert.ok(res.value.established > 0);
  assert.equal(res.value.failed, 0, JSON.stringify(res.value.failures));
  assert.equal(res.value.established, 6);
  assert.equal(res.value.latencyMs.phase1and2?.count, 6);
  // charon logs each Delete it authenticated, the last ones possibly well after ikeload has sent
  // them: count only once both counts have reached the number established (or the bound).
  const n = res.value.established;
  const deletes = () => {
    const log = readFileSync(peer.log, "utf8");
    return { ike: log.match(/received DELETE for IKE_SA/g)?.length ?? 0, esp: log.match(/received DELETE for ESP CHILD_SA/g)?.length ?? 0, log };
  };
  const relevant = (log: string) => log.split("\n").filter((l) => /DELETE|delet|checkout|unknown|invalid|discard|ignor/i.test(l)).join("\n");
  await poll(() => deletes().ike >= n && deletes().esp >= n, () => {
    const d = deletes();
    return `strongSwan to log ${n} Deletes of each kind; it logged ${d.ike} for IKE SAs and ${d.esp} for ESP SAs:\n${relevant(d.log)}`;
  });
  const d = deletes();
  assert.equal(d.ike, n, relevant(d.log));
  assert.equal(d.esp, n, relevant(d.log));
});

interopTest("Aggressive Mode + Quick Mode against strongSwan: established > 0, no failures", async (s) => {
  await s.strongSwan({
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
  const a = parseLoadArgs(["--target", "127.0.4.21:14210", "--source", "127.4.2.20", "--concurrency", "2", "--count", "4", "--mode", "aggressive", "--psk", PSK, "--cipher", "aes256", "--hash", "sha256", "--dh", "14", "--workers", "0", "--expire", "20"]);
  assert.ok(a.ok && !a.help);
  const res = await runLoad(a.value);
  assert.ok(res.ok, JSON.stringify(res));
  assert.ok(res.value.established > 0);
  assert.equal(res.value.failed, 0, JSON.stringify(res.value.failures));
});
