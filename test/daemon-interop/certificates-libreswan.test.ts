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
import fs from "node:fs";
import { after } from "node:test";
import { ikeadm } from "../daemon/harness.js";
import { xfrmSas } from "../helpers/engine-host.js";
import { interopTest } from "../helpers/scenario.js";
import { poll } from "../helpers/wait.js";
import { removeTestPki, testPki } from "../pki/fixtures.js";
import { certRoot, issue } from "./cert-common.js";
import { assertSameSadb, checkWithOurKeys, keymatArgs, mature } from "./common.js";

const US = "127.0.7.1";
const LIBRESWAN = "127.0.7.4";
after(() => removeTestPki());

for (const lsRole of ["initiator", "responder"] as const) {
  interopTest(`in.iked with RSA signatures against Libreswan: Libreswan as ${lsRole}: Main Mode + Quick Mode with certificates; SADB matches; capture clean`, async (s) => {
    const [ours, theirs] = issue(US, LIBRESWAN);
    const root = certRoot({
      local: US, remote: LIBRESWAN, localIdType: "ip", localId: `IP=${US}`, remoteId: [`IP=${LIBRESWAN}`], cert: ours!.cert, key: ours!.key,
      xform: "p1_xform { auth_method rsa_sig oakley_group 14 auth_alg sha256 encr_alg aes(128..128) }",
    });
    s.defer(() => fs.rmSync(root, { recursive: true, force: true }));
    const ns = s.netns(`dmn-lscert-${process.pid}-${lsRole[0]}`);
    const d = await s.daemon(root, [...keymatArgs(root), "--port", "500", "--natt-port", "4500"], {}, { netns: ns });
    const cap = await s.capture(`dmn-lscert-cap-${process.pid}-${lsRole[0]}`, { ports: "500,4500", netns: ns });
    const peer = await s.libreswan({
      name: `dmn-lscert-${process.pid}-${lsRole[0]}`, role: lsRole, local: LIBRESWAN, remote: US, remotePort: 500,
      mode: "main", auth: "rsa", cert: theirs!.cert, key: theirs!.key, ca: testPki().ca,
      cipher: "aes128", hash: "sha256", dh: 14, esp: "aes128-sha1", pfs: "none", espMode: "transport", netns: ns,
    });
    if (lsRole === "responder") {
      const acq = await ikeadm(root, ["acquire", US, LIBRESWAN, "proto", "tcp", "dport", "443"]);
      assert.equal(acq.code, 0, acq.stderr + acq.stdout);
    }
    await s.established(peer, { context: () => `${d.output()}\n${fs.readFileSync(peer.log, "utf8").split("\n").slice(-30).join("\n")}` });
    await poll(async () => (await mature(root)).length === 2, "our two IPsec SAs");
    assertSameSadb(await mature(root), xfrmSas(peer.info.xfrmlog ?? ""));
    await checkWithOurKeys(cap, root, "main:6,quick:3");
  });
}
