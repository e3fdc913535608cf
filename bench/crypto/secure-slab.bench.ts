/**
 * Where an ISAKMP SA's secrets live, per SA lifetime: the allocations and uses one Main Mode +
 * Quick Mode responder makes (DH private value, the derived-secrets block, two KEYMATs, ~15
 * keyed operations), in the three memory modes of `SecureBuffer`:
 *   guarded+protect   one sodium_malloc per secret, PROT_NONE between uses (the default)
 *   guarded           one sodium_malloc per secret, always readable (`protect: false`)
 *   pooled            slots of the shared secure slab (`pooled: true`; what the engine uses)
 * Baseline (ratio 1.00): guarded+protect. A second section runs a whole Phase1Keymat life
 * (hold DH private, derive from PSK, 6 encrypt/decrypt, 7 hashes, 2 KEYMATs, destroy).
 *
 * sodium-native's sodium_free only detaches the buffer: the pages (three or more mappings each) are
 * unmapped by the garbage collector's finaliser, and V8 does not count them as heap pressure. A
 * tight loop of guarded allocations therefore runs out of mappings (vm.max_map_count, ~16k live
 * allocations) and aborts the process. So each task runs a fixed 1,500 SA lives (+100 warm-up),
 * with a full GC (and its finalisers), untimed, before and after it.
 *
 *   npm run bench -- secure-slab
 */
import { randomBytes } from "node:crypto";
import v8 from "node:v8";
import vm from "node:vm";
import { Bench } from "tinybench";
import { IkeEncryption, IkeHash } from "../../src/codec/index.js";
import { Phase1Keymat, phase1Suite, type Phase1KeymatOptions } from "../../src/crypto/keymat.js";
import { SecureBuffer, type SecureBufferOptions } from "../../src/crypto/secure.js";

const MODES: [string, SecureBufferOptions][] = [
  ["guarded+protect", {}],
  ["guarded", { protect: false }],
  ["pooled", { pooled: true }],
];

/** The secure-memory traffic of one SA: 4 buffers, 15 uses, then release. */
function saLife(o: SecureBufferOptions): number {
  const bufs = [SecureBuffer.take(randomBytes(20), o), SecureBuffer.alloc(224, o), SecureBuffer.alloc(36, o), SecureBuffer.alloc(36, o)];
  let n = 0;
  for (let i = 0; i < 15; i++) n += bufs[i % 4]!.use((b) => b.length);
  for (const b of bufs) b.destroy();
  return n;
}

const suite = phase1Suite(IkeEncryption.AES_CBC, 128, IkeHash.SHA);
const x = { icookie: randomBytes(8), rcookie: randomBytes(8), nonceI: randomBytes(20), nonceR: randomBytes(20), gxi: randomBytes(128), gxr: randomBytes(128) };
const gxy = randomBytes(128);
const psk = Buffer.from("load-bench-secret");
const body = randomBytes(80);

/** A responder's Phase1Keymat from MM3 to the ISAKMP Delete. */
function keymatLife(o: Phase1KeymatOptions): void {
  const km = new Phase1Keymat(suite, o);
  km.holdDhPrivate(randomBytes(20));
  km.deriveFromPsk(x, Buffer.from(gxy), psk);
  for (let i = 0; i < 7; i++) km.quickModeHash1(7, body);
  for (let i = 0; i < 3; i++) km.encrypt(0, body);
  for (const mid of [7, 8, 9]) {
    const d = km.decrypt(mid, body);
    if (d.ok) d.commit();
  }
  km.keymat(3, 0x1000, x.nonceI, x.nonceR, undefined, 36).destroy();
  km.keymat(3, 0x2000, x.nonceI, x.nonceR, undefined, 36).destroy();
  km.destroy();
}

export default async function run(): Promise<void> {
  v8.setFlagsFromString("--expose-gc");
  const gc = vm.runInNewContext("gc") as () => void;
  const bench = new Bench({ name: "secure memory per SA", time: 0, iterations: 1500, warmupTime: 0, warmupIterations: 100 });
  // The finalisers that unmap collected buffers run from the event loop, after the GC.
  const collect = async (): Promise<void> => {
    gc();
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  };
  const hooks = { beforeAll: collect, afterAll: collect };
  for (const [name, o] of MODES) bench.add(`buffers ${name}`, () => void saLife(o), hooks);
  for (const [name, o] of MODES) bench.add(`keymat ${name}`, () => keymatLife(o), hooks);
  await bench.run();
  const mean = new Map(bench.tasks.map((t) => [t.name, (t.result as { period?: number }).period ?? NaN]));
  console.table(
    bench.tasks.map((t) => {
      const p = mean.get(t.name)!;
      const base = mean.get(t.name.replace(/ \S+$/, " guarded+protect"))!;
      return { task: t.name, "us/SA": (p * 1000).toFixed(1), "vs guarded+protect": (p / base).toFixed(2) };
    }),
  );
}
