/**
 * Test PKI (not a test file): the shared harness's make-certs.sh makes the CA and the IP, FQDN,
 * USER_FQDN and DN certificates interop tests use; strongSwan's `pki` (installed by make-certs.sh)
 * adds what it does not make, signed by the same CA: a revoked certificate and the CA's CRL, an
 * intermediate CA with pathlen 0 and certificates under it, an expired certificate. OpenSSL makes a
 * certificate with the wrong keyUsage, and DSA and ECDSA ones. A second make-certs.sh directory is
 * an unknown CA. Built once per process, in a temporary directory.
 *
 * Without the shared harness or root, `pkiSkip()` says why and the tests skip, except under CI=true,
 * where nothing may skip: the fixture build then fails, naming the reason.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { sharedDir } from "../helpers/interop.js";
import { skipFor } from "../helpers/skip.js";

/** Paths of the generated files (PEM unless the name says DER). */
export interface TestPki {
  readonly dir: string;
  readonly ca: string;
  readonly caKey: string;
  readonly ip: string;
  readonly ipKey: string;
  readonly fqdn: string;
  readonly fqdnKey: string;
  readonly email: string;
  readonly dn: string;
  readonly ipv6: string;
  readonly revoked: string;
  readonly crlDer: string;
  readonly intermediate: string;
  readonly intermediateKey: string;
  readonly underIntermediate: string;
  readonly subIntermediate: string;
  readonly underSub: string;
  readonly expired: string;
  readonly badUsage: string;
  readonly codeSigning: string;
  readonly ecdsa: string;
  readonly dsa: string;
  readonly dsaKey: string;
  /** A second DSA certificate (dsa2.example), for a DSS pair. */
  readonly dsa2: string;
  readonly dsa2Key: string;
  readonly otherCa: string;
  readonly otherLeaf: string;
}

/** Why the fixtures cannot be built here, or false. */
export function pkiSkip(): string | false {
  const script = path.join(sharedDir(), "interop/make-certs.sh");
  if (!fs.existsSync(script)) return `${script} not found (set IKED_SHARED)`;
  if (process.getuid?.() !== 0) return "make-certs.sh needs root";
  return false;
}

/** `{ skip }` for node:test, failing instead of skipping under CI=true. */
export function pkiTestOptions(): { skip: string | false } {
  const why = pkiSkip();
  return { skip: skipFor(why && `the PKI fixtures cannot be built: ${why}`) };
}

let built: TestPki | undefined;

/** Builds (once) and returns the test PKI. */
export function testPki(): TestPki {
  if (built) return built;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "iked-pki-"));
  const other = path.join(dir, "other");
  const mc = path.join(sharedDir(), "interop/make-certs.sh");
  const env = { ...process.env, IKEV1_INTEROP_QUIET: "1", STRONGSWAN_CONF: path.join(dir, "pki.conf") };
  const run = (cmd: string, args: string[], opts: { out?: string; input?: Buffer } = {}) => {
    const out = execFileSync(cmd, args, { env, cwd: dir, input: opts.input, maxBuffer: 1 << 24, stdio: ["pipe", "pipe", "pipe"] });
    if (opts.out) fs.writeFileSync(path.join(dir, opts.out), out);
    return out;
  };
  run("bash", [mc, "--dir", dir, "127.0.0.2", "@gw.example.net", "user@example.org", "C=US, O=Test, CN=peer", "2001:db8::2", "@revoked.example.net"]);
  run("bash", [mc, "--dir", dir, "--key-type", "ecdsa", "@ec.example.net"]);
  run("bash", [mc, "--dir", other, "@stranger.example.net"]);
  const ca = ["--cacert", "ca.crt", "--cakey", "ca.key"];
  run("pki", ["--signcrl", ...ca, "--cert", "_revoked.example.net.crt", "--reason", "key-compromise", "--lifetime", "30", "--outform", "der"], { out: "ca.crl.der" });
  const issue = (key: string, out: string, args: string[], signer = ca) => {
    const pub = run("pki", ["--pub", "--in", key]);
    run("pki", ["--issue", ...signer, ...args, "--outform", "pem"], { out, input: pub });
  };
  const gen = (name: string) => run("pki", ["--gen", "--type", "rsa", "--size", "1024", "--outform", "pem"], { out: name });
  gen("int.key");
  issue("int.key", "int.crt", ["--ca", "--pathlen", "0", "--dn", "C=US, O=IKEv1 Interop Test, CN=Intermediate CA"]);
  gen("leaf-int.key");
  issue("leaf-int.key", "leaf-int.crt", ["--dn", "C=US, O=IKEv1 Interop Test, CN=host.int.example", "--san", "host.int.example"], ["--cacert", "int.crt", "--cakey", "int.key"]);
  gen("sub.key");
  issue("sub.key", "sub.crt", ["--ca", "--dn", "C=US, O=IKEv1 Interop Test, CN=Sub CA"], ["--cacert", "int.crt", "--cakey", "int.key"]);
  gen("leaf-sub.key");
  issue("leaf-sub.key", "leaf-sub.crt", ["--dn", "C=US, O=IKEv1 Interop Test, CN=deep.example", "--san", "deep.example"], ["--cacert", "sub.crt", "--cakey", "sub.key"]);
  gen("old.key");
  issue("old.key", "old.crt", ["--dn", "C=US, O=IKEv1 Interop Test, CN=old.example.net", "--san", "old.example.net",
    "--not-before", "2001-01-01 00:00:00", "--not-after", "2002-01-01 00:00:00", "--dateform", "%Y-%m-%d %H:%M:%S"]);
  // OpenSSL for what pki cannot express: explicit keyUsage/EKU on an end entity, and DSA keys.
  const x509req = (key: string, subj: string, ext: string, out: string) => {
    fs.writeFileSync(path.join(dir, `${out}.ext`), ext);
    run("openssl", ["req", "-new", "-key", key, "-subj", subj, "-out", `${out}.csr`]);
    run("openssl", ["x509", "-req", "-in", `${out}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-set_serial", String(Date.now() % 1e9 + out.length),
      "-days", "30", "-sha256", "-extfile", `${out}.ext`, "-out", out]);
  };
  gen("ku.key");
  x509req("ku.key", "/C=US/O=IKEv1 Interop Test/CN=ku.example", "keyUsage=critical,keyEncipherment\nsubjectAltName=DNS:ku.example\n", "ku.crt");
  x509req("ku.key", "/C=US/O=IKEv1 Interop Test/CN=cs.example", "extendedKeyUsage=codeSigning\nsubjectAltName=DNS:cs.example\n", "cs.crt");
  run("openssl", ["genpkey", "-genparam", "-algorithm", "DSA", "-pkeyopt", "dsa_paramgen_bits:1024", "-out", "dsa.param"]);
  run("openssl", ["genpkey", "-paramfile", "dsa.param", "-out", "dsa.key"]);
  x509req("dsa.key", "/C=US/O=IKEv1 Interop Test/CN=dsa.example", "keyUsage=digitalSignature\nsubjectAltName=DNS:dsa.example\n", "dsa.crt");
  run("openssl", ["genpkey", "-paramfile", "dsa.param", "-out", "dsa2.key"]);
  x509req("dsa2.key", "/C=US/O=IKEv1 Interop Test/CN=dsa2.example", "keyUsage=digitalSignature\nsubjectAltName=DNS:dsa2.example\n", "dsa2.crt");
  const p = (f: string) => path.join(dir, f);
  built = {
    dir, ca: p("ca.crt"), caKey: p("ca.key"), ip: p("127.0.0.2.crt"), ipKey: p("127.0.0.2.key"), fqdn: p("_gw.example.net.crt"),
    fqdnKey: p("_gw.example.net.key"), email: p("user_example.org.crt"), dn: p("C_US__O_Test__CN_peer.crt"), ipv6: p("2001_db8__2.crt"),
    revoked: p("_revoked.example.net.crt"), crlDer: p("ca.crl.der"), intermediate: p("int.crt"), intermediateKey: p("int.key"),
    underIntermediate: p("leaf-int.crt"), subIntermediate: p("sub.crt"), underSub: p("leaf-sub.crt"), expired: p("old.crt"),
    badUsage: p("ku.crt"), codeSigning: p("cs.crt"), ecdsa: p("_ec.example.net.ecdsa.crt"), dsa: p("dsa.crt"), dsaKey: p("dsa.key"),
    dsa2: p("dsa2.crt"), dsa2Key: p("dsa2.key"),
    otherCa: path.join(other, "ca.crt"), otherLeaf: path.join(other, "_stranger.example.net.crt"),
  };
  return built;
}

/** Removes the fixture directory (call from an `after` hook). */
export function removeTestPki(): void {
  if (built) fs.rmSync(built.dir, { recursive: true, force: true });
  built = undefined;
}
