/**
 * The one engine that runs every payload spec (STYLE §3.1): decode from a bounded `Reader`, encode to
 * a `Writer`, and the trace-level dump. A spec is an ordered list of field descriptors built with the
 * helpers below; no payload computes offsets by hand.
 *
 * Field kinds:
 * - `u8/u16/u32(name)`: numbers; `bytes(name, n)`: fixed-size bytes; `reserved(n)`: must be zero.
 * - `lengthOf(width, target)`: a count or size derived from `target` on encode (a Buffer's length or
 *   a list's item count) and checked against it on decode; the value is not kept.
 * - `sized(name)`: bytes whose length the preceding `lengthOf` gave.
 * - `rest(name)`: all bytes left in the payload.
 * - `chain(name, ...)`: nested generic-header payloads (proposals in an SA, transforms in a
 *   proposal), linked by next-payload, that must end exactly at the region's end.
 * - `attributes(name, ...)`: data attributes (RFC 2408 §3.3) in TV or TLV form up to the end.
 * - `array(name, ...)`: `lengthOf` items of `sizeFrom` bytes each (Delete's SPIs).
 *
 * Decoding is compiled from the same descriptors (compile.ts); interpret.ts is a plain interpreter
 * of them over the bounded `Reader`, kept as the reference the fuzzer checks the compiled code against.
 */
import type { Writer } from "./writer.js";
import type { DecodeError, DecodeErrorCode } from "./errors.js";
import { nameOf, type NumberTable } from "./names.js";
import { attributeName, attributeValueName, isBasicAttribute } from "./attributes-constants.js";

/** A data attribute (RFC 2408 §3.3): TV (AF=1, 16-bit value) or TLV (AF=0, variable bytes). */
export type DataAttribute =
  | { readonly format: "tv"; readonly type: number; readonly value: number }
  | { readonly format: "tlv"; readonly type: number; readonly value: Buffer };

/** Renders a number for the dump: a table name, or a function of the value and the parent object. */
export type Namer = NumberTable | ((value: number, ctx: unknown) => string);

/** Semantic check run after a spec's fields decoded; `bodyStart` is the absolute body offset. */
export type Verify = (value: any, bodyStart: number, ctx: any, spec: Spec) => DecodeError | null;

/** One field descriptor. */
export type Field =
  | { readonly kind: "u8" | "u16" | "u32"; readonly name: string; readonly names: Namer | undefined }
  | { readonly kind: "nibbles"; readonly name: string; readonly low: string }
  | { readonly kind: "bytes"; readonly name: string; readonly size: number }
  | { readonly kind: "reserved"; readonly size: number }
  | { readonly kind: "lengthOf"; readonly width: 1 | 2; readonly target: string; slot: number }
  | { readonly kind: "sized"; readonly name: string; slot: number }
  | { readonly kind: "rest"; readonly name: string }
  | {
      readonly kind: "chain";
      readonly name: string;
      readonly payloadType: number;
      readonly item: Spec;
      readonly max: number;
      readonly tooMany: DecodeErrorCode;
      readonly countMismatch: DecodeErrorCode;
      readonly orderField: string | undefined;
      slot: number;
    }
  | { readonly kind: "attributes"; readonly name: string; readonly max: number; readonly checkForm: boolean }
  | { readonly kind: "array"; readonly name: string; readonly sizeFrom: string; readonly code: DecodeErrorCode; slot: number };

/** A payload (or sub-structure) layout plus its semantic check. */
export interface Spec {
  readonly name: string;
  readonly fields: readonly Field[];
  /** Number of `lengthOf` slots. */
  readonly slots: number;
  /** Bytes of the fixed-size fields: the smallest body the layout allows. */
  readonly minLength: number;
  /** Body-relative offset of each field in the fixed-size prefix. */
  readonly offsets: Readonly<Record<string, number>>;
  /** Index of the first field after the fixed-size prefix. */
  readonly prefixCount: number;
  /** Check run as soon as the fixed prefix decoded, before nested structures use its values. */
  readonly verifyPrefix: Verify | undefined;
  readonly verify: Verify | undefined;
  /** Compiled decoders by object shape, filled in on first use by compile.ts. */
  readonly decoders: { untyped?: unknown; item?: unknown; payload?: unknown };
}

/**
 * Every descriptor is made here, with every property of every kind (those a kind lacks are
 * undefined), in one order: one object shape for all of them, so that the encoder's and the
 * dump's per-field loads (`f.kind`, `f.name`, ...) stay monomorphic. Object literals of each
 * kind's own properties made ten shapes, and those loads megamorphic, on every message encoded.
 */
function field(kind: Field["kind"], props: Partial<Record<FieldProperty, unknown>>): Field {
  return {
    kind,
    name: props.name,
    names: props.names,
    low: props.low,
    size: props.size,
    width: props.width,
    target: props.target,
    slot: props.slot,
    payloadType: props.payloadType,
    item: props.item,
    max: props.max,
    tooMany: props.tooMany,
    countMismatch: props.countMismatch,
    orderField: props.orderField,
    checkForm: props.checkForm,
    sizeFrom: props.sizeFrom,
    code: props.code,
  } as unknown as Field;
}
type FieldProperty =
  | "name" | "names" | "low" | "size" | "width" | "target" | "slot" | "payloadType" | "item" | "max" | "tooMany"
  | "countMismatch" | "orderField" | "checkForm" | "sizeFrom" | "code";

/** The field's name, for the kinds that have one (reserved octets and `lengthOf` have none). */
export function fieldName(f: Field): string | undefined {
  return (f as { readonly name?: string }).name;
}

/** A number field. */
export function u8(name: string, names?: Namer): Field {
  return field("u8", { name, names });
}
/** A big-endian 16-bit field. */
export function u16(name: string, names?: Namer): Field {
  return field("u16", { name, names });
}
/** A big-endian 32-bit field. */
export function u32(name: string, names?: Namer): Field {
  return field("u32", { name, names });
}
/** One octet split into a high (`name`) and a low (`low`) 4-bit number, as the ISAKMP version. */
export function nibbles(name: string, low: string): Field {
  return field("nibbles", { name, low });
}
/** Fixed-size bytes. */
export function bytes(name: string, size: number): Field {
  return field("bytes", { name, size });
}
/** Reserved octets, zero on the wire. */
export function reserved(size: number): Field {
  return field("reserved", { size });
}
/** A count or size field derived from `target`. */
export function lengthOf(width: 1 | 2, target: string): Field {
  return field("lengthOf", { width, target, slot: -1 });
}
/** Bytes sized by the preceding `lengthOf`. */
export function sized(name: string): Field {
  return field("sized", { name, slot: -1 });
}
/** The rest of the payload. */
export function rest(name: string): Field {
  return field("rest", { name });
}
/** Nested generic-header payloads of one type. */
export function chain(
  name: string,
  opts: {
    payloadType: number;
    item: Spec;
    max: number;
    tooMany: DecodeErrorCode;
    countMismatch?: DecodeErrorCode;
    orderField?: string;
  },
): Field {
  return field("chain", {
    name,
    payloadType: opts.payloadType,
    item: opts.item,
    max: opts.max,
    tooMany: opts.tooMany,
    countMismatch: opts.countMismatch ?? "IKE_ERR_BAD_PROPOSAL_SYNTAX",
    orderField: opts.orderField,
    slot: -1,
  });
}
/** Data attributes to the end of the payload; `checkForm` enforces TV for basic attributes. */
export function attributes(name: string, opts: { max: number; checkForm: boolean }): Field {
  return field("attributes", { name, max: opts.max, checkForm: opts.checkForm });
}
/** `lengthOf` items each `value[sizeFrom]` bytes long, filling the rest exactly. */
export function array(name: string, opts: { sizeFrom: string; code: DecodeErrorCode }): Field {
  return field("array", { name, sizeFrom: opts.sizeFrom, code: opts.code, slot: -1 });
}

/** The kinds whose descriptor carries a `lengthOf` slot. */
function hasSlot(f: Field): f is Extract<Field, { slot: number }> {
  return f.kind === "lengthOf" || f.kind === "sized" || f.kind === "chain" || f.kind === "array";
}

function fixedSize(f: Field): number {
  switch (f.kind) {
    case "u8":
    case "nibbles":
      return 1;
    case "u16":
      return 2;
    case "u32":
      return 4;
    case "bytes":
    case "reserved":
      return f.size;
    case "lengthOf":
      return f.width;
    default:
      return -1;
  }
}

/** Builds a spec, linking each `lengthOf` to its target and computing the fixed prefix. */
export function spec(name: string, fields: Field[], checks: { verifyPrefix?: Verify; verify?: Verify } = {}): Spec {
  let slots = 0;
  let minLength = 0;
  let prefix = 0;
  let prefixCount = fields.length;
  const offsets: Record<string, number> = {};
  for (const [i, f] of fields.entries()) {
    const size = fixedSize(f);
    if (prefix >= 0) {
      const fname = fieldName(f);
      if (fname !== undefined) offsets[fname] = prefix;
      if (f.kind === "lengthOf") offsets[`#${f.target}`] = prefix;
      if (size < 0) prefixCount = i;
      prefix = size >= 0 ? prefix + size : -1;
    }
    if (size > 0) minLength += size;
    if (f.kind === "lengthOf") {
      const target = fields.find((t) => fieldName(t) === f.target);
      if (target === undefined || !hasSlot(target)) throw new Error(`${name}: bad lengthOf target ${f.target}`);
      f.slot = slots;
      target.slot = slots;
      slots++;
    }
  }
  return { name, fields, slots, minLength, offsets, prefixCount, verifyPrefix: checks.verifyPrefix, verify: checks.verify, decoders: {} };
}

/** Absolute offset of a fixed-prefix field (`#target` for a `lengthOf`), for error positions in `verify`. */
export function at(s: Spec, bodyStart: number, field: string): number {
  return bodyStart + (s.offsets[field] ?? 0);
}

/** For `switch` statements over field kinds: unreachable when every kind is handled. */
export function assertNever(x: never): never {
  throw new Error(`unhandled field kind ${JSON.stringify(x)}`);
}

/**
 * Encodes `v` by `s` into `w`; `ctx` as for decode. Throws RangeError on an out-of-range value and on
 * anything the decoder would refuse by form (a basic attribute as TLV) or count (the list caps).
 */
export function encodeFrom(s: Spec, w: Writer, v: Record<string, any>, ctx: unknown): void {
  for (const f of s.fields) {
    switch (f.kind) {
      case "u8":
        w.u8(v[f.name]);
        break;
      case "u16":
        w.u16(v[f.name]);
        break;
      case "u32":
        w.u32(v[f.name]);
        break;
      case "nibbles": {
        const hi = v[f.name] as number;
        const lo = v[f.low] as number;
        if (hi < 0 || hi > 15 || lo < 0 || lo > 15) throw new RangeError(`${s.name}.${f.name}: nibble out of range`);
        w.u8((hi << 4) | lo);
        break;
      }
      case "bytes": {
        const b = v[f.name] as Buffer;
        if (b.length !== f.size) throw new RangeError(`${s.name}.${f.name} must be ${f.size} bytes`);
        w.bytes(b);
        break;
      }
      case "reserved":
        w.zeros(f.size);
        break;
      case "lengthOf": {
        const n = (v[f.target] as { length: number }).length;
        if (f.width === 1) w.u8(n);
        else w.u16(n);
        break;
      }
      case "sized":
      case "rest":
        w.bytes(v[f.name] as Buffer);
        break;
      case "chain": {
        const items = v[f.name] as Record<string, any>[];
        if (items.length > f.max) throw new RangeError(`${s.name}.${f.name}: ${items.length} items, the decoder takes ${f.max}`);
        for (let i = 0; i < items.length; i++) {
          const start = w.pos;
          w.u8(i + 1 < items.length ? f.payloadType : 0);
          w.u8(0);
          w.u16(0);
          encodeFrom(f.item, w, items[i]!, v);
          w.patchU16(start + 2, w.pos - start);
        }
        break;
      }
      case "attributes": {
        // The decoder's form rule, mirrored: a basic attribute in TLV form is ATTRIBUTES-NOT-SUPPORTED.
        const protocolId = f.checkForm ? ((ctx as { protocolId?: number } | undefined)?.protocolId ?? -1) : -1;
        const list = v[f.name] as DataAttribute[];
        if (list.length > f.max) throw new RangeError(`${s.name}.${f.name}: ${list.length} attributes, the decoder takes ${f.max}`);
        for (const a of list) {
          if (a.type < 0 || a.type > 0x7fff) throw new RangeError(`attribute type out of range: ${a.type}`);
          if (a.format === "tlv" && protocolId >= 0 && isBasicAttribute(protocolId, a.type)) {
            throw new RangeError(`basic attribute ${a.type} must be encoded in TV form`);
          }
          if (a.format === "tv") {
            w.u16(0x8000 | a.type);
            w.u16(a.value);
          } else {
            w.u16(a.type);
            w.u16(a.value.length);
            w.bytes(a.value);
          }
        }
        break;
      }
      case "array": {
        const size = v[f.sizeFrom] as number;
        for (const b of v[f.name] as Buffer[]) {
          if (b.length !== size) throw new RangeError(`${s.name}.${f.name}: item of ${b.length} bytes, ${f.sizeFrom} is ${size}`);
          w.bytes(b);
        }
        break;
      }
      default:
        assertNever(f);
    }
  }
}

/** Decides whether a field is secret and must be redacted in a dump; `path` is e.g. "KE.keyData". */
export type Redact = (payloadType: number, path: string) => boolean;

/**
 * Appends `key=value` lines for `v` by `s` to `out`. Numbers print as `n` or `n(NAME)`, bytes as hex
 * (`<redacted N bytes>` where `redact` says so), lists with `[i]` in the key.
 */
export function dumpFields(s: Spec, v: Record<string, any>, prefix: string, pt: number, out: string[], redact: Redact | undefined, ctx: unknown): void {
  for (const f of s.fields) {
    switch (f.kind) {
      case "u8":
      case "u16":
      case "u32": {
        const n = v[f.name] as number;
        const names = f.names;
        const label = names === undefined ? "" : `(${typeof names === "function" ? names(n, ctx ?? v) : nameOf(names, n)})`;
        out.push(`${prefix}.${f.name}=${n}${label}`);
        break;
      }
      case "bytes":
      case "sized":
      case "rest":
        out.push(`${prefix}.${f.name}=${hex(v[f.name] as Buffer, pt, `${prefix}.${f.name}`, redact)}`);
        break;
      case "nibbles":
        out.push(`${prefix}.${f.name}=${v[f.name]}`, `${prefix}.${f.low}=${v[f.low]}`);
        break;
      case "reserved":
      case "lengthOf":
        break;
      case "chain": {
        const items = v[f.name] as Record<string, any>[];
        items.forEach((item, i) => dumpFields(f.item, item, `${prefix}.${f.name}[${i}]`, pt, out, redact, v));
        break;
      }
      case "attributes": {
        const protocolId = (ctx as { protocolId?: number } | undefined)?.protocolId;
        (v[f.name] as DataAttribute[]).forEach((a, i) => {
          const key = `${prefix}.${f.name}[${i}]`;
          const name = protocolId === undefined ? String(a.type) : attributeName(protocolId, a.type);
          const value =
            a.format === "tv"
              ? protocolId === undefined
                ? String(a.value)
                : `${a.value}(${attributeValueName(protocolId, a.type, a.value)})`
              : tlvText(a.value, pt, key, redact);
          out.push(`${key}=${name}:${value}`);
        });
        break;
      }
      case "array":
        (v[f.name] as Buffer[]).forEach((b, i) => out.push(`${prefix}.${f.name}[${i}]=${hex(b, pt, `${prefix}.${f.name}`, redact)}`));
        break;
      default:
        assertNever(f);
    }
  }
}

/** A TLV value as hex, plus its number when it is a short quantity (a 4-byte life duration). */
function tlvText(b: Buffer, pt: number, path: string, redact: Redact | undefined): string {
  const text = hex(b, pt, path, redact);
  if (b.length === 0 || b.length > 6 || text.startsWith("<")) return text;
  let n = 0;
  for (let i = 0; i < b.length; i++) n = n * 256 + b[i]!;
  return `${text}(${n})`;
}

function hex(b: Buffer, pt: number, path: string, redact: Redact | undefined): string {
  if (redact !== undefined && redact(pt, path)) return `<redacted ${b.length} bytes>`;
  return b.length === 0 ? "(empty)" : b.toString("hex");
}
