/**
 * A test host for the IKE engine on real UDP sockets: the engine, a {@link UdpTransport} bound to
 * one loopback address and port, the in-memory SADB as its kernel, and the policy parsed from
 * ike.config / ike.preshared / ipsecinit.conf text. Interop and hostile-peer tests use it to put
 * our engine across the wire from strongSwan, Libreswan or a hand-made attacker.
 *
 * The host records every engine event, so a test can wait for "the second Quick Mode is up" or
 * assert "nothing failed" without racing the event emitter, and it compares our SADB with the
 * SAs a harness peer logged in its `xfrm.log`.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { IkeEngine, type EngineOptions } from "../../src/ike/engine.js";
import type { IsakmpSa } from "../../src/ike/isakmp-sa.js";
import type { Phase1Result } from "../../src/ike/phase1/main-mode.js";
import type { QuickModeRequest, QuickModeResult } from "../../src/ike/phase2/quick-mode.js";
import type { DhPort, Phase1Policy } from "../../src/ike/ports.js";
import { inlineDh } from "./dh.js";
import type { Endpoint } from "../../src/ike/transport.js";
import type { ExpireEvent, SaInfo } from "../../src/kernel/kernel.js";
import { MemoryKernel } from "../../src/kernel/memory.js";
import { UdpTransport } from "../../src/net/udp-transport.js";
import { selectForAcquire, type IpsecPolicy } from "../../src/policy/index.js";
import { ipsecFrom, policyFrom } from "../exchange/harness.js";
import { parseKv, type Kv } from "./interop.js";
import { WAIT_MS } from "./wait.js";

/** Options of {@link EngineHost.open}. */
export interface EngineHostOptions {
  /** Loopback address to bind. */
  readonly address: string;
  /** IKE port; no NAT-T socket is bound. */
  readonly port: number;
  /** ike.config text. */
  readonly ikeConfig: string;
  /** ike.preshared text. */
  readonly preshared: string;
  /** ipsecinit.conf text (needed for Quick Mode in either role). */
  readonly ipsecinit?: string;
  /** DH port (default: inline, on this thread). */
  readonly dh?: DhPort;
  /** Extra engine options (retransmit policy, half-open limits ...). */
  readonly engine?: Partial<EngineOptions>;
}

/** Traffic between the networks behind two tunnel gateways: addresses, protocol, port. */
export interface InnerTraffic {
  readonly src: string;
  readonly dst: string;
  readonly ulp?: number;
  readonly dport?: number;
}

/** One recorded engine event. */
export type HostEvent =
  | { readonly kind: "phase1-up"; readonly sa: IsakmpSa; readonly result: Phase1Result }
  | { readonly kind: "phase1-failed"; readonly sa: IsakmpSa; readonly reason: string; readonly notify: number | undefined }
  | { readonly kind: "phase2-up"; readonly sa: IsakmpSa; readonly result: QuickModeResult }
  | { readonly kind: "phase2-failed"; readonly sa: IsakmpSa; readonly reason: string }
  | { readonly kind: "sa-dead"; readonly sa: IsakmpSa; readonly reason: string };

/** Our engine on a UDP socket with the in-memory SADB. Always {@link close} it. */
export class EngineHost {
  readonly events: HostEvent[] = [];
  private waiters: (() => void)[] = [];

  private constructor(
    readonly engine: IkeEngine,
    readonly transport: UdpTransport,
    readonly kernel: MemoryKernel,
    readonly policy: Phase1Policy,
    readonly ipsec: IpsecPolicy | undefined,
    readonly endpoint: Endpoint,
  ) {
    const rec = (e: HostEvent): void => {
      this.events.push(e);
      const w = this.waiters;
      this.waiters = [];
      for (const fn of w) fn();
    };
    engine.on("phase1-up", (sa, result) => rec({ kind: "phase1-up", sa, result }));
    engine.on("phase1-failed", (sa, reason, notify) => rec({ kind: "phase1-failed", sa, reason, notify }));
    engine.on("phase2-up", (sa, result) => rec({ kind: "phase2-up", sa, result }));
    engine.on("phase2-failed", (sa, reason) => rec({ kind: "phase2-failed", sa, reason }));
    engine.on("sa-dead", (sa, reason) => rec({ kind: "sa-dead", sa, reason }));
  }

  /** Bind the socket and build the engine. */
  static async open(o: EngineHostOptions): Promise<EngineHost> {
    const transport = await UdpTransport.open({ addresses: [o.address], port: o.port, nattPort: null });
    const policy = policyFrom(o.ikeConfig, o.preshared);
    const ipsec = o.ipsecinit === undefined ? undefined : ipsecFrom(o.ipsecinit);
    const kernel = new MemoryKernel();
    const engine = new IkeEngine({ transport, dh: o.dh ?? inlineDh, policy, kernel, ipsecPolicy: () => ipsec, ...o.engine });
    // As the daemon does: a soft EXPIRE of an SA we initiated makes the engine renegotiate it.
    kernel.on("expire", (ev: ExpireEvent) => engine.expire(ev));
    return new EngineHost(engine, transport, kernel, policy, ipsec, { address: o.address, port: o.port });
  }

  /** Events of one kind, in order. */
  of<K extends HostEvent["kind"]>(kind: K): Extract<HostEvent, { kind: K }>[] {
    return this.events.filter((e): e is Extract<HostEvent, { kind: K }> => e.kind === kind);
  }

  /**
   * Resolve once `n` events of `kind` have been recorded; reject at `ms` or as soon as a failure
   * that rules it out arrives: phase1-failed while waiting for phase1-up, phase1-failed or
   * phase2-failed while waiting for phase2-up.
   */
  waitFor(kind: "phase1-up" | "phase2-up" | "sa-dead", n = 1, ms = WAIT_MS): Promise<void> {
    const fatal: readonly HostEvent["kind"][] = kind === "phase2-up" ? ["phase1-failed", "phase2-failed"] : kind === "phase1-up" ? ["phase1-failed"] : [];
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`waited ${ms} ms for ${n} x ${kind}; events: ${this.describe()}`)), ms);
      const check = (): void => {
        const failure = this.events.find((e) => fatal.includes(e.kind));
        if (failure !== undefined) {
          clearTimeout(timer);
          reject(new Error(`engine failure while waiting for ${kind}: ${this.describe()}`));
        } else if (this.of(kind).length >= n) {
          clearTimeout(timer);
          resolve();
        } else {
          this.waiters.push(check);
        }
      };
      check();
    });
  }

  /** Resolve once `pred` holds after some event, or reject at `ms`. */
  waitUntil(pred: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`waited ${ms} ms for ${what}; events: ${this.describe()}`)), ms);
      const check = (): void => {
        if (pred()) {
          clearTimeout(timer);
          resolve();
        } else {
          this.waiters.push(check);
        }
      };
      check();
    });
  }

  /** One line per event, for assertion messages (no secrets: tags, reasons, notify numbers). */
  describe(): string {
    return this.events
      .map((e) => {
        switch (e.kind) {
          case "phase1-failed":
            return `${e.kind}(${e.reason}, notify ${e.notify})`;
          case "phase2-failed":
          case "sa-dead":
            return `${e.kind}(${e.reason})`;
          default:
            return e.kind;
        }
      })
      .join("; ");
  }

  /**
   * The Quick Mode request ipsecinit.conf gives for host-to-host traffic to `remote`, or, with
   * `inner`, for that traffic between the networks behind the gateways (what an ACQUIRE for it
   * would ask for in tunnel mode).
   */
  requestTo(remote: string, inner?: InnerTraffic): QuickModeRequest {
    assert.ok(this.ipsec, "host has no ipsecinit.conf");
    const traffic = inner === undefined
      ? { src: { address: this.endpoint.address, port: 0 }, dst: { address: remote, port: 0 }, ulp: 0 }
      : { src: { address: inner.src, port: 0 }, dst: { address: inner.dst, port: inner.dport ?? 0 }, ulp: inner.ulp ?? 0 };
    const sel = selectForAcquire(this.ipsec, traffic);
    if (sel.kind !== "ipsec") throw new Error(`ipsecinit.conf selects ${sel.kind} for ${JSON.stringify(traffic)}`);
    return { mode: sel.mode, proposals: sel.proposals, localId: sel.localId, remoteId: sel.remoteId };
  }

  /** Main Mode (if needed) and Quick Mode towards `remote` under the rule `label` (see requestTo). */
  negotiate(label: string, remote: Endpoint, inner?: InnerTraffic): IsakmpSa {
    const rule = this.policy.ruleByLabel(label);
    assert.ok(rule, `no rule ${label}`);
    return this.engine.negotiate(rule, this.endpoint, remote, this.requestTo(remote.address, inner));
  }

  /** Main Mode only towards `remote` under the rule `label`. */
  initiate(label: string, remote: Endpoint): IsakmpSa {
    const rule = this.policy.ruleByLabel(label);
    assert.ok(rule, `no rule ${label}`);
    return this.engine.initiate(rule, this.endpoint, remote);
  }

  /** Mature SAs in our SADB, with keys. */
  async matureSas(): Promise<SaInfo[]> {
    return (await this.kernel.dump(undefined, { includeKeys: true })).filter((s) => s.state === "mature");
  }

  /** Tear down the engine (no Deletes), the socket and the SADB. */
  async close(): Promise<void> {
    this.engine.close();
    await this.transport.close();
    await this.kernel.close();
  }
}

/**
 * The `add_sa` / `update_sa` lines of a harness peer's `xfrm.log` (strongSwan and Libreswan use the
 * same fake-XFRM shim), each parsed as key=value with `op` set.
 */
export function xfrmSas(xfrmLog: string): Kv[] {
  const out: Kv[] = [];
  for (const line of readFileSync(xfrmLog, "utf8").split("\n")) {
    const words = line.trim().split(/\s+/);
    const op = words[1];
    if (op !== "add_sa" && op !== "update_sa") continue;
    const kv = parseKv(line);
    kv.op = op;
    out.push(kv);
  }
  return out;
}

/** Key bytes as the shim logs them (`-` or absent when the SA has none). */
function logged(hex: string | undefined): string {
  return hex === undefined || hex === "-" ? "" : hex.toLowerCase();
}

/**
 * Every SA in `ours` (mature, with keys) was installed by the peer with the same addresses, SPI,
 * protocol and key bytes. Returns how many matched.
 */
export function assertSameSas(ours: readonly SaInfo[], theirs: readonly Kv[]): number {
  assert.ok(ours.length > 0, "our SADB holds no mature SA");
  for (const sa of ours) {
    const twin = theirs.find((t) => t.spi !== undefined && Number.parseInt(t.spi, 16) === sa.spi && t.src === sa.src && t.dst === sa.dst && t.proto === sa.proto);
    assert.ok(twin, `peer installed no ${sa.proto} SA ${sa.src}>${sa.dst} spi ${sa.spi.toString(16)}; peer has ${theirs.map((t) => `${t.proto}:${t.src}>${t.dst}:${t.spi}`).join(" ")}`);
    assert.equal(logged(twin.enc_key), sa.keys?.enc?.toString("hex") ?? "", `encryption key of spi ${sa.spi.toString(16)}`);
    assert.equal(logged(twin.auth_key), sa.keys?.auth?.toString("hex") ?? "", `authentication key of spi ${sa.spi.toString(16)}`);
  }
  return ours.length;
}
