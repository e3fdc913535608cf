/**
 * Secrets audit (issue 11): a real in.iked process (one crypto worker, then none: DH on the main
 * thread; every debug category on) negotiates Main Mode and Quick Mode with PFS at each privilege
 * level — keymat, then lowered to modkeys, then base — with an engine in this process as its
 * peer. Then the pre-shared key, SKEYID, SKEYID_d/a/e, Ka, both sides' Diffie-Hellman private
 * values, g^xy (Phase 1 and PFS) and every IPsec SA's keys are looked for:
 *
 * - in the daemon's log output: nowhere, at any level;
 * - in every admin reply below keymat (raw JSON and ikeadm's text): nowhere;
 * - in heap snapshots of the main thread and of the crypto worker: nowhere (hex, base64, raw);
 * - in the daemon's whole memory (/proc/PID/mem) once every SA is deleted: of the raw bytes, only
 *   the pre-shared key, which the live configuration keeps in secure memory for the next
 *   negotiation; as hex text, nothing (not even what was shown at keymat).
 *
 * The values come from the peer (the same SKEYIDs, Ka, g^xy and IPsec keys), from the daemon's own
 * keymat-level export (checked equal: a wrong "known" value would make the audit pass for nothing)
 * and from a test-only hook (secrets-hook.ts) that makes the daemon's DH private value one the test
 * can compute and writes the heap snapshots on SIGUSR2. While SAs live, the memory scan must see
 * their keys (in secure memory): the scan itself is checked too.
 *
 * Addresses and ports (inside the test's network namespace): 127.0.10.1 (daemon) and 127.0.10.2
 * (our engine), UDP 16120-16122.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { test } from "node:test";
import { AdminClient } from "../../src/control/client.js";
import type { AdminRequest } from "../../src/control/messages.js";
import type { ListResult, P1View, SadbView } from "../../src/control/results.js";
import { dhAgree } from "../../src/crypto/dh.js";
import type { IsakmpSa } from "../../src/ike/isakmp-sa.js";
import type { DhPort } from "../../src/ike/ports.js";
import { deterministicDh } from "../helpers/dh.js";
import { EngineHost } from "../helpers/engine-host.js";
import { ikeadm, makeRoot, rootPath, startDaemon } from "./harness.js";
import { findIn, scanMemory, type KnownSecret } from "./secrets-search.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const DAEMON = "127.0.10.1";
const US = "127.0.10.2";
const DAEMON_PORT = 16120;
const OUR_PORT = 16122;
const GROUP = 14;
/** Group 14's exponent length (dh.ts PRIVATE_BITS): what the hook answers. */
const DH_BYTES = 28;
const PSK = `audit-psk-${randomBytes(9).toString("hex")}`;
const SEED = randomBytes(8).toString("hex");
/** The hook's bytes with the top bit set, as dh.ts `dhRandomPrivate` sets it. */
const DAEMON_DH_PRIVATE = createHash("sha256").update("iked secrets audit").update(SEED).digest().subarray(0, DH_BYTES);
DAEMON_DH_PRIVATE[0] = DAEMON_DH_PRIVATE[0]! | 0x80;

const XF = `p1_xform { auth_method preshared oakley_group ${GROUP} auth_alg sha256 encr_alg aes(128..128) }`;
const rule = (label: string, local: string, remote: string, port: number) => `${XF}\n{\n  label "${label}"\n  local_addr ${local}\n  remote_addr ${remote}\n  remote_port ${port}\n  p2_pfs ${GROUP}\n}\n`;
const psk = (local: string, remote: string) => `{\n  localidtype IP\n  localid ${local}\n  remoteidtype IP\n  remoteid ${remote}\n  key "${PSK}"\n}\n`;
const policy = (peer: string) => `{ raddr ${peer} } ipsec { encr_algs aes encr_auth_algs sha1 }\n`;

/** Our side's DH: deterministic, recording our private values, our public values and every g^xy. */
function recordingDh(secrets: KnownSecret[], publics: Buffer[]): DhPort {
  let n = 0;
  const dh = deterministicDh(() => createHash("sha256").update(`audit peer ${SEED} ${n++}`).digest().subarray(0, DH_BYTES));
  return {
    async dhGenerate(g, o) {
      const r = await dh.dhGenerate(g, o);
      if (r.ok) {
        secrets.push({ name: `peer DH private #${publics.length}`, bytes: Buffer.from(r.value.privateValue) });
        publics.push(Buffer.from(r.value.publicValue));
      }
      return r;
    },
    async dhAgree(g, x, p, o) {
      const r = await dh.dhAgree(g, x, p, o);
      if (r.ok) secrets.push({ name: `g^xy #${secrets.filter((s) => s.name.startsWith("g^xy")).length}`, bytes: Buffer.from(r.value) });
      return r;
    },
  };
}

/** SKEYID, SKEYID_d/a/e and Ka of one of our SAs (the daemon holds the same). */
function phase1Secrets(sa: IsakmpSa, tag: string): KnownSecret[] {
  const k = sa.keymat!.exportForKeymatPrivilege();
  return Object.entries(k).map(([name, bytes]) => ({ name: `${name} of ${tag}`, bytes }));
}

async function raw(root: string, req: AdminRequest): Promise<string> {
  const c = await AdminClient.connect(rootPath.socket(root));
  try {
    return JSON.stringify(await c.request(req));
  } finally {
    c.close();
  }
}

/** Every read-only admin reply, raw and as ikeadm prints it. */
async function adminReplies(root: string, sas: readonly IsakmpSa[]): Promise<Buffer> {
  const reqs: AdminRequest[] = [
    { cmd: "get_priv" }, { cmd: "get_stats" }, { cmd: "get_defaults" }, { cmd: "get_debug" }, { cmd: "dump_p1" }, { cmd: "dump_sadb" },
    { cmd: "dump_rules" }, { cmd: "dump_ps" }, { cmd: "dump_groups" }, { cmd: "dump_encralgs" }, { cmd: "dump_authalgs" }, { cmd: "dump_certcache" },
    { cmd: "get_ps", id: { kind: "addr", local: DAEMON, remote: US } },
    ...sas.map((sa): AdminRequest => ({ cmd: "get_p1", id: { kind: "cookies", icookie: sa.icookie.toString("hex"), rcookie: sa.rcookie.toString("hex") } })),
  ];
  const out: string[] = [];
  for (const r of reqs) out.push(await raw(root, r));
  for (const args of [["dump", "p1"], ["dump", "sadb"], ["dump", "preshared"], ["get", "stats"], ["dump", "rules"]]) out.push((await ikeadm(root, args)).stdout);
  return Buffer.from(out.join("\n"));
}

for (const workers of [1, 0]) {
  const where = workers === 0 ? "crypto on the main thread" : "one crypto worker";
  test(`${where}: no secret in logs, admin replies below keymat, heap snapshots, or memory after the SAs are gone`, { timeout: 240_000 }, () => audit(workers));
}

async function audit(workers: number): Promise<void> {
  const root = makeRoot(rule("to us", DAEMON, US, OUR_PORT), psk(DAEMON, US));
  fs.writeFileSync(path.join(root, "etc/inet/ipsecinit.conf"), policy(US));
  const snapshots = path.join(root, "snapshots");
  fs.mkdirSync(snapshots);
  const keysFile = path.join(root, "keys");
  const hook = pathToFileURL(path.join(here, "secrets-hook.js")).href;
  const d = await startDaemon(root, ["-p", "keymat", "--keys-file", keysFile, "--workers", String(workers), "--port", String(DAEMON_PORT), "--natt-port", String(DAEMON_PORT + 1)], {
    NODE_OPTIONS: `--import=${hook}`, IKED_AUDIT_SEED: SEED, IKED_AUDIT_DH_BYTES: String(DH_BYTES), IKED_AUDIT_SNAPSHOTS: snapshots,
  });
  const secrets: KnownSecret[] = [{ name: "pre-shared key", bytes: Buffer.from(PSK) }, { name: "daemon DH private", bytes: DAEMON_DH_PRIVATE }];
  const publics: Buffer[] = [];
  const us = await EngineHost.open({
    address: US, port: OUR_PORT, ikeConfig: rule("to daemon", US, DAEMON, DAEMON_PORT), preshared: psk(US, DAEMON), ipsecinit: policy(DAEMON), dh: recordingDh(secrets, publics),
  });
  const daemon = { address: DAEMON, port: DAEMON_PORT };
  const ours: IsakmpSa[] = [];
  try {
    /** A new Phase 1 and a Quick Mode with PFS; its secrets join the list. */
    const negotiate = async (level: string): Promise<void> => {
      const sa = us.initiate("to daemon", daemon);
      await us.waitUntil(() => sa.state === "established", `Phase 1 at ${level}`);
      const before = us.of("phase2-up").length;
      assert.ok(us.engine.quickMode(sa, us.requestTo(DAEMON)));
      await us.waitUntil(() => us.of("phase2-up").length > before, `Quick Mode at ${level}`);
      ours.push(sa);
      secrets.push(...phase1Secrets(sa, `SA at ${level}`));
      for (const s of await us.matureSas()) {
        for (const [what, key] of [["encryption", s.keys?.enc], ["authentication", s.keys?.auth]] as const) {
          if (key !== undefined && key !== null && !secrets.some((x) => x.bytes.equals(key))) secrets.push({ name: `IPsec ${what} key spi ${s.spi.toString(16)}`, bytes: Buffer.from(key) });
        }
      }
    };

    // keymat: the daemon's own export equals what we know (a wrong value would make the audit vacuous).
    await negotiate("keymat");
    const view = JSON.parse(await raw(root, { cmd: "dump_p1" })) as { result: ListResult<P1View> };
    const k = view.result.items[0]!.keys!;
    const mine = ours[0]!.keymat!.exportForKeymatPrivilege();
    assert.deepEqual([k.skeyidHex, k.skeyidDHex, k.skeyidAHex, k.skeyidEHex, k.encKeyHex], [mine.skeyid, mine.skeyidD, mine.skeyidA, mine.skeyidE, mine.ka].map((b) => b.toString("hex")));
    const sadb = JSON.parse(await raw(root, { cmd: "dump_sadb" })) as { result: ListResult<SadbView> };
    for (const s of sadb.result.items) assert.ok(secrets.some((x) => x.bytes.toString("hex") === s.encKeyHex), `IPsec key of spi ${s.spi} known`);
    assert.ok(fs.readFileSync(keysFile, "utf8").includes(mine.ka.toString("hex")), "keys file holds Ka");
    const gxy = dhAgree(GROUP, DAEMON_DH_PRIVATE, publics[0]!);
    assert.ok(gxy.ok && secrets.some((s) => s.name.startsWith("g^xy") && s.bytes.equals(gxy.value)), "the daemon's DH private value is the hook's");

    assert.equal((await ikeadm(root, ["set", "priv", "modkeys"])).code, 0);
    await negotiate("modkeys");
    assert.deepEqual(findIn(await adminReplies(root, ours), secrets), [], "admin replies at modkeys");
    assert.equal((await ikeadm(root, ["set", "priv", "base"])).code, 0);
    await negotiate("base");
    assert.deepEqual(findIn(await adminReplies(root, ours), secrets), [], "admin replies at base");
    assert.ok(secrets.length >= 30, `${secrets.length} secrets looked for`);

    assert.deepEqual(findIn(Buffer.from(d.output()), secrets), [], "log output (every debug category)");

    d.signal("SIGUSR2");
    for (const until = Date.now() + 60_000; !fs.existsSync(path.join(snapshots, "done")); await new Promise((r) => setTimeout(r, 50))) {
      assert.ok(Date.now() < until, "the daemon wrote its heap snapshots");
    }
    const files = fs.readdirSync(snapshots).filter((f) => f.endsWith(".heapsnapshot"));
    assert.deepEqual(files.sort(), workers === 0 ? ["main.heapsnapshot"] : ["main.heapsnapshot", "worker-0.heapsnapshot"]);
    for (const f of files) assert.deepEqual(findIn(fs.readFileSync(path.join(snapshots, f)), secrets), [], `heap snapshot ${f}`);

    // Every SA gone (Deletes sent, IPsec SAs removed): of the raw bytes, only the configured PSK
    // remains (the live configuration keeps it in secure memory); no hex text of any secret either,
    // not even of what went out at keymat (KEY: replies, the keys file), whose buffers are wiped
    // after the write. (The JS strings of a keymat reply cannot be wiped; the daemon's later work
    // reuses their young-generation memory long before this point.)
    const live = scanMemory(d.pid, secrets);
    assert.ok(live.some((f) => f.startsWith("skeyidD of SA at base @")), `the scan sees live SAs' keys in secure memory: ${live.join("; ")}`);
    assert.equal((await ikeadm(root, ["flush", "p1"])).code, 0);
    const rawLeft = scanMemory(d.pid, secrets);
    assert.ok(rawLeft.every((f) => f.startsWith("pre-shared key @")), `raw bytes in process memory after the SAs are gone: ${rawLeft.join("; ")}`);
    const hexLeft = scanMemory(d.pid, secrets.map((x) => ({ name: x.name, bytes: Buffer.from(x.bytes.toString("hex")) })));
    assert.deepEqual(hexLeft, [], "hex text of secrets in process memory after the SAs are gone");
  } finally {
    await us.close();
    await d.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
}
