/**
 * The compiled in.iked with RSA signature authentication against a real Libreswan 4.10, both
 * roles, in a private network namespace (pluto and the daemon each hold port 500 on their own
 * address; see libreswan.test.ts for why the namespace). Certificates from make-certs.sh (one CA
 * for both sides): IP identities, as pluto presents its address by default. Libreswan asks for our
 * certificate with a CERTREQ (`rightca=%same`, set by the harness) and sends its own when asked.
 * Main Mode + Quick Mode; our SADB matches pluto's; the capture passes `capture.sh check`, decrypted
 * with the daemon's own `--keys-file`.
 *
 * Resources: namespace dmn-lscert-<pid>, addresses 127.0.7.1 (us) and 127.0.7.4 (pluto).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { after, describe, test } from "node:test";
import { startDaemon, ikeadm, type RunningDaemon } from "../daemon/harness.js";
import { xfrmSas } from "../helpers/engine-host.js";
import { Capture, InteropPeer, interopSkip, type LibreswanOptions } from "../helpers/interop.js";
import { poll, stopQuietly } from "../interop/common.js";
import { removeTestPki, testPki } from "../pki/fixtures.js";
import { certRoot, issue } from "./cert-common.js";
import { assertSameSadb, checkWithOurKeys, keymatArgs, mature } from "./common.js";

const US = "127.0.7.1";
const LIBRESWAN = "127.0.7.4";
const skip = interopSkip();
after(() => removeTestPki());

for (const lsRole of ["initiator", "responder"] as const) {
  describe(`in.iked with RSA signatures against Libreswan (${lsRole})`, { skip }, () => {
    test(`Libreswan as ${lsRole}: Main Mode + Quick Mode with certificates; SADB matches; capture clean`, { timeout: 180_000 }, async () => {
      const [ours, theirs] = issue(US, LIBRESWAN);
      const root = certRoot({
        local: US, remote: LIBRESWAN, localIdType: "ip", localId: `IP=${US}`, remoteId: [`IP=${LIBRESWAN}`], cert: ours!.cert, key: ours!.key,
        xform: "p1_xform { auth_method rsa_sig oakley_group 14 auth_alg sha256 encr_alg aes(128..128) }",
      });
      const ns = `dmn-lscert-${process.pid}-${lsRole[0]}`;
      let d: RunningDaemon | undefined;
      let peer: InteropPeer | undefined;
      let cap: Capture | undefined;
      execFileSync("ip", ["netns", "add", ns]);
      try {
        execFileSync("ip", ["-n", ns, "link", "set", "lo", "up"]);
        d = await startDaemon(root, [...keymatArgs(root), "--port", "500", "--natt-port", "4500"], {}, { netns: ns });
        cap = await Capture.start({ name: `dmn-lscert-cap-${process.pid}-${lsRole[0]}`, ports: "500,4500", netns: ns });
        const opts: LibreswanOptions & { netns: string } = {
          name: `dmn-lscert-${process.pid}-${lsRole[0]}`, role: lsRole, local: LIBRESWAN, remote: US, remotePort: 500,
          mode: "main", auth: "rsa", cert: theirs!.cert, key: theirs!.key, ca: testPki().ca,
          cipher: "aes128", hash: "sha256", dh: 14, esp: "aes128-sha1", pfs: "none", espMode: "transport", netns: ns,
        };
        peer = await InteropPeer.startLibreswan(opts);
        if (lsRole === "responder") {
          const acq = await ikeadm(root, ["acquire", US, LIBRESWAN, "proto", "tcp", "dport", "443"]);
          assert.equal(acq.code, 0, acq.stderr + acq.stdout);
        }
        const st = await peer.status({ wait: 30 });
        assert.ok(st.established, `Libreswan says ${JSON.stringify(st.kv)}\n${d.output()}\n${fs.readFileSync(peer.log, "utf8").split("\n").slice(-30).join("\n")}`);
        await poll(async () => (await mature(root)).length === 2, "our two IPsec SAs");
        assertSameSadb(await mature(root), xfrmSas(peer.info.xfrmlog ?? ""));
        await checkWithOurKeys(cap, root, "main:6,quick:3");
      } finally {
        await stopQuietly(cap);
        await d?.stop();
        await peer?.stop({ kill: true, purge: true });
        execFileSync("ip", ["netns", "del", ns]);
        fs.rmSync(root, { recursive: true, force: true });
      }
    });
  });
}
