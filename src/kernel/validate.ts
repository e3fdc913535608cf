/**
 * Checks an ADD/UPDATE request the way a PF_KEY kernel does before touching the SADB (RFC 2367
 * §3.1.3/§3.1.2: EINVAL for inconsistent extensions), and resolves optional fields to their
 * defaults. Addresses come out canonical so indexes agree on them.
 */
import {
  AUTH_ALGORITHMS,
  AuthAlg,
  COMPRESS_ALGORITHMS,
  ENCRYPT_ALGORITHMS,
  EncAlg,
  SA_PROTOS,
  findAlgorithm,
  isCombinedMode,
  keySizeAccepted,
  type SaProto,
} from "./algorithms.js";
import { addressFamily, canonicalAddress, formatPrefix, parsePrefix } from "./address.js";
import { kernelError } from "./errors.js";
import type { EncapPorts, Lifetime, LifetimesSpec, SaMode, SaSpec, TrafficSelector, UdpEncap } from "./kernel.js";

/** An SA request with every field present and checked (keys are checked, not copied). */
export interface ResolvedSa {
  src: string;
  dst: string;
  proto: SaProto;
  spi: number;
  mode: SaMode;
  reqid: number;
  pairSpi: number;
  encAlg: number;
  authAlg: number;
  compAlg: number;
  replayWindow: number;
  /** Frozen, possibly shared with other SAs (checkLifetimes): replace, never change in place. */
  hard: Readonly<Lifetime>;
  soft: Readonly<Lifetime>;
  encap: UdpEncap | null;
  selector: TrafficSelector | null;
  kmCookie: number;
  label: string;
  seq: number;
}

const U32 = 0xffffffff;

const isU = (v: unknown, max: number): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= max;

/** Fails with EINVAL unless `v` is an integer in 0..max (or absent, then 0). */
function uint(v: unknown, max: number, what: string): number {
  if (v === undefined) return 0;
  if (!isU(v, max)) throw kernelError("IKE_ERR_KERNEL_EINVAL", `${what} must be an integer in 0..${max}`);
  return v;
}

/** Canonical address text, or EINVAL naming the field. */
export function checkAddress(v: unknown, what: string): string {
  const a = typeof v === "string" ? canonicalAddress(v) : null;
  if (a === null) throw kernelError("IKE_ERR_KERNEL_EINVAL", `${what} is not an IP address`);
  return a;
}

/** Checks an SA protocol name. */
/** An optional port (absent: 0, any port) in 0..65535. */
export function checkPort(v: unknown): number {
  if (v === undefined) return 0;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0xffff) throw kernelError("IKE_ERR_KERNEL_EINVAL", "port must be in 0..65535");
  return v;
}

/** An SPI as error messages show it: `0x` and eight hex digits. */
export function spiText(spi: number): string {
  return `0x${spi.toString(16).padStart(8, "0")}`;
}

export function checkProto(v: unknown): SaProto {
  if (typeof v !== "string" || !(SA_PROTOS as readonly string[]).includes(v)) throw kernelError("IKE_ERR_KERNEL_EINVAL", "unknown SA type");
  return v as SaProto;
}

/** Lowest and highest SPI (CPI for IPCOMP) a protocol allows; 0..255 are reserved (RFC 4303 §2.1). */
export function spiBounds(proto: SaProto): { min: number; max: number } {
  return { min: 256, max: proto === "ipcomp" ? 0xffff : U32 };
}

/** Checks an SPI for `proto`. */
export function checkSpi(proto: SaProto, spi: unknown): number {
  const b = spiBounds(proto);
  if (!isU(spi, b.max) || spi < b.min) throw kernelError("IKE_ERR_KERNEL_EINVAL", `SPI must be in ${b.min}..${b.max} for ${proto}`);
  return spi;
}

function lifetime(v: Partial<Lifetime> | undefined, which: string): Lifetime {
  const max = Number.MAX_SAFE_INTEGER;
  return {
    allocations: uint(v?.allocations, U32, `${which} allocations`),
    bytes: uint(v?.bytes, max, `${which} bytes`),
    addSeconds: uint(v?.addSeconds, max, `${which} addSeconds`),
    useSeconds: uint(v?.useSeconds, max, `${which} useSeconds`),
    idleSeconds: uint(v?.idleSeconds, max, `${which} idleSeconds`),
  };
}

/**
 * Resolved lifetimes, frozen and shared: a gateway's SAs have a handful of distinct lifetimes, and
 * the in-memory SADB keeps two per SA (~64 bytes each). Bounded: once full, new values are not
 * interned (still frozen, so no caller can change one SA's lifetime through another's).
 */
const internedLifetimes = new Map<string, Lifetime>();
const MAX_INTERNED_LIFETIMES = 256;

function intern(l: Lifetime): Lifetime {
  const key = `${l.allocations} ${l.bytes} ${l.addSeconds} ${l.useSeconds} ${l.idleSeconds}`;
  const known = internedLifetimes.get(key);
  if (known !== undefined) return known;
  Object.freeze(l);
  if (internedLifetimes.size < MAX_INTERNED_LIFETIMES) internedLifetimes.set(key, l);
  return l;
}

/**
 * Resolves lifetimes; a soft limit above its hard limit is EINVAL (it could never fire first). The
 * objects returned are frozen and may be shared with other SAs.
 */
export function checkLifetimes(spec: LifetimesSpec | undefined): { hard: Readonly<Lifetime>; soft: Readonly<Lifetime> } {
  const hard = lifetime(spec?.hard, "hard");
  const soft = lifetime(spec?.soft, "soft");
  for (const k of ["allocations", "bytes", "addSeconds", "useSeconds", "idleSeconds"] as const) {
    if (hard[k] !== 0 && soft[k] > hard[k]) throw kernelError("IKE_ERR_KERNEL_EINVAL", `soft ${k} exceeds hard ${k}`);
  }
  return { hard: intern(hard), soft: intern(soft) };
}

function checkKey(key: unknown, bits: (b: number) => boolean, what: string): void {
  if (key === undefined) {
    if (!bits(0)) throw kernelError("IKE_ERR_KERNEL_EINVAL", `${what} key missing`);
    return;
  }
  // A Uint8Array is accepted too: that is what a Buffer becomes after structured clone.
  if (!(key instanceof Uint8Array)) throw kernelError("IKE_ERR_KERNEL_EINVAL", `${what} key must be a Buffer`);
  if (!bits(key.length * 8)) throw kernelError("IKE_ERR_KERNEL_EINVAL", `${what} key of ${key.length * 8} bits not accepted`);
}

function checkAlgorithms(spec: SaSpec): { encAlg: number; authAlg: number; compAlg: number } {
  const encAlg = uint(spec.encAlg, 255, "encAlg");
  const authAlg = uint(spec.authAlg, 255, "authAlg");
  const compAlg = uint(spec.compAlg, 255, "compAlg");
  const noKeys = (what: string, key: unknown): void => {
    if (key !== undefined) throw kernelError("IKE_ERR_KERNEL_EINVAL", `${what} key without ${what} algorithm`);
  };
  if (spec.proto === "ipcomp") {
    if (encAlg !== 0 || authAlg !== 0) throw kernelError("IKE_ERR_KERNEL_EINVAL", "IPCOMP SA with cipher or MAC");
    noKeys("encryption", spec.encKey);
    noKeys("authentication", spec.authKey);
    if (findAlgorithm(COMPRESS_ALGORITHMS, compAlg) === undefined) throw kernelError("IKE_ERR_KERNEL_EPROTONOSUPPORT", `compression algorithm ${compAlg}`);
    return { encAlg, authAlg, compAlg };
  }
  if (compAlg !== 0) throw kernelError("IKE_ERR_KERNEL_EINVAL", "compression on a non-IPCOMP SA");
  if (spec.proto === "ah") {
    if (encAlg !== EncAlg.None) throw kernelError("IKE_ERR_KERNEL_EINVAL", "AH SA with a cipher");
    noKeys("encryption", spec.encKey);
    if (authAlg === AuthAlg.None) throw kernelError("IKE_ERR_KERNEL_EINVAL", "AH SA without authentication algorithm");
  } else {
    if (encAlg === EncAlg.None) throw kernelError("IKE_ERR_KERNEL_EINVAL", "ESP SA without encryption algorithm (use null)");
    const enc = findAlgorithm(ENCRYPT_ALGORITHMS, encAlg);
    if (enc === undefined) throw kernelError("IKE_ERR_KERNEL_EPROTONOSUPPORT", `encryption algorithm ${encAlg}`);
    checkKey(spec.encKey, (b) => keySizeAccepted(enc, b), "encryption");
    if (isCombinedMode(encAlg) && authAlg !== AuthAlg.None) throw kernelError("IKE_ERR_KERNEL_EINVAL", "combined-mode cipher with a separate MAC");
    // RFC 4303 §3.2: ESP with neither confidentiality nor integrity is not allowed.
    if (encAlg === EncAlg.Null && authAlg === AuthAlg.None) throw kernelError("IKE_ERR_KERNEL_EINVAL", "ESP with null encryption needs authentication");
  }
  if (authAlg === AuthAlg.None) {
    noKeys("authentication", spec.authKey);
  } else {
    const auth = findAlgorithm(AUTH_ALGORITHMS, authAlg);
    if (auth === undefined) throw kernelError("IKE_ERR_KERNEL_EPROTONOSUPPORT", `authentication algorithm ${authAlg}`);
    checkKey(spec.authKey, (b) => keySizeAccepted(auth, b), "authentication");
  }
  return { encAlg, authAlg, compAlg };
}

/** Checks UDP encapsulation ports (1..65535 each); returns a copy of just the two. */
export function checkEncapPorts(v: EncapPorts | undefined): EncapPorts {
  if (v === undefined || v === null || !isU(v.sport, 0xffff) || v.sport === 0 || !isU(v.dport, 0xffff) || v.dport === 0) {
    throw kernelError("IKE_ERR_KERNEL_EINVAL", "encapsulation ports must be 1..65535");
  }
  return { sport: v.sport, dport: v.dport };
}

function checkEncap(v: UdpEncap | undefined, proto: SaProto): UdpEncap | null {
  if (v === undefined) return null;
  if (proto !== "esp") throw kernelError("IKE_ERR_KERNEL_EINVAL", "UDP encapsulation is for ESP only");
  const out: UdpEncap = checkEncapPorts(v);
  if (v.originalSrc !== undefined) out.originalSrc = checkAddress(v.originalSrc, "NAT-OA source");
  if (v.originalDst !== undefined) out.originalDst = checkAddress(v.originalDst, "NAT-OA destination");
  return out;
}

/** Checks a selector and returns it with canonical prefixes. */
export function checkSelector(v: TrafficSelector | undefined): TrafficSelector | null {
  if (v === undefined) return null;
  const src = typeof v.src === "string" ? parsePrefix(v.src) : null;
  const dst = typeof v.dst === "string" ? parsePrefix(v.dst) : null;
  if (src === null || dst === null) throw kernelError("IKE_ERR_KERNEL_EINVAL", "selector prefix is not an address/length");
  if (src.family !== dst.family) throw kernelError("IKE_ERR_KERNEL_EINVAL", "selector mixes address families");
  return {
    src: formatPrefix(src),
    dst: formatPrefix(dst),
    ulp: uint(v.ulp, 255, "selector ulp"),
    srcPort: uint(v.srcPort, 0xffff, "selector srcPort"),
    dstPort: uint(v.dstPort, 0xffff, "selector dstPort"),
  };
}

/** Checks and resolves an ADD/UPDATE request. Throws `KernelError` (EINVAL / EPROTONOSUPPORT). */
export function resolveSa(spec: SaSpec): ResolvedSa {
  if (typeof spec !== "object" || spec === null) throw kernelError("IKE_ERR_KERNEL_EINVAL", "SA request is not an object");
  const proto = checkProto(spec.proto);
  const src = checkAddress(spec.src, "source");
  const dst = checkAddress(spec.dst, "destination");
  if (addressFamily(src) !== addressFamily(dst)) throw kernelError("IKE_ERR_KERNEL_EINVAL", "source and destination families differ");
  const spi = checkSpi(proto, spec.spi);
  if (spec.mode !== "transport" && spec.mode !== "tunnel") throw kernelError("IKE_ERR_KERNEL_EINVAL", "mode must be transport or tunnel");
  const algs = checkAlgorithms(spec);
  const { hard, soft } = checkLifetimes(spec.lifetimes);
  if (spec.label !== undefined && (typeof spec.label !== "string" || spec.label.length > 255)) throw kernelError("IKE_ERR_KERNEL_EINVAL", "label must be a string of at most 255 characters");
  // Every field named in the literal (no spread), so V8 keeps them all inside the object.
  return {
    src,
    dst,
    proto,
    spi,
    mode: spec.mode,
    reqid: uint(spec.reqid, U32, "reqid"),
    pairSpi: uint(spec.pairSpi, U32, "pairSpi"),
    encAlg: algs.encAlg,
    authAlg: algs.authAlg,
    compAlg: algs.compAlg,
    replayWindow: uint(spec.replayWindow, 255, "replayWindow"),
    hard,
    soft,
    encap: checkEncap(spec.encap, proto),
    selector: checkSelector(spec.selector),
    kmCookie: uint(spec.kmCookie, U32, "kmCookie"),
    label: spec.label ?? "",
    seq: uint(spec.seq, U32, "seq"),
  };
}
