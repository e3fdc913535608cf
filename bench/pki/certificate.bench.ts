/**
 * Certificate parsing and chain checks: this code (src/pki: own strict DER reader + crypto.verify)
 * against Node's X509Certificate and node-forge, on the same RSA-2048/SHA-256 CA and end-entity
 * certificates (made here with the openssl CLI), plus what a whole validation costs the main
 * thread inline and with its signature sent to the crypto pool.
 *
 * Baselines (ratio 1.00) in the same run:
 *   parse    new X509Certificate(der)
 *   verify   X509Certificate.verify(caKey)
 *   validate validatePath with the signature checked inline
 *
 *   npm run bench -- pki
 */
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import forge from "node-forge";
import { Bench } from "tinybench";
import { CryptoPool } from "../../src/crypto/pool.js";
import { CrlIndex, inlineVerifier, parseCertificate, parseCrl, poolVerifier, validatePath, type Certificate } from "../../src/pki/index.js";
import { verifySigned } from "../../src/pki/sig-alg.js";

function makeCerts(dir: string): { ca: Buffer; ee: Buffer; dsaEe: Buffer; crl: Buffer } {
  const o = (args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["pipe", "pipe", "pipe"] });
  fs.writeFileSync(path.join(dir, "ca.cnf"), "[ca]\ndefault_ca=d\n[d]\ndatabase=index\ncrlnumber=crlnum\ndefault_md=sha256\ndefault_crl_days=30\n");
  fs.writeFileSync(path.join(dir, "index"), "");
  fs.writeFileSync(path.join(dir, "crlnum"), "01\n");
  o(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-subj", "/C=US/O=Bench/CN=Bench CA", "-days", "30", "-out", "ca.pem"]);
  fs.writeFileSync(path.join(dir, "ee.ext"), "subjectAltName=DNS:gw.example.net\nkeyUsage=digitalSignature\n");
  o(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "ee.key", "-subj", "/C=US/O=Bench/CN=gw.example.net", "-out", "ee.csr"]);
  o(["x509", "-req", "-in", "ee.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", "2", "-days", "30", "-sha256", "-extfile", "ee.ext", "-outform", "der", "-out", "ee.der"]);
  o(["genpkey", "-genparam", "-algorithm", "DSA", "-pkeyopt", "dsa_paramgen_bits:2048", "-out", "dsa.param"]);
  o(["genpkey", "-paramfile", "dsa.param", "-out", "dsa.key"]);
  o(["req", "-new", "-key", "dsa.key", "-subj", "/CN=dsa", "-out", "dsa.csr"]);
  o(["x509", "-req", "-in", "dsa.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", "3", "-days", "30", "-outform", "der", "-out", "dsa.der"]);
  o(["ca", "-config", "ca.cnf", "-gencrl", "-keyfile", "ca.key", "-cert", "ca.pem", "-out", "ca.crl"]);
  o(["x509", "-in", "ca.pem", "-outform", "der", "-out", "ca.der"]);
  const crl = o(["crl", "-in", "ca.crl", "-outform", "der"]);
  return { ca: fs.readFileSync(path.join(dir, "ca.der")), ee: fs.readFileSync(path.join(dir, "ee.der")), dsaEe: fs.readFileSync(path.join(dir, "dsa.der")), crl };
}

function ours(der: Buffer): Certificate {
  const r = parseCertificate(der);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

export default async function run(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "iked-bench-pki-"));
  const { ca, ee, dsaEe, crl } = makeCerts(dir);
  const forgeParse = (der: Buffer) => forge.pki.certificateFromAsn1(forge.asn1.fromDer(der.toString("binary")));
  // Correctness first: what each library can do with these certificates.
  const forgeDsa = (() => {
    try {
      forgeParse(dsaEe);
      return "parses";
    } catch (e) {
      return `fails: ${(e as Error).message}`;
    }
  })();
  console.log(`node-forge on a DSA certificate: ${forgeDsa}`);
  console.log(`ours on a DSA certificate: ${parseCertificate(dsaEe).ok ? "parses" : "fails"}; X509Certificate: ${new X509Certificate(dsaEe).publicKey.asymmetricKeyType}`);

  const caX = new X509Certificate(ca);
  const eeX = new X509Certificate(ee);
  const caF = forgeParse(ca);
  const eeF = forgeParse(ee);
  const caO = ours(ca);
  const eeO = ours(ee);
  const crlO = parseCrl(crl);
  if (!crlO.ok) throw new Error(crlO.error.message);
  const base = { anchors: { roots: [caO], trusted: [] }, intermediates: [], maxCerts: 4, usage: "signature" as const };
  const pool = new CryptoPool({ threads: 1, warmGroups: [] });

  const bench = new Bench({ name: "pki", time: 300, warmupTime: 50 });
  const rows: [string, string, string][] = [];
  const add = (section: string, name: string, baseline: string, fn: () => unknown) => {
    bench.add(name, fn as () => void);
    rows.push([section, name, baseline]);
  };
  add("parse", "X509Certificate parse", "X509Certificate parse", () => new X509Certificate(ee));
  add("parse", "forge parse", "X509Certificate parse", () => forgeParse(ee));
  add("parse", "ours parse (all fields + SHA-256 fingerprint)", "X509Certificate parse", () => ours(ee));
  add("verify", "X509Certificate.verify", "X509Certificate.verify", () => eeX.verify(caX.publicKey));
  add("verify", "forge ca.verify(ee)", "X509Certificate.verify", () => caF.verify(eeF));
  add("verify", "ours verifySigned (crypto.verify)", "X509Certificate.verify", () => verifySigned(caO.spki, eeO.sigAlg, eeO.tbs, eeO.signature));
  add("validate", "validatePath inline (parse+path+sig+CRL)", "validatePath inline (parse+path+sig+CRL)", async () => {
    await validatePath(ours(ee), [], { ...base, now: Date.now(), verifier: inlineVerifier, crls: new CrlIndex([crlO.value]) });
  });
  add("validate", "validatePath, signatures in the pool (1 worker)", "validatePath inline (parse+path+sig+CRL)", async () => {
    await validatePath(ours(ee), [], { ...base, now: Date.now(), verifier: poolVerifier(pool), crls: new CrlIndex([crlO.value]) });
  });
  await bench.run();
  await pool.close();
  const mean = new Map(bench.tasks.map((t) => [t.name, (t.result as { period?: number }).period ?? NaN]));
  console.table(rows.map(([section, name, b]) => ({
    section, task: name, "us/op": (mean.get(name)! * 1000).toFixed(1), "vs baseline": (mean.get(name)! / mean.get(b)!).toFixed(2),
  })));
  fs.rmSync(dir, { recursive: true, force: true });
}
