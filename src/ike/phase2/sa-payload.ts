/**
 * Quick Mode SA payloads (RFC 2409 section 5.5, RFC 2408 sections 3.4-3.6, RFC 2407 sections
 * 4.4-4.5): the IPsec policy's {@link Phase2Proposal}s to and from proposals and transforms.
 *
 * Proposals with the same number are applied together (RFC 2408 section 4.2: AH and ESP on one
 * packet); each protocol carries our inbound SPI for it. Transform attributes, in strongSwan's
 * order: Key-Length, Auth-Alg, Group-Description (PFS), Encapsulation-Mode, Life-Type,
 * Life-Duration. Algorithms are PF_KEY numbers on our side and DOI numbers on the wire
 * (src/policy/doi.ts maps them).
 */
import { udpEncapMode, type NattVersion } from "../natt.js";
import {
  Doi,
  EncapsulationMode,
  IpsecAttr,
  LifeType,
  PayloadType,
  ProtocolId,
  Situation,
  attributeNumber,
  variableAttribute,
  type DataAttribute,
  type ProposalPayload,
  type SaPayload,
  type TransformPayload,
} from "../../codec/index.js";
import { findAlgorithm, ENCRYPT_ALGORITHMS } from "../../kernel/algorithms.js";
import type { SaMode } from "../../kernel/kernel.js";
import {
  ahTransformId,
  authAlgOfAhTransform,
  authAlgOfAttribute,
  authAttribute,
  encAlgOfEspTransform,
  espTransformId,
  needsKeyLength,
  type Phase2Proposal,
  type Phase2Protocol,
  type Phase2Transform,
} from "../../policy/index.js";

/** Lifetime and PFS settings that go into every transform we send. */
export interface Phase2Extras {
  readonly lifeSecs: number;
  readonly lifeKb?: number;
  /** PFS group (0 = none). */
  readonly group: number;
  /** ESP in UDP (a NAT between us, RFC 3947 section 5.1): the NAT-T version whose mode values to send. */
  readonly udp?: NattVersion;
}

const tv = (type: number, value: number): DataAttribute => ({ format: "tv", type, value });

/** Attributes of one transform we send. */
export function transformAttributes(t: Phase2Transform, proto: "esp" | "ah", mode: SaMode, x: Phase2Extras): DataAttribute[] {
  const a: DataAttribute[] = [];
  if (proto === "esp" && needsKeyLength(t.encAlg)) a.push(tv(IpsecAttr.KeyLength, t.encKeyBits));
  const auth = authAttribute(t.authAlg);
  if (auth !== undefined) a.push(tv(IpsecAttr.AuthenticationAlgorithm, auth));
  if (x.group !== 0) a.push(tv(IpsecAttr.GroupDescription, x.group));
  const plain = mode === "tunnel" ? EncapsulationMode.Tunnel : EncapsulationMode.Transport;
  a.push(tv(IpsecAttr.EncapsulationMode, x.udp === undefined ? plain : udpEncapMode(x.udp, mode)));
  a.push(tv(IpsecAttr.SaLifeType, LifeType.Seconds), variableAttribute(IpsecAttr.SaLifeDuration, x.lifeSecs));
  if (x.lifeKb !== undefined) a.push(tv(IpsecAttr.SaLifeType, LifeType.Kilobytes), variableAttribute(IpsecAttr.SaLifeDuration, x.lifeKb));
  return a;
}

function spiBytes(spi: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(spi >>> 0);
  return b;
}

function protocolId(proto: "esp" | "ah"): number {
  return proto === "esp" ? ProtocolId.IPSEC_ESP : ProtocolId.IPSEC_AH;
}

function transformId(proto: "esp" | "ah", t: Phase2Transform): number | undefined {
  return proto === "esp" ? espTransformId(t.encAlg) : ahTransformId(t.authAlg);
}

/** The initiator's SA payload: proposal i+1 for proposals[i], our SPI per protocol. */
export function buildPhase2Sa(proposals: readonly Phase2Proposal[], spis: ReadonlyMap<"esp" | "ah", number>, x: Phase2Extras): SaPayload {
  const out: ProposalPayload[] = [];
  proposals.forEach((p, i) => {
    for (const proto of p.protocols) {
      const transforms: TransformPayload[] = [];
      for (const t of proto.transforms) {
        const id = transformId(proto.proto, t);
        if (id === undefined) continue;
        transforms.push({
          type: PayloadType.Transform,
          transformNumber: transforms.length + 1,
          transformId: id,
          attributes: transformAttributes(t, proto.proto, p.mode, x),
        });
      }
      out.push({ type: PayloadType.Proposal, proposalNumber: i + 1, protocolId: protocolId(proto.proto), spi: spiBytes(spis.get(proto.proto) ?? 0), transforms });
    }
  });
  return { type: PayloadType.SA, doi: Doi.Ipsec, situation: Situation.IdentityOnly, proposals: out };
}

/** One transform as read from the wire. */
export interface ReadTransform {
  readonly transform: Phase2Transform;
  readonly mode: SaMode;
  readonly group: number;
  readonly lifeSecs?: number;
  readonly lifeKb?: number;
  /** The payload, to echo it back unchanged. */
  readonly payload: TransformPayload;
}

/** One offered protocol of a proposal. */
export interface ReadProtocol {
  readonly proto: "esp" | "ah";
  readonly spi: number;
  readonly transforms: readonly ReadTransform[];
  readonly payload: ProposalPayload;
}

/** One offered proposal (all protocols with that proposal number). */
export interface ReadProposal {
  readonly number: number;
  readonly protocols: readonly ReadProtocol[];
}

/** Read one transform; undefined when it uses something we do not implement. */
export function readTransform(proto: "esp" | "ah", p: TransformPayload): ReadTransform | undefined {
  let encAlg = 0;
  let authAlg = 0;
  if (proto === "esp") {
    const e = encAlgOfEspTransform(p.transformId);
    if (e === undefined) return undefined;
    encAlg = e;
  } else {
    const a = authAlgOfAhTransform(p.transformId);
    if (a === undefined) return undefined;
    authAlg = a;
  }
  let keyBits: number | undefined;
  let mode: SaMode = "transport";
  let group = 0;
  let lifeSecs: number | undefined;
  let lifeKb: number | undefined;
  let lifeType: number | undefined;
  for (const a of p.attributes) {
    const v = attributeNumber(a);
    switch (a.type) {
      case IpsecAttr.KeyLength:
        keyBits = v;
        break;
      case IpsecAttr.AuthenticationAlgorithm: {
        const alg = authAlgOfAttribute(v);
        if (alg === undefined) return undefined;
        if (proto === "ah" && alg !== authAlg) return undefined;
        authAlg = alg;
        break;
      }
      case IpsecAttr.GroupDescription:
        group = v;
        break;
      case IpsecAttr.EncapsulationMode:
        // RFC 3947 section 5.1 and the drafts: UDP-encapsulated modes are the same modes, in UDP
        // (whether ESP goes in UDP follows the NAT-D of Phase 1, see nat-oa.ts).
        if (v === EncapsulationMode.Tunnel || v === EncapsulationMode.UdpEncapsulatedTunnel || v === EncapsulationMode.UdpEncapsulatedTunnelDraft) mode = "tunnel";
        else if (v === EncapsulationMode.Transport || v === EncapsulationMode.UdpEncapsulatedTransport || v === EncapsulationMode.UdpEncapsulatedTransportDraft) mode = "transport";
        else return undefined;
        break;
      case IpsecAttr.SaLifeType:
        lifeType = v;
        break;
      case IpsecAttr.SaLifeDuration:
        if (lifeType === LifeType.Seconds) lifeSecs = v;
        else if (lifeType === LifeType.Kilobytes) lifeKb = v;
        else return undefined;
        lifeType = undefined;
        break;
      default:
        return undefined;
    }
  }
  if (proto === "esp") {
    const info = findAlgorithm(ENCRYPT_ALGORITHMS, encAlg);
    if (info === undefined) return undefined;
    if (keyBits === undefined) keyBits = needsKeyLength(encAlg) ? 128 : info.minBits;
  }
  return {
    transform: { encAlg, encKeyBits: keyBits ?? 0, authAlg },
    mode,
    group,
    ...(lifeSecs !== undefined ? { lifeSecs } : {}),
    ...(lifeKb !== undefined ? { lifeKb } : {}),
    payload: p,
  };
}

/** The proposals of a Quick Mode SA payload, grouped by number; IPCOMP proposals are skipped. */
export function readPhase2Sa(sa: SaPayload): ReadProposal[] {
  const byNumber = new Map<number, ReadProtocol[]>();
  for (const p of sa.proposals) {
    const proto = p.protocolId === ProtocolId.IPSEC_ESP ? "esp" : p.protocolId === ProtocolId.IPSEC_AH ? "ah" : undefined;
    if (proto === undefined || p.spi.length !== 4) continue;
    const transforms: ReadTransform[] = [];
    for (const t of p.transforms) {
      const r = readTransform(proto, t);
      if (r !== undefined) transforms.push(r);
    }
    const list = byNumber.get(p.proposalNumber) ?? [];
    list.push({ proto, spi: p.spi.readUInt32BE(0), transforms, payload: p });
    byNumber.set(p.proposalNumber, list);
  }
  return [...byNumber.entries()].map(([number, protocols]) => ({ number, protocols }));
}

/** As IPsec policy selection wants them: mode from each protocol's first transform. */
export function asPolicyProposals(read: readonly ReadProposal[]): Phase2Proposal[] {
  return read.map((r) => ({
    mode: r.protocols[0]?.transforms[0]?.mode ?? "transport",
    protocols: r.protocols.map((p): Phase2Protocol => ({ proto: p.proto, transforms: p.transforms.map((t) => t.transform) })),
  }));
}

/** The responder's SA payload: the chosen proposal's protocols, each with one transform and our SPI. */
export function echoPhase2Sa(offered: SaPayload, chosen: ReadonlyArray<{ protocol: ReadProtocol; transform: ReadTransform; spi: number }>): SaPayload {
  return {
    type: PayloadType.SA,
    doi: offered.doi,
    situation: offered.situation,
    proposals: chosen.map((c) => ({
      type: PayloadType.Proposal,
      proposalNumber: c.protocol.payload.proposalNumber,
      protocolId: c.protocol.payload.protocolId,
      spi: spiBytes(c.spi),
      transforms: [
        {
          type: PayloadType.Transform,
          transformNumber: c.transform.payload.transformNumber,
          transformId: c.transform.payload.transformId,
          attributes: c.transform.payload.attributes.map((a) =>
            a.format === "tv" ? { ...a } : { format: "tlv" as const, type: a.type, value: Buffer.from(a.value) },
          ),
        },
      ],
    })),
  };
}
