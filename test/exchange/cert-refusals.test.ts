/**
 * Bad certificates get the right ISAKMP notify and a log line naming the rule, never a crash: a
 * Main Mode responder (b) with `cert_root` the test CA and its CRL faces an initiator (a) that
 * presents, in turn, a malformed certificate, a chain longer than `max_certs`, a certificate whose
 * key usage forbids signing, an expired one, one not yet valid (b's clock set back), a revoked one,
 * one from an unknown CA, a signature by another key, a 64 KiB CERT payload, an ID its certificate
 * lacks, an identity remote_id refuses, and no certificate at all. b refuses MM5 with the notify
 * (protected: a holds the keys) and a's exchange ends on it.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { describe, test } from "node:test";
import { IdType, Notify, nameOf } from "../../src/codec/index.js";
import type { OwnCredential } from "../../src/ike/phase1/credentials.js";
import { pkiTestOptions, testPki } from "../pki/fixtures.js";
import { certConfig, certSide, forgedOwn, keyOf, poolForFile, settleUntil, type StoreSpec } from "./cert-harness.js";
import { makePair } from "./harness.js";

const opts = pkiTestOptions();
const poolOf = poolForFile();

interface Offender {
  readonly store: StoreSpec;
  readonly localIdType?: string;
  readonly localId: string;
  readonly forge?: (real: OwnCredential) => OwnCredential;
}

interface Outcome {
  readonly responder: { notify: number | undefined; reason: string };
  readonly initiator: { notify: number | undefined; reason: string };
  readonly logged: Record<string, unknown> | undefined;
}

/** a (the offender) initiates Main Mode to b; both must fail. */
async function refused(a: Offender, b: { remoteId?: string[]; globals?: string; now?: () => number } = {}): Promise<Outcome> {
  const pki = testPki();
  const aSide = await certSide(
    poolOf(),
    certConfig({ local: "10.0.0.1", remote: "10.0.0.2", localIdType: a.localIdType ?? "fqdn", localId: a.localId, remoteId: [""], globals: "ignore_crls\n" }),
    a.store,
  );
  const bSide = await certSide(
    poolOf(),
    certConfig({ local: "10.0.0.2", remote: "10.0.0.1", localIdType: "ip", localId: "IP=127.0.0.2", remoteId: b.remoteId ?? [""], ...(b.globals ? { globals: b.globals } : {}) }),
    { certs: { "0": pki.ca, b1: pki.ip }, keys: { b1: pki.ipKey }, crls: [pki.crlDer] },
    b.now ? { now: b.now } : {},
  );
  const lines: Record<string, unknown>[] = [];
  const log = { debug() {}, warn() {}, error() {}, info: (f: Record<string, unknown>, msg: string) => void (msg === "Phase 1 failed" && lines.push(f)) };
  const p = makePair({
    configA: "", configB: "", pskA: "", pskB: "",
    policyA: a.forge ? forgedOwn(aSide, a.forge) : aSide.policy,
    policyB: bSide.policy,
    engine: { pubkey: poolOf(), log },
  });
  const fails = new Map<string, { notify: number | undefined; reason: string }>();
  p.a.engine.on("phase1-failed", (_sa, reason, notify) => fails.set("a", { notify, reason }));
  p.b.engine.on("phase1-failed", (_sa, reason, notify) => fails.set("b", { notify, reason }));
  const sa = p.a.engine.initiate(p.a.policy.ruleByLabel("cert")!, p.a.endpoint, p.b.endpoint);
  await settleUntil(p, () => fails.size >= 2 || sa.state === "established");
  p.a.engine.close();
  p.b.engine.close();
  assert.notEqual(sa.state, "established", "the offender got through");
  const responder = fails.get("b");
  const initiator = fails.get("a");
  assert.ok(responder && initiator, `both sides fail: ${JSON.stringify([...fails])}`);
  return { responder, initiator, logged: lines.find((l) => l.role === "responder") };
}

function expect(o: Outcome, notify: number, reason: RegExp): void {
  const name = (n: number | undefined) => (n === undefined ? "none" : nameOf(Notify, n));
  assert.equal(name(o.responder.notify), name(notify), o.responder.reason);
  assert.match(o.responder.reason, reason);
  // The log line names the rule, the reason and the notify.
  assert.equal(o.logged?.rule, "cert");
  assert.equal(o.logged?.notify, notify);
  assert.match(String(o.logged?.reason), reason);
  // The initiator learns it from b's protected notify and ends its exchange.
  assert.equal(name(o.initiator.notify), name(notify), o.initiator.reason);
}

const fqdn = (): Offender => ({ store: { certs: { "0": testPki().ca, a1: testPki().fqdn }, keys: { a1: testPki().fqdnKey } }, localId: "DNS=gw.example.net" });

describe("bad peer certificates: the right notify, a log line naming the rule", opts, () => {
  test("a malformed certificate: INVALID-CERTIFICATE", async () => {
    const o = await refused({ ...fqdn(), forge: (r) => ({ ...r, chain: [Buffer.from("3082000a0201", "hex")] }) });
    expect(o, Notify.InvalidCertificate, /CERT payload: /);
  });

  test("a chain longer than max_certs: INVALID-CERTIFICATE", async () => {
    const pki = testPki();
    const o = await refused(
      { store: { certs: { "0": pki.ca, i: pki.intermediate, s: pki.subIntermediate, a1: pki.underSub }, keys: { a1: keyOf(pki.underSub) } }, localId: "DNS=deep.example" },
      { globals: "max_certs 2\n" },
    );
    expect(o, Notify.InvalidCertificate, /max_certs is 2/);
  });

  test("a key usage that forbids signatures: INVALID-CERTIFICATE", async () => {
    const pki = testPki();
    const ku = fs.readFileSync(pki.badUsage);
    const o = await refused({
      store: { certs: { "0": pki.ca, a1: pki.fqdn, k1: pki.badUsage }, keys: { a1: pki.fqdnKey, k1: keyOf(pki.badUsage) } },
      localId: "DNS=gw.example.net",
      forge: (r) => ({ ...r, keyId: "ike.privatekeys/k1", id: { idType: IdType.ID_FQDN, data: Buffer.from("ku.example") }, chain: [pemToDer(ku)] }),
    });
    expect(o, Notify.InvalidCertificate, /keyUsage allows neither digitalSignature nor nonRepudiation/);
  });

  test("an expired certificate: INVALID-CERTIFICATE", async () => {
    const pki = testPki();
    const o = await refused({ store: { certs: { "0": pki.ca, a1: pki.expired }, keys: { a1: keyOf(pki.expired) } }, localId: "DNS=old.example.net" });
    expect(o, Notify.InvalidCertificate, /expired 2002/);
  });

  test("a certificate not yet valid (the responder's clock in 2000): INVALID-CERTIFICATE", async () => {
    const o = await refused(fqdn(), { now: () => Date.parse("2000-01-01T00:00:00Z") });
    expect(o, Notify.InvalidCertificate, /not valid before/);
  });

  test("a revoked certificate: INVALID-CERTIFICATE", async () => {
    const pki = testPki();
    const o = await refused({ store: { certs: { "0": pki.ca, a1: pki.revoked }, keys: { a1: keyOf(pki.revoked) } }, localId: "DNS=revoked.example.net" });
    expect(o, Notify.InvalidCertificate, /was revoked by/);
  });

  test("a certificate from an unknown CA: INVALID-CERT-AUTHORITY", async () => {
    const pki = testPki();
    const o = await refused({ store: { certs: { "0": pki.ca, a1: pki.otherLeaf }, keys: { a1: keyOf(pki.otherLeaf) } }, localId: "DNS=stranger.example.net" });
    expect(o, Notify.InvalidCertAuthority, /no cert_root or cert_trust certificate vouches/);
  });

  test("a signature made with another key: INVALID-SIGNATURE", async () => {
    const pki = testPki();
    const o = await refused({
      store: { certs: { "0": pki.ca, a1: pki.fqdn, a2: pki.ip }, keys: { a1: pki.fqdnKey, a2: pki.ipKey } },
      localId: "DNS=gw.example.net",
      forge: (r) => ({ ...r, keyId: "ike.privatekeys/a2" }),
    });
    expect(o, Notify.InvalidSignature, /SIG_I does not verify with the key of "C=US, O=IKEv1 Interop Test, CN=gw\.example\.net"/);
  });

  test("a 64 KiB CERT payload: INVALID-CERTIFICATE, refused before parsing", async () => {
    const big = Buffer.alloc(64_900, 0x41);
    big[0] = 0x30;
    const o = await refused({ ...fqdn(), forge: (r) => ({ ...r, chain: [big] }) });
    expect(o, Notify.InvalidCertificate, /CERT payload: .*64900 bytes/);
  });

  test("an ID its certificate does not carry: INVALID-ID-INFORMATION", async () => {
    const o = await refused({ ...fqdn(), forge: (r) => ({ ...r, id: { idType: IdType.ID_FQDN, data: Buffer.from("evil.example.net") } }) });
    expect(o, Notify.InvalidIdInformation, /FQDN "evil\.example\.net" is not in the certificate/);
  });

  test("an authenticated identity remote_id does not allow: AUTHENTICATION-FAILED", async () => {
    const o = await refused(fqdn(), { remoteId: ["DNS=*.example.org", "!DNS=gw.example.net"] });
    expect(o, Notify.AuthenticationFailed, /not allowed by remote_id of rule "cert"/);
  });

  test("no certificate sent and none on disk: CERTIFICATE-UNAVAILABLE", async () => {
    const o = await refused({ ...fqdn(), forge: (r) => ({ ...r, chain: [] }) });
    expect(o, Notify.CertificateUnavailable, /sent no certificate/);
  });
});

function pemToDer(pem: Buffer): Buffer {
  const b64 = pem.toString("latin1").replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  return Buffer.from(b64, "base64");
}
