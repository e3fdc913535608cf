/**
 * ikeload against a real Libreswan 4.10 responder (shared/interop), as strongswan.test.ts does
 * against strongSwan; failed under CI when the harness is missing (helpers/skip.ts). pluto accepts
 * any peer (`right=%any`, one PSK for all) on its own address, port 500; the load comes from
 * 127.4.3.x on a port of its own (so the capture holds only this case's packets, and with pluto on
 * 500 there is no non-ESP marker). Libreswan 4 has no MODP 1024, so the groups are 14 and 5.
 *
 * Each case checks ikeload's report (every negotiation complete, no failure, one Delete sent per
 * negotiation), that pluto established and installed an inbound and an outbound SA per negotiation
 * (its fake kernel's xfrm.log), that our Deletes made it remove every one of them and every ISAKMP
 * SA, and that every packet passes `capture.sh check` (Wireshark's dissector: no malformed packet,
 * no expert error), decrypted with the Ka that test/interop/ka.ts derives from ikeload's recorded DH
 * values (recorded-dh.ts), so the inner payloads (IDs, hashes, Quick Mode, Deletes) are checked too.
 *
 * A third case runs from ikeload's defaults (source port 500, one crypto worker) beside pluto on
 * port 500, without a capture: port 500 may carry other tests' traffic.
 *
 * Resources: pluto on 127.0.4.22-24 (port 500), sources 127.4.3.x port 14220, 14230 and 500.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parseKv, runScript } from "../helpers/interop.js";
import { checkCapture, interopTest } from "../helpers/scenario.js";
import { poll } from "../helpers/wait.js";
import { kaLines, suiteByName } from "../interop/ka.js";
import { parseLoadArgs } from "../../src/load/options.js";
import { runLoad } from "../../src/load/runner.js";
import { recordLoadDh } from "./recorded-dh.js";

const PSK = "load-ls-secret-9";

/** The SAs in pluto's (fake) kernel: SPIs added (add_sa/update_sa) and not deleted since. */
function xfrmState(xfrmLog: string): { added: number; left: Set<string> } {
  const left = new Set<string>();
  const added = new Set<string>();
  for (const line of readFileSync(xfrmLog, "utf8").split("\n")) {
    const op = line.trim().split(/\s+/)[1];
    const kv = parseKv(line);
    if (kv.spi === undefined) continue;
    const key = `${kv.dst ?? ""}/${kv.spi}`;
    if (op === "add_sa" || op === "update_sa") {
      left.add(key);
      added.add(key);
    } else if (op === "del_sa") left.delete(key);
  }
  return { added: added.size, left };
}

interface Case {
  readonly title: string;
  readonly address: string;
  readonly source: string;
  /** ikeload's source port, captured; undefined: its default, 500, not captured (other tests' traffic). */
  readonly port?: number;
  /** ikeload's crypto workers (0: inline; 1, its default: one pool thread). */
  readonly workers: 0 | 1;
  readonly mode: "main" | "aggressive";
  readonly cipher: "aes128" | "aes256" | "3des";
  readonly hash: "sha1" | "sha256";
  readonly dh: 5 | 14;
  readonly pfs: 0 | 5 | 14;
  readonly concurrency: number;
  readonly count: number;
  readonly expect: string;
}

const CASES: readonly Case[] = [
  {
    title: "Main + Quick Mode against Libreswan (aes128-sha1-modp2048, esp aes128-sha1): all established, Deletes honoured, capture clean",
    address: "127.0.4.22", source: "127.4.3.1", port: 14220, workers: 0, mode: "main", cipher: "aes128", hash: "sha1", dh: 14, pfs: 0, concurrency: 3, count: 6, expect: "main:6,quick:3,info:1",
  },
  {
    title: "Aggressive + Quick Mode with PFS against Libreswan (aes256-sha256-modp1536, pfs 14): all established, Deletes honoured, capture clean",
    address: "127.0.4.23", source: "127.4.3.20", port: 14230, workers: 0, mode: "aggressive", cipher: "aes256", hash: "sha256", dh: 5, pfs: 14, concurrency: 2, count: 4, expect: "aggressive:3,quick:3,info:1",
  },
  {
    title: "Main + Quick Mode with PFS against Libreswan from ikeload's defaults (source port 500, one crypto worker; 3des-sha256-modp1536, pfs 5): all established, Deletes honoured",
    address: "127.0.4.24", source: "127.4.3.40", workers: 1, mode: "main", cipher: "3des", hash: "sha256", dh: 5, pfs: 5, concurrency: 2, count: 2, expect: "",
  },
];

for (const c of CASES) {
  interopTest(c.title, async (s) => {
    const cap = c.port === undefined ? undefined : await s.capture(`load-ls-cap-${c.port}-${process.pid}`, c.port);
    const peer = await s.libreswan({
      name: `load-ls-${c.port ?? 500}-${process.pid}`,
      role: "responder",
      local: c.address,
      remote: "%any",
      mode: c.mode,
      psk: PSK,
      cipher: c.cipher,
      hash: c.hash,
      dh: c.dh,
      esp: "aes128-sha1",
      pfs: c.pfs === 0 ? "none" : c.pfs,
      espMode: "transport",
    });
    const args = ["--target", `${c.address}:500`, "--source", c.source, ...(c.port === undefined ? [] : ["--source-port", String(c.port)]), "--concurrency", String(c.concurrency), "--count", String(c.count)];
    args.push("--mode", c.mode, "--psk", PSK, "--cipher", c.cipher, "--hash", c.hash, "--dh", String(c.dh), "--pfs", String(c.pfs), "--workers", String(c.workers), "--expire", "20");
    const a = parseLoadArgs(args);
    assert.ok(a.ok && !a.help, JSON.stringify(a));
    const dh = recordLoadDh();
    s.defer(() => dh.restore());
    const res = await runLoad(a.value);
    assert.ok(res.ok, JSON.stringify(res));
    const r = res.value;
    assert.equal(r.failed, 0, JSON.stringify(r.failures));
    assert.equal(r.started, c.count);
    assert.equal(r.established, c.count);
    assert.equal(r.phase1Established, c.count);
    assert.equal(r.latencyMs.phase1.count, c.count);
    assert.equal(r.latencyMs.phase1and2?.count, c.count);
    assert.equal(r.deletesSent, c.count);
    assert.deepEqual(r.phase2, { proposal: "encr_algs aes(128..128) encr_auth_algs sha1", pfsGroup: c.pfs });

    // pluto installed an inbound and an outbound SA per negotiation, and our Deletes removed them all.
    const pluto = () => readFileSync(peer.log, "utf8");
    const xfrmlog = peer.info.xfrmlog ?? "";
    const established = () => pluto().match(/IPsec SA established transport mode/g)?.length ?? 0;
    // ikeload's run ends once its last QM3 and Deletes are sent; pluto may not have read them yet.
    await poll(() => established() >= c.count, () => `pluto to establish ${c.count} IPsec SAs; it logged ${established()}:\n${pluto().slice(-4000)}`);
    assert.equal(established(), c.count);
    await poll(() => xfrmState(xfrmlog).added >= 2 * c.count, () => `pluto to install ${2 * c.count} SAs; it installed ${xfrmState(xfrmlog).added}`);
    assert.equal(xfrmState(xfrmlog).added, 2 * c.count);
    await poll(() => xfrmState(xfrmlog).left.size === 0, () => `pluto to remove every IPsec SA; left: ${[...xfrmState(xfrmlog).left].join(" ")}\n${pluto().slice(-4000)}`);
    // Our ESP Deletes acted on. pluto then drops the connection instance, ISAKMP SA included ("deleting
    // state (STATE_MAIN_R3)", with a Delete of its own to us), since its last IPsec SA is gone; so our
    // ISAKMP Delete, right behind, finds no SA left to delete there. Either way none may stay.
    const espDeletes = () => pluto().match(/received Delete SA\(0x[0-9a-f]+\) payload: deleting IPsec State/g)?.length ?? 0;
    const ikeGone = () => pluto().match(/deleting state \(STATE_(MAIN_R3|AGGR_R2)\)/g)?.length ?? 0;
    await poll(() => ikeGone() >= c.count, () => `pluto to remove ${c.count} ISAKMP SAs; it removed ${ikeGone()}:\n${pluto().slice(-4000)}`);
    assert.equal(espDeletes(), c.count, pluto().slice(-4000));
    assert.equal(ikeGone(), c.count);
    const states = await runScript("libreswan-peer.sh", ["states", "--name", peer.name]);
    assert.equal(states.code, 0, states.stderr);
    assert.doesNotMatch(states.stdout, /STATE_/, "pluto still holds a state");
    const refused = pluto().split("\n").filter((l) => /malformed|does not match|INVALID_[A-Z_]+|NO_PROPOSAL_CHOSEN|ignoring informational payload (?!IPSEC_INITIAL_CONTACT)/i.test(l));
    assert.deepEqual(refused, [], "pluto refused a message of ours");

    if (cap !== undefined) await checkCapture(cap, { keyLines: (pcap) => kaLines(pcap, { psk: PSK, suite: suiteByName(c.cipher, c.hash), dh }), expect: c.expect });
  });
}
