import { test } from "node:test";
import assert from "node:assert/strict";
import { ManualClock } from "../helpers/manual-clock.js";
import { MemoryKernel } from "../../src/kernel/memory.js";

test("100k SAs: insert, look up, dump, expire soft then hard", async () => {
  const N = 100_000;
  const clock = new ManualClock();
  const kernel = new MemoryKernel({ clock });
  const encKey = Buffer.alloc(16, 0x11);
  const authKey = Buffer.alloc(20, 0x22);
  for (let i = 0; i < N; i++) {
    // Spread over 256 peers and two lifetimes so the heap holds interleaved deadlines.
    await kernel.add({
      src: "198.51.100.1",
      dst: `203.0.113.${i & 0xff}`,
      proto: "esp",
      spi: 0x1000 + i,
      mode: "tunnel",
      reqid: 1 + (i % 1000),
      encAlg: 12,
      encKey,
      authAlg: 3,
      authKey,
      lifetimes: { soft: { addSeconds: i % 2 === 0 ? 3000 : 3100 }, hard: { addSeconds: 3600 } },
    });
  }
  assert.equal(kernel.size, N);
  for (let i = 0; i < N; i += 97) {
    const sa = await kernel.get("198.51.100.1", `203.0.113.${i & 0xff}`, "esp", 0x1000 + i);
    assert.equal(sa.reqid, 1 + (i % 1000));
  }
  assert.equal((await kernel.dump("esp", { reqid: 5 })).length, N / 1000);
  let soft = 0;
  let hard = 0;
  kernel.on("expire", (e) => (e.kind === "soft" ? soft++ : hard++));
  clock.advance(3000_000);
  assert.equal(soft, N / 2);
  clock.advance(100_000);
  assert.equal(soft, N);
  assert.equal(hard, 0);
  clock.advance(500_000);
  assert.equal(hard, N);
  assert.equal(kernel.size, 0);
  assert.equal(clock.timerCount, 0);
  await kernel.close();
});
