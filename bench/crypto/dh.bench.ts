/**
 * DH primitive rates on the main thread: which Node 20 API path is fastest for IKE's MODP groups.
 *
 * Per group, one "exchange" is what each side of IKE does once: make a key pair and compute g^xy.
 * Baseline (ratio 1.00): src/crypto/dh.ts, a cached DiffieHellman object per group with a short
 * private exponent set per exchange and cleared after each call. Compared with:
 *  - the same object and exponents without the clearing and wiping dh.ts does since issue 11
 *    (what that costs: two extra setPrivateKey(0) per exchange);
 *  - the same object with a full-length exponent (what short exponents save);
 *  - KeyObject DH: generateKeyPairSync('dh', { group }) + diffieHellman() (OpenSSL picks its own
 *    exponent length for named groups; the peer value must be wrapped in SPKI DER first);
 *  - building a DiffieHellman object per exchange (the prime check runs every time).
 */
import { Bench } from "tinybench";
import {
  createDiffieHellman,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  randomBytes,
  type KeyObject,
  type KeyPairKeyObjectResult,
} from "node:crypto";
import { DhGroups, dhAgree, dhGenerate, dhRandomPrivate, validateDhPublic, type DhGroupId } from "../../src/crypto/dh.js";

const nodeGroup: Record<DhGroupId, string> = { 1: "modp1", 2: "modp2", 5: "modp5", 14: "modp14", 15: "modp15", 16: "modp16" };
/** @types/node 20 lacks the "dh" overload; Node 20 has it. */
const dhKeyPair = generateKeyPairSync as unknown as (type: "dh", options: { group: string }) => KeyPairKeyObjectResult;

/** Print each task's mean time per exchange and its ratio to the baseline task of its group. */
function report(bench: Bench, baselines: Map<string, string>): void {
  const period = new Map<string, number>();
  for (const t of bench.tasks) {
    const r = t.result;
    if ("period" in r) period.set(t.name, r.period);
  }
  const rows = bench.tasks.map((t) => {
    const base = period.get(baselines.get(t.name) ?? "") ?? NaN;
    const p = period.get(t.name) ?? NaN;
    return { task: t.name, "ms/exchange": p.toFixed(3), "exchanges/s": (1000 / p).toFixed(0), "time vs dh.ts": (p / base).toFixed(2) };
  });
  console.table(rows);
}

export default async function run(): Promise<void> {
  const bench = new Bench({ name: "dh", time: 400, warmupTime: 100 });
  const baselines = new Map<string, string>();
  for (const id of [2, 5, 14] as const) {
    const g = DhGroups[id];
    const base = `g${id} dh.ts short exponent (baseline)`;
    const peer = dhGenerate(id);
    if (!peer.ok) throw new Error("dh setup failed");
    const peerY = peer.value.publicValue;
    const add = (name: string, fn: () => void): void => {
      bench.add(name, fn);
      baselines.set(name, base);
    };

    add(base, () => {
      const mine = dhGenerate(id);
      if (!mine.ok || !dhAgree(id, mine.value.privateValue, peerY).ok) throw new Error("dh failed");
    });

    const kept = createDiffieHellman(g.prime, 2);
    add(`g${id} same object, exponent kept (dh.ts before issue 11)`, () => {
      // The calls dh.ts made before: set x, g^x, validate g^y, set x again, g^xy; nothing cleared.
      const x = dhRandomPrivate(id);
      kept.setPrivateKey(x);
      kept.generateKeys();
      if (validateDhPublic(id, peerY) !== undefined) throw new Error("dh failed");
      kept.setPrivateKey(x);
      kept.computeSecret(peerY);
    });

    const full = createDiffieHellman(g.prime, 2);
    add(`g${id} same object, full-length exponent`, () => {
      full.setPrivateKey(randomBytes(g.primeBytes - 1));
      full.generateKeys();
      full.computeSecret(peerY);
    });

    const peerKeys = dhKeyPair("dh", { group: nodeGroup[id] });
    const peerKeyObject: KeyObject = peerKeys.publicKey;
    const template = peerKeyObject.export({ type: "spki", format: "der" });
    add(`g${id} KeyObject generateKeyPairSync + diffieHellman`, () => {
      const mine = dhKeyPair("dh", { group: nodeGroup[id] });
      // A KE payload's raw value must first become an SPKI KeyObject: count that cost too.
      createPublicKey({ key: template, format: "der", type: "spki" });
      diffieHellman({ privateKey: mine.privateKey, publicKey: peerKeyObject });
    });

    if (id === 2) {
      add(`g${id} createDiffieHellman per exchange`, () => {
        const dh = createDiffieHellman(g.prime, 2);
        dh.setPrivateKey(randomBytes(g.privateBits / 8));
        dh.generateKeys();
        dh.computeSecret(peerY);
      });
    }
  }
  await bench.run();
  report(bench, baselines);
}
