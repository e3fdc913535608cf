import { test } from "node:test";
import assert from "node:assert/strict";
import { KernelError } from "../../src/errors.js";
import { ManualClock } from "../helpers/manual-clock.js";
import { KernelClient } from "../../src/kernel/client.js";
import type { ExpireEvent } from "../../src/kernel/kernel.js";
import { MemoryKernel } from "../../src/kernel/memory.js";
import { serveKernelRequest, unwrapKernelResponse, type KernelRequest } from "../../src/kernel/messages.js";
import { espSa } from "./helpers.js";

/** A client and a memory backend joined by structured clone, as across a worker or helper channel. */
function channel() {
  const clock = new ManualClock();
  const backend = new MemoryKernel({ clock });
  const sent: KernelRequest[] = [];
  const client = new KernelClient(async (req) => {
    const copy = structuredClone(req);
    sent.push(copy);
    return structuredClone(await serveKernelRequest(backend, copy));
  });
  backend.on("expire", (e) => client.deliver(structuredClone(e)));
  backend.on("acquire", (e) => client.deliver(structuredClone(e)));
  return { clock, backend, client, sent };
}

test("every Kernel call works through a structured-clone channel", async () => {
  const { client, backend, clock, sent } = channel();
  const reg = await client.register("esp");
  assert.ok(reg.encrypt.length > 0);
  const larval = await client.getSpi("192.0.2.2", "192.0.2.1", "esp", { min: 0x100, max: 0x1ff }, { reqid: 2 });
  assert.equal(larval.state, "larval");
  const mature = await client.update(espSa(larval.spi, { src: "192.0.2.2", dst: "192.0.2.1", reqid: 2, lifetimes: { hard: { addSeconds: 10 } } }));
  assert.equal(mature.state, "mature");
  await client.add(espSa(0x3000));
  const keyed = await client.get("192.0.2.1", "192.0.2.2", "esp", 0x3000, { includeKeys: true });
  assert.deepEqual(Buffer.from(keyed.keys!.enc!), Buffer.alloc(16, 0xa5));
  assert.equal((await client.dump("esp")).length, 2);
  assert.equal((await client.dump(undefined, { reqid: 2 })).length, 1);
  const expires: ExpireEvent[] = [];
  client.on("expire", (e) => expires.push(e));
  clock.advance(10_000);
  assert.deepEqual(expires.map((e) => [e.kind, e.sa.spi]), [["hard", larval.spi]]);
  await client.delete("192.0.2.1", "192.0.2.2", "esp", 0x3000);
  assert.equal(await client.flush(), 0);
  assert.deepEqual(sent.map((r) => r.op), ["register", "getSpi", "update", "add", "get", "dump", "dump", "delete", "flush"]);
  assert.deepEqual(new Set(sent.map((r) => r.id)).size, sent.length);
  await client.close();
  await backend.close();
});

test("errors cross the channel as their stable code", async () => {
  const { client, backend } = channel();
  await client.add(espSa(0x4000));
  await assert.rejects(client.add(espSa(0x4000)), (e: unknown) => e instanceof KernelError && e.code === "IKE_ERR_KERNEL_EEXIST");
  await assert.rejects(client.delete("192.0.2.1", "192.0.2.2", "esp", 0x4001), (e: unknown) => e instanceof KernelError && e.code === "IKE_ERR_KERNEL_ESRCH");
  await backend.close();
});

test("a malformed request is answered with EINVAL, never a throw, and leaks no key bytes", async () => {
  const backend = new MemoryKernel({ clock: new ManualClock() });
  const bogus = await serveKernelRequest(backend, { id: 9, op: "explode" } as unknown as KernelRequest);
  assert.deepEqual(bogus, { id: 9, ok: false, code: "IKE_ERR_KERNEL_EINVAL", message: "unknown kernel operation explode" });
  const badKey = await serveKernelRequest(backend, { id: 10, op: "add", sa: espSa(0x5000, { encKey: Buffer.from("secretsecretsec") }) });
  assert.equal(badKey.ok, false);
  assert.ok(!JSON.stringify(badKey).includes("secret"));
  const nothing = await serveKernelRequest(backend, { id: 11, op: "add", sa: null as never });
  assert.equal(nothing.ok === false && nothing.code, "IKE_ERR_KERNEL_EINVAL");
  assert.throws(() => unwrapKernelResponse("get", { id: 1, ok: true, op: "flush", result: 0 }), (e: unknown) => e instanceof KernelError && e.code === "IKE_ERR_KERNEL_EINVAL");
  await backend.close();
});

test("hostile request fields are refused as kernel errors, never internal failures", async () => {
  const backend = new MemoryKernel({ clock: new ManualClock() });
  const junk = [undefined, null, 1, -1, 2 ** 40, "x", "esp", "10.0.0.1", "::1", {}, [], Buffer.alloc(16), 0.5, NaN];
  const ops = ["getSpi", "update", "add", "delete", "get", "flush", "dump", "register"];
  let seed = 7;
  const pick = () => junk[(seed = (seed * 1103515245 + 12345) >>> 0) % junk.length];
  for (let i = 0; i < 4000; i++) {
    const sa = i % 2 === 0 ? pick() : { src: "10.0.0.1", dst: "10.0.0.2", proto: pick(), spi: 300 + (i % 50), mode: pick(), encAlg: pick(), encKey: pick(), authAlg: pick(), authKey: pick(), lifetimes: pick(), encap: pick(), selector: pick() };
    const req = { id: i, op: ops[i % ops.length], src: pick(), dst: pick(), proto: pick(), spi: pick(), range: pick(), options: pick(), sa } as unknown as KernelRequest;
    const res = await serveKernelRequest(backend, req);
    assert.ok(res.ok || res.message !== "kernel request failed", JSON.stringify(req));
  }
  await backend.close();
});
