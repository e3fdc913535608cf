/**
 * Handing a finished Quick Mode's SAs to the kernel (RFC 2409 section 5.5, RFC 2367 UPDATE/ADD).
 *
 * Per protocol two SAs: inbound (peer → us, the SPI we chose with GETSPI: UPDATE completes the
 * larval SA) and outbound (us → peer, the SPI the peer chose: ADD). Each is keyed with its own
 * KEYMAT, computed over its own SPI; the cipher key comes first, then the authentication key.
 * KEYMAT leaves secure memory only for the kernel call, and the copy is wiped right after.
 *
 * Every SA carries the daemon's reqid (IKED_REQID: the kernel pairs it with the daemon's policy
 * templates, and a restarted daemon finds what it left by it) and a 32-packet anti-replay window
 * (RFC 4303 section 3.4.3; 0 would turn the check off). All or nothing: when the kernel refuses one
 * SA (a missing algorithm, EINVAL), the SAs this call already installed are deleted again before the
 * error goes up, so no half of a pair stays behind.
 */
import { ProtocolId } from "../../codec/index.js";
import type { Phase1Keymat } from "../../crypto/keymat.js";
import type { SecureBuffer } from "../../crypto/secure.js";
import { AUTH_ALGORITHMS, ENCRYPT_ALGORITHMS, findAlgorithm } from "../../kernel/algorithms.js";
import { IKED_REQID, type Kernel, type SaMode, type SaSpec, type TrafficSelector } from "../../kernel/kernel.js";
import type { ClientId, Phase2Transform } from "../../policy/index.js";
import { kernelEncap } from "./nat-oa.js";

/** One negotiated protocol: its transform and the SPIs of its two SAs. */
export interface ChosenSa {
  readonly proto: "esp" | "ah";
  readonly transform: Phase2Transform;
  /** Ours (the peer sends with it). */
  readonly inboundSpi: number;
  /** The peer's (we send with it). */
  readonly outboundSpi: number;
  /** The traffic the pair carries, as the kernel picks SAs (traffic-key.ts). */
  readonly traffic: string;
}

/** Everything {@link installPair} needs. */
export interface InstallRequest {
  readonly kernel: Kernel;
  readonly keymat: Phase1Keymat;
  readonly local: string;
  readonly remote: string;
  readonly mode: SaMode;
  readonly chosen: readonly ChosenSa[];
  readonly nonceI: Buffer;
  readonly nonceR: Buffer;
  readonly gqmxy: SecureBuffer | undefined;
  readonly lifeSecs: number;
  readonly softSecs?: number;
  /** Hard byte lifetime in kilobytes (absent: none) and its soft one. */
  readonly lifeKb?: number;
  readonly softKb?: number;
  /** Idle lifetime in seconds (ike.config `p2_idletime_secs`; Linux kernels keep none). */
  readonly idleSecs?: number;
  readonly localId: ClientId;
  readonly remoteId: ClientId;
  readonly label: string;
  readonly seq?: number;
  /** ESP in UDP (NAT-T): our and the peer's NAT-T ports, the peer's original address (NAT-OA). */
  readonly encap?: { readonly local: number; readonly remote: number; readonly peerOriginal?: string };
  /** Which SAs of each pair to install (default both: the responder puts its inbound one first). */
  readonly directions?: ReadonlyArray<"in" | "out">;
}

/** Key lengths in bytes for one transform. */
export function keyLengths(proto: "esp" | "ah", t: Phase2Transform): { enc: number; auth: number } {
  const enc = proto === "esp" ? (t.encKeyBits || (findAlgorithm(ENCRYPT_ALGORITHMS, t.encAlg)?.minBits ?? 0)) / 8 : 0;
  const auth = t.authAlg === 0 ? 0 : (findAlgorithm(AUTH_ALGORITHMS, t.authAlg)?.maxBits ?? 0) / 8;
  return { enc, auth };
}

function selector(from: ClientId, to: ClientId): TrafficSelector {
  return { src: from.prefix, dst: to.prefix, ulp: from.ulp || to.ulp, srcPort: from.port, dstPort: to.port };
}

/** Anti-replay window of every SA, in packets (strongSwan's and Linux's usual 32). */
export const REPLAY_WINDOW = 32;

/**
 * Install the inbound and outbound SA (or those `directions` name) of every negotiated protocol; on
 * a refusal, delete the ones this call installed before it and rethrow.
 */
export async function installPair(r: InstallRequest): Promise<void> {
  const done: SaId[] = [];
  try {
    await installEach(r, done);
  } catch (err) {
    for (const s of done) {
      // Undo: an SA already gone (expired, removed by someone) needs nothing more.
      await r.kernel.delete(s.src, s.dst, s.proto, s.spi).catch(() => undefined);
    }
    throw err;
  }
}

type SaId = Pick<SaSpec, "src" | "dst" | "proto" | "spi">;

async function installEach(r: InstallRequest, done: SaId[]): Promise<void> {
  const soft = r.softSecs !== undefined && r.softSecs < r.lifeSecs ? r.softSecs : Math.floor(r.lifeSecs * 0.9);
  for (const c of r.chosen) {
    const len = keyLengths(c.proto, c.transform);
    const protocol = c.proto === "esp" ? ProtocolId.IPSEC_ESP : ProtocolId.IPSEC_AH;
    for (const dir of r.directions ?? (["in", "out"] as const)) {
      const spi = dir === "in" ? c.inboundSpi : c.outboundSpi;
      const km = r.keymat.keymat(protocol, spi, r.nonceI, r.nonceR, r.gqmxy, len.enc + len.auth);
      const bytes = km.use((b) => Buffer.from(b));
      km.destroy();
      try {
        const spec: SaSpec = {
          src: dir === "in" ? r.remote : r.local,
          dst: dir === "in" ? r.local : r.remote,
          proto: c.proto,
          spi,
          mode: r.mode,
          reqid: IKED_REQID,
          replayWindow: REPLAY_WINDOW,
          pairSpi: dir === "in" ? c.outboundSpi : c.inboundSpi,
          ...(c.proto === "esp" ? { encAlg: c.transform.encAlg, encKey: bytes.subarray(0, len.enc) } : {}),
          ...(c.transform.authAlg !== 0 ? { authAlg: c.transform.authAlg, authKey: bytes.subarray(len.enc, len.enc + len.auth) } : {}),
          lifetimes: {
            hard: { addSeconds: r.lifeSecs, ...(r.lifeKb !== undefined ? { bytes: r.lifeKb * 1024 } : {}), ...(r.idleSecs !== undefined ? { idleSeconds: r.idleSecs } : {}) },
            soft: { addSeconds: soft, ...(r.softKb !== undefined ? { bytes: r.softKb * 1024 } : {}) },
          },
          ...(r.mode === "tunnel" ? { selector: dir === "in" ? selector(r.remoteId, r.localId) : selector(r.localId, r.remoteId) } : {}),
          label: r.label,
          ...(r.encap !== undefined && c.proto === "esp" ? { encap: kernelEncap(r.encap, dir) } : {}),
          ...(r.seq !== undefined ? { seq: r.seq } : {}),
        };
        if (dir === "in") await r.kernel.update(spec);
        else await r.kernel.add(spec);
        done.push({ src: spec.src, dst: spec.dst, proto: spec.proto, spi });
      } finally {
        bytes.fill(0);
      }
    }
  }
}
