/**
 * Our engine against a real Libreswan 4.10 (shared/interop), both roles: Main Mode and Aggressive
 * Mode with pre-shared keys over MODP 1536 and 2048 with 3DES and AES, then Quick Mode (with and without PFS), then
 * Delete. Libreswan quirks this exercises: proposal and transform numbers start at 0, its attribute
 * order differs from strongSwan's, host-to-host Quick Mode carries no IDci/IDcr, and as an
 * Aggressive Mode initiator pluto sends QM1 right behind AM3.
 *
 * Libreswan always listens on <address>:500; it initiates towards our non-500 port from its
 * port 4500 with the non-ESP marker (README, marker rule), which our transport must strip.
 *
 * Each case checks both ends: `libreswan-peer.sh status` says established, our SADB holds the
 * inbound and outbound SA pluto installed (SPIs and keys from its xfrm.log), and every packet
 * passes `capture.sh check`, decrypted with Ka that the test derives again from our DH private
 * values and the capture (test/interop/ka.ts; Libreswan logs no keys in a form the checker reads). At the end the Delete's receiver has dropped its SAs.
 * When Libreswan initiates, it is the one that deletes: pluto with auto=start re-initiates after
 * a Delete from us (README, "Revival").
 */
import assert from "node:assert/strict";
import { assertSameSas, xfrmSas } from "../helpers/engine-host.js";
import { checkCapture, interopTest } from "../helpers/scenario.js";
import { RecordingDh, kaLines, suiteByName } from "./ka.js";
import { deleteAndCheck, hostToHost, plan } from "./common.js";

const PSK = "iop-libreswan-psk";
const { us: US, libreswan: THEM, ports } = plan();

interface Case {
  readonly name: string;
  readonly lsRole: "initiator" | "responder";
  readonly p1: { readonly cipher: string; readonly hash: string; readonly dh: number; readonly encr: string };
  readonly ipsec: string;
  readonly esp: string;
  readonly pfs: string;
  /** Phase 1 exchange (default Main Mode); our ike.preshared entry says which. */
  readonly mode?: "main" | "aggressive";
  readonly deleter: "us" | "libreswan";
}

const CASES: readonly Case[] = [
  { name: "aes128-sha1-modp2048, esp aes128-sha1", lsRole: "responder", p1: { cipher: "aes128", hash: "sha1", dh: 14, encr: "aes(128..128)" }, ipsec: "encr_algs aes encr_auth_algs sha1", esp: "aes128-sha1", pfs: "none", deleter: "us" },
  { name: "3des-sha256-modp1536, esp 3des-sha1, pfs 14", lsRole: "responder", p1: { cipher: "3des", hash: "sha256", dh: 5, encr: "3des" }, ipsec: "encr_algs 3des encr_auth_algs sha1", esp: "3des-sha1", pfs: "14", deleter: "libreswan" },
  { name: "3des-sha1-modp1536, esp 3des-md5, pfs 5", lsRole: "initiator", p1: { cipher: "3des", hash: "sha1", dh: 5, encr: "3des" }, ipsec: "encr_algs 3des encr_auth_algs md5", esp: "3des-md5", pfs: "5", deleter: "libreswan" },
  { name: "aes256-sha256-modp2048, esp aes128-sha256", lsRole: "initiator", p1: { cipher: "aes256", hash: "sha256", dh: 14, encr: "aes(256..256)" }, ipsec: "encr_algs aes encr_auth_algs sha256", esp: "aes128-sha256", pfs: "none", deleter: "libreswan" },
  { name: "Aggressive Mode aes128-sha1-modp2048, esp aes128-sha1", lsRole: "responder", mode: "aggressive", p1: { cipher: "aes128", hash: "sha1", dh: 14, encr: "aes(128..128)" }, ipsec: "encr_algs aes encr_auth_algs sha1", esp: "aes128-sha1", pfs: "none", deleter: "us" },
  { name: "Aggressive Mode 3des-sha1-modp1536, esp aes128-sha1, pfs 14", lsRole: "initiator", mode: "aggressive", p1: { cipher: "3des", hash: "sha1", dh: 5, encr: "3des" }, ipsec: "encr_algs aes encr_auth_algs sha1", esp: "aes128-sha1", pfs: "14", deleter: "libreswan" },
];

for (const [i, c] of CASES.entries()) {
  const title = c.lsRole === "responder" ? `we initiate to Libreswan: ${c.name}, Delete by ${c.deleter}` : `Libreswan initiates to us: ${c.name}, Delete by ${c.deleter}`;
  interopTest(title, async (s) => {
    const ourPort = ports.libreswan + i * 2;
    const tag = `${process.pid}-${i}`;
    const dh = new RecordingDh(`iop-ls-${tag}`);
    const host = await s.host({ dh, address: US, port: ourPort, ...hostToHost({ label: "ls", us: US, them: THEM, psk: PSK, p1: c.p1, pfs: c.pfs, ipsec: c.ipsec, ...(c.mode ? { mode: c.mode } : {}) }) });
    const cap = await s.capture(`iop-ls-cap-${tag}`, ourPort);
    const peer = await s.libreswan({
      name: `iop-ls-${tag}`,
      role: c.lsRole,
      local: THEM,
      remote: US,
      remotePort: ourPort,
      mode: c.mode ?? "main",
      auth: "psk",
      psk: PSK,
      cipher: c.p1.cipher,
      hash: c.p1.hash,
      dh: c.p1.dh,
      esp: c.esp,
      pfs: c.pfs,
      espMode: "transport",
    });
    if (c.lsRole === "responder") host.negotiate("ls", { address: THEM, port: 500 });
    await host.waitFor("phase2-up");
    await s.established(peer);

    const up = host.of("phase2-up")[0]!;
    assert.equal(up.result.pfsGroup, c.pfs === "none" ? 0 : Number(c.pfs));
    const ours = await host.matureSas();
    assert.equal(ours.length, 2, "one inbound and one outbound SA");
    const xfrmlog = peer.info.xfrmlog;
    assert.ok(xfrmlog, "libreswan-peer.sh start printed no xfrmlog");
    assertSameSas(ours, xfrmSas(xfrmlog));

    await deleteAndCheck(host, peer, up.sa, c.deleter === "us" ? "us" : "peer");

    await checkCapture(cap, { keyLines: (pcap) => kaLines(pcap, { psk: PSK, suite: suiteByName(c.p1.cipher, c.p1.hash), dh }), expect: `${c.mode === "aggressive" ? "aggressive:3" : "main:6"},quick:3,info:2` });
  });
}
