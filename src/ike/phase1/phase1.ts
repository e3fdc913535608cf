/**
 * What Main Mode and Aggressive Mode share (RFC 2409 section 5): building and echoing the Phase 1
 * SA payload and capturing its body (SAi_b), nonces, and finding payloads in a decoded message.
 *
 * SAi_b is "the entire body of the SA payload (minus the ISAKMP generic header)" as the initiator
 * sent it: the initiator keeps the bytes it encoded, the responder the bytes it received (a view
 * into the datagram, so copied), never a re-encoding of a decoded value.
 */
import {
  Doi,
  IsakmpTransformId,
  PayloadType,
  ProtocolId,
  Situation,
  encodePayloads,
  type DataAttribute,
  type Payload,
  type PayloadOf,
  type ProposalPayload,
  type SaPayload,
  type TransformPayload,
} from "../../codec/index.js";
import type { Phase1KeymatOptions } from "../../crypto/keymat.js";
import { SecureBuffer } from "../../crypto/secure.js";
import { p1Attributes, type P1Transform } from "./proposal.js";
import type { IsakmpSa } from "../isakmp-sa.js";
import { respondDh, type DhPort } from "../ports.js";

/**
 * How an ISAKMP SA's key holder keeps its secrets: in the shared secure slab (locked, zeroed on
 * release), not one guarded mapping per secret kept PROT_NONE between uses. The mappings and the
 * unlock/lock pairs were ~15% of the handshake benchmark's responder CPU (bench/handshake/README.md).
 */
export const SA_KEY_MEMORY: Phase1KeymatOptions = { pooled: true };

/** The SA payload an initiator sends: one ISAKMP proposal, one KEY_IKE transform per entry. */
export function buildSaPayload(transforms: readonly P1Transform[]): SaPayload {
  return {
    type: PayloadType.SA,
    doi: Doi.Ipsec,
    situation: Situation.IdentityOnly,
    proposals: [
      {
        type: PayloadType.Proposal,
        proposalNumber: 1,
        protocolId: ProtocolId.ISAKMP,
        spi: Buffer.alloc(0),
        transforms: transforms.map((t, i) => ({
          type: PayloadType.Transform,
          transformNumber: i + 1,
          transformId: IsakmpTransformId.KEY_IKE,
          attributes: p1Attributes(t),
        })),
      },
    ],
  };
}

/** The body of a payload as it is (or was) on the wire, without the generic header; a copy. */
export function payloadBody(p: Payload): Buffer {
  if (p.raw !== undefined) return Buffer.from(p.raw.body);
  return Buffer.from(encodePayloads([p]).subarray(4));
}

/** One offered Phase 1 transform, with where it came from (to echo it back unchanged). */
export interface OfferedTransform {
  readonly proposal: ProposalPayload;
  readonly transform: TransformPayload;
  readonly attributes: readonly DataAttribute[];
}

/**
 * The transforms of every ISAKMP proposal of an SA payload, in order. RFC 2409 section 5 allows
 * one proposal in Phase 1, but several do no harm: we pick among all of them.
 */
export function offeredTransforms(sa: SaPayload): OfferedTransform[] {
  const out: OfferedTransform[] = [];
  for (const proposal of sa.proposals) {
    if (proposal.protocolId !== ProtocolId.ISAKMP) continue;
    for (const transform of proposal.transforms) {
      if (transform.transformId !== IsakmpTransformId.KEY_IKE) continue;
      out.push({ proposal, transform, attributes: transform.attributes });
    }
  }
  return out;
}

/** The responder's SA payload: the chosen transform echoed exactly, inside its own proposal. */
export function echoSaPayload(offered: SaPayload, choice: OfferedTransform): SaPayload {
  return {
    type: PayloadType.SA,
    doi: offered.doi,
    situation: offered.situation,
    proposals: [
      {
        type: PayloadType.Proposal,
        proposalNumber: choice.proposal.proposalNumber,
        protocolId: choice.proposal.protocolId,
        spi: Buffer.from(choice.proposal.spi),
        transforms: [
          {
            type: PayloadType.Transform,
            transformNumber: choice.transform.transformNumber,
            transformId: choice.transform.transformId,
            attributes: choice.transform.attributes.map((a) =>
              a.format === "tv" ? { ...a } : { format: "tlv" as const, type: a.type, value: Buffer.from(a.value) },
            ),
          },
        ],
      },
    ],
  };
}

/** The first payload of a type, or undefined. */
export function first<T extends Payload["type"]>(payloads: readonly Payload[], type: T): PayloadOf<T> | undefined {
  return payloads.find((p) => p.type === type) as PayloadOf<T> | undefined;
}

/** Every payload of a type. */
export function all<T extends Payload["type"]>(payloads: readonly Payload[], type: T): PayloadOf<T>[] {
  return payloads.filter((p) => p.type === type) as PayloadOf<T>[];
}

/** Count of payloads of a type. */
export function count(payloads: readonly Payload[], type: number): number {
  let n = 0;
  for (const p of payloads) if (p.type === type) n++;
  return n;
}

/** What the DH helpers need: the SA (keys, abort signal) and the pool. */
export interface DhContext {
  readonly sa: IsakmpSa;
  readonly dh: DhPort;
}

/** Our g^x through the pool; the private value goes straight into the SA's Keymat. Error text on failure. */
export async function generateKe(ctx: DhContext, group: number): Promise<Buffer | string> {
  const r = await ctx.dh.dhGenerate(group, { signal: ctx.sa.abort.signal });
  if (!r.ok) return `DH group ${group}: ${r.error.code}`;
  const km = ctx.sa.keymat;
  if (km === undefined) return "SA destroyed during DH";
  km.holdDhPrivate(r.value.privateValue);
  return Buffer.from(r.value.publicValue);
}

/** The public inputs of SKEYID derivation. */
export interface Phase1Inputs {
  readonly nonceI: Buffer;
  readonly nonceR: Buffer;
  readonly gxi: Buffer;
  readonly gxr: Buffer;
}

/**
 * Responder: our g^x and g^xy in one pool task, so our private value never leaves the worker and a
 * Phase 1 costs one round trip instead of two. Returns both (the caller hands `gxy` to a derive
 * call, which wipes it), "dh" when the peer's value is refused, or error text.
 */
export async function respondKe(ctx: DhContext, group: number, peerPublic: Buffer): Promise<{ gxr: Buffer; gxy: Buffer } | "dh" | string> {
  const r = await respondDh(ctx.dh, group, peerPublic, { signal: ctx.sa.abort.signal });
  if (!r.ok) return r.error.code.startsWith("IKE_ERR_DH_PUBLIC") ? "dh" : `DH group ${group}: ${r.error.code}`;
  if (ctx.sa.keymat === undefined) {
    r.value.sharedSecret.fill(0);
    return "SA destroyed during DH";
  }
  return { gxr: Buffer.from(r.value.publicValue), gxy: r.value.sharedSecret };
}

/**
 * How SKEYID is made (RFC 2409 section 5): from a pre-shared key, from the nonces and g^xy
 * (signatures), or from the nonces and cookies (public key encryption).
 */
export type SkeyidSource = { readonly psk: SecureBuffer } | "signature" | "encryption";

/**
 * g^xy through the pool (or `gxy` from {@link respondKe}), then SKEYID and its children into the
 * Keymat. Returns null, or why the peer's value was refused ("dh") or the SA went away ("gone").
 */
export async function deriveKeys(ctx: DhContext, group: number, x: Phase1Inputs, source: SkeyidSource, gxy?: Buffer): Promise<null | "dh" | "gone"> {
  const sa = ctx.sa;
  const km = sa.keymat;
  if (km === undefined) {
    gxy?.fill(0);
    return "gone";
  }
  let shared = gxy;
  if (shared === undefined) {
    const peerPublic = sa.role === "initiator" ? x.gxr : x.gxi;
    const r = await km.withDhPrivateForTask((priv) => ctx.dh.dhAgree(group, priv, peerPublic, { signal: sa.abort.signal }));
    if (!r.ok) return "dh";
    shared = r.value;
  }
  if (sa.keymat !== km) {
    shared.fill(0);
    return "gone";
  }
  const exchange = { icookie: sa.icookie, rcookie: sa.rcookie, ...x };
  if (source === "signature") km.deriveFromSig(exchange, shared);
  else if (source === "encryption") km.deriveFromPkEnc(exchange, shared);
  else km.deriveFromPsk(exchange, shared, source.psk);
  return null;
}

/** A negotiation's copy of a pre-shared key ({@link holdPsk}). */
export interface HeldPsk {
  readonly key: SecureBuffer;
  /** Destroy the copy now and stop listening for the SA's end (an idle SA then holds no listener). */
  release(): void;
}

/**
 * This negotiation's own copy of a pre-shared key, in the secure slab. The configuration's key is
 * zeroed when a reload or `ikeadm` replaces the key set, which may happen while this exchange
 * awaits DH or the peer; so the key is copied at lookup, before any await. The copy is released
 * by the caller once SKEYID is derived, or destroyed with the SA (its abort signal) at the latest.
 */
export function holdPsk(sa: IsakmpSa, key: Buffer): HeldPsk {
  const held = SecureBuffer.copyOf(key, { pooled: true });
  const signal = sa.abort.signal;
  const drop = (): void => held.destroy();
  signal.addEventListener("abort", drop, { once: true });
  return {
    key: held,
    release: () => {
      signal.removeEventListener("abort", drop);
      held.destroy();
    },
  };
}
