/**
 * Where the whole-exchange fuzzer changes messages (not a test file). The engines are not told:
 * the fuzzer wraps `EngineIo.prototype.encode` (every message an SA builds passes there, once;
 * retransmissions and cached answers resend its result), the embryonic table's `put` and
 * `EngineIo.prototype.sendTo` (MM2, which admission.ts builds before any SA exists, is changed as
 * it is stored, so its first send, the answers to a retransmitted MM1 and the reply cache of the SA
 * that MM3 makes all carry the same bytes), and each side's transport (every datagram,
 * retransmissions included). A plan names, per exchange, which message (by the order in which the
 * pair built them) or which datagram is changed and how:
 *
 * - `typed`: the payload chain before encoding (mutators.ts); for a protected Quick Mode or
 *   Informational message HASH(1)/HASH(2) is computed again with the sender's real SKEYID_a, so the
 *   receiver authenticates the message and has to cope with what it says;
 * - `plaintext`: the encoded payload bytes before encryption with the sender's real keys and IV,
 *   so they decrypt to garbage (a clear message gets a `wire` mutation instead);
 * - `wire`: the datagram the engine built (its retransmissions carry the same bytes), raw
 *   ciphertext included;
 * - `wire-once`: one datagram on the wire (a retransmission or a cached answer may repair it);
 * - `replay`: an earlier datagram of the exchange sent again instead of the next one.
 */
import { ExchangeType, PayloadType, decodeHeader, decodeMessageBody, encodeMessage, encodePayloads, type Payload } from "../../../src/codec/index.js";
import { Phase1Keymat } from "../../../src/crypto/keymat.js";
import { EmbryoTable, type Embryo } from "../../../src/ike/embryos.js";
import { EngineIo } from "../../../src/ike/engine-io.js";
import type { IsakmpSa } from "../../../src/ike/isakmp-sa.js";
import type { Outgoing } from "../../../src/ike/step.js";
import type { Endpoint, Transport } from "../../../src/ike/transport.js";
import { mutate, type Rng } from "../../property/mutate.js";
import { mutateChain } from "./mutators.js";

/** How one message or datagram is changed. */
export type MutationKind = "typed" | "plaintext" | "wire" | "wire-once" | "replay";

/** One exchange's mutations, and what was actually done. */
export class Plan {
  /** Built messages seen (the index `atMessage` counts). */
  messages = 0;
  /** Datagrams sent (the index `atDatagram` counts). */
  datagrams = 0;
  /** What was applied, e.g. `typed@7:QM(field,insert)`, for statistics and failure reports. */
  readonly applied: string[] = [];
  /** The initiator nonce of each Quick Mode (key icookie/mid), for HASH(2). */
  readonly nonceI = new Map<string, Buffer>();
  /** Position of the next message of each (icookie, mid) exchange. */
  readonly position = new Map<string, number>();
  readonly sent: Buffer[] = [];

  constructor(
    readonly rng: Rng,
    readonly atMessage: ReadonlyMap<number, MutationKind>,
    readonly atDatagram: ReadonlyMap<number, MutationKind>,
    readonly pool: readonly Payload[],
  ) {}
}

let current: Plan | undefined;
let installed: (() => void) | undefined;

/** The plan in force for the messages built from now on (undefined: none). */
export function setPlan(plan: Plan | undefined): void {
  current = plan;
}

const EXCHANGE_NAME: Record<number, string> = { [ExchangeType.IdentityProtection]: "MM", [ExchangeType.Aggressive]: "AM", [ExchangeType.QuickMode]: "QM", [ExchangeType.Informational]: "INFO" };

/**
 * HASH(1)/HASH(2) again over a changed chain, with the sender's keys (`position`: 0 for QM1 and
 * Informationals, 1 for QM2); the chain unchanged when it cannot be.
 */
export function rehash(sa: IsakmpSa, payloads: Payload[], exchangeType: number, mid: number, position: number, nonceI: Buffer | undefined): Payload[] {
  const km = sa.keymat;
  const first = payloads[0];
  if (km === undefined || !km.derived || first?.type !== PayloadType.HASH) return payloads;
  const rest = encodePayloads(payloads.slice(1));
  let data: Buffer;
  if (exchangeType === ExchangeType.Informational || (exchangeType === ExchangeType.QuickMode && position === 0)) data = km.quickModeHash1(mid, rest);
  else if (exchangeType === ExchangeType.QuickMode && position === 1 && nonceI !== undefined) data = km.quickModeHash2(mid, nonceI, rest);
  else return payloads;
  return [{ type: PayloadType.HASH, data }, ...payloads.slice(1)];
}

type Encode = (this: EngineIo, sa: IsakmpSa, o: Outgoing, exchangeType?: number, messageId?: number) => Buffer;
type SendTo = (this: EngineIo, local: Endpoint, remote: Endpoint, datagram: Buffer) => void;
type Put = (this: EmbryoTable, key: string, e: Embryo) => void;

/** The next message built in exchange (icookie, mid): its index in the plan and its position in the exchange. */
function nextMessage(plan: Plan, icookie: Buffer, mid: number): { index: number; key: string; position: number } {
  const key = `${icookie.toString("hex")}/${mid}`;
  const position = plan.position.get(key) ?? 0;
  plan.position.set(key, position + 1);
  return { index: plan.messages++, key, position };
}

/** A typed edit of `payloads` built by `build` (undefined: skip that edit); undefined when four edits do not encode. */
function typedChange(plan: Plan, at: string, payloads: readonly Payload[], build: (changed: Payload[]) => Buffer | undefined): Buffer | undefined {
  for (let attempt = 0; attempt < 4; attempt++) {
    const m = mutateChain(plan.rng, payloads, plan.pool);
    try {
      const out = build(m.payloads);
      if (out === undefined) continue;
      plan.applied.push(`typed@${at}(${m.edits.join(",")})`);
      return out;
    } catch {
      // The changed chain does not encode (the encoder refuses what the decoder would refuse).
    }
  }
  return undefined;
}

function wireChange(plan: Plan, at: string, name: string, bytes: Buffer, first: number): Buffer {
  plan.applied.push(`wire@${at}`);
  return mutate(plan.rng, { name, kind: "datagram", bytes, first });
}

function mutatedEncode(original: Encode): Encode {
  return function (this: EngineIo, sa, o, exchangeType = ExchangeType.IdentityProtection, mid = 0) {
    const plan = current;
    if (plan === undefined) return original.call(this, sa, o, exchangeType, mid);
    const { index, key, position } = nextMessage(plan, sa.icookie, mid);
    if (exchangeType === ExchangeType.QuickMode && position === 0) {
      const n = o.payloads.find((p) => p.type === PayloadType.NONCE);
      if (n !== undefined) plan.nonceI.set(key, Buffer.from(n.data));
    }
    const kind = plan.atMessage.get(index);
    if (kind === undefined || kind === "wire-once" || kind === "replay") return original.call(this, sa, o, exchangeType, mid);
    const name = `${EXCHANGE_NAME[exchangeType] ?? exchangeType}${position + 1}`;
    const at = `${index}:${name}`;
    const rng = plan.rng;
    if (kind === "typed") {
      const out = typedChange(plan, at, o.payloads, (changed) => {
        const payloads = rng.next() < 0.85 ? rehash(sa, changed, exchangeType, mid, position, plan.nonceI.get(key)) : changed;
        return payloads.length === 0 ? undefined : original.call(this, sa, { ...o, payloads }, exchangeType, mid);
      });
      if (out !== undefined) return out;
    }
    if (kind !== "wire" && o.encrypt && sa.keymat !== undefined) {
      const km = sa.keymat;
      const encrypt = Phase1Keymat.prototype.encrypt;
      const first = o.payloads[0]?.type ?? 0;
      // For this one call: the real keys and IV, encrypting garbled payload bytes.
      Object.defineProperty(km, "encrypt", { configurable: true, value: (m: number, pt: Uint8Array) => encrypt.call(km, m, mutate(rng, { name, kind: "body", bytes: Buffer.from(pt), first })) });
      try {
        const out = original.call(this, sa, o, exchangeType, mid);
        plan.applied.push(`plaintext@${at}`);
        return out;
      } finally {
        delete (km as unknown as { encrypt?: unknown }).encrypt;
      }
    }
    return wireChange(plan, at, name, original.call(this, sa, o, exchangeType, mid), o.payloads[0]?.type ?? 0);
  };
}

/** MM2 as admission built it, changed under the plan (a clear message: typed, else wire). */
function changedMm2(plan: Plan, mm2: Buffer): Buffer {
  const h = decodeHeader(mm2);
  if (!h.ok) return mm2;
  const { index } = nextMessage(plan, h.value.icookie, 0);
  const kind = plan.atMessage.get(index);
  if (kind === undefined || kind === "wire-once" || kind === "replay") return mm2;
  const at = `${index}:MM2`;
  const m = decodeMessageBody(h.value, mm2);
  if (kind === "typed" && m.ok && m.value.kind === "plain") {
    const out = typedChange(plan, at, m.value.payloads, (changed) => (changed.length === 0 ? undefined : encodeMessage(h.value, changed)));
    if (out !== undefined) return out;
  }
  return wireChange(plan, at, "MM2", mm2, h.value.nextPayload);
}

/** The changed MM2 of each MM2 admission built, while it is being sent (admission sends its own copy). */
const changedOf = new WeakMap<Buffer, Buffer>();

function mutatedPut(original: Put): Put {
  return function (this: EmbryoTable, key, e) {
    const plan = current;
    if (plan === undefined) return original.call(this, key, e);
    const mm2 = changedMm2(plan, e.mm2);
    changedOf.set(e.mm2, mm2);
    return original.call(this, key, { ...e, mm2 });
  };
}

function mutatedSendTo(original: SendTo): SendTo {
  return function (this: EngineIo, local, remote, datagram) {
    return original.call(this, local, remote, changedOf.get(datagram) ?? datagram);
  };
}

/** Wrap `EngineIo.prototype.encode`, `sendTo` and `EmbryoTable.prototype.put` (once); returns the function that unwraps them. */
export function installEncodeHook(): () => void {
  if (installed !== undefined) return installed;
  const encode = EngineIo.prototype.encode as Encode;
  const sendTo = EngineIo.prototype.sendTo as SendTo;
  const put = EmbryoTable.prototype.put as Put;
  EngineIo.prototype.encode = mutatedEncode(encode) as typeof EngineIo.prototype.encode;
  EngineIo.prototype.sendTo = mutatedSendTo(sendTo) as typeof EngineIo.prototype.sendTo;
  EmbryoTable.prototype.put = mutatedPut(put) as typeof EmbryoTable.prototype.put;
  installed = () => {
    EngineIo.prototype.encode = encode as typeof EngineIo.prototype.encode;
    EngineIo.prototype.sendTo = sendTo as typeof EngineIo.prototype.sendTo;
    EmbryoTable.prototype.put = put as typeof EmbryoTable.prototype.put;
    installed = undefined;
  };
  return installed;
}

/** A side's transport under the plan: `wire-once` and `replay` datagrams. */
export function planTransport(t: Transport): Transport {
  return {
    onDatagram: (h) => t.onDatagram(h),
    send(d, local, remote) {
      const plan = current;
      if (plan === undefined) return t.send(d, local, remote);
      const index = plan.datagrams++;
      const kind = plan.atDatagram.get(index);
      plan.sent.push(d);
      if (kind === "wire-once") {
        plan.applied.push(`wire-once@d${index}`);
        return t.send(mutate(plan.rng, { name: `d${index}`, kind: "datagram", bytes: d, first: d[16] ?? 0 }), local, remote);
      }
      if (kind === "replay" && plan.sent.length > 1) {
        // An earlier datagram again (to this side's peer or the other: both are replays an attacker could send).
        plan.applied.push(`replay@d${index}`);
        t.send(plan.sent[plan.rng.int(plan.sent.length - 1)]!, local, remote);
      }
      return t.send(d, local, remote);
    },
  };
}
