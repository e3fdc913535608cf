/**
 * Quick Mode perfect forward secrecy, RFC 2409 section 5.5: the optional KE payloads and the
 * g(qm)^xy that goes into KEYMAT. Holds our x between QM1 and QM2 (initiator) and g(qm)^xy until
 * the SAs are installed, both in pooled secure memory like the ISAKMP SA's keys (STYLE 5), and
 * wipes them on {@link QuickModePfs.destroy}.
 */
import type { AbortLike } from "../../crypto/abort-like.js";
import { SecureBuffer, wipe } from "../../crypto/secure.js";
import { unpooledCopy } from "../../crypto/unpooled-copy.js";
import { respondDh, type DhPort } from "../ports.js";

/** A PFS step's outcome; `peerRefused` when the peer's public value was the problem. */
export type PfsResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string; readonly peerRefused: boolean };

/** What a pool answer that came after {@link QuickModePfs.destroy} gives (its secret wiped). */
const OVER = { ok: false, reason: "Quick Mode over", peerRefused: false } as const;

/** One Quick Mode's PFS state. */
export class QuickModePfs {
  private dhPrivate: SecureBuffer | undefined;
  private gqmxy: SecureBuffer | undefined;
  /**
   * Set by {@link destroy}: the Quick Mode ended (a timeout, a notify) while a pool task may still
   * work for it; its answer is wiped when it comes, never kept where nothing would wipe it.
   */
  private over = false;

  constructor(
    private readonly dh: DhPort,
    private readonly signal: () => AbortLike,
  ) {}

  /** g(qm)^xy once agreed, for KEYMAT. */
  get shared(): SecureBuffer | undefined {
    return this.gqmxy;
  }

  /** Initiator, QM1: our g^x; x stays here until {@link agree}. */
  async generate(group: number): Promise<PfsResult<Buffer>> {
    const r = await this.dh.dhGenerate(group, { signal: this.signal() });
    if (!r.ok) return { ok: false, reason: `PFS group ${group}: ${r.error.code}`, peerRefused: false };
    if (this.over) {
      wipe(r.value.privateValue);
      return OVER;
    }
    this.dhPrivate?.destroy();
    this.dhPrivate = SecureBuffer.take(r.value.privateValue, { pooled: true });
    return { ok: true, value: Buffer.from(r.value.publicValue) };
  }

  /** Initiator, QM2: g(qm)^xy from the responder's g^y; x is gone afterwards. */
  async agree(group: number, peer: Buffer): Promise<PfsResult<null>> {
    const held = this.dhPrivate;
    if (held === undefined) return { ok: false, reason: "no PFS private value", peerRefused: false };
    // A normal-memory copy only as the task argument (the pool transfers it and the worker wipes
    // it), in an allocation of its own (not Node's shared pool) and wiped however the call ends.
    const priv = held.use(unpooledCopy);
    this.dhPrivate = undefined;
    held.destroy();
    let r: Awaited<ReturnType<DhPort["dhAgree"]>>;
    try {
      r = await this.dh.dhAgree(group, priv, peer, { signal: this.signal() });
    } finally {
      wipe(priv);
    }
    if (!r.ok) return { ok: false, reason: `peer's PFS value refused: ${r.error.code}`, peerRefused: true };
    if (this.over) {
      wipe(r.value);
      return OVER;
    }
    this.gqmxy = SecureBuffer.take(r.value, { pooled: true });
    return { ok: true, value: null };
  }

  /** Responder, QM1: g^y and g(qm)^xy in one pool task, so our y never leaves the worker. */
  async respond(group: number, peer: Buffer): Promise<PfsResult<Buffer>> {
    const r = await respondDh(this.dh, group, peer, { signal: this.signal() });
    if (!r.ok) {
      const peerRefused = r.error.code.startsWith("IKE_ERR_DH_PUBLIC");
      return { ok: false, reason: peerRefused ? `peer's PFS value refused: ${r.error.code}` : `PFS group ${group}: ${r.error.code}`, peerRefused };
    }
    if (this.over) {
      wipe(r.value.sharedSecret);
      return OVER;
    }
    this.gqmxy = SecureBuffer.take(r.value.sharedSecret, { pooled: true });
    return { ok: true, value: Buffer.from(r.value.publicValue) };
  }

  /** Wipe x and g(qm)^xy, and any that a pool task still under way answers later. */
  destroy(): void {
    this.over = true;
    this.gqmxy?.destroy();
    this.gqmxy = undefined;
    this.dhPrivate?.destroy();
    this.dhPrivate = undefined;
  }
}
