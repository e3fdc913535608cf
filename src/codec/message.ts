/**
 * Whole ISAKMP messages — RFC 2408 §3.1–3.2 (header and generic payload chain), RFC 2409 §5.3
 * (encryption: the header stays clear, the payload chain is encrypted and padded; the header's
 * length covers the padding, which the receiver ignores).
 *
 *   datagram = HDR (28 bytes) | payload | payload | ... [| padding, only when encrypted]
 *   payload  = Next Payload (1) | RESERVED (1) | Payload Length (2, includes these 4) | body
 *
 * `decodeMessage` returns the payloads of a clear message, or the header plus the still-encrypted
 * body of an E-flagged one; after decrypting, `decodeDecrypted` decodes that body. Encoders build the
 * clear payload chain and the header separately so the caller can encrypt in between.
 */
import { Reader } from "./reader.js";
import { Writer } from "./writer.js";
import { encodeFrom, type Spec } from "./fields.js";
import { decoderOf, lastError, type DecoderMode } from "./compile.js";
import { interpretDecode } from "./interpret.js";
import { decodeError, type DecodeError } from "./errors.js";
import { ok, err, type Result } from "./result.js";
import { GENERIC_HEADER_LENGTH, HEADER_LENGTH, HeaderFlag, IsakmpVersion, PayloadType } from "./constants.js";
import { headerSpec, checkHeader, MAX_DATAGRAM, type Header, type HeaderInit } from "./header.js";
import { payloadSpec, sealedPayloadSpec, type Payload, type PayloadRaw } from "./payloads/index.js";

/** Most payloads one message may carry (strongSwan's MM1 has 6, a QM1 with NAT-OA 7). */
export const MAX_PAYLOADS = 64;

/** A message whose payloads are decoded: a clear one, or an encrypted one after decryption. */
export interface PlainMessage {
  readonly kind: "plain";
  readonly header: Header;
  readonly payloads: readonly Payload[];
}

/** An E-flagged message as received: the payload chain is still ciphertext. */
export interface EncryptedMessage {
  readonly kind: "encrypted";
  readonly header: Header;
  /** The encrypted body (a view of the datagram), to be decrypted by the caller. */
  readonly ciphertext: Buffer;
}

/** A decoded datagram. */
export type Message = PlainMessage | EncryptedMessage;

/**
 * Which decoder runs the specs: the compiled one (what the daemon uses) or the reference
 * interpreter (the differential fuzzer's oracle). Both must give identical results.
 */
export type DecodeEngine = "compiled" | "reference";

let specError: DecodeError | null = null;

/** Runs a spec on bytes [start, end); null means failure, with the error in `specError`. */
function runSpec(engine: DecodeEngine, s: Spec, mode: DecoderMode, buf: Buffer, start: number, end: number, pt: number): Record<string, unknown> | null {
  if (engine === "compiled") {
    const o = decoderOf(s, mode)(buf, start, end, undefined, pt);
    if (o === null) specError = lastError();
    return o;
  }
  const o: Record<string, unknown> = mode === "untyped" ? {} : { type: pt };
  const e = interpretDecode(s, new Reader(buf, start, end), o, undefined, pt);
  if (e === null) return o;
  specError = e;
  return null;
}

function takeError(): DecodeError {
  const e = specError ?? decodeError("IKE_ERR_PAYLOAD_TOO_SHORT", 0, undefined, "no error recorded");
  specError = null;
  return e;
}

/**
 * Decodes all of `buf` by a structure spec that is not a payload (the attribute list a notify
 * carries as its data); error offsets count from `buf[0]`, `pt` names the enclosing payload.
 */
export function decodeStructure(s: Spec, buf: Buffer, pt: number, engine: DecodeEngine = "compiled"): Result<Record<string, unknown>, DecodeError> {
  const o = runSpec(engine, s, "untyped", buf, 0, buf.length, pt);
  return o === null ? err(takeError()) : ok(o);
}

/** Encodes `v` by a structure spec (the inverse of {@link decodeStructure}). */
export function encodeStructure(s: Spec, v: Record<string, unknown>): Buffer {
  const w = new Writer();
  encodeFrom(s, w, v, undefined);
  return w.finish();
}

/** A payload's bytes, with the views made only when asked for (most payloads never need them). */
class RawView implements PayloadRaw {
  constructor(
    private readonly buf: Buffer,
    private readonly start: number,
    private readonly end: number,
    private readonly delta: number,
  ) {}
  get offset(): number {
    return this.start + this.delta;
  }
  get full(): Buffer {
    return this.buf.subarray(this.start, this.end);
  }
  get body(): Buffer {
    return this.buf.subarray(this.start + GENERIC_HEADER_LENGTH, this.end);
  }
  toJSON(): { offset: number; length: number } {
    return { offset: this.offset, length: this.end - this.start };
  }
}

/** Decodes and checks the 28-byte header of a datagram (RFC 2408 §3.1, §5.2). */
export function decodeHeader(datagram: Buffer): Result<Header, DecodeError> {
  return decodeHeaderUsing(datagram, "compiled");
}

function decodeHeaderUsing(datagram: Buffer, engine: DecodeEngine): Result<Header, DecodeError> {
  if (datagram.length < HEADER_LENGTH) {
    return err(decodeError("IKE_ERR_DATAGRAM_TOO_SHORT", datagram.length, undefined, `${datagram.length} bytes cannot hold a header`));
  }
  if (datagram.length > MAX_DATAGRAM) {
    return err(decodeError("IKE_ERR_DATAGRAM_TOO_LARGE", MAX_DATAGRAM, undefined, `${datagram.length} bytes exceed ${MAX_DATAGRAM}`));
  }
  const h = runSpec(engine, headerSpec, "untyped", datagram, 0, HEADER_LENGTH, PayloadType.None);
  if (h === null) return err(takeError());
  const header = h as unknown as Header;
  const bad = checkHeader(header, datagram.length);
  return bad === null ? ok(header) : err(bad);
}

/**
 * Decodes a datagram. A clear message has its payload chain decoded and must end exactly at the
 * datagram's end; an E-flagged one comes back with its ciphertext for the caller to decrypt.
 */
export function decodeMessage(datagram: Buffer): Result<Message, DecodeError> {
  return decodeMessageUsing(datagram, "compiled");
}

/** `decodeMessage` with a chosen engine (tests compare the two). */
export function decodeMessageUsing(datagram: Buffer, engine: DecodeEngine): Result<Message, DecodeError> {
  const hr = decodeHeaderUsing(datagram, engine);
  if (!hr.ok) return hr;
  return decodeBodyUsing(hr.value, datagram, engine);
}

/** Options of {@link decodeMessageBody}. */
export interface BodyOptions {
  /**
   * Payload types whose bodies are ciphertext in this message (RFC 2409 section 5.2: ID and NONCE
   * of MM3/MM4 with public key encryption): decoded by layout only (payloads/index.ts `SEALABLE`).
   */
  readonly sealed?: readonly number[];
}

/**
 * The rest of `decodeMessage` for a datagram whose header `decodeHeader` already accepted: the
 * engine decodes a header once to find the SA, and the body later, on the SA's queue.
 */
export function decodeMessageBody(header: Header, datagram: Buffer, options: BodyOptions = {}): Result<Message, DecodeError> {
  return decodeBodyUsing(header, datagram, "compiled", options.sealed);
}

function decodeBodyUsing(header: Header, datagram: Buffer, engine: DecodeEngine, sealed?: readonly number[]): Result<Message, DecodeError> {
  if ((header.flags & HeaderFlag.Encryption) !== 0) {
    if (datagram.length === HEADER_LENGTH) {
      return err(decodeError("IKE_ERR_EMPTY_ENCRYPTED_BODY", HEADER_LENGTH, undefined, "encrypted message without a body"));
    }
    if (payloadSpec(header.nextPayload) === undefined) {
      return err(decodeError("IKE_ERR_INVALID_PAYLOAD_TYPE", headerSpec.offsets["nextPayload"]!, header.nextPayload, `payload type ${header.nextPayload}`));
    }
    return ok({ kind: "encrypted", header, ciphertext: datagram.subarray(HEADER_LENGTH) });
  }
  const pr = decodeChain(header.nextPayload, datagram, HEADER_LENGTH, false, 0, engine, sealed);
  if (!pr.ok) return pr;
  return ok({ kind: "plain", header, payloads: pr.value });
}

/**
 * Decodes the decrypted body of an encrypted message: the payload chain starting with
 * `header.nextPayload`, anything after the last payload being padding (RFC 2409 §5.3). Offsets in
 * errors and `raw.offset` count from the datagram start (body byte 0 is offset 28).
 */
export function decodeDecrypted(header: Header, plaintext: Buffer): Result<PlainMessage, DecodeError> {
  const pr = decodePayloads(header.nextPayload, plaintext, { padded: true });
  if (!pr.ok) return pr;
  return ok({ kind: "plain", header, payloads: pr.value });
}

/** Options of `decodePayloads`. */
export interface ChainOptions {
  /** Bytes after the last payload are padding to ignore (decrypted bodies). Default false. */
  readonly padded?: boolean;
  /** Offset that `body[0]` has in the datagram, for error offsets and `raw.offset`. Default 28. */
  readonly baseOffset?: number;
}

/** Decodes a payload chain that starts with payload type `first` and fills `body`. */
export function decodePayloads(first: number, body: Buffer, options: ChainOptions = {}): Result<Payload[], DecodeError> {
  return decodePayloadsUsing(first, body, options, "compiled");
}

/** `decodePayloads` with a chosen engine (tests compare the two). */
export function decodePayloadsUsing(first: number, body: Buffer, options: ChainOptions, engine: DecodeEngine): Result<Payload[], DecodeError> {
  const delta = options.baseOffset ?? HEADER_LENGTH;
  return decodeChain(first, body, 0, options.padded ?? false, delta, engine);
}

function decodeChain(
  first: number, buf: Buffer, start: number, padded: boolean, delta: number, engine: DecodeEngine, sealed?: readonly number[],
): Result<Payload[], DecodeError> {
  const payloads: Payload[] = [];
  const end = buf.length;
  let type = first;
  let pos = start;
  // Where the next-payload octet that names `type` sits: the header's, then each payload's first octet.
  let namedAt = start === HEADER_LENGTH ? headerSpec.offsets["nextPayload"]! : -delta + headerSpec.offsets["nextPayload"]!;
  while (type !== PayloadType.None) {
    const s = (sealed?.includes(type) === true ? sealedPayloadSpec(type) : undefined) ?? payloadSpec(type);
    if (s === undefined) return fail(decodeError("IKE_ERR_INVALID_PAYLOAD_TYPE", namedAt, type, `payload type ${type}`), delta);
    if (payloads.length >= MAX_PAYLOADS) return fail(decodeError("IKE_ERR_TOO_MANY_PAYLOADS", pos, type, `more than ${MAX_PAYLOADS} payloads`), delta);
    if (end - pos < GENERIC_HEADER_LENGTH) {
      return fail(decodeError("IKE_ERR_PAYLOAD_TRUNCATED", pos, type, `${end - pos} bytes cannot hold a generic header`), delta);
    }
    const next = buf[pos]!;
    const res = buf[pos + 1]!;
    const len = (buf[pos + 2]! << 8) | buf[pos + 3]!;
    if (res !== 0) return fail(decodeError("IKE_ERR_RESERVED_NOT_ZERO", pos + 1, type, `reserved octet is ${res}`), delta);
    if (len < GENERIC_HEADER_LENGTH + s.minLength) {
      return fail(decodeError("IKE_ERR_PAYLOAD_TOO_SHORT", pos + 2, type, `${s.name} length ${len} below ${GENERIC_HEADER_LENGTH + s.minLength}`), delta);
    }
    if (pos + len > end) {
      return fail(decodeError("IKE_ERR_PAYLOAD_LENGTH", pos + 2, type, `${s.name} length ${len} exceeds ${end - pos} left`), delta);
    }
    const o = runSpec(engine, s, "payload", buf, pos + GENERIC_HEADER_LENGTH, pos + len, type);
    if (o === null) return fail(takeError(), delta);
    o["raw"] = new RawView(buf, pos, pos + len, delta);
    payloads.push(o as unknown as Payload);
    namedAt = pos;
    pos += len;
    type = next;
  }
  if (!padded && pos !== end && !(start === HEADER_LENGTH && delta === 0 && alignmentPadding(buf, pos, end))) {
    return fail(decodeError("IKE_ERR_TRAILING_DATA", pos, undefined, `${end - pos} bytes after the last payload`), delta);
  }
  return ok(payloads);
}

/**
 * Libreswan pads every IKEv1 message to a multiple of 4 octets (its `ikepad=yes` default), also a
 * clear one whose payloads end elsewhere (a CERTREQ of 81 octets): up to 3 zero octets that end
 * the message on a 4-octet boundary are that padding, not data. Re-encoding such a message gives
 * it without them (the one exception to the byte-for-byte round trip).
 */
function alignmentPadding(buf: Buffer, pos: number, end: number): boolean {
  if (end - pos > 3 || end % 4 !== 0) return false;
  for (let i = pos; i < end; i++) if (buf[i] !== 0) return false;
  return true;
}

function fail(e: DecodeError, delta: number): { readonly ok: false; readonly error: DecodeError } {
  return err(delta === 0 ? e : { ...e, offset: e.offset + delta });
}

/** Encodes a payload chain (no header): the clear body to send, or to encrypt first. */
export function encodePayloads(payloads: readonly Payload[]): Buffer {
  const w = new Writer();
  writePayloads(w, payloads);
  return w.finish();
}

function writePayloads(w: Writer, payloads: readonly Payload[]): void {
  if (payloads.length > MAX_PAYLOADS) throw new RangeError(`${payloads.length} payloads, the decoder takes ${MAX_PAYLOADS}`);
  for (let i = 0; i < payloads.length; i++) {
    const p = payloads[i]!;
    const s = payloadSpec(p.type);
    if (s === undefined) throw new RangeError(`cannot encode payload type ${p.type}`);
    const start = w.pos;
    w.u8(i + 1 < payloads.length ? payloads[i + 1]!.type : PayloadType.None);
    w.u8(0);
    w.u16(0);
    encodeFrom(s, w, p as unknown as Record<string, unknown>, undefined);
    w.patchU16(start + 2, w.pos - start);
  }
}

function writeHeader(w: Writer, h: HeaderInit, nextPayload: number, length: number): void {
  encodeFrom(headerSpec, w, {
    icookie: h.icookie,
    rcookie: h.rcookie,
    nextPayload,
    majorVersion: h.majorVersion ?? IsakmpVersion.Major,
    minorVersion: h.minorVersion ?? IsakmpVersion.Minor,
    exchangeType: h.exchangeType,
    flags: h.flags,
    messageId: h.messageId,
    length,
  }, undefined);
}

/** Encodes a 28-byte header whose first payload is `nextPayload` and whose datagram is `length` long. */
export function encodeHeader(h: HeaderInit, nextPayload: number, length: number): Buffer {
  const w = new Writer(HEADER_LENGTH);
  writeHeader(w, h, nextPayload, length);
  return w.finish();
}

/** A datagram the decoder would refuse as too large is a programming error, not something to send. */
function checkDatagramLength(length: number): void {
  if (length > MAX_DATAGRAM) throw new RangeError(`datagram of ${length} bytes exceeds ${MAX_DATAGRAM}`);
}

/**
 * Encodes a clear message: header plus payload chain, next-payload and length filled in. Throws
 * RangeError when the result would exceed `MAX_DATAGRAM`.
 */
export function encodeMessage(h: HeaderInit, payloads: readonly Payload[]): Buffer {
  const w = new Writer();
  writeHeader(w, h, payloads[0]?.type ?? PayloadType.None, 0);
  writePayloads(w, payloads);
  checkDatagramLength(w.pos);
  w.patchU32(24, w.pos);
  return w.finish();
}

/**
 * Assembles an encrypted message: header (whose next payload is the first payload inside the
 * ciphertext, `firstPayload`) followed by the ciphertext, with the length covering both. Throws
 * RangeError when that would exceed `MAX_DATAGRAM`.
 */
export function encodeEncrypted(h: HeaderInit, firstPayload: number, ciphertext: Buffer): Buffer {
  checkDatagramLength(HEADER_LENGTH + ciphertext.length);
  const out = Buffer.allocUnsafe(HEADER_LENGTH + ciphertext.length);
  encodeHeader(h, firstPayload, out.length).copy(out, 0);
  ciphertext.copy(out, HEADER_LENGTH);
  return out;
}

/** Rewrites the header's length field to the datagram's actual length (after in-place changes). */
export function fixLength(datagram: Buffer): void {
  datagram.writeUInt32BE(datagram.length, 24);
}
