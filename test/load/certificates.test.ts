/**
 * ikeload with `--auth rsa`: the options (what goes with what), and a closed-loop run of RSA
 * signature handshakes (Main Mode + Quick Mode) against our own responder with certificates from
 * one CA (test/pki/fixtures.ts, make-certs.sh): every negotiation establishes, and the report
 * says RSA signatures.
 *
 * Addresses: responder 127.0.4.12:14020, sources 127.4.2.x on port 500.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { startResponder } from "../../bench/handshake/responder.js";
import { parseLoadArgs } from "../../src/load/options.js";
import { formatReport } from "../../src/load/report.js";
import { runLoad } from "../../src/load/runner.js";
import { pkiTestOptions, removeTestPki, testPki } from "../pki/fixtures.js";

after(() => removeTestPki());

test("--auth rsa: needs --cert, --key and --ca, takes no pre-shared key; the certificate options need it", () => {
  const base = ["--target", "127.0.0.1"];
  const err = (args: string[]) => {
    const a = parseLoadArgs([...base, ...args]);
    return a.ok ? "ok" : a.error.message;
  };
  assert.match(err(["--auth", "rsa", "--cert", "c", "--key", "k"]), /--auth rsa needs --cert, --key and --ca/);
  assert.match(err(["--auth", "rsa", "--cert", "c", "--key", "k", "--ca", "a", "--psk", "x"]), /takes no --psk/);
  assert.match(err(["--psk", "x", "--cert", "c"]), /need --auth rsa/);
  assert.match(err(["--auth", "dss"]), /not psk or rsa/);
  assert.match(err(["--auth", "rsa", "--cert", "c", "--key", "k", "--ca", "a", "--id-type", "gn"]), /--id-type/);
  assert.match(err(["--auth", "rsa", "--cert", "c", "--key", "k", "--ca", "a", "--remote-id", 'x" }']), /no quotes/);
  const ok = parseLoadArgs([...base, "--auth", "rsa", "--cert", "c", "--key", "k", "--ca", "a"]);
  assert.ok(ok.ok && !ok.help);
  assert.deepEqual(ok.value.auth, { kind: "rsa", cert: "c", key: "k", ca: "a", idType: "dn", remoteId: "" });
  assert.deepEqual(ok.value.psk, { kind: "none" });
});

describe("ikeload --auth rsa against our responder", pkiTestOptions(), () => {
  test("closed loop, Main Mode + Quick Mode with RSA signatures: all establish", async () => {
    const pki = testPki();
    const r = await startResponder({
      address: "127.0.4.12", port: 14020, workers: 0, peers: "127.4.2.0/24", pskHex: "00", dhGroup: 14, encr: "aes(128..128)", hash: "sha1",
      certs: { cert: pki.ip, key: pki.ipKey, ca: pki.ca },
    });
    try {
      const a = parseLoadArgs([
        "--target", `127.0.4.12:${r.port}`, "--source", "127.4.2.1", "--concurrency", "2", "--count", "4", "--dh", "14", "--workers", "0",
        "--auth", "rsa", "--cert", pki.fqdn, "--key", pki.fqdnKey, "--ca", pki.ca, "--id-type", "fqdn", "--remote-id", "IP=127.0.0.2",
      ]);
      assert.ok(a.ok && !a.help, JSON.stringify(a));
      const res = await runLoad(a.value);
      assert.ok(res.ok, JSON.stringify(res));
      assert.equal(res.value.established, 4, JSON.stringify(res.value.failures));
      assert.equal(res.value.auth, "rsa");
      assert.match(formatReport(res.value), /main mode, RSA signatures, aes\(128\.\.128\)\/sha1\/group 14/);
      assert.equal(r.engine.stats.snapshot().resp_p1_total, 4);
    } finally {
      await r.close();
    }
  });
});
