/**
 * The IV chain of one ISAKMP SA (RFC 2409 appendix B): a Phase 2 exchange's IVs chain from the
 * last block of each of its messages, and what the chain keeps of them holds no slab of Node's
 * shared Buffer pool (a finished Quick Mode's IV stays for its minute of linger).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import v8 from "node:v8";
import vm from "node:vm";
import { IkeHash } from "../../src/codec/index.js";
import { hashById } from "../../src/crypto/algorithms.js";
import { IvChain } from "../../src/crypto/iv-chain.js";
import { phase2Iv } from "../../src/crypto/kdf.js";

const SHA1 = hashById(IkeHash.SHA)!;

test("a Phase 2 exchange's IV is the last block of its previous message, every byte value kept; ended, it is derived again", () => {
  const first = Buffer.alloc(16, 0x11);
  const chain = new IvChain(SHA1, 16, first);
  const mid = 0xdeadbeef;
  assert.deepEqual(chain.current(mid), phase2Iv(SHA1, first, mid, 16), "from the Phase 1 block and the message ID");
  const ciphertext = Buffer.from(Array.from({ length: 48 }, (_, i) => (i * 37 + 200) & 0xff));
  chain.advance(mid, ciphertext);
  assert.deepEqual(chain.current(mid), ciphertext.subarray(32), "the last ciphertext block, bytes 0x80-0xff included");
  const copy = chain.current(mid);
  copy.fill(0);
  assert.deepEqual(chain.current(mid), ciphertext.subarray(32), "callers get copies");
  assert.equal(chain.size, 2);
  chain.end(mid);
  assert.equal(chain.size, 1);
  assert.deepEqual(chain.current(mid), phase2Iv(SHA1, first, mid, 16));
});

test("exchanges' IVs are kept without Buffers of Node's shared pool (each would hold an 8 KiB slab)", () => {
  v8.setFlagsFromString("--expose-gc");
  const gc = vm.runInNewContext("gc") as () => void;
  const ciphertext = Buffer.alloc(48, 0xab);
  gc();
  const before = process.memoryUsage().arrayBuffers;
  const chains: IvChain[] = [];
  for (let i = 0; i < 4000; i++) {
    const chain = new IvChain(SHA1, 16, ciphertext.subarray(0, 16));
    chain.advance(1 + i, ciphertext);
    chains.push(chain);
  }
  gc();
  const grown = process.memoryUsage().arrayBuffers - before;
  // Pooled 16-byte copies would fill eight new 8 KiB slabs (64 KB).
  assert.ok(grown < 16_384, `${grown} bytes of ArrayBuffers more for 4,000 IVs`);
  chains.forEach((chain, i) => assert.deepEqual(chain.current(1 + i), ciphertext.subarray(32)));
});
