/**
 * Path validation against make-certs.sh certificates (fixtures.ts): each bad case gives its exact
 * code, and the notify stage 2 sends for it (errors.ts).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, describe, test } from "node:test";
import { Notify } from "../../src/codec/notify-constants.js";
import { CryptoPool } from "../../src/crypto/pool.js";
import {
  CrlIndex, inlineVerifier, notifyFor, parseCertPayloads, parseCertificate, parseCrl, poolVerifier, validatePath, PkiCode,
  type Certificate, type PkiErrorCode, type ValidationOptions,
} from "../../src/pki/index.js";
import { derObjects } from "../../src/pki/pem.js";
import { pkiTestOptions, removeTestPki, testPki } from "./fixtures.js";

after(removeTestPki);
const opts = pkiTestOptions();

function cert(file: string): Certificate {
  const der = derObjects(fs.readFileSync(file), "certificate");
  assert.ok(Array.isArray(der));
  const r = parseCertificate(der[0]!);
  assert.ok(r.ok, r.ok ? "" : r.error.message);
  return r.value;
}

function options(over: Partial<ValidationOptions> = {}): ValidationOptions {
  const p = testPki();
  const crl = parseCrl(fs.readFileSync(p.crlDer));
  assert.ok(crl.ok);
  return {
    anchors: { roots: [cert(p.ca)], trusted: [] },
    intermediates: [cert(p.intermediate)],
    maxCerts: 4,
    now: Date.now(),
    verifier: inlineVerifier,
    usage: "signature",
    crls: new CrlIndex([crl.value]),
    ...over,
  };
}

describe("path validation", opts, () => {
  test("make-certs.sh IP, FQDN, USER_FQDN, DN, IPv6 and ECDSA certificates validate under the CA and its CRL", async () => {
    const p = testPki();
    for (const f of [p.ip, p.fqdn, p.email, p.dn, p.ipv6, p.ecdsa, p.dsa]) {
      const r = await validatePath(cert(f), [], options());
      assert.ok(r.ok, `${f}: ${r.ok ? "" : r.error.code + " " + r.error.message}`);
      assert.equal(r.value.anchor, "cert_root");
      assert.equal(r.value.path.length, 2);
    }
  });

  test("a chain through an intermediate validates; the intermediate may also come from the peer", async () => {
    const p = testPki();
    const viaStore = await validatePath(cert(p.underIntermediate), [], options({ crls: undefined }));
    assert.ok(viaStore.ok);
    assert.equal(viaStore.value.path.length, 3);
    const viaPeer = await validatePath(cert(p.underIntermediate), [cert(p.intermediate)], options({ crls: undefined, intermediates: [] }));
    assert.ok(viaPeer.ok);
  });

  test("cert_trust accepts a certificate without any path", async () => {
    const p = testPki();
    const leaf = cert(p.otherLeaf);
    const r = await validatePath(leaf, [], options({ anchors: { roots: [], trusted: [leaf] } }));
    assert.ok(r.ok);
    assert.equal(r.value.anchor, "cert_trust");
  });

  const cases: Array<{ name: string; run: () => Promise<{ ok: boolean; error?: { code: string } }>; code: PkiErrorCode; notify: number }> = [
    { name: "revoked certificate with the CA's CRL", code: PkiCode.Revoked, notify: Notify.InvalidCertificate,
      run: () => validatePath(cert(testPki().revoked), [], options()) },
    { name: "revocation unknown: no CRL from the intermediate", code: PkiCode.CrlUnavailable, notify: Notify.InvalidCertificate,
      run: () => validatePath(cert(testPki().underIntermediate), [], options()) },
    { name: "a CRL past its nextUpdate", code: PkiCode.CrlUnavailable, notify: Notify.InvalidCertificate,
      run: () => validatePath(cert(testPki().ip), [], options({ now: Date.now() + 40 * 86400_000 })) },
    { name: "expired certificate", code: PkiCode.Expired, notify: Notify.InvalidCertificate,
      run: () => validatePath(cert(testPki().expired), [], options()) },
    { name: "not yet valid (clock before notBefore)", code: PkiCode.NotYetValid, notify: Notify.InvalidCertificate,
      run: () => validatePath(cert(testPki().ip), [], options({ now: Date.UTC(2001, 0, 1) })) },
    { name: "keyUsage without digitalSignature", code: PkiCode.KeyUsage, notify: Notify.InvalidCertificate,
      run: () => validatePath(cert(testPki().badUsage), [], options()) },
    { name: "extendedKeyUsage codeSigning only", code: PkiCode.KeyUsage, notify: Notify.InvalidCertificate,
      run: () => validatePath(cert(testPki().codeSigning), [], options()) },
    { name: "unknown CA", code: PkiCode.UnknownCa, notify: Notify.InvalidCertAuthority,
      run: () => validatePath(cert(testPki().otherLeaf), [], options()) },
    { name: "intermediate's pathlen 0 exceeded by a sub-CA", code: PkiCode.PathLength, notify: Notify.InvalidCertAuthority,
      run: () => validatePath(cert(testPki().underSub), [cert(testPki().subIntermediate)], options({ crls: undefined })) },
    { name: "an end-entity certificate posing as issuer", code: PkiCode.NotCa, notify: Notify.InvalidCertAuthority,
      run: async () => {
        const p = testPki();
        // The sub-CA's subject, re-issued as a non-CA by the CA itself is not available: use the leaf as the "intermediate" of a forged child.
        const leaf = cert(p.ip);
        const child = { ...cert(p.fqdn), issuer: leaf.subject, ext: { ...cert(p.fqdn).ext, authorityKeyId: undefined } } as Certificate;
        return validatePath(child, [leaf], options({ crls: undefined }));
      } },
    { name: "chain longer than max_certs", code: PkiCode.ChainTooLong, notify: Notify.InvalidCertificate,
      run: () => validatePath(cert(testPki().underSub), [cert(testPki().subIntermediate)], options({ crls: undefined, maxCerts: 2 })) },
    { name: "certificate signature altered", code: PkiCode.BadCertSignature, notify: Notify.InvalidCertificate,
      run: async () => {
        const c = cert(testPki().fqdn);
        const sig = Buffer.from(c.signature);
        sig[10]! ^= 1;
        return validatePath({ ...c, signature: sig }, [], options());
      } },
  ];
  for (const c of cases) {
    test(`refused: ${c.name} → ${c.code}`, async () => {
      const r = await c.run();
      assert.equal(r.ok, false);
      assert.equal(r.error?.code, c.code);
      assert.equal(notifyFor(c.code), c.notify);
    });
  }

  test("signatures checked in a real crypto pool give the same answers", async () => {
    const pool = new CryptoPool({ threads: 1, warmGroups: [] });
    try {
      const p = testPki();
      const o = options({ verifier: poolVerifier(pool) });
      assert.ok((await validatePath(cert(p.ip), [], o)).ok);
      const revoked = await validatePath(cert(p.revoked), [], o);
      assert.equal(!revoked.ok && revoked.error.code, PkiCode.Revoked);
      const c = cert(p.dn);
      const bad = await validatePath({ ...c, tbs: Buffer.concat([c.tbs.subarray(0, -1), Buffer.from([c.tbs.at(-1)! ^ 1])]) }, [], o);
      assert.equal(!bad.ok && bad.error.code, PkiCode.BadCertSignature);
      assert.ok(pool.stats().requests >= 4, "the links went through the pool");
    } finally {
      await pool.close();
    }
  });
});

describe("hostile CERT payloads", opts, () => {
  test("malformed DER, a 64 KiB blob, non-X.509 encodings and too many payloads", () => {
    const der = fs.readFileSync(testPki().fqdn.replace(/\.crt$/, ".crt.der"));
    const cases: Array<[string, { encoding: number; data: Uint8Array }[], PkiErrorCode, number]> = [
      ["truncated", [{ encoding: 4, data: der.subarray(0, der.length - 7) }], PkiCode.Malformed, Notify.InvalidCertificate],
      ["trailing byte", [{ encoding: 4, data: Buffer.concat([der, Buffer.from([0])]) }], PkiCode.Malformed, Notify.InvalidCertificate],
      ["random bytes", [{ encoding: 4, data: Buffer.alloc(300, 0x41) }], PkiCode.Malformed, Notify.InvalidCertificate],
      ["64 KiB blob", [{ encoding: 4, data: Buffer.alloc(65536, 0x30) }], PkiCode.TooLarge, Notify.InvalidCertificate],
      ["PGP", [{ encoding: 2, data: der }], PkiCode.CertTypeUnsupported, Notify.CertTypeUnsupported],
      ["encoding 200", [{ encoding: 200, data: der }], PkiCode.CertEncodingInvalid, Notify.InvalidCertEncoding],
      ["5 payloads, max_certs 4", Array.from({ length: 5 }, () => ({ encoding: 4, data: der })), PkiCode.ChainTooLong, Notify.InvalidCertificate],
    ];
    for (const [name, payloads, code, notify] of cases) {
      const r = parseCertPayloads(payloads, 4);
      assert.equal(!r.ok && r.error.code, code, name);
      assert.equal(notifyFor(code), notify, name);
    }
    assert.ok(parseCertPayloads([{ encoding: 4, data: der }], 4).ok);
  });

  test("every truncation and single-byte change of a certificate decodes to a value, never a throw", () => {
    const der = fs.readFileSync(testPki().ip.replace(/\.crt$/, ".crt.der"));
    for (let n = 0; n < der.length; n += 3) assert.equal(parseCertificate(der.subarray(0, n)).ok, false);
    for (let i = 0; i < der.length; i++) {
      const m = Buffer.from(der);
      m[i]! ^= 0x80;
      parseCertificate(m);
    }
  });
});
