/**
 * ikeload against a real strongSwan 5.9.8 responder (shared/interop), skipped when the harness is
 * unavailable. strongSwan accepts any peer (`remote %any`, `unique no`) with one PSK on
 * 127.0.4.20:14200 (NAT-T port 14201); the load comes from 127.4.2.x:500, so no non-ESP marker is
 * involved. Quick Mode proposes ESP aes128-sha1 in transport mode, host to host. It also checks that
 * strongSwan accepted our Deletes (one for the ESP SAs, one for the ISAKMP SA per negotiation):
 * every ISAKMP SA deleted, nothing refused, no IPsec SA left. Both cases capture strongSwan's port
 * and pass every packet through `capture.sh check` (Wireshark's dissector: no malformed packet, no
 * expert error), decrypted with the Ka derived from ikeload's recorded DH values (recorded-dh.ts,
 * test/interop/ka.ts), so the encrypted payloads, Deletes included, are dissected too.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parseKv } from "../helpers/interop.js";
import { checkCapture, interopTest } from "../helpers/scenario.js";
import { poll } from "../helpers/wait.js";
import { kaLines, suiteByName } from "../interop/ka.js";
import { parseLoadArgs } from "../../src/load/options.js";
import { runLoad } from "../../src/load/runner.js";
import { recordLoadDh } from "./recorded-dh.js";

const PSK = "load-ss-secret-7";

/** SPIs of the SAs a harness peer installed (add_sa/update_sa in its xfrm.log) and has not deleted. */
function installedSpis(xfrmLog: string): Set<string> {
  const spis = new Set<string>();
  for (const line of readFileSync(xfrmLog, "utf8").split("\n")) {
    const op = line.trim().split(/\s+/)[1];
    const spi = parseKv(line).spi;
    if (spi === undefined) continue;
    if (op === "add_sa" || op === "update_sa") spis.add(spi);
    else if (op === "del_sa") spis.delete(spi);
  }
  return spis;
}

interopTest("a small closed-loop run (Main + Quick Mode) against strongSwan: established > 0, no failures, Deletes accepted, capture clean", async (s) => {
  const cap = await s.capture(`load-t-cap-${process.pid}`, 14200);
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
  const dh = recordLoadDh();
  s.defer(() => dh.restore());
  const res = await runLoad(a.value);
  assert.ok(res.ok, JSON.stringify(res));
  assert.ok(res.value.established > 0);
  assert.equal(res.value.failed, 0, JSON.stringify(res.value.failures));
  assert.equal(res.value.established, 6);
  assert.equal(res.value.latencyMs.phase1and2?.count, 6);
  // Deletes accepted. ikeload deletes each SA right after sending QM3, so QM3, the ESP Delete and
  // the ISAKMP Delete reach charon back to back, and charon handles one IKE_SA's messages on
  // several threads in no fixed order: an ESP Delete may come before QM3 ("CHILD_SA not found,
  // ignored"; the ISAKMP Delete then removes the CHILD_SA), or after the ISAKMP Delete (then it is
  // dropped with the IKE_SA, unlogged). So what must hold is: every ISAKMP Delete authenticated
  // and acted on, no message of ours refused, and no SA left installed in charon's (fake) kernel.
  const n = res.value.established;
  assert.equal(res.value.deletesSent, n);
  const charon = () => readFileSync(peer.log, "utf8");
  const ikeDeletes = () => charon().match(/received DELETE for IKE_SA/g)?.length ?? 0;
  const deleteLines = () => charon().split("\n").filter((l) => /DELETE|delet|not found|does not match|integrity/i.test(l)).join("\n");
  await poll(() => ikeDeletes() >= n, () => `strongSwan to act on ${n} ISAKMP Deletes; it logged ${ikeDeletes()}:\n${deleteLines()}`);
  assert.equal(ikeDeletes(), n, deleteLines());
  assert.doesNotMatch(charon(), /received HASH payload does not match|integrity check failed/, "strongSwan refused a message of ours");
  await poll(() => installedSpis(peer.info.xfrmlog ?? "").size === 0, () => `strongSwan to remove every IPsec SA; left: ${[...installedSpis(peer.info.xfrmlog ?? "")].join(" ")}`);
  await checkCapture(cap, { keyLines: (pcap) => kaLines(pcap, { psk: PSK, suite: suiteByName("aes128", "sha1"), dh }), expect: "main:6,quick:3,info:1" });
});

interopTest("Aggressive Mode + Quick Mode against strongSwan: established > 0, no failures, capture clean", async (s) => {
  const cap = await s.capture(`load-ta-cap-${process.pid}`, 14210);
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
  const dh = recordLoadDh();
  s.defer(() => dh.restore());
  const res = await runLoad(a.value);
  assert.ok(res.ok, JSON.stringify(res));
  assert.ok(res.value.established > 0);
  assert.equal(res.value.failed, 0, JSON.stringify(res.value.failures));
  await checkCapture(cap, { keyLines: (pcap) => kaLines(pcap, { psk: PSK, suite: suiteByName("aes256", "sha256"), dh }), expect: "aggressive:3,quick:3,info:1" });
});
