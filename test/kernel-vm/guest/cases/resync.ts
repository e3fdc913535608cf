/**
 * The resync after lost events (src/kernel/resync.ts) against a real kernel's dump, through each
 * backend: a pair of which someone else deleted a half while nobody listened is handed to the
 * DELETE path; an SA whose soft byte lifetime the traffic passed while nobody listened is handed to
 * the soft EXPIRE path, read from the kernel's own counters (XFRM curlft/lft, PF_KEY's current and
 * soft lifetime extensions); a pair that is whole and under its limits is left alone.
 */
import assert from "node:assert/strict";
import { AuthAlg, EncAlg } from "../../../../src/kernel/algorithms.js";
import type { DeleteEvent, ExpireEvent } from "../../../../src/kernel/kernel.js";
import type { KernelKind } from "../../../../src/kernel/open.js";
import { KernelResync, type HeldPair } from "../../../../src/kernel/resync.js";
import type { SaSpec } from "../../../../src/kernel/kernel.js";
import { pairSas, ping, protect, withKernels } from "../world.js";
import type { GuestCase } from "./index.js";

const esp = { proto: "esp" as const, mode: "transport" as const, family: 4 as const, encAlg: EncAlg.AesCbc, encBits: 128, authAlg: AuthAlg.HmacSha1 };
const held = ([out, back]: [SaSpec, SaSpec]): HeldPair => ({ proto: "esp", outbound: { src: out.src, dst: out.dst, spi: out.spi }, inbound: { src: back.src, dst: back.dst, spi: back.spi } });

function resyncCase(kind: KernelKind): GuestCase {
  return {
    name: `${kind}: a resync finds the pair whose DELETE went unheard and the SA whose soft EXPIRE did`,
    run: () =>
      withKernels(kind, async (l, r, left, right) => {
        const busy = await protect(l, r, left, right, { ...esp, spis: [0x6001, 0x6002], lifetimes: { soft: { bytes: 2500 }, hard: { bytes: 1 << 24 } } });
        const quiet = pairSas(left, right, { ...esp, family: 6, spis: [0x6003, 0x6004] });
        const gone = pairSas(left, right, { ...esp, family: 6, spis: [0x6005, 0x6006] });
        for (const sa of [...quiet, ...gone]) await l.add(sa);
        // Nobody listens to `l` (its events are "lost"): someone else deletes a half of `gone`, and
        // pings carry `busy` past its soft byte limit.
        await left.ns.ip("xfrm", "state", "delete", "src", gone[1].src, "dst", gone[1].dst, "proto", "esp", "spi", String(gone[1].spi));
        for (let i = 0; i < 4; i++) assert.ok(await ping(left, right.v4, { size: 1000 }), "the protected ping");
        const removed: DeleteEvent[] = [];
        const soft: ExpireEvent[] = [];
        const table = [held(busy), held(quiet), held(gone)];
        const resync = new KernelResync({ kernel: l, held: () => table, removed: (ev) => (removed.push(ev), 1), softExpired: (ev) => (soft.push(ev), true) });
        resync.request("overrun");
        await resync.idle();
        assert.deepEqual(removed, [{ type: "delete", src: gone[1].src, dst: gone[1].dst, proto: "esp", spi: gone[1].spi }]);
        const softSpis = soft.map((e) => [e.sa.spi, e.reason]);
        assert.ok(softSpis.some(([spi, reason]) => spi === busy[0].spi && reason === "bytes"), `the busy outbound SA past its soft bytes: ${JSON.stringify(softSpis)}`);
        assert.ok(soft.every((e) => e.sa.spi === busy[0].spi || e.sa.spi === busy[1].spi), "nothing else");
      }),
  };
}

export function resyncCases(kind: KernelKind): GuestCase[] {
  return [resyncCase(kind)];
}
