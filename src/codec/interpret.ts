/**
 * Reference decoder: a direct interpreter of the field descriptors over the bounded `Reader`
 * (STYLE §3.2). The daemon decodes with the compiled decoders of compile.ts, which measured about
 * 1.8 times faster; this slower, simpler one is the oracle the differential fuzzer compares them with, so a
 * mistake in the code generator cannot hide.
 */
import { Reader } from "./reader.js";
import { decodeError, type DecodeError } from "./errors.js";
import { isBasicAttribute } from "./attributes-constants.js";
import { GENERIC_HEADER_LENGTH } from "./constants.js";
import { assertNever, type DataAttribute, type Field, type Spec } from "./fields.js";

const NO_LOCALS: number[] = [];

/**
 * Decodes `s` from `r` into `o`. `ctx` is the enclosing object (a transform sees its proposal);
 * `pt` the payload type for errors. Returns null on success. The region must be consumed exactly.
 */
export function interpretDecode(s: Spec, r: Reader, o: Record<string, unknown>, ctx: unknown, pt: number): DecodeError | null {
  const bodyStart = r.pos;
  // locals[2k] holds the k-th lengthOf value, locals[2k+1] its offset (for count-mismatch errors).
  const locals = s.slots > 0 ? new Array<number>(s.slots * 2).fill(0) : NO_LOCALS;
  const fields = s.fields;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    const p = r.pos;
    if (i === s.prefixCount && s.verifyPrefix !== undefined) {
      const e = s.verifyPrefix(o, bodyStart, ctx, s);
      if (e !== null) return e;
    }
    switch (f.kind) {
      case "u8": {
        const v = r.u8();
        if (v < 0) return short(s, p, pt);
        o[f.name] = v;
        break;
      }
      case "u16": {
        const v = r.u16();
        if (v < 0) return short(s, p, pt);
        o[f.name] = v;
        break;
      }
      case "nibbles": {
        const v = r.u8();
        if (v < 0) return short(s, p, pt);
        o[f.name] = v >>> 4;
        o[f.low] = v & 0x0f;
        break;
      }
      case "u32": {
        const v = r.u32();
        if (v < 0) return short(s, p, pt);
        o[f.name] = v;
        break;
      }
      case "bytes": {
        const b = r.bytes(f.size);
        if (b === undefined) return short(s, p, pt);
        o[f.name] = b;
        break;
      }
      case "reserved": {
        for (let k = 0; k < f.size; k++) {
          const v = r.u8();
          if (v < 0) return short(s, p + k, pt);
          if (v !== 0) return decodeError("IKE_ERR_RESERVED_NOT_ZERO", p + k, pt, `${s.name}: reserved octet is ${v}`);
        }
        break;
      }
      case "lengthOf": {
        const v = f.width === 1 ? r.u8() : r.u16();
        if (v < 0) return short(s, p, pt);
        locals[f.slot * 2] = v;
        locals[f.slot * 2 + 1] = p;
        break;
      }
      case "sized": {
        const b = r.bytes(locals[f.slot * 2]!);
        if (b === undefined) return short(s, p, pt);
        o[f.name] = b;
        break;
      }
      case "rest": {
        o[f.name] = r.buf.subarray(r.pos, r.end);
        r.pos = r.end;
        break;
      }
      case "chain": {
        const e = decodeChain(f, r, o, locals, pt);
        if (e !== null) return e;
        break;
      }
      case "attributes": {
        const e = decodeAttributes(f, r, o, ctx, pt);
        if (e !== null) return e;
        break;
      }
      case "array": {
        const count = locals[f.slot * 2]!;
        const size = o[f.sizeFrom] as number;
        if (count * size !== r.remaining) {
          return decodeError(f.code, locals[f.slot * 2 + 1]!, pt, `${s.name}: ${count} x ${size} bytes != ${r.remaining} left`);
        }
        const items: Buffer[] = new Array(count);
        for (let k = 0; k < count; k++) items[k] = r.buf.subarray(r.pos + k * size, r.pos + (k + 1) * size);
        r.pos = r.end;
        o[f.name] = items;
        break;
      }
      default:
        return assertNever(f);
    }
  }
  if (r.pos !== r.end) {
    return decodeError("IKE_ERR_TRAILING_DATA", r.pos, pt, `${s.name}: ${r.end - r.pos} bytes after the last field`);
  }
  if (s.prefixCount === fields.length && s.verifyPrefix !== undefined) {
    const e = s.verifyPrefix(o, bodyStart, ctx, s);
    if (e !== null) return e;
  }
  return s.verify === undefined ? null : s.verify(o, bodyStart, ctx, s);
}

function short(s: Spec, p: number, pt: number): DecodeError {
  return decodeError("IKE_ERR_PAYLOAD_TOO_SHORT", p, pt, `${s.name}: field at ${p} runs past the payload end`);
}

type ChainField = Extract<Field, { kind: "chain" }>;
type AttrField = Extract<Field, { kind: "attributes" }>;

function decodeChain(f: ChainField, r: Reader, parent: Record<string, unknown>, locals: number[], pt: number): DecodeError | null {
  const items: Record<string, unknown>[] = [];
  const itemType = f.payloadType;
  let lastOrder = -1;
  for (;;) {
    const start = r.pos;
    if (r.remaining === 0) {
      return decodeError("IKE_ERR_BAD_PROPOSAL_SYNTAX", start, itemType, `${f.item.name}: chain ends before its last item`);
    }
    if (items.length >= f.max) return decodeError(f.tooMany, start, itemType, `more than ${f.max} ${f.item.name} items`);
    if (r.remaining < GENERIC_HEADER_LENGTH) {
      return decodeError("IKE_ERR_PAYLOAD_TRUNCATED", start, itemType, `${r.remaining} bytes cannot hold a generic header`);
    }
    const next = r.u8();
    const res = r.u8();
    const len = r.u16();
    if (res !== 0) return decodeError("IKE_ERR_RESERVED_NOT_ZERO", start + 1, itemType, `${f.item.name}: reserved octet is ${res}`);
    if (len < GENERIC_HEADER_LENGTH + f.item.minLength) {
      return decodeError("IKE_ERR_PAYLOAD_TOO_SHORT", start + 2, itemType, `${f.item.name}: length ${len} below minimum`);
    }
    if (start + len > r.end) {
      return decodeError("IKE_ERR_PAYLOAD_LENGTH", start + 2, itemType, `${f.item.name}: length ${len} exceeds ${r.end - start} left`);
    }
    if (next !== 0 && next !== itemType) {
      return decodeError("IKE_ERR_BAD_PROPOSAL_SYNTAX", start, itemType, `${f.item.name}: next payload ${next} inside the chain`);
    }
    const item: Record<string, unknown> = { type: itemType };
    const e = interpretDecode(f.item, new Reader(r.buf, start + GENERIC_HEADER_LENGTH, start + len), item, parent, itemType);
    if (e !== null) return e;
    if (f.orderField !== undefined) {
      const n = item[f.orderField] as number;
      if (n < lastOrder) {
        return decodeError("IKE_ERR_BAD_PROPOSAL_SYNTAX", start + GENERIC_HEADER_LENGTH, itemType, `${f.item.name} number ${n} after ${lastOrder}`);
      }
      lastOrder = n;
    }
    items.push(item);
    r.pos = start + len;
    if (next === 0) {
      if (r.pos !== r.end) {
        return decodeError("IKE_ERR_BAD_PROPOSAL_SYNTAX", r.pos, itemType, `${r.end - r.pos} bytes after the last ${f.item.name}`);
      }
      break;
    }
  }
  if (f.slot >= 0 && locals[f.slot * 2] !== items.length) {
    return decodeError(f.countMismatch, locals[f.slot * 2 + 1]!, itemType, `count says ${locals[f.slot * 2]}, found ${items.length}`);
  }
  parent[f.name] = items;
  return null;
}

function decodeAttributes(f: AttrField, r: Reader, o: Record<string, unknown>, ctx: unknown, pt: number): DecodeError | null {
  const list: DataAttribute[] = [];
  const protocolId = f.checkForm ? ((ctx as { protocolId?: number } | undefined)?.protocolId ?? -1) : -1;
  while (r.pos < r.end) {
    const p = r.pos;
    if (list.length >= f.max) return decodeError("IKE_ERR_TOO_MANY_ATTRIBUTES", p, pt, `more than ${f.max} attributes`);
    const t = r.u16();
    const v = r.u16();
    if (v < 0) return decodeError("IKE_ERR_ATTRIBUTE_TRUNCATED", p, pt, `attribute header needs 4 bytes, ${r.end - p} left`);
    if ((t & 0x8000) !== 0) {
      list.push({ format: "tv", type: t & 0x7fff, value: v });
      continue;
    }
    const b = r.bytes(v);
    if (b === undefined) return decodeError("IKE_ERR_ATTRIBUTE_TRUNCATED", p + 2, pt, `attribute length ${v} exceeds ${r.end - p - 4} left`);
    if (protocolId >= 0 && isBasicAttribute(protocolId, t)) {
      return decodeError("IKE_ERR_ATTRIBUTE_FORM", p, pt, `basic attribute ${t} in TLV form`);
    }
    list.push({ format: "tlv", type: t, value: b });
  }
  o[f.name] = list;
  return null;
}

