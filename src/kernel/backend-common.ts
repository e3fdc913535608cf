/**
 * What the two real-kernel backends (XFRM, PF_KEY) do alike around the kernel calls themselves:
 * check GETSPI arguments as the in-memory SADB does, refuse key changes on a mature SA, lay the
 * remembered per-SA facts over what the kernel reports, and publish events.
 */
import type { EventEmitter } from "node:events";
import type { Logger } from "../log/logger.js";
import { AUTH_ALGORITHMS, COMPRESS_ALGORITHMS, ENCRYPT_ALGORITHMS, type AlgorithmInfo, type SaProto, type SupportedAlgorithms } from "./algorithms.js";
import { addressFamily } from "./address.js";
import { kernelAcquire, kernelExpire } from "./channels.js";
import { KernelError } from "../errors.js";
import { kernelError } from "./errors.js";
import type { EncapPorts, EncapUpdate, GetSpiOptions, KernelEvent, KeyOptions, LostEvent, SaInfo, SaMode, SaSpec, SpiRange } from "./kernel.js";
import type { SaMeta, SaMetaTable } from "./sa-meta.js";
import type { KernelDecodeError, Result } from "./wire/decode-error.js";
import { checkAddress, checkEncapPorts, checkProto, resolveSa, spiBounds, spiText, type ResolvedSa } from "./validate.js";

/** Checked GETSPI arguments. */
export interface GetSpiArgs {
  proto: SaProto;
  src: string;
  dst: string;
  min: number;
  max: number;
  mode: SaMode;
  reqid: number;
  seq: number;
}

const u32 = (v: unknown): number => (typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 0xffffffff ? v : 0);

/** Checks GETSPI arguments; absent range bounds mean the protocol's whole range. Throws EINVAL. */
export function checkGetSpi(src: string, dst: string, proto: SaProto, range?: SpiRange, options?: GetSpiOptions): GetSpiArgs {
  const p = checkProto(proto);
  const s = checkAddress(src, "source");
  const d = checkAddress(dst, "destination");
  if (addressFamily(s) !== addressFamily(d)) throw kernelError("IKE_ERR_KERNEL_EINVAL", "source and destination families differ");
  const bounds = spiBounds(p);
  const min = Math.max(range?.min ?? bounds.min, bounds.min);
  const max = Math.min(range?.max ?? bounds.max, bounds.max);
  if (!Number.isInteger(min) || !Number.isInteger(max) || min > max) throw kernelError("IKE_ERR_KERNEL_EINVAL", `empty SPI range for ${p}`);
  return { proto: p, src: s, dst: d, min, max, mode: options?.mode === "tunnel" ? "tunnel" : "transport", reqid: u32(options?.reqid), seq: u32(options?.seq) };
}

/** RFC 2367 §3.1.2, as the in-memory SADB: an UPDATE of a mature SA may change lifetimes, not keys. */
export function checkUpdateOfMature(known: SaMeta | undefined, spec: SaSpec): void {
  if (known !== undefined && !known.larval && (spec.encKey !== undefined || spec.authKey !== undefined)) {
    throw kernelError("IKE_ERR_KERNEL_EINVAL", "UPDATE of a mature SA cannot change keys");
  }
}

/**
 * The UPDATE that moves a mature SA's UDP encapsulation to new `ports` (a NAT rebinding), for the
 * real kernels. Linux builds a whole state from an UPDATE, keys and algorithms included, and then
 * copies only its encapsulation and lifetimes into the mature SA (xfrm_state_update, for XFRM and
 * PF_KEY alike): so the request repeats what GET reported (`current`, read with its keys) with the
 * new ports. The spec's keys are `current`'s copies: the caller wipes them. No ACQUIRE is answered.
 */
export function encapUpdateSpec(current: SaInfo, ports: EncapPorts): SaSpec {
  const what = `${current.proto} SA ${spiText(current.spi)}`;
  // A dead SA is on its way out of the kernel: gone, as one it no longer holds.
  if (current.state === "dead") throw kernelError("IKE_ERR_KERNEL_ESRCH", `${what} is dead`);
  if (current.state === "larval") throw kernelError("IKE_ERR_KERNEL_EINVAL", `${what} is not mature`);
  if (current.encap === null) throw kernelError("IKE_ERR_KERNEL_EINVAL", `${what} has no UDP encapsulation to update`);
  const spec: SaSpec = {
    src: current.src,
    dst: current.dst,
    proto: current.proto,
    spi: current.spi,
    mode: current.mode,
    reqid: current.reqid,
    replayWindow: current.replayWindow,
    encAlg: current.encAlg,
    authAlg: current.authAlg,
    compAlg: current.compAlg,
    lifetimes: { hard: current.hard, soft: current.soft },
    encap: { ...current.encap, sport: ports.sport, dport: ports.dport },
    seq: 0,
  };
  if (current.keys?.enc != null) spec.encKey = current.keys.enc;
  if (current.keys?.auth != null) spec.authKey = current.keys.auth;
  if (current.selector !== null) spec.selector = current.selector;
  return spec;
}

/**
 * `updateEncap`'s answer in every backend: what `run` (the update) resolves, `gone` where the kernel
 * holds no such SA (ESRCH; the backends map ENOENT to it too), any other refusal rejected.
 */
export async function encapUpdate(run: () => Promise<SaInfo>): Promise<EncapUpdate> {
  try {
    return { kind: "updated", sa: await run() };
  } catch (err) {
    if (err instanceof KernelError && err.code === "IKE_ERR_KERNEL_ESRCH") return { kind: "gone" };
    throw err;
  }
}

/**
 * A real kernel's `updateEncap`: GET with keys, the UPDATE {@link encapUpdateSpec} makes handed to
 * `send` (the backend's encoding and request), the key copies wiped whatever happens. Answers the
 * SA as GET reported it, with the new ports; `gone` when GET or the UPDATE finds no such SA (it
 * expired or was deleted between the two, or before).
 */
export async function updateEncapVia(
  get: (options: KeyOptions) => Promise<SaInfo>,
  ports: EncapPorts,
  send: (sa: ResolvedSa, spec: SaSpec) => Promise<void>,
): Promise<EncapUpdate> {
  const p = checkEncapPorts(ports);
  return encapUpdate(() => sendEncapUpdate(get, p, send));
}

async function sendEncapUpdate(get: (options: KeyOptions) => Promise<SaInfo>, p: EncapPorts, send: (sa: ResolvedSa, spec: SaSpec) => Promise<void>): Promise<SaInfo> {
  const current = await get({ includeKeys: true });
  try {
    const spec = encapUpdateSpec(current, p);
    const sa = resolveSa(spec);
    await send(sa, spec);
    const { keys: _keys, ...rest } = current;
    return { ...rest, encap: sa.encap };
  } finally {
    current.keys?.enc?.fill(0);
    current.keys?.auth?.fill(0);
  }
}

/**
 * Linux keeps no idle lifetime (illumos SADB_X_EXT_LIFETIME_IDLE, ike.config p2_idletime_secs), through
 * XFRM or PF_KEY: an SA asking for one is installed without it, and the backend says so once. The
 * engine enforces it instead, from the SAs' counters (src/ike/idle-sas.ts).
 */
export function noteIdleLifetime(sa: ResolvedSa, log: Logger | undefined, warned: { idle: boolean }): void {
  if (warned.idle || (sa.hard.idleSeconds === 0 && sa.soft.idleSeconds === 0)) return;
  warned.idle = true;
  log?.info("idle lifetimes are not kept by the Linux kernel: installed without them (the daemon deletes idle SAs itself)", { proto: sa.proto, spi: spiText(sa.spi) });
}

/** Lays what the backend remembers (label, cookie, pair, dying) over an SA the kernel reported. */
export function withMeta(sa: SaInfo, meta: SaMetaTable): SaInfo {
  const m = meta.get(sa.proto, sa.spi, sa.dst);
  if (m === undefined) return sa;
  sa.label = m.label;
  sa.kmCookie = m.kmCookie;
  sa.pairSpi = m.pairSpi;
  if (sa.state === "mature" && m.dying) sa.state = "dying";
  return sa;
}

/** REGISTER's answer for a backend: the in-memory SADB's lists, narrowed to what `can` carry. */
export function supportedFor(proto: SaProto, can: { auth(a: AlgorithmInfo): boolean; enc(a: AlgorithmInfo): boolean; comp(a: AlgorithmInfo): boolean }): SupportedAlgorithms {
  return {
    proto,
    auth: proto === "ipcomp" ? [] : AUTH_ALGORITHMS.filter((a) => can.auth(a)),
    encrypt: proto === "esp" ? ENCRYPT_ALGORITHMS.filter((a) => can.enc(a)) : [],
    compress: proto === "ipcomp" ? COMPRESS_ALGORITHMS.filter((a) => can.comp(a)) : [],
  };
}

/** The values of decoded dump parts; a part that did not translate is logged and left out. */
export function keepDecoded<T>(parts: ReadonlyArray<Result<T, KernelDecodeError> | null>, log: Logger | undefined, what: string): T[] {
  const out: T[] = [];
  for (const r of parts) {
    if (r === null) continue;
    if (r.ok) out.push(r.value);
    else log?.debug("pfkey", `${what} left out of the dump`, { ...r.error });
  }
  return out;
}

/** Publishes an event on the diagnostics channels and to the backend's listeners, with a debug line. */
export function emitKernelEvent(emitter: EventEmitter, log: Logger | undefined, event: KernelEvent): void {
  if (log?.enabled("pfkey") === true) {
    const fields =
      event.type === "expire"
        ? { kind: event.kind, reason: event.reason, proto: event.sa.proto, spi: spiText(event.sa.spi), dst: event.sa.dst }
        : event.type === "acquire"
          ? { seq: event.seq, proto: event.proto, src: event.src.address, dst: event.dst.address, policy: event.policy.index }
          : { ...event };
    log.debug("pfkey", `kernel ${event.type}`, fields);
  }
  if (event.type === "acquire" && kernelAcquire.hasSubscribers) kernelAcquire.publish(event);
  if (event.type === "expire" && kernelExpire.hasSubscribers) kernelExpire.publish(event);
  emitter.emit(event.type, event);
}

/**
 * What an error from an event socket (kernel-socket.ts) means for the events: an overrun (ENOBUFS,
 * the kernel dropped notices), a message cut short or a failed socket lose events; a datagram from
 * a process rather than the kernel is dropped and loses nothing (null).
 */
export function lostEvent(err: Error | null): LostEvent | null {
  const code = (err as { code?: string } | null)?.code ?? "IKE_ERR_NATIVE_SOCKET";
  if (code === "IKE_ERR_NATIVE_FOREIGN_SENDER") return null;
  return { type: "lost", cause: code === "IKE_ERR_NATIVE_OVERRUN" ? "overrun" : "error", detail: `${code}: ${err?.message ?? "socket error"}` };
}
