/**
 * Traffic over SAs and policies installed through a backend, both sides keyed by the test: every
 * ESP cipher and MAC the daemon negotiates (and the kernel's other mapped ones), AH with every MAC,
 * transport and tunnel mode, IPv4 and IPv6, and UDP-encapsulated ESP (NAT-T). Each ping must be
 * answered, every SA's packet counter must rise, and a capture on the veth must see only ESP (AH, or
 * ESP-in-UDP) between the hosts.
 */
import assert from "node:assert/strict";
import { closeSync } from "node:fs";
import { loadNative } from "../../../../native/index.js";
import { AuthAlg, EncAlg } from "../../../../src/kernel/algorithms.js";
import type { KernelKind, RealKernel } from "../../../../src/kernel/open.js";
import { onlyProto, packets, ping, protect, sniff, withKernels, type PairSpec, type Side } from "../world.js";
import type { GuestCase } from "./index.js";

const MACS = [AuthAlg.HmacMd5, AuthAlg.HmacSha1, AuthAlg.HmacSha256, AuthAlg.HmacSha384, AuthAlg.HmacSha512, AuthAlg.AesXcbcMac];

/** Ciphers with key sizes: the ESP transforms in.iked negotiates, then the rest the backends map. */
const CIPHERS: Array<{ enc: number; bits: number; aead?: boolean }> = [
  { enc: EncAlg.DesCbc, bits: 64 },
  { enc: EncAlg.TripleDesCbc, bits: 192 },
  { enc: EncAlg.BlowfishCbc, bits: 128 },
  { enc: EncAlg.BlowfishCbc, bits: 448 },
  { enc: EncAlg.Null, bits: 0 },
  { enc: EncAlg.AesCbc, bits: 128 },
  { enc: EncAlg.AesCbc, bits: 192 },
  { enc: EncAlg.AesCbc, bits: 256 },
  { enc: EncAlg.AesCtr, bits: 160 },
  { enc: EncAlg.AesGcm16, bits: 288, aead: true },
];

let nextSpi = 0x2000;
const spis = (): [number, number] => [nextSpi++, nextSpi++];

/** Protects the pair, pings, checks all four SA counters, removes the SAs. */
async function exchange(l: RealKernel, r: RealKernel, left: Side, right: Side, p: PairSpec, to: string, source?: string): Promise<void> {
  const sas = await protect(l, r, left, right, p);
  assert.ok(await ping(left, to, source !== undefined ? { source } : {}), `ping ${to} over ${JSON.stringify({ ...p, lifetimes: undefined })}`);
  for (const k of [l, r]) for (const sa of sas) assert.ok((await packets(k, sa)) >= 1, `SA ${sa.spi.toString(16)} counted no packet`);
  for (const k of [l, r]) for (const sa of sas) await k.delete(sa.src, sa.dst, sa.proto, sa.spi);
}

function cipherCase(kind: KernelKind): GuestCase {
  return {
    name: `${kind}: ESP transport IPv4 with every cipher and MAC; the veth carries only ESP`,
    run: () =>
      withKernels(kind, async (l, r, left, right) => {
        let i = 0;
        let first = true;
        for (const c of CIPHERS) {
          const base: PairSpec = { proto: "esp", mode: "transport", family: 4, encAlg: c.enc, encBits: c.bits, authAlg: c.aead === true ? 0 : MACS[i++ % MACS.length]!, spis: spis() };
          if (kind === "pfkey" && c.aead === true) {
            await assert.rejects(protect(l, r, left, right, base), { code: "IKE_ERR_KERNEL_EPROTONOSUPPORT" }, "PF_KEY has no AEAD");
            continue;
          }
          if (first) {
            first = false;
            const seen = await sniff(() => exchange(l, r, left, right, base, right.v4));
            onlyProto(seen, "50");
          } else {
            await exchange(l, r, left, right, base, right.v4);
          }
        }
        // The MACs the cipher rotation did not reach with each one.
        for (const mac of MACS) await exchange(l, r, left, right, { proto: "esp", mode: "transport", family: 4, encAlg: EncAlg.AesCbc, encBits: 128, authAlg: mac, spis: spis() }, right.v4);
      }),
  };
}

function ahCase(kind: KernelKind): GuestCase {
  return {
    name: `${kind}: AH transport IPv4 and IPv6 with every MAC; the veth carries only AH`,
    run: () =>
      withKernels(kind, async (l, r, left, right) => {
        for (const [n, mac] of MACS.entries()) {
          const p: PairSpec = { proto: "ah", mode: "transport", family: n % 2 === 0 ? 4 : 6, authAlg: mac, spis: spis() };
          const to = p.family === 4 ? right.v4 : right.v6;
          if (n === 0) {
            const seen = await sniff(() => exchange(l, r, left, right, p, to));
            onlyProto(seen, "51");
          } else {
            await exchange(l, r, left, right, p, to);
          }
        }
      }),
  };
}

function modeCase(kind: KernelKind): GuestCase {
  return {
    name: `${kind}: ESP tunnel IPv4 (198.51.100.0/24-203.0.113.0/24), transport and tunnel IPv6`,
    run: () =>
      withKernels(kind, async (l, r, left, right) => {
        const esp = { proto: "esp" as const, encAlg: EncAlg.AesCbc, encBits: 256, authAlg: AuthAlg.HmacSha256 };
        const seen = await sniff(() => exchange(l, r, left, right, { ...esp, mode: "tunnel", family: 4, spis: spis() }, right.inner4, left.inner4));
        onlyProto(seen, "50");
        const seen6 = await sniff(() => exchange(l, r, left, right, { ...esp, mode: "transport", family: 6, spis: spis() }, right.v6));
        onlyProto(seen6, "50", 2, ["nd"]);
        await exchange(l, r, left, right, { ...esp, mode: "tunnel", family: 6, spis: spis() }, right.inner6, left.inner6);
      }),
  };
}

function nattCase(kind: KernelKind): GuestCase {
  return {
    name: `${kind}: ESP in UDP 4500 (NAT-T encapsulation), tunnel mode`,
    run: () =>
      withKernels(kind, async (l, r, left, right) => {
        const native = loadNative();
        // Each side listens on 4500 with UDP_ENCAP_ESPINUDP, as an IKE daemon's NAT-T socket does.
        const fds = [left, right].map((s) => native.udpSocket(4, s.v4, 4500, { espInUdp: true, netns: s.ns.path }));
        try {
          const p: PairSpec = { proto: "esp", mode: "tunnel", family: 4, encAlg: EncAlg.AesCbc, encBits: 128, authAlg: AuthAlg.HmacSha1, spis: spis(), encap: { sport: 4500, dport: 4500 } };
          const seen = await sniff(() => exchange(l, r, left, right, p, right.inner4, left.inner4));
          onlyProto(seen, "17");
        } finally {
          for (const fd of fds) closeSync(fd);
        }
      }),
  };
}

/** The traffic cases of one backend. */
export function trafficCases(kind: KernelKind): GuestCase[] {
  return [cipherCase(kind), ahCase(kind), modeCase(kind), nattCase(kind)];
}
