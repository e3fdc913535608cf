/**
 * Handing a finished Quick Mode's SAs to the kernel (RFC 2409 section 5.5, RFC 2367 UPDATE/ADD).
 *
 * Per protocol two SAs: inbound (peer → us, the SPI we chose with GETSPI: UPDATE completes the
 * larval SA) and outbound (us → peer, the SPI the peer chose: ADD). Each is keyed with its own
 * KEYMAT, computed over its own SPI; the cipher key comes first, then the authentication key.
 * KEYMAT leaves secure memory only for the kernel call, and the copy is wiped right after.
 */
import { ProtocolId } from "../../codec/index.js";
import type { Phase1Keymat } from "../../crypto/keymat.js";
import type { SecureBuffer } from "../../crypto/secure.js";
import { AUTH_ALGORITHMS, ENCRYPT_ALGORITHMS, findAlgorithm } from "../../kernel/algorithms.js";
import type { Kernel, SaMode, SaSpec, TrafficSelector } from "../../kernel/kernel.js";
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
  readonly localId: ClientId;
  readonly remoteId: ClientId;
  readonly label: string;
  readonly seq?: number;
  /** ESP in UDP (NAT-T): our and the peer's NAT-T ports, the peer's original address (NAT-OA). */
  readonly encap?: { readonly local: number; readonly remote: number; readonly peerOriginal?: string };
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

/** Install the inbound and outbound SA of every negotiated protocol. */
export async function installPair(r: InstallRequest): Promise<void> {
  const soft = r.softSecs !== undefined && r.softSecs < r.lifeSecs ? r.softSecs : Math.floor(r.lifeSecs * 0.9);
  for (const c of r.chosen) {
    const len = keyLengths(c.proto, c.transform);
    const protocol = c.proto === "esp" ? ProtocolId.IPSEC_ESP : ProtocolId.IPSEC_AH;
    for (const dir of ["in", "out"] as const) {
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
          pairSpi: dir === "in" ? c.outboundSpi : c.inboundSpi,
          ...(c.proto === "esp" ? { encAlg: c.transform.encAlg, encKey: bytes.subarray(0, len.enc) } : {}),
          ...(c.transform.authAlg !== 0 ? { authAlg: c.transform.authAlg, authKey: bytes.subarray(len.enc, len.enc + len.auth) } : {}),
          lifetimes: {
            hard: { addSeconds: r.lifeSecs, ...(r.lifeKb !== undefined ? { bytes: r.lifeKb * 1024 } : {}) },
            soft: { addSeconds: soft, ...(r.softKb !== undefined ? { bytes: r.softKb * 1024 } : {}) },
          },
          ...(r.mode === "tunnel" ? { selector: dir === "in" ? selector(r.remoteId, r.localId) : selector(r.localId, r.remoteId) } : {}),
          label: r.label,
          ...(r.encap !== undefined && c.proto === "esp" ? { encap: kernelEncap(r.encap, dir) } : {}),
          ...(r.seq !== undefined ? { seq: r.seq } : {}),
        };
        if (dir === "in") await r.kernel.update(spec);
        else await r.kernel.add(spec);
      } finally {
        bytes.fill(0);
      }
    }
  }
}
