/**
 * Our engine against a real strongSwan 5.9.8 (shared/interop), both roles: Main Mode with
 * pre-shared keys (and Aggressive Mode once per role), then Quick Mode, then Delete. A representative matrix, not the full product:
 * every DH group (1, 2, 5, 14), cipher (DES, 3DES, Blowfish, AES-128, AES-256) and hash (MD5,
 * SHA-1, SHA2-256) appears at least once in each role, Quick Mode runs with and without PFS, with
 * ESP and with AH, and Delete goes once each way per role.
 *
 * Each case checks both ends: strongSwan reports IKE ESTABLISHED and CHILD INSTALLED, our SADB
 * holds exactly the inbound and outbound SA strongSwan installed (same SPIs, same key bytes, from
 * its xfrm.log), and every packet of the run passes `capture.sh check`, decrypted with the keys
 * from strongSwan's level-4 log (the same keys encrypt our messages of that exchange). After the
 * Delete, the deleting side's peer has dropped everything: strongSwan's status says not
 * established, or our SA tables and SADB are empty.
 */
import assert from "node:assert/strict";
import { assertSameSas } from "../helpers/engine-host.js";
import { checkCapture, interopTest } from "../helpers/scenario.js";
import { RecordingDh, kaLines, suiteByName } from "./ka.js";
import { deleteAndCheck, hostToHost, plan } from "./common.js";

const PSK = "iop-strongswan-psk";
const { us: US, strongswan: STRONGSWAN, ports } = plan();

interface Case {
  readonly name: string;
  /** strongSwan's role. */
  readonly ssRole: "initiator" | "responder";
  readonly p1: { readonly cipher: string; readonly hash: string; readonly dh: number; readonly encr: string };
  /** Our ipsecinit.conf action body and strongSwan's Phase 2 options. */
  readonly ipsec: string;
  readonly ss: { readonly esp?: string; readonly ah?: string; readonly pfs: string };
  /** Who sends the Delete at the end. */
  /** Phase 1 exchange (default Main Mode); our ike.preshared entry says which. */
  readonly mode?: "main" | "aggressive";
  readonly deleter: "us" | "strongswan";
}

const CASES: readonly Case[] = [
  { name: "des-md5-modp768, esp des-md5", ssRole: "responder", p1: { cipher: "des", hash: "md5", dh: 1, encr: "des" }, ipsec: "encr_algs des encr_auth_algs md5", ss: { esp: "des-md5", pfs: "none" }, deleter: "us" },
  { name: "3des-sha1-modp1024, ah sha1", ssRole: "responder", p1: { cipher: "3des", hash: "sha1", dh: 2, encr: "3des" }, ipsec: "auth_algs sha1", ss: { ah: "sha1", pfs: "none" }, deleter: "strongswan" },
  { name: "aes128-sha256-modp1536, esp aes128-sha1, pfs 5", ssRole: "responder", p1: { cipher: "aes128", hash: "sha256", dh: 5, encr: "aes(128..128)" }, ipsec: "encr_algs aes encr_auth_algs sha1", ss: { esp: "aes128-sha1", pfs: "5" }, deleter: "us" },
  { name: "aes256-sha1-modp2048, esp 3des-sha256, pfs 14", ssRole: "responder", p1: { cipher: "aes256", hash: "sha1", dh: 14, encr: "aes(256..256)" }, ipsec: "encr_algs 3des encr_auth_algs sha256", ss: { esp: "3des-sha256", pfs: "14" }, deleter: "strongswan" },
  { name: "blowfish-md5-modp1024, esp aes128-sha256", ssRole: "responder", p1: { cipher: "blowfish", hash: "md5", dh: 2, encr: "blowfish" }, ipsec: "encr_algs aes encr_auth_algs sha256", ss: { esp: "aes128-sha256", pfs: "none" }, deleter: "us" },
  { name: "des-sha256-modp2048, esp aes128-sha1, pfs 14", ssRole: "initiator", p1: { cipher: "des", hash: "sha256", dh: 14, encr: "des" }, ipsec: "encr_algs aes encr_auth_algs sha1", ss: { esp: "aes128-sha1", pfs: "14" }, deleter: "strongswan" },
  { name: "3des-md5-modp1536, ah md5", ssRole: "initiator", p1: { cipher: "3des", hash: "md5", dh: 5, encr: "3des" }, ipsec: "auth_algs md5", ss: { ah: "md5", pfs: "none" }, deleter: "us" },
  { name: "aes128-sha1-modp768, esp des-md5", ssRole: "initiator", p1: { cipher: "aes128", hash: "sha1", dh: 1, encr: "aes(128..128)" }, ipsec: "encr_algs des encr_auth_algs md5", ss: { esp: "des-md5", pfs: "none" }, deleter: "strongswan" },
  { name: "aes256-sha256-modp1024, esp 3des-sha1, pfs 2", ssRole: "initiator", p1: { cipher: "aes256", hash: "sha256", dh: 2, encr: "aes(256..256)" }, ipsec: "encr_algs 3des encr_auth_algs sha1", ss: { esp: "3des-sha1", pfs: "2" }, deleter: "us" },
  { name: "blowfish-sha1-modp1536, esp aes128-sha1", ssRole: "initiator", p1: { cipher: "blowfish", hash: "sha1", dh: 5, encr: "blowfish" }, ipsec: "encr_algs aes encr_auth_algs sha1", ss: { esp: "aes128-sha1", pfs: "none" }, deleter: "strongswan" },
  { name: "Aggressive Mode aes128-sha1-modp2048, esp aes128-sha1", ssRole: "responder", mode: "aggressive", p1: { cipher: "aes128", hash: "sha1", dh: 14, encr: "aes(128..128)" }, ipsec: "encr_algs aes encr_auth_algs sha1", ss: { esp: "aes128-sha1", pfs: "none" }, deleter: "strongswan" },
  { name: "Aggressive Mode 3des-sha256-modp1024, esp 3des-sha1, pfs 2", ssRole: "initiator", mode: "aggressive", p1: { cipher: "3des", hash: "sha256", dh: 2, encr: "3des" }, ipsec: "encr_algs 3des encr_auth_algs sha1", ss: { esp: "3des-sha1", pfs: "2" }, deleter: "us" },
];

for (const [i, c] of CASES.entries()) {
  const title = c.ssRole === "responder" ? `we initiate to strongSwan: ${c.name}, Delete by ${c.deleter}` : `strongSwan initiates to us: ${c.name}, Delete by ${c.deleter}`;
  interopTest(title, async (s) => {
    const ourPort = ports.strongswan + i * 4;
    const ssPort = ourPort + 2;
    const tag = `${process.pid}-${i}`;
    const dh = new RecordingDh(`iop-ss-${tag}`);
    const host = await s.host({ dh, address: US, port: ourPort, ...hostToHost({ label: "ss", us: US, them: STRONGSWAN, psk: PSK, p1: c.p1, pfs: c.ss.pfs, ipsec: c.ipsec, ...(c.mode ? { mode: c.mode } : {}) }) });
    const cap = await s.capture(`iop-ss-cap-${tag}`, ourPort);
    const peer = await s.strongSwan({
      name: `iop-ss-${tag}`,
      role: c.ssRole,
      local: STRONGSWAN,
      remote: US,
      localPort: ssPort,
      nattPort: ssPort + 1,
      remotePort: ourPort,
      mode: c.mode ?? "main",
      auth: "psk",
      psk: PSK,
      cipher: c.p1.cipher,
      hash: c.p1.hash,
      dh: c.p1.dh,
      ...(c.ss.esp !== undefined ? { esp: c.ss.esp } : {}),
      ...(c.ss.ah !== undefined ? { ah: c.ss.ah } : {}),
      pfs: c.ss.pfs,
      espMode: "transport",
      logLevel: 4,
    });
    if (c.ssRole === "responder") host.negotiate("ss", { address: STRONGSWAN, port: ssPort });
    await host.waitFor("phase2-up");
    await s.established(peer);

    const up = host.of("phase2-up")[0]!;
    assert.equal(up.result.pfsGroup, c.ss.pfs === "none" ? 0 : Number(c.ss.pfs));
    assert.equal(up.sa.role, c.ssRole === "responder" ? "initiator" : "responder");
    const ours = await host.matureSas();
    assert.equal(ours.length, 2, "one inbound and one outbound SA");
    assert.ok(ours.every((sa) => sa.proto === (c.ss.ah !== undefined ? "ah" : "esp")));
    assertSameSas(ours, (await peer.keys()).sa);

    await deleteAndCheck(host, peer, up.sa, c.deleter === "us" ? "us" : "peer");

    await checkCapture(cap, { keysFromLog: [peer.log], keyLines: (pcap) => kaLines(pcap, { psk: PSK, suite: suiteByName(c.p1.cipher, c.p1.hash), dh }),
      // tshark 4.0's IKEv1 decryption has no Blowfish: those packets stay [encrypted] whatever the key.
      requireDecrypted: c.p1.cipher !== "blowfish",
      expect: `${c.mode === "aggressive" ? "aggressive:3" : "main:6"},quick:3,info:2` });
  });
}
