/**
 * The certificate store in the running daemon: loaded at start-up with its private keys
 * registered in the crypto pool, held with the rules in the live configuration, and swapped on
 * SIGHUP together with rules and keys or not at all: a bad store file refuses the whole reload and
 * leaves no new key in the pool, and so does a reload whose IPsec policy the kernel refuses; a
 * good reload swaps credentials and keys, and keys of the generation before the previous one leave
 * the pool. `in.iked -c` refuses a pre-shared rule that has no identity to present for its
 * `local_id_type`.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, describe, test } from "node:test";
import { AuthMethod } from "../../src/codec/index.js";
import { resolveRule } from "../../src/config/index.js";
import { Daemon } from "../../src/daemon/daemon.js";
import { parseDaemonOptions } from "../../src/daemon/options.js";
import type { IkeService } from "../../src/daemon/service.js";
import { ikedPaths } from "../../src/daemon/paths.js";
import { isRefusal } from "../../src/ike/phase1/credentials.js";
import { pkiTestOptions, removeTestPki, testPki } from "../pki/fixtures.js";
import { writeStore } from "../exchange/cert-harness.js";
import { IN_IKED, makeRoot, rootPath, run } from "./harness.js";

const roots: string[] = [];
after(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
  removeTestPki();
});

const CA = "C=US, O=IKEv1 Interop Test, CN=IKEv1 Interop Test CA";
const CERT_CONFIG = `cert_root "${CA}"
{
	label "cert"
	local_addr 127.0.0.1
	remote_addr 127.0.0.2
	local_id_type ip
	local_id "IP=127.0.0.2"
	remote_id ""
	p1_xform { auth_method rsa_sig oakley_group 14 auth_alg sha256 encr_alg aes }
}
`;

function storeRoot(): string {
  const pki = testPki();
  const r = makeRoot(CERT_CONFIG);
  roots.push(r);
  writeStore(ikedPaths(r), { certs: { "0": pki.ca, "1": pki.ip }, keys: { "1": pki.ipKey }, crls: [pki.crlDer] });
  return r;
}

describe("the certificate store in the daemon", pkiTestOptions(), () => {
  test("start-up loads it; SIGHUP swaps store, rules and keys all or nothing", async () => {
    const root = storeRoot();
    const parsed = parseDaemonOptions(["--root", root, "--kernel", "memory", "--workers", "0"], { debug_logfile: path.join(root, "d.log") });
    assert.equal(parsed.kind, "run");
    if (parsed.kind !== "run") return;
    const d = await Daemon.start(parsed.options);
    try {
      const keyIdNow = () => {
        const { config, credentials } = d.live.current;
        assert.ok(credentials, "credentials in the live configuration");
        const own = credentials.own(resolveRule(config, config.rules[0]!), AuthMethod.RsaSignatures);
        assert.ok(!isRefusal(own), JSON.stringify(own));
        return own.keyId;
      };
      const signs = async (keyId: string) => (await d.pool.sign(keyId, Buffer.alloc(32, 7))).ok;
      assert.equal(keyIdNow(), "ike.privatekeys/1#1");
      assert.ok(await signs("ike.privatekeys/1#1"));
      assert.match(fs.readFileSync(path.join(root, "d.log"), "utf8"), /configuration loaded .*certificates=2 privateKeys=1 crls=1/);

      // A broken certificate file refuses the whole reload: the rules, credentials and keys stay.
      const first = d.live.current;
      const bad = path.join(ikedPaths(root).publicKeysDir, "9");
      fs.writeFileSync(bad, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
      fs.writeFileSync(rootPath.config(root), CERT_CONFIG.replace('"cert"', '"renamed"'));
      assert.equal(await d.reload(), false);
      assert.equal(d.live.current, first);
      assert.equal(keyIdNow(), "ike.privatekeys/1#1");
      assert.equal(await signs("ike.privatekeys/1#2"), false, "the refused generation's key left the pool");
      assert.ok(await signs("ike.privatekeys/1#1"));
      assert.match(fs.readFileSync(path.join(root, "d.log"), "utf8"), /publickeys\/9: .*reload refused/s);

      // Fixed: the swap brings the new rules and generation 3 of the keys; generation 1 stays one more reload.
      fs.rmSync(bad);
      assert.equal(await d.reload(), true);
      assert.deepEqual(d.live.current.config.rules.map((r) => r.label), ["renamed"]);
      assert.equal(keyIdNow(), "ike.privatekeys/1#3");
      assert.ok(await signs("ike.privatekeys/1#3"));
      assert.ok(await signs("ike.privatekeys/1#1"), "exchanges begun before the swap can still sign");
      assert.equal(await d.reload(), true);
      assert.equal(keyIdNow(), "ike.privatekeys/1#4");
      assert.equal(await signs("ike.privatekeys/1#1"), false, "two generations back: gone");
      assert.ok(await signs("ike.privatekeys/1#3"));
    } finally {
      await d.stop();
    }
  });

  test("a reload whose IPsec policy the kernel refuses leaves no key of the refused generation in the pool", async () => {
    const root = storeRoot();
    const parsed = parseDaemonOptions(["--root", root, "--kernel", "memory", "--workers", "1"], { debug_logfile: path.join(root, "d.log") });
    assert.equal(parsed.kind, "run");
    if (parsed.kind !== "run") return;
    // A service whose policy commit fails as a kernel refusing the new SPD makes it fail.
    let refuse = false;
    const service: IkeService = {
      start: async () => undefined,
      reconfigure: () => undefined,
      preparePolicy: async () => ({
        ok: true,
        commit: async () => {
          if (refuse) throw new Error("the kernel refused the policy: EINVAL");
        },
      }),
      admin: async () => assert.fail("no admin request in this test"),
      stop: async () => undefined,
    };
    const d = await Daemon.start(parsed.options, { engineFactory: () => service });
    try {
      const signs = async (keyId: string) => (await d.pool.sign(keyId, Buffer.alloc(32, 7))).ok;
      assert.ok(await signs("ike.privatekeys/1#1"));
      const first = d.live.current;
      refuse = true;
      assert.equal(await d.reload(), false);
      assert.equal(d.live.current, first);
      assert.equal(await signs("ike.privatekeys/1#2"), false, "the refused generation's key left the pool");
      assert.ok(await signs("ike.privatekeys/1#1"), "the running generation still signs");
      assert.match(fs.readFileSync(path.join(root, "d.log"), "utf8"), /the kernel refused the new IPsec policy/);
      refuse = false;
      assert.equal(await d.reload(), true);
      assert.ok(await signs("ike.privatekeys/1#3"));
    } finally {
      await d.stop();
    }
  });
});

test("in.iked -c refuses a pre-shared rule with local_id_type fqdn and nothing to present, at the rule", async () => {
  const config = `p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes }
{
	label "road"
	local_addr 127.0.0.1
	remote_addr 127.0.0.4
	local_id_type fqdn
}
`;
  const byAddress = "{\n\tlocalidtype ip\n\tlocalid 127.0.0.1\n\tremoteidtype ip\n\tremoteid 127.0.0.4\n\tkey 0123456789abcdef\n}\n";
  const r = makeRoot(config, byAddress);
  roots.push(r);
  const res = await run(IN_IKED, ["-c", "--root", r]);
  assert.equal(res.code, 1, res.stdout);
  assert.match(res.stderr, /config:2:1: rule "road": local_id_type ID_FQDN has no value to present: give local_id, or an ike\.preshared entry with localidtype fqdn/);

  // The key entry's localid gives the name: accepted.
  fs.writeFileSync(rootPath.preshared(r), byAddress.replace("localidtype ip\n\tlocalid 127.0.0.1", "localidtype fqdn\n\tlocalid road.example.net"), { mode: 0o600 });
  const ok = await run(IN_IKED, ["-c", "--root", r]);
  assert.equal(ok.code, 0, ok.stderr);

  // So does local_id in the rule; a type a pre-shared key cannot present is refused.
  fs.writeFileSync(rootPath.config(r), config.replace("local_id_type fqdn", 'local_id_type fqdn\n\tlocal_id "road.example.net"'));
  assert.equal((await run(IN_IKED, ["-c", "--root", r])).code, 0);
  fs.writeFileSync(rootPath.config(r), config.replace("local_id_type fqdn", "local_id_type dn"));
  const dn = await run(IN_IKED, ["-c", "--root", r]);
  assert.equal(dn.code, 1);
  assert.match(dn.stderr, /config:2:1: local_id_type ID_DER_ASN1_DN cannot be presented with a pre-shared key/);
});
