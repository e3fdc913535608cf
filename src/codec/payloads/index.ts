/**
 * The top-level payload union and the table from payload type to its spec, used by message.ts to
 * walk a payload chain (RFC 2408 §3.2). Proposal and Transform occur only inside an SA.
 */
import { PayloadType } from "../constants.js";
import type { Spec } from "../fields.js";
import { saSpec, type SaPayload } from "./sa.js";
import { keSpec, type KePayload } from "./ke.js";
import { idSpec, type IdPayload } from "./id.js";
import { certSpec, type CertPayload } from "./cert.js";
import { certReqSpec, type CertRequestPayload } from "./certreq.js";
import { hashSpec, type HashPayload } from "./hash.js";
import { sigSpec, type SigPayload } from "./sig.js";
import { nonceSpec, type NoncePayload } from "./nonce.js";
import { notifySpec, type NotifyPayload } from "./notify.js";
import { deleteSpec, type DeletePayload } from "./delete.js";
import { vendorIdSpec, type VendorIdPayload } from "./vendor-id.js";
import { attributeSpec, type AttributePayload } from "./attribute.js";
import { natDSpec, type NatDPayload } from "./nat-d.js";
import { natOaSpec, type NatOaPayload } from "./nat-oa.js";
import { fragmentSpec, type FragmentPayload } from "./fragment.js";

/** Any payload that may appear in a message's payload chain, discriminated by `type`. */
export type Payload =
  | SaPayload
  | KePayload
  | IdPayload
  | CertPayload
  | CertRequestPayload
  | HashPayload
  | SigPayload
  | NoncePayload
  | NotifyPayload
  | DeletePayload
  | VendorIdPayload
  | AttributePayload
  | NatDPayload
  | NatOaPayload
  | FragmentPayload;

/** The payload interface for a given type number. */
export type PayloadOf<T extends Payload["type"]> = Extract<Payload, { type: T }>;

const SPECS: (Spec | undefined)[] = [];
SPECS[PayloadType.SA] = saSpec;
SPECS[PayloadType.KE] = keSpec;
SPECS[PayloadType.ID] = idSpec;
SPECS[PayloadType.CERT] = certSpec;
SPECS[PayloadType.CR] = certReqSpec;
SPECS[PayloadType.HASH] = hashSpec;
SPECS[PayloadType.SIG] = sigSpec;
SPECS[PayloadType.NONCE] = nonceSpec;
SPECS[PayloadType.N] = notifySpec;
SPECS[PayloadType.D] = deleteSpec;
SPECS[PayloadType.VID] = vendorIdSpec;
SPECS[PayloadType.Attribute] = attributeSpec;
SPECS[PayloadType.NATD] = natDSpec;
SPECS[PayloadType.NATOA] = natOaSpec;
SPECS[PayloadType.NATDDraft] = natDSpec;
SPECS[PayloadType.NATOADraft] = natOaSpec;
SPECS[PayloadType.Fragment] = fragmentSpec;

/**
 * RFC 2409 section 5.2: with public key encryption, the bodies of MM3's and MM4's ID and NONCE
 * payloads are RSA ciphertext. They decode with their fields' layout but without the payload's
 * semantic checks (an ID type, a nonce length), which only the plaintext can pass; the exchange
 * decrypts `raw.body` and decodes the plaintext strictly.
 */
export const SEALABLE: ReadonlySet<number> = new Set([PayloadType.ID, PayloadType.NONCE]);
const SEALED_SPECS = new Map<number, Spec>();

/** The spec a sealed payload of `type` decodes with (see {@link SEALABLE}), or undefined. */
export function sealedPayloadSpec(type: number): Spec | undefined {
  if (!SEALABLE.has(type)) return undefined;
  let s = SEALED_SPECS.get(type);
  if (s === undefined) {
    const base = SPECS[type]!;
    s = { ...base, verifyPrefix: undefined, verify: undefined, decoders: {} };
    SEALED_SPECS.set(type, s);
  }
  return s;
}

/** The spec of a top-level payload type, or undefined for a type that may not head a payload here. */
export function payloadSpec(type: number): Spec | undefined {
  return type >= 0 && type < SPECS.length ? SPECS[type] : undefined;
}

export type {
  SaPayload,
  KePayload,
  IdPayload,
  CertPayload,
  CertRequestPayload,
  HashPayload,
  SigPayload,
  NoncePayload,
  NotifyPayload,
  DeletePayload,
  VendorIdPayload,
  AttributePayload,
  NatDPayload,
  NatOaPayload,
  FragmentPayload,
};
export type { ProposalPayload } from "./proposal.js";
export type { TransformPayload } from "./transform.js";
export type { PayloadRaw, PayloadBase } from "./payload.js";
