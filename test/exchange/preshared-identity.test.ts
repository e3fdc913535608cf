/**
 * Identities with pre-shared keys: a rule with `local_id_type fqdn` presents the name from
 * `local_id`, or else the matching ike.preshared entry's `localid` (never the address in its
 * place, which a Libreswan road-warrior gateway refuses with INVALID-ID-INFORMATION), and the
 * responder's `remote_id` refuses a peer whose (HASH-authenticated) ID it does not allow.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { IdType, Notify, PayloadType, decodeMessage } from "../../src/codec/index.js";
import { CryptoPool } from "../../src/crypto/pool.js";
import { certSide, removeCertRoots } from "./cert-harness.js";
import { makePair, ruleText, settle, type Pair } from "./harness.js";

let pool: CryptoPool;
before(() => {
  pool = new CryptoPool({ threads: 0 });
});
after(async () => {
  await pool.close();
  removeCertRoots();
});

const XF = "p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes(128..128) }";
const ROAD = `{ localidtype fqdn localid road.example remoteidtype ip remoteid 10.0.0.2 ike_mode both key "road-secret" }\n`;
const GATEWAY = `{ localidtype ip localid 10.0.0.2 remoteidtype fqdn remoteid road.example ike_mode aggressive key "road-secret" }\n{ localidtype ip localid 10.0.0.2 remoteidtype ip remoteid 10.0.0.1 key "road-secret" }\n`;

/** The road warrior (a, `local_id_type fqdn` plus `roadExtra`) and the gateway (b, `gatewayExtra`), with credentials. */
async function pair(roadExtra: string, gatewayExtra = ""): Promise<Pair> {
  const a = await certSide(pool, ruleText("road", "10.0.0.1", "10.0.0.2", `${XF}\n  local_id_type fqdn${roadExtra}`), { certs: {} }, { preshared: ROAD });
  const b = await certSide(pool, ruleText("gateway", "10.0.0.2", "10.0.0.1", `${XF}${gatewayExtra}`), { certs: {} }, { preshared: GATEWAY });
  return makePair({ configA: "", configB: "", pskA: "", pskB: "", policyA: a.policy, policyB: b.policy, engine: { pubkey: pool } });
}

/** Run `mode` from a; the first ID payload a sent (AM1), the gateway's view of a, failures. */
async function run(p: Pair, mode: "main" | "aggressive"): Promise<{ sentId?: { idType: number; data: string }; peerId?: string; fail?: number }> {
  let sentId: { idType: number; data: string } | undefined;
  p.network.tap((r) => {
    const m = decodeMessage(r.datagram);
    if (sentId === undefined && r.from.address === "10.0.0.1" && m.ok && m.value.kind === "plain") {
      const id = m.value.payloads.find((x) => x.type === PayloadType.ID);
      if (id?.type === PayloadType.ID) sentId = { idType: id.idType, data: id.data.toString() };
    }
  });
  let fail: number | undefined;
  p.b.engine.on("phase1-failed", (_sa, _r, n) => (fail = n));
  const sa = p.a.engine.initiate(p.a.policy.ruleByLabel("road")!, p.a.endpoint, p.b.endpoint, mode);
  for (let i = 0; i < 50 && sa.state === "negotiating"; i++) await settle(p, 4);
  const peerId = p.b.engine.sas.all().find((s) => s.icookie.equals(sa.icookie))?.phase1?.peerId;
  p.a.engine.close();
  p.b.engine.close();
  return { ...(sentId ? { sentId } : {}), ...(peerId ? { peerId } : {}), ...(fail !== undefined ? { fail } : {}) };
}

test("Aggressive Mode, local_id_type fqdn without local_id: the key entry's localid is presented", async () => {
  const r = await run(await pair(""), "aggressive");
  assert.deepEqual(r.sentId, { idType: IdType.ID_FQDN, data: "road.example" });
  assert.equal(r.peerId, "road.example");
});

test("Main Mode, local_id_type fqdn with local_id: local_id is presented (in MM5)", async () => {
  const r = await run(await pair('\n  local_id "road.example"'), "main");
  assert.equal(r.peerId, "road.example");
});

test("remote_id refuses a pre-shared peer whose ID it does not allow (AUTHENTICATION-FAILED), and lets the right one in", async () => {
  const refused = await run(await pair("", '\n  remote_id "DNS=*.example.org"'), "aggressive");
  assert.equal(refused.fail, Notify.AuthenticationFailed);
  assert.equal(refused.peerId, undefined);
  const allowed = await run(await pair("", '\n  remote_id "DNS=*.example"'), "aggressive");
  assert.equal(allowed.peerId, "road.example");
});
