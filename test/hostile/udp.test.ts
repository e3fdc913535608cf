/**
 * Hostile input over real UDP sockets against our engine host (victim): an attacker
 * socket sends garbage without and with the RFC 3948 non-ESP marker (neither port is 500, so the
 * marker is expected), truncated and corrupted first messages, and a flood of first messages
 * from one address. Meanwhile an honest engine completes Main and Quick Mode
 * with it. The host must survive all of it, answer only with MM2 or cleartext error notifies,
 * hold no SA for the attacker (its MM1s get embryonic records only) and drop every record when
 * its lifetime runs out.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { ExchangeType, Notify, PayloadType, decodeMessage } from "../../src/codec/index.js";
import { EngineHost } from "../helpers/engine-host.js";
import { seededRandom } from "../exchange/harness.js";
import { ikeConfig, plan, preshared } from "../interop/common.js";
import { poll, WAIT_MS } from "../helpers/wait.js";

// Addresses and ports of this process's slot (test/interop/common.ts), so two runs cannot collide.
const { victim: VICTIM, honest: HONEST, attacker: ATTACKER, sniffer: SNIFFER, ports } = plan();
const VPORT = ports.udp;
const HPORT = ports.udp + 1;
const SPORT = ports.udp + 2;
const XF = "p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes(128..128) }";
const MARKER = Buffer.alloc(4);

test("garbage, corrupted first messages and an MM1 flood over UDP, while an honest peer negotiates", { timeout: 180_000 }, async () => {
  const victim = await EngineHost.open({
    address: VICTIM,
    port: VPORT,
    // The rule covers the attacker's address too, so its first messages reach proposal selection.
    ikeConfig: ikeConfig("lan", VICTIM, "127.0.5.0/24", XF),
    preshared: preshared(VICTIM, HONEST, "udp-hostile-psk"),
    ipsecinit: `{ raddr ${HONEST} } ipsec { encr_algs aes encr_auth_algs sha1 }\n`,
    engine: { expireMs: 3000, embryos: { capacity: 8192, lifetimeMs: 3000 } },
  });
  const honest = await EngineHost.open({
    address: HONEST,
    port: HPORT,
    ikeConfig: ikeConfig("to-victim", HONEST, VICTIM, XF),
    preshared: preshared(HONEST, VICTIM, "udp-hostile-psk"),
    ipsecinit: `{ raddr ${VICTIM} } ipsec { encr_algs aes encr_auth_algs sha1 }\n`,
  });
  const attacker = dgram.createSocket("udp4");
  const answers: Buffer[] = [];
  attacker.on("message", (m) => answers.push(m));
  await new Promise<void>((r) => attacker.bind({ address: ATTACKER, port: 0 }, () => r()));
  // Paced: a burst larger than the socket's receive buffer would be lost on loopback before the
  // engine ever saw it, and this test is about what the engine does with what it receives.
  let sent = 0;
  let honest2: EngineHost | undefined;
  const send = async (d: Buffer): Promise<void> => {
    await new Promise<void>((r) => attacker.send(d, VPORT, VICTIM, () => r()));
    if (++sent % 8 === 0) await new Promise((r) => setTimeout(r, 2));
  };
  try {
    // A genuine first message to mutate: the honest host's MM1, captured by a socket of our own.
    const sniff = dgram.createSocket("udp4");
    const mm1 = await new Promise<Buffer>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("the honest host sent no MM1")), WAIT_MS);
      sniff.once("error", reject);
      sniff.once("message", (m) => (clearTimeout(t), resolve(m.subarray(4))));
      sniff.bind({ address: SNIFFER, port: SPORT }, () => honest.initiate("to-victim", { address: SNIFFER, port: SPORT }));
    }).finally(() => sniff.close());
    honest.engine.close();
    const h2 = (honest2 = await reopen(honest));

    const rnd = seededRandom("udp-garbage");
    for (let i = 0; i < 100; i++) await send(rnd(rnd(1)[0]! + 1));
    for (let i = 0; i < 100; i++) await send(Buffer.concat([MARKER, rnd(rnd(2).readUInt16BE(0) % 600)]));
    for (let len = 0; len < mm1.length; len += 3) await send(Buffer.concat([MARKER, mm1.subarray(0, len)]));
    for (let i = 28; i < mm1.length; i++) {
      const bad = Buffer.from(mm1);
      bad[i] = bad[i]! ^ 0xff;
      bad.writeUInt32BE(0xbad00000 + i, 0);
      await send(Buffer.concat([MARKER, bad]));
    }
    for (let i = 0; i < 500; i++) {
      const d = Buffer.from(mm1);
      d.writeUInt32BE(0xf1000000 + i, 0);
      await send(Buffer.concat([MARKER, d]));
    }

    const seen = (): number => {
      const t = victim.transport.stats();
      return t.received + t.espDropped + t.runts + t.keepalives;
    };
    await poll(() => seen() >= sent * 0.95, "the victim to read the attack");
    // The honest peer negotiates through all of that.
    h2.negotiate("to-victim", { address: VICTIM, port: VPORT });
    await h2.waitFor("phase2-up");
    // The victim also records the attacker's failed exchanges, so wait for the success only.
    await victim.waitUntil(() => victim.of("phase2-up").length === 1, "the victim's Quick Mode");
    const ours = await victim.matureSas();
    const theirs = await h2.matureSas();
    assert.equal(ours.length, 2);
    for (const sa of ours) {
      const twin = theirs.find((t) => t.spi === sa.spi && t.src === sa.src && t.dst === sa.dst);
      assert.ok(twin?.keys?.enc?.equals(sa.keys!.enc!) && twin.keys.auth?.equals(sa.keys!.auth!), `keys of spi ${sa.spi.toString(16)}`);
    }

    // The attacker never returned a cookie: it holds no SA, its MM1s made embryonic records only.
    const attackerSas = victim.engine.sas.byPeerAddress(ATTACKER);
    assert.equal(attackerSas.length, 0, `attacker holds ${attackerSas.length} SAs`);
    assert.ok(victim.engine.stats.engine.embryonic >= 400, JSON.stringify({ ...victim.engine.stats.snapshot(), ...victim.transport.stats(), answers: answers.length }));
    assert.ok(victim.transport.stats().espDropped > 0, "garbage without the marker is ESP to us, and dropped");
    // Every answer the attacker got carries the marker and is MM2 or a cleartext error notify.
    for (const a of answers) {
      assert.ok(a.subarray(0, 4).equals(MARKER));
      const m = decodeMessage(a.subarray(4));
      assert.ok(m.ok && m.value.kind === "plain", "answers are unencrypted");
      if (!m.ok || m.value.kind !== "plain") continue;
      const t = m.value.header.exchangeType;
      if (t === ExchangeType.Informational) {
        const n = m.value.payloads[0];
        assert.ok(n?.type === PayloadType.N && n.notifyType >= 1 && n.notifyType <= 30);
      } else {
        assert.equal(t, ExchangeType.IdentityProtection);
      }
    }
    assert.ok(answers.some((a) => { const m = decodeMessage(a.subarray(4)); return m.ok && m.value.kind === "plain" && m.value.payloads.some((p) => p.type === PayloadType.N && p.notifyType === Notify.PayloadMalformed); }));

    // The embryonic records go when their lifetime (3 s here) runs out; the honest SA stays.
    await poll(() => victim.engine.debugSizes().embryos === 0 && victim.engine.sas.halfOpenCount === 0, "embryonic records to expire");
    assert.equal(victim.engine.sas.size, 1);
    assert.equal(victim.engine.sas.all()[0]!.state, "established");
      } finally {
    // Every socket closed on every path, or a failing run would keep the test process alive.
    attacker.close();
    await honest2?.close();
    await victim.close();
    await honest.close();
  }
});

/** A fresh engine on the honest host's address (the first one was spent capturing MM1). */
async function reopen(h: EngineHost): Promise<EngineHost> {
  await h.transport.close();
  return EngineHost.open({
    address: HONEST,
    port: HPORT,
    ikeConfig: ikeConfig("to-victim", HONEST, VICTIM, XF),
    preshared: preshared(HONEST, VICTIM, "udp-hostile-psk"),
    ipsecinit: `{ raddr ${VICTIM} } ipsec { encr_algs aes encr_auth_algs sha1 }\n`,
  });
}
