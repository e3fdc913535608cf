/**
 * Main Mode and Aggressive Mode with RSA and DSS signatures (RFC 2409 section 5.1), two engines in
 * one process, both roles: each side's certificate and key from its own store (cert-harness.ts),
 * CERTREQ naming the cert_root CA, the asked-for chain in CERT payloads, SIG_I/SIG_R made and
 * checked in a crypto pool, IP, FQDN and DN identities, a chain through an intermediate CA, and a
 * peer known from a `cert_trust` certificate on disk (no CERTREQ, so no CERT on the wire).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AuthMethod, PayloadType, decodeMessage } from "../../src/codec/index.js";
import type { IsakmpSa } from "../../src/ike/isakmp-sa.js";
import { pkiTestOptions, testPki } from "../pki/fixtures.js";
import { CertCache } from "../../src/pki/index.js";
import { certConfig, certSide, forgedOwn, keyOf, poolForFile, settleUntil, TEST_CA, type StoreSpec } from "./cert-harness.js";
import { makePair, type Pair } from "./harness.js";

const opts = pkiTestOptions();
const poolOf = poolForFile();

interface SideSpec {
  readonly store: StoreSpec;
  readonly localIdType: string;
  readonly localId: string;
  readonly remoteId: readonly string[];
  readonly globals?: string;
}

async function pairOf(a: SideSpec, b: SideSpec, method = "rsa_sig", hash = "sha256"): Promise<Pair> {
  const xform = `p1_xform { auth_method ${method} oakley_group 14 auth_alg ${hash} encr_alg aes(128..128) }`;
  const side = (s: SideSpec, local: string, remote: string) =>
    certSide(poolOf(), certConfig({ label: "cert", local, remote, localIdType: s.localIdType, localId: s.localId, remoteId: s.remoteId, xform, ...(s.globals ? { globals: s.globals } : {}) }), s.store);
  const [sa, sb] = await Promise.all([side(a, "10.0.0.1", "10.0.0.2"), side(b, "10.0.0.2", "10.0.0.1")]);
  return makePair({ configA: "", configB: "", pskA: "", pskB: "", policyA: sa.policy, policyB: sb.policy, engine: { pubkey: poolOf() } });
}

/** Run Phase 1 from `from` (a or b) in `mode`; both SAs must come up. */
async function run(p: Pair, from: "a" | "b", mode: "main" | "aggressive"): Promise<{ i: IsakmpSa; r: IsakmpSa }> {
  const [me, peer] = from === "a" ? [p.a, p.b] : [p.b, p.a];
  const failures: string[] = [];
  for (const s of [p.a, p.b]) s.engine.on("phase1-failed", (_sa, reason, n) => failures.push(`${reason} (notify ${n})`));
  const i = me.engine.initiate(me.policy.ruleByLabel("cert")!, me.endpoint, peer.endpoint, mode);
  const twin = () => peer.engine.sas.all().find((s) => s.icookie.equals(i.icookie));
  // Aggressive Mode: AM2 with our certificate is more than 3x AM1, so it goes out only once the
  // initiator's retransmitted AM1 has raised the anti-amplification budget (src/ike/amplification.ts).
  await settleUntil(p, () => failures.length > 0 || (i.state === "established" && twin()?.state === "established"), 20_000, mode === "aggressive" ? 100 : 0);
  assert.deepEqual(failures, []);
  const r = twin()!;
  assert.equal(i.state, "established");
  assert.equal(r.state, "established");
  const probe = Buffer.from("probe");
  assert.ok(i.keymat!.quickModeHash1(7, probe).equals(r.keymat!.quickModeHash1(7, probe)), "same SKEYID_a");
  return { i, r };
}

const close = (p: Pair) => {
  p.a.engine.close();
  p.b.engine.close();
};

describe("Phase 1 with signatures, in process", opts, () => {
  const pki = () => testPki();
  const fqdnSide = (): SideSpec => ({
    store: { certs: { "0": pki().ca, a1: pki().fqdn }, keys: { a1: pki().fqdnKey }, crls: [pki().crlDer] },
    localIdType: "fqdn",
    localId: "DNS=gw.example.net",
    remoteId: ["IP=127.0.0.2"],
  });
  const ipSide = (): SideSpec => ({
    store: { certs: { "0": pki().ca, b1: pki().ip }, keys: { b1: pki().ipKey }, crls: [pki().crlDer] },
    localIdType: "ip",
    localId: "IP=127.0.0.2",
    remoteId: [`ISSUER=${TEST_CA}`],
  });

  for (const mode of ["main", "aggressive"] as const) {
    for (const from of ["a", "b"] as const) {
      test(`${mode} mode, RSA signatures, ${from === "a" ? "FQDN side" : "IP side"} initiates`, async () => {
        const p = await pairOf(fqdnSide(), ipSide());
        const sent: number[][] = [];
        const seen = new Set<string>();
        p.network.tap((r) => {
          // A retransmission (the same bytes again) is not another message.
          const key = r.datagram.toString("hex");
          if (seen.has(key)) return;
          seen.add(key);
          const m = decodeMessage(r.datagram);
          if (m.ok && m.value.kind === "plain") sent.push(m.value.payloads.map((x) => x.type));
        });
        const { i, r } = await run(p, from, mode);
        const fqdn = from === "a" ? i : r;
        const ip = from === "a" ? r : i;
        assert.equal(fqdn.phase1?.auth, AuthMethod.RsaSignatures);
        assert.equal(fqdn.phase1?.peerId, "C=US, O=IKEv1 Interop Test, CN=127.0.0.2");
        assert.equal(ip.phase1?.peerId, "C=US, O=IKEv1 Interop Test, CN=gw.example.net");
        assert.equal(ip.phase1?.localId, "C=US, O=IKEv1 Interop Test, CN=127.0.0.2");
        // CERTREQs beside KE (MM3/MM4) or in AM1/AM2, in the clear.
        const withCr = sent.filter((types) => types.includes(PayloadType.CR));
        assert.equal(withCr.length, 2, `CERTREQ in two clear messages: ${JSON.stringify(sent)}`);
        if (mode === "aggressive") assert.ok(sent[1]!.includes(PayloadType.CERT) && sent[1]!.includes(PayloadType.SIG), "AM2 carries CERT and SIG_R");
        close(p);
      });
    }
    test(`${mode} mode, DSS signatures, both roles`, async () => {
      const dss = (cert: string, key: string, name: string, peer: string): SideSpec => ({
        store: { certs: { "0": pki().ca, [`${name}1`]: cert }, keys: { [`${name}1`]: key }, crls: [pki().crlDer] },
        localIdType: "fqdn",
        localId: `DNS=${name}.example`,
        remoteId: [`DNS=${peer}.example`],
      });
      const p = await pairOf(dss(pki().dsa, pki().dsaKey, "dsa", "dsa2"), dss(pki().dsa2, pki().dsa2Key, "dsa2", "dsa"), "dss_sig", "sha1");
      const { i, r } = await run(p, "a", mode);
      assert.equal(i.phase1?.auth, AuthMethod.DssSignatures);
      assert.equal(r.phase1?.peerId, "C=US, O=IKEv1 Interop Test, CN=dsa.example");
      await run(p, "b", mode);
      close(p);
    });
  }

  test("DN identities: ID_DER_ASN1_DN presented and matched against remote_id's DN with a wildcard", async () => {
    const dnSide: SideSpec = {
      store: { certs: { "0": pki().ca, d1: pki().dn }, keys: { d1: keyOf(pki().dn) }, crls: [pki().crlDer] },
      localIdType: "dn",
      localId: "C=US, O=Test, CN=peer",
      remoteId: ["C=US, O=IKEv1 Interop Test, CN=*.example.net"],
    };
    const p = await pairOf(dnSide, { ...fqdnSide(), remoteId: ["SUBJECT=C=US, O=Test, CN=peer"] });
    const { i, r } = await run(p, "a", "main");
    assert.equal(i.phase1?.localId, "C=US, O=Test, CN=peer");
    assert.equal(r.phase1?.peerId, "C=US, O=Test, CN=peer");
    close(p);
  });

  test("a chain through an intermediate CA: the peer holds only the root, the leaf's side sends the intermediate", async () => {
    const leafSide: SideSpec = {
      store: { certs: { "0": pki().ca, i1: pki().intermediate, l1: pki().underIntermediate }, keys: { l1: keyOf(pki().underIntermediate) }, crls: [pki().crlDer] },
      localIdType: "fqdn",
      localId: "DNS=host.int.example",
      remoteId: ["DNS=gw.example.net"],
      // The intermediate issued no CRL: revocation below it cannot be checked.
      globals: "ignore_crls\n",
    };
    const p = await pairOf(leafSide, { ...fqdnSide(), remoteId: ["DNS=host.int.example"], globals: "ignore_crls\n" });
    const { r } = await run(p, "a", "main");
    assert.equal(r.phase1?.peerId, "C=US, O=IKEv1 Interop Test, CN=host.int.example");
    close(p);
  });

  test("cert_trust only: no CERTREQ, so no CERT; the peer's certificate comes from the store", async () => {
    const trusting: SideSpec = {
      store: { certs: { "0": pki().ca, b1: pki().ip, b2: pki().fqdn }, keys: { b1: pki().ipKey } },
      localIdType: "ip",
      localId: "IP=127.0.0.2",
      remoteId: ["DNS=gw.example.net"],
    };
    const c = certConfig({ label: "cert", local: "10.0.0.2", remote: "10.0.0.1", localIdType: "ip", localId: "IP=127.0.0.2", remoteId: ["DNS=gw.example.net"] })
      .replace(`cert_root "${TEST_CA}"`, `cert_trust "DNS=gw.example.net"`);
    const b = await certSide(poolOf(), c, trusting.store);
    const a = await certSide(poolOf(), certConfig({ label: "cert", local: "10.0.0.1", remote: "10.0.0.2", localIdType: "fqdn", localId: "DNS=gw.example.net", remoteId: ["IP=127.0.0.2"] }), fqdnSide().store);
    const p = makePair({ configA: "", configB: "", pskA: "", pskB: "", policyA: a.policy, policyB: b.policy, engine: { pubkey: poolOf() } });
    let certPayloads = 0;
    p.network.tap((rec) => {
      if (rec.from.address === "10.0.0.1") certPayloads += rec.datagram.length > 1000 ? 1 : 0;
    });
    const { r } = await run(p, "a", "main");
    assert.equal(r.phase1?.peerId, "C=US, O=IKEv1 Interop Test, CN=gw.example.net");
    assert.equal(certPayloads, 0, "a sent no certificate: b asked for none");
    close(p);
  });

  test("the certificate cache: a validated peer is added once; later the same peer skips validation, and is found without a CERT", async () => {
    const cache = new CertCache();
    const ipS = ipSide();
    const b = await certSide(poolOf(), certConfig({ label: "cert", local: "10.0.0.2", remote: "10.0.0.1", localIdType: "ip", localId: "IP=127.0.0.2", remoteId: ["DNS=gw.example.net"] }), ipS.store, { cache });
    const a = await certSide(poolOf(), certConfig({ label: "cert", local: "10.0.0.1", remote: "10.0.0.2", localIdType: "fqdn", localId: "DNS=gw.example.net", remoteId: ["IP=127.0.0.2"] }), fqdnSide().store);
    const first = makePair({ configA: "", configB: "", pskA: "", pskB: "", policyA: a.policy, policyB: b.policy, engine: { pubkey: poolOf() } });
    await run(first, "a", "main");
    close(first);
    const held = cache.entries();
    assert.equal(held.length, 1, "one entry per authenticated peer");
    assert.equal(held[0]!.path.leaf.subjectText, "C=US, O=IKEv1 Interop Test, CN=gw.example.net");
    assert.equal(held[0]!.path.anchor, "cert_root");
    // a now sends no certificate although b asks: b, which has none on disk, knows it from the cache.
    const second = makePair({ configA: "", configB: "", pskA: "", pskB: "", policyA: forgedOwn(a, (r) => ({ ...r, chain: [] })), policyB: b.policy, engine: { pubkey: poolOf() } });
    const { r } = await run(second, "a", "main");
    assert.equal(r.phase1?.peerId, "C=US, O=IKEv1 Interop Test, CN=gw.example.net");
    assert.equal(cache.entries()[0]!.validatedAt, held[0]!.validatedAt, "a cached path is not validated (nor re-added) again");
    close(second);
  });
});
