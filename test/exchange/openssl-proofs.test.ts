/**
 * DSS signatures and RSA encryption, which neither strongSwan nor Libreswan speaks, proven against
 * OpenSSL instead, two engines in one process, both roles:
 * - OpenSSL (`pkeyutl -verify`) verifies every DSS and RSA SIG_I/SIG_R our pool made over HASH_I/HASH_R;
 * - with OpenSSL making one side's signatures (`pkeyutl -sign` over the raw hash), our engine on the
 *   other side verifies them and the exchange completes;
 * - Main Mode with RSA encryption (RFC 2409 section 5.2): OpenSSL (`pkeyutl -decrypt`) decrypts
 *   the ID and nonce bodies we encrypted, which are exactly MM3's and MM4's sealed payloads on the
 *   wire; with OpenSSL encrypting one side's, our engine decrypts them and the exchange completes.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { AuthMethod, IdType, PayloadType, decodeHeader, decodeMessageBody } from "../../src/codec/index.js";
import { pkiTestOptions, testPki } from "../pki/fixtures.js";
import { certConfig, certSide, poolForFile, settleUntil } from "./cert-harness.js";
import { makePair, settle, type Pair } from "./harness.js";
import { checkPcap, interopAvailable } from "../helpers/interop.js";
import { writePcapFile, type UdpDatagram } from "../helpers/pcap.js";
import { OpensslPubkey, openssl, qBytes, rsToDer, type OpensslRoles } from "./openssl-port.js";

const opts = pkiTestOptions();
const poolOf = poolForFile();

interface Ident {
  readonly cert: string;
  readonly key: string;
  readonly type: "rsa" | "dsa";
  readonly localIdType: string;
  readonly localId: string;
}

const pki = () => testPki();
const dsa = (): Ident => ({ cert: pki().dsa, key: pki().dsaKey, type: "dsa", localIdType: "fqdn", localId: "DNS=dsa.example" });
const dsa2 = (): Ident => ({ cert: pki().dsa2, key: pki().dsa2Key, type: "dsa", localIdType: "fqdn", localId: "DNS=dsa2.example" });
const gw = (): Ident => ({ cert: pki().fqdn, key: pki().fqdnKey, type: "rsa", localIdType: "fqdn", localId: "DNS=gw.example.net" });
const ip = (): Ident => ({ cert: pki().ip, key: pki().ipKey, type: "rsa", localIdType: "ip", localId: "IP=127.0.0.2" });

interface ProofPair {
  readonly p: Pair;
  readonly portA: OpensslPubkey;
  readonly portB: OpensslPubkey;
}

/** a and b with `method`; each holds the other's certificate too (RSA encryption needs it on disk). */
async function proofPair(a: Ident, b: Ident, method: string, rolesA: OpensslRoles = {}): Promise<ProofPair> {
  const xform = `p1_xform { auth_method ${method} oakley_group 14 auth_alg sha1 encr_alg aes(128..128) }`;
  const side = (me: Ident, peer: Ident, slot: string, local: string, remote: string) =>
    certSide(
      poolOf(),
      certConfig({ label: "cert", local, remote, localIdType: me.localIdType, localId: me.localId, remoteId: [peer.localId], xform, globals: "ignore_crls\n" }),
      { certs: { "0": pki().ca, [slot]: me.cert, [`${slot}p`]: peer.cert }, keys: { [slot]: me.key } },
    );
  const [sa, sb] = await Promise.all([side(a, b, "a1", "10.0.0.1", "10.0.0.2"), side(b, a, "b1", "10.0.0.2", "10.0.0.1")]);
  const portA = new OpensslPubkey(poolOf(), { "ike.privatekeys/a1": { file: a.key, type: a.type } }, rolesA);
  const portB = new OpensslPubkey(poolOf(), { "ike.privatekeys/b1": { file: b.key, type: b.type } });
  const p = makePair({ configA: "", configB: "", pskA: "", pskB: "", policyA: sa.policy, policyB: sb.policy, engineA: { pubkey: portA }, engineB: { pubkey: portB } });
  return { p, portA, portB };
}

/** Phase 1 from `from` in `mode`; both SAs must come up with `method`. */
async function up(p: Pair, from: "a" | "b", mode: "main" | "aggressive", method: number): Promise<void> {
  const [me, peer] = from === "a" ? [p.a, p.b] : [p.b, p.a];
  const failures: string[] = [];
  const off = [p.a, p.b].map((s) => {
    const f = (_sa: unknown, reason: string, n: number | undefined) => failures.push(`${reason} (${n})`);
    s.engine.on("phase1-failed", f);
    return () => s.engine.off("phase1-failed", f);
  });
  const i = me.engine.initiate(me.policy.ruleByLabel("cert")!, me.endpoint, peer.endpoint, mode);
  const twin = () => peer.engine.sas.all().find((s) => s.icookie.equals(i.icookie));
  // Aggressive Mode: AM2 with our certificate is more than 3x AM1; it goes out once the initiator's
  // retransmitted AM1 raised the anti-amplification budget.
  await settleUntil(p, () => failures.length > 0 || (i.state === "established" && twin()?.state === "established"), 30_000, mode === "aggressive" ? 100 : 0);
  off.forEach((f) => f());
  assert.deepEqual(failures, []);
  assert.equal(i.phase1?.auth, method);
  assert.equal(twin()?.phase1?.auth, method);
}

/** Records every datagram of the pair, for a pcap. */
function record(p: Pair): UdpDatagram[] {
  const seen: UdpDatagram[] = [];
  p.network.tap((r) => seen.push({ time: Date.now() / 1000, src: r.from.address, sport: r.from.port, dst: r.to.address, dport: r.to.port, payload: Buffer.from(r.datagram) }));
  return seen;
}

/**
 * The pair's datagrams as a pcap through `capture.sh check`, decrypted with each Phase 1 SA's Ka
 * (the test's privilege: exportForKeymatPrivilege), so MM5/MM6 and AM3 are dissected too.
 */
async function tsharkClean(p: Pair, seen: readonly UdpDatagram[], expect: string): Promise<void> {
  if (!interopAvailable().ok) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "iked-proof-pcap-"));
  try {
    const pcap = path.join(dir, "proof.pcap");
    writePcapFile(pcap, seen);
    const keys = p.a.engine.sas.all().filter((sa) => sa.keymat?.derived).map((sa) => {
      const k = sa.keymat!.exportForKeymatPrivilege();
      const line = `${sa.icookie.toString("hex")},${k.ka.toString("hex")}`;
      for (const b of Object.values(k)) b.fill(0);
      return line;
    });
    fs.writeFileSync(path.join(dir, "keys.csv"), keys.join("\n") + "\n", { mode: 0o600 });
    const r = await checkPcap(pcap, { keys: path.join(dir, "keys.csv"), expect });
    assert.ok(r.ok, `capture.sh check failed:\n${r.stdout}\n${r.stderr}`);
    assert.equal(r.result.encrypted_not_decrypted, "0", r.stdout);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const close = (p: Pair) => {
  p.a.engine.close();
  p.b.engine.close();
};

const publicKeyOf = (cert: string): Buffer => execFileSync("openssl", ["x509", "-in", cert, "-pubkey", "-noout"]);

/** OpenSSL verifies `sig` over the raw `hash` with the certificate's key. */
function opensslVerifies(cert: string, type: "rsa" | "dsa", hash: Buffer, sig: Buffer): boolean {
  const signature = type === "dsa" ? rsToDer(sig) : sig;
  try {
    return /Signature Verified Successfully/.test(openssl(["pkeyutl", "-verify", "-pubin", "-inkey", "@pub", "-sigfile", "@sig", "-in", "@hash"], { pub: publicKeyOf(cert), sig: signature, hash }).toString());
  } catch {
    return false;
  }
}

describe("DSS and RSA encryption, proven with OpenSSL, both roles", opts, () => {
  for (const [name, a, b, method] of [["DSS", dsa, dsa2, "dss_sig"], ["RSA", gw, ip, "rsa_sig"]] as const) {
    test(`${name} signatures: OpenSSL verifies every signature our pool made (Main and Aggressive Mode)`, async () => {
      const { p, portA, portB } = await proofPair(a(), b(), method);
      const seen = record(p);
      const m = method === "dss_sig" ? AuthMethod.DssSignatures : AuthMethod.RsaSignatures;
      await up(p, "a", "main", m);
      await up(p, "b", "aggressive", m);
      await tsharkClean(p, seen, "main:6,aggressive:3");
      for (const [port, who] of [[portA, a()], [portB, b()]] as const) {
        const signs = port.calls.filter((c) => c.op === "sign");
        assert.equal(signs.length, 2, "one signature per exchange");
        for (const s of signs) assert.ok(opensslVerifies(who.cert, who.type, s.input, s.output as Buffer), `OpenSSL rejects a ${name} signature by ${who.localId}`);
        if (name === "DSS") assert.ok(signs.every((s) => (s.output as Buffer).length === 2 * qBytes(who.key)), "DSS r|s, twice q's length");
      }
      close(p);
    });

    test(`${name} signatures: our engine verifies the ones OpenSSL made (Main and Aggressive Mode, both roles)`, async () => {
      const { p, portA, portB } = await proofPair(a(), b(), method, { sign: true });
      const m = method === "dss_sig" ? AuthMethod.DssSignatures : AuthMethod.RsaSignatures;
      await up(p, "a", "main", m);
      await up(p, "b", "main", m);
      await up(p, "a", "aggressive", m);
      assert.equal(portA.calls.filter((c) => c.op === "sign").length, 3, "OpenSSL signed for a three times");
      const verified = portB.calls.filter((c) => c.op === "verify");
      assert.equal(verified.length, 3);
      assert.ok(verified.every((v) => v.output === true));
      close(p);
    });
  }

  test("RSA encryption, Main Mode, both roles: OpenSSL decrypts the IDs and nonces we encrypted, as sent on the wire", async () => {
    const { p, portA, portB } = await proofPair(gw(), ip(), "rsa_encrypt");
    const sealed: Buffer[] = [];
    p.network.tap((r) => {
      const h = decodeHeader(r.datagram);
      if (!h.ok || h.value.exchangeType !== 2) return;
      const m = decodeMessageBody(h.value, r.datagram, { sealed: [PayloadType.ID, PayloadType.NONCE] });
      if (m.ok && m.value.kind === "plain") for (const x of m.value.payloads) if ((x.type === PayloadType.ID || x.type === PayloadType.NONCE) && x.raw) sealed.push(Buffer.from(x.raw.body));
    });
    const seen = record(p);
    await up(p, "a", "main", AuthMethod.RsaEncryption);
    await up(p, "b", "main", AuthMethod.RsaEncryption);
    await tsharkClean(p, seen, "main:12");
    for (const [port, peerKey] of [[portA, ip().key], [portB, gw().key]] as const) {
      const encs = port.calls.filter((c) => c.op === "encrypt");
      assert.equal(encs.length, 4, "ID and nonce, in each of two exchanges");
      for (const e of encs) {
        assert.ok(sealed.some((s) => s.equals(e.output as Buffer)), "the ciphertext is what went on the wire");
        const plain = openssl(["pkeyutl", "-decrypt", "-inkey", peerKey, "-pkeyopt", "rsa_padding_mode:pkcs1", "-in", "@ct"], { ct: e.output as Buffer });
        assert.ok(plain.equals(e.input), "OpenSSL decrypts what we encrypted");
      }
      const ids = encs.map((e) => e.input).filter((x) => x[0] === IdType.ID_FQDN || x[0] === IdType.ID_IPV4_ADDR);
      assert.equal(ids.length, 2, "two ID bodies");
      assert.equal(encs.length - ids.length, 2, "two nonces");
    }
    close(p);
  });

  test("RSA encryption: with OpenSSL encrypting one side's ID and nonce, our engine decrypts them (both roles)", async () => {
    const { p, portA, portB } = await proofPair(gw(), ip(), "rsa_encrypt", { encrypt: true });
    await up(p, "a", "main", AuthMethod.RsaEncryption);
    await up(p, "b", "main", AuthMethod.RsaEncryption);
    assert.equal(portA.calls.filter((c) => c.op === "encrypt").length, 4);
    const decrypted = portB.calls.filter((c) => c.op === "decrypt");
    assert.equal(decrypted.length, 4, "b decrypted OpenSSL's ciphertexts");
    assert.ok(decrypted.some((d) => (d.output as Buffer).subarray(4).toString() === "gw.example.net"), "a's ID, from OpenSSL's ciphertext");
    close(p);
  });

  test("Aggressive Mode with RSA encryption is not offered: the initiator fails at once, nothing is sent", async () => {
    const { p } = await proofPair(gw(), ip(), "rsa_encrypt");
    let sent = 0;
    p.network.tap(() => sent++);
    const reasons: string[] = [];
    p.a.engine.on("phase1-failed", (_sa, reason) => reasons.push(reason));
    p.a.engine.initiate(p.a.policy.ruleByLabel("cert")!, p.a.endpoint, p.b.endpoint, "aggressive");
    await settle(p);
    assert.equal(sent, 0);
    assert.match(reasons[0] ?? "", /Aggressive Mode with RSA encryption is not implemented/);
    close(p);
  });
});
