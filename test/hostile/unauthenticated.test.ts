/**
 * No action on unauthenticated claims (issue 11, item 5). Once MM2 has gone, an unprotected error
 * notify is logged and ignored (RFC 2408 section 4.8: after keying material, Informationals are
 * protected); before MM2 a responder's cleartext NO-PROPOSAL-CHOSEN still ends our exchange
 * (covered in test/exchange/main-mode-psk.test.ts). INITIAL-CONTACT (RFC 2407 section 4.6.3.3)
 * purges only the SAs of the same peer identity on the same address pair: two users behind one
 * NAT share an address, not their SAs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { ExchangeType, Notify, encodeMessage, Doi, PayloadType, ProtocolId } from "../../src/codec/index.js";
import { CookieJar } from "../../src/ike/cookies.js";
import { IkeEngine } from "../../src/ike/engine.js";
import type { Endpoint } from "../../src/ike/transport.js";
import { MemoryKernel } from "../../src/kernel/memory.js";
import { MemoryNetwork } from "../../src/net/memory-transport.js";
import { selectForAcquire } from "../../src/policy/index.js";
import { deterministicDh } from "../helpers/dh.js";
import { ManualClock } from "../helpers/manual-clock.js";
import { ipsecFrom, policyFrom, pskText, seededRandom } from "../exchange/harness.js";
import { PEER, VICTIM, XFORM, close, setting, settle, tick, type Setting } from "./setup.js";
import { forge } from "./forge.js";
import { deleteIpsec, protectedInformational } from "../../src/ike/informational.js";

/** An unprotected Informational with one error notify about the cookie pair. */
function cleartextNotify(icookie: Buffer, rcookie: Buffer, notifyType: number): Buffer {
  return encodeMessage({ icookie, rcookie, exchangeType: ExchangeType.Informational, flags: 0, messageId: 0x1234_5678 }, [
    { type: PayloadType.N, doi: Doi.Ipsec, protocolId: ProtocolId.ISAKMP, notifyType, spi: Buffer.concat([icookie, rcookie]), data: Buffer.alloc(0) },
  ]);
}

test("after MM2, a spoofed unprotected error notify does not end our Main Mode", async () => {
  const s: Setting = setting();
  const failed: string[] = [];
  s.victim.engine.on("phase1-failed", (_sa, reason) => failed.push(reason));
  // The victim initiates; the peer's MM4 is lost, so the victim waits in MM3 when the forgery comes.
  let lost = 0;
  s.network.setImpairment({ filter: (d, from) => (from.address === PEER && d[18] === ExchangeType.IdentityProtection && lost++ === 1 ? "drop" : "pass") });
  const sa = s.victim.engine.initiate(s.victim.policy.ruleByLabel("to-peer")!, s.victim.endpoint, s.peer.endpoint);
  await settle(s);
  s.network.setImpairment({});
  assert.equal(sa.state, "negotiating");
  for (const n of [Notify.AuthenticationFailed, Notify.InvalidPayloadType, Notify.NoProposalChosen]) {
    s.network.submit(cleartextNotify(sa.icookie, sa.rcookie, n), s.peer.endpoint, s.victim.endpoint);
  }
  await settle(s);
  assert.equal(sa.state, "negotiating", "ignored");
  assert.deepEqual(failed, []);
  // MM3 is retransmitted, the peer answers from its cache, the exchange completes.
  s.clock.advance(1000);
  await settle(s);
  assert.equal(sa.state, "established");
  await close(s);
});

/** One engine of the NAT test: a user behind NAT_ADDR:port with an FQDN identity. */
function natUser(network: MemoryNetwork, clock: ManualClock, port: number, name: string, xform = XFORM) {
  const endpoint: Endpoint = { address: PEER, port };
  const cfg = `{\n  label "to-victim"\n  local_addr ${PEER}\n  remote_addr ${VICTIM}\n  local_id_type fqdn\n  local_id "${name}"\n  ${xform}\n}\n`;
  const policy = policyFrom(cfg, pskText(PEER, VICTIM, "hostile-psk"));
  const kernel = new MemoryKernel({ clock });
  const ipsec = ipsecFrom(`{ raddr ${VICTIM} } ipsec { encr_algs aes encr_auth_algs sha1 }\n`);
  const engine = new IkeEngine({
    transport: network.attach([endpoint]),
    policy,
    clock,
    random: seededRandom(name),
    cookies: new CookieJar({ clock, random: seededRandom(`${name}-cookies`) }),
    dh: deterministicDh((group, n) => {
      const x = createHash("sha256").update(`${name}-dh-${group}-${n}`).digest();
      x[0] = x[0]! | 0x80;
      return x;
    }),
    kernel,
    ipsecPolicy: () => ipsec,
  });
  const negotiate = (): void => {
    const sel = selectForAcquire(ipsec, { src: { address: PEER, port: 0 }, dst: { address: VICTIM, port: 0 }, ulp: 0 });
    if (sel.kind !== "ipsec") throw new Error("no policy");
    engine.negotiate(policy.ruleByLabel("to-victim")!, endpoint, { address: VICTIM, port: 500 }, { mode: sel.mode, proposals: sel.proposals, localId: sel.localId, remoteId: sel.remoteId });
  };
  return { engine, kernel, negotiate, policy, endpoint };
}

test("INITIAL-CONTACT from one user behind a NAT leaves another user's SAs alone; the same user's are purged", async () => {
  const s = setting();
  s.peer.engine.close();
  const alice = natUser(s.network, s.clock, 4502, "alice.example");
  const bob = natUser(s.network, s.clock, 4501, "bob.example");
  const ic: string[] = [];
  s.victim.engine.on("phase1-up", (_sa, r) => ic.push(`${r.peerId}:${r.initialContact}`));
  alice.negotiate();
  await settle(s);
  const aliceSa = s.victim.engine.sas.all().find((x) => x.phase1?.peerId === "alice.example")!;
  assert.equal(aliceSa.state, "established");
  const aliceKernel = (await s.victim.kernel.dump()).map((x) => x.spi);
  assert.equal(aliceKernel.length, 2);
  // Bob, behind the same address, has no SA with the victim: his Main Mode carries INITIAL-CONTACT.
  bob.negotiate();
  await settle(s);
  assert.deepEqual(ic, ["alice.example:true", "bob.example:true"]);
  assert.equal(aliceSa.state, "established", "Alice's ISAKMP SA survives Bob's INITIAL-CONTACT");
  const after = (await s.victim.kernel.dump()).map((x) => x.spi);
  for (const spi of aliceKernel) assert.ok(after.includes(spi), "Alice's IPsec SAs survive");
  assert.equal(after.length, 4);
  // Alice reboots (forgets everything) and comes back: her own old SAs are purged, Bob's stay.
  for (const x of alice.engine.sas.all()) x.destroy("reboot");
  await alice.kernel.flush();
  const bobKernel = after.filter((spi) => !aliceKernel.includes(spi));
  alice.negotiate();
  await settle(s);
  assert.equal(aliceSa.state, "dead");
  assert.equal(aliceSa.deathReason, "INITIAL-CONTACT from peer");
  const last = (await s.victim.kernel.dump()).map((x) => x.spi);
  for (const spi of aliceKernel) assert.ok(!last.includes(spi), "Alice's stale IPsec SAs are gone");
  for (const spi of bobKernel) assert.ok(last.includes(spi), "Bob's IPsec SAs stay");
  assert.equal(last.length, 4, "Bob's pair and Alice's new pair");
  alice.engine.close();
  bob.engine.close();
  await alice.kernel.close();
  await bob.kernel.close();
  await close(s);
});

test("a Delete from one user behind a NAT naming another user's SPI removes nothing; its own pair, negotiated under its older ISAKMP SA, it deletes", async () => {
  const s = setting();
  s.peer.engine.close();
  const alice = natUser(s.network, s.clock, 4502, "alice.example");
  const bob = natUser(s.network, s.clock, 4501, "bob.example");
  const outbound = async (): Promise<number[]> => (await s.victim.kernel.dump()).filter((x) => x.src === VICTIM).map((x) => x.spi);
  alice.negotiate();
  await settle(s);
  const aliceOut = (await outbound())[0]!;
  bob.negotiate();
  await settle(s);
  const bobOut = (await outbound()).find((spi) => spi !== aliceOut)!;
  const victimSas = s.victim.engine.sas.all();
  const aliceSa = victimSas.find((x) => x.phase1?.peerId === "alice.example")!;
  const bobSa = victimSas.find((x) => x.phase1?.peerId === "bob.example")!;
  assert.equal(aliceSa.state, "established");
  assert.equal(bobSa.state, "established");
  assert.equal((await s.victim.kernel.dump()).length, 4);
  // Bob (holding his ISAKMP SA's keys) sends a Delete naming Alice's SPI (our outbound SA to her).
  const bobPeerSa = bob.engine.sas.all().find((x) => x.state === "established")!;
  const mid = 0x0de1_0001;
  s.network.submit(forge(bobPeerSa, ExchangeType.Informational, mid, protectedInformational(bobPeerSa, mid, [deleteIpsec("esp", [aliceOut])])), { address: PEER, port: 4501 }, s.victim.endpoint);
  await settle(s);
  assert.equal((await s.victim.kernel.dump()).length, 4, "Alice's pair stays");
  assert.equal(aliceSa.ipsecDeleted, 0);
  // Bob's own pair is his to delete, also through a newer ISAKMP SA than the one it was negotiated under.
  const newer = bob.engine.initiate(bob.policy.ruleByLabel("to-victim")!, bob.endpoint, s.victim.endpoint);
  await settle(s);
  assert.equal(newer.state, "established");
  const mid2 = 0x0de1_0002;
  s.network.submit(forge(newer, ExchangeType.Informational, mid2, protectedInformational(newer, mid2, [deleteIpsec("esp", [bobOut])])), { address: PEER, port: 4501 }, s.victim.endpoint);
  await settle(s);
  const left = (await s.victim.kernel.dump()).map((x) => x.spi);
  assert.equal(left.length, 2, "Bob's pair went");
  assert.ok(left.includes(aliceOut));
  assert.equal(bobSa.ipsecDeleted, 1);
  alice.engine.close();
  bob.engine.close();
  await alice.kernel.close();
  await bob.kernel.close();
  await close(s);
});

test("the IPsec SAs of one user's expiring ISAKMP SA are not handed to another user's behind the same NAT address", async () => {
  const s = setting();
  s.peer.engine.close();
  const alice = natUser(s.network, s.clock, 4502, "alice.example", XFORM.replace(/ }$/, " p1_lifetime_secs 600 }"));
  const bob = natUser(s.network, s.clock, 4501, "bob.example");
  alice.negotiate();
  await settle(s);
  const aliceOut = (await s.victim.kernel.dump()).filter((x) => x.src === VICTIM).map((x) => x.spi)[0]!;
  await tick(s, 60_000);
  bob.negotiate();
  await settle(s);
  const aliceSa = s.victim.engine.sas.all().find((x) => x.phase1?.peerId === "alice.example")!;
  const bobSa = s.victim.engine.sas.all().find((x) => x.phase1?.peerId === "bob.example")!;
  assert.equal(bobSa.state, "established");
  // Alice goes away; her ISAKMP SA reaches the end of its 600 s (the rekey attempt gets no answer).
  alice.engine.close();
  for (let t = 60_000; t < 620_000; t += 10_000) await tick(s, 10_000);
  assert.ok(aliceSa.isDead(), "Alice's ISAKMP SA ended");
  assert.equal(bobSa.state, "established");
  assert.ok((await s.victim.kernel.dump()).some((x) => x.spi === aliceOut), "Alice's IPsec SAs live on in the kernel");
  // Had they gone to Bob's ISAKMP SA, his Delete naming Alice's SPI would find them recorded there.
  const bobPeerSa = bob.engine.sas.all().find((x) => x.state === "established")!;
  const mid = 0x0de1_0003;
  s.network.submit(forge(bobPeerSa, ExchangeType.Informational, mid, protectedInformational(bobPeerSa, mid, [deleteIpsec("esp", [aliceOut])])), { address: PEER, port: 4501 }, s.victim.endpoint);
  await settle(s);
  assert.ok((await s.victim.kernel.dump()).some((x) => x.spi === aliceOut), "Alice's pair stays");
  assert.equal(bobSa.ipsecDeleted, 0);
  bob.engine.close();
  await alice.kernel.close();
  await bob.kernel.close();
  await close(s);
});
