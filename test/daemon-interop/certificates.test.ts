/**
 * The compiled in.iked with RSA signature authentication against a real strongSwan 5.9.8, both
 * roles: certificates from the shared harness's make-certs.sh (one CA for both sides), the store
 * read from --root at start-up, SIG_I/SIG_R made and checked in the daemon's crypto pool.
 *
 * - strongSwan (FQDN identity) initiates Main Mode; we answer with a DN identity; Quick Mode follows;
 *   `ikeadm dump certcache` shows strongSwan's certificate, validated.
 * - We initiate Main Mode to strongSwan on `ikeadm acquire`, IP identities on both sides.
 * - strongSwan initiates Aggressive Mode; our certificate hangs below an intermediate CA strongSwan
 *   does not hold, so it needs the chain we send in CERT payloads (it asked with CERTREQ).
 * - strongSwan presents a revoked certificate: our CRL says so, MM5 is refused with
 *   INVALID-CERTIFICATE, and the log line names the rule.
 *
 * Every capture passes `capture.sh check`: decrypted with the daemon's own `--keys-file` where the
 * exchange completed, with strongSwan's level-4 log where it was refused.
 *
 * Resources: addresses 127.0.7.1-3, UDP ports 17000-17039, instance names dmn-cert-*.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, describe } from "node:test";
import type { ListResult, P1View } from "../../src/control/results.js";
import { ikeadm } from "../daemon/harness.js";
import type { StrongSwanOptions } from "../helpers/interop.js";
import { checkCapture, interopTest, type Scenario } from "../helpers/scenario.js";
import { poll, WAIT_MS } from "../helpers/wait.js";
import { removeTestPki, testPki } from "../pki/fixtures.js";
import { certRoot, issue, TEST_CA } from "./cert-common.js";
import { assertSameSadb, checkWithOurKeys, json, keymatArgs, mature } from "./common.js";

const US = "127.0.7.1";
const SS_INITIATOR = "127.0.7.2";
const SS_RESPONDER = "127.0.7.3";
after(() => removeTestPki());

/** The end of a peer's log, for a failure message. */
const tail = (file: string): string => fs.readFileSync(file, "utf8").split("\n").filter((l) => /\[(IKE|CFG)\]/.test(l) && !/vici|IV |bytes @|^\S+ \S+ \d+\[IKE\] <[^>]*>\s+\d+: /.test(l)).slice(-40).join("\n");

/** A certificate root (cert-common.ts `certRoot`), removed when the case ends. */
function rootOf(s: Scenario, o: Parameters<typeof certRoot>[0]): string {
  const root = certRoot(o);
  s.defer(() => fs.rmSync(root, { recursive: true, force: true }));
  return root;
}

/** strongSwan with a certificate, towards our daemon on `ourPort`. */
function strongSwan(name: string, role: "initiator" | "responder", local: string, port: number, ourPort: number, o: { cert: string; key: string; localId: string; remoteId: string; mode?: "main" | "aggressive" }): StrongSwanOptions {
  return {
    name, role, local, remote: US, localPort: port, nattPort: port + 1, remotePort: ourPort,
    mode: o.mode ?? "main", auth: "rsa", cert: o.cert, key: o.key, ca: testPki().ca, localId: o.localId, remoteId: o.remoteId,
    cipher: "aes128", hash: "sha256", dh: 14, esp: "aes128-sha1", pfs: "none", espMode: "transport", logLevel: 4,
  };
}

describe("in.iked with RSA signatures against strongSwan", () => {
  interopTest("strongSwan (FQDN) initiates Main Mode; we answer with a DN identity; Quick Mode; capture clean", async (s) => {
    const [ours, theirs] = issue("C=US, O=IKEv1 Interop Test, CN=iked gateway", "@ss-init.example.net");
    const root = rootOf(s, {
      local: US, remote: SS_INITIATOR, localIdType: "dn", localId: "C=US, O=IKEv1 Interop Test, CN=iked gateway",
      remoteId: ["DNS=ss-init.example.net"], cert: ours!.cert, key: ours!.key,
    });
    const d = await s.daemon(root, [...keymatArgs(root), "--port", "17000", "--natt-port", "17001"]);
    const cap = await s.capture(`dmn-cert-cap-a-${process.pid}`, 17000);
    const peer = await s.strongSwan(strongSwan(`dmn-cert-ss-a-${process.pid}`, "initiator", SS_INITIATOR, 17002, 17000, {
      cert: theirs!.cert, key: theirs!.key, localId: "@ss-init.example.net", remoteId: "C=US, O=IKEv1 Interop Test, CN=iked gateway",
    }));
    await s.established(peer, { context: () => `${d.output()}\n${tail(peer.log)}` });
    await poll(async () => (await mature(root)).length === 2, "our two IPsec SAs");
    assertSameSadb(await mature(root), (await peer.keys()).sa);
    const p1 = (await json<ListResult<P1View>>(root, ["dump", "p1"])).items;
    assert.equal(p1.length, 1);
    assert.match((await ikeadm(root, ["dump", "p1"])).stdout, /Authentication method: RSA signatures;/);
    // The validated peer certificate is in the certificate cache.
    assert.match((await ikeadm(root, ["dump", "certcache"])).stdout, /Subject Name: <C=US, O=IKEv1 Interop Test, CN=ss-init\.example\.net>/);
    await checkWithOurKeys(cap, root, "main:6,quick:3");
  });

  interopTest("we initiate Main Mode to strongSwan on ikeadm acquire, IP identities; capture clean", async (s) => {
    const [ours, theirs] = issue(US, SS_RESPONDER);
    const root = rootOf(s, { local: US, remote: SS_RESPONDER, localIdType: "ip", localId: `IP=${US}`, remoteId: [`IP=${SS_RESPONDER}`], cert: ours!.cert, key: ours!.key });
    const d = await s.daemon(root, [...keymatArgs(root), "--port", "17010", "--natt-port", "17011"]);
    const cap = await s.capture(`dmn-cert-cap-b-${process.pid}`, 17010);
    const peer = await s.strongSwan(strongSwan(`dmn-cert-ss-b-${process.pid}`, "responder", SS_RESPONDER, 17012, 17010, {
      cert: theirs!.cert, key: theirs!.key, localId: SS_RESPONDER, remoteId: US,
    }));
    const acq = await ikeadm(root, ["acquire", US, SS_RESPONDER, "proto", "tcp", "dport", "443", "peer", `${SS_RESPONDER}:17012`]);
    assert.equal(acq.code, 0, acq.stderr + acq.stdout);
    await s.established(peer, { context: () => `${d.output()}\n${tail(peer.log)}` });
    await poll(async () => (await mature(root)).length === 2, "our two IPsec SAs");
    assertSameSadb(await mature(root), (await peer.keys()).sa);
    await checkWithOurKeys(cap, root, "main:6,quick:3");
  });

  interopTest("strongSwan initiates Aggressive Mode; our certificate needs the intermediate CA we send", async (s) => {
    const pki = testPki();
    const [theirs] = issue("@ss-aggr.example.net");
    const root = rootOf(s, {
      local: US, remote: SS_INITIATOR, localIdType: "fqdn", localId: "DNS=host.int.example", remoteId: [`ISSUER=${TEST_CA}`],
      cert: pki.underIntermediate, key: pki.underIntermediate.replace(/\.crt$/, ".key"), intermediates: [pki.intermediate],
    });
    const d = await s.daemon(root, [...keymatArgs(root), "--port", "17020", "--natt-port", "17021"]);
    const cap = await s.capture(`dmn-cert-cap-c-${process.pid}`, 17020);
    const peer = await s.strongSwan(strongSwan(`dmn-cert-ss-c-${process.pid}`, "initiator", SS_INITIATOR, 17022, 17020, {
      cert: theirs!.cert, key: theirs!.key, localId: "@ss-aggr.example.net", remoteId: "@host.int.example", mode: "aggressive",
    }));
    await s.established(peer, { context: () => `${d.output()}\n${tail(peer.log)}` });
    // strongSwan only had the root: it validated us through the intermediate we sent.
    assert.match(fs.readFileSync(peer.log, "utf8"), /CN=Intermediate CA/);
    await poll(async () => (await mature(root)).length === 2, "our two IPsec SAs");
    await checkWithOurKeys(cap, root, "aggressive:3,quick:3");
  });

  interopTest("strongSwan presents a revoked certificate: refused with INVALID-CERTIFICATE, logged with the rule", async (s) => {
    const pki = testPki();
    const [ours] = issue("@iked.example.net");
    const root = rootOf(s, { local: US, remote: SS_INITIATOR, localIdType: "fqdn", localId: "DNS=iked.example.net", remoteId: [""], cert: ours!.cert, key: ours!.key });
    const d = await s.daemon(root, [...keymatArgs(root), "--port", "17030", "--natt-port", "17031"]);
    const cap = await s.capture(`dmn-cert-cap-d-${process.pid}`, 17030);
    const peer = await s.strongSwan(strongSwan(`dmn-cert-ss-d-${process.pid}`, "initiator", SS_INITIATOR, 17032, 17030, {
      cert: pki.revoked, key: pki.revoked.replace(/\.crt$/, ".key"), localId: "@revoked.example.net", remoteId: "@iked.example.net",
    }));
    await d.waitFor(/Phase 1 failed .*rule="cert 127\.0\.7\.2".*was revoked by C=US, O=IKEv1 Interop Test, CN=IKEv1 Interop Test CA.*notify=20/, WAIT_MS);
    assert.equal((await peer.status()).established, false);
    assert.equal((await json<ListResult<P1View>>(root, ["dump", "p1"])).items.length, 0);
    const c = await checkCapture(cap, { keysFromLog: [peer.log], expect: "main:5,info:1", requireDecrypted: false });
    assert.match(c.stdout, /\[HASH,N\] \{20\}/, "our protected INVALID-CERTIFICATE (20)");
  });
});
