/**
 * The crypto pool's task messages: their types (task-types.ts, re-exported here, so callers import
 * one module) and the wire format between the pool and its workers.
 *
 * Structured clone of small objects and typed-array views cost about 10 µs per response here
 * (bench/crypto/pool.bench.ts), a large share of a group-2 DH; one flat byte string per Piscina
 * task, transferred, costs a fraction of that. Both sides are ours, but the decoder still checks
 * every length and reports a malformed message as an error value.
 *
 *   batch    = u16 count, request*            response batch = u16 count, response*
 *   request  = u8 op, fields by op (below)    response = u8 0, str code, str message
 *   bytes    = u32 length, octets                      | u8 1, value
 *   str      = bytes (UTF-8)                  value    = u8 1, bytes            (Buffer)
 *   keyRef   = str keyId, u32 version,                 | u8 2, bytes, bytes     (DhKeyPair)
 *              u8 source (0 none, 1 path, 2 pem,       | u8 3, u8               (boolean)
 *              3 der, 4 path + library),               | u8 4, str type, u32 bits, bytes spki,
 *              [str|bytes|str str]                     |   u8 token, [str label, u8 locked] (KeyDescription)
 *                                                      | u8 5, bytes, bytes     (DhExchange)
 *   keyInput = u8 0, bytes | u8 1, str
 *   dhGenerate: u32 group        dhAgree: u32 group, bytes x, bytes gy
 *   dhGenerateAndAgree: u32 group, bytes gy
 *   sign: keyRef, bytes hash     decrypt: keyRef, bytes ciphertext     loadKey: keyRef
 *   verify: keyInput, bytes hash, bytes signature                      encrypt: keyInput, bytes plaintext
 *   verifySignedData: bytes spki, str family, str hash ("" none), u32 saltLength, bytes data, bytes signature
 *   tokenLogin: str library, str token, bytes pin                      tokenLogout: str library, str token
 */
import type { DhExchange, DhKeyPair } from "./dh.js";
import type { SignedDataFamily } from "./signed-data.js";
import type { KeyDescription, KeyRefFields, TaskOp, TaskRequest, TaskResponse } from "./task-types.js";
import { unpooledCopy } from "./unpooled-copy.js";

export * from "./task-types.js";

const OP_CODES: Record<TaskOp, number> = {
  dhGenerate: 1,
  dhAgree: 2,
  sign: 3,
  verify: 4,
  encrypt: 5,
  decrypt: 6,
  loadKey: 7,
  dhGenerateAndAgree: 8,
  verifySignedData: 9,
  tokenLogin: 10,
  tokenLogout: 11,
};
const OPS: readonly (TaskOp | undefined)[] = [
  undefined,
  "dhGenerate",
  "dhAgree",
  "sign",
  "verify",
  "encrypt",
  "decrypt",
  "loadKey",
  "dhGenerateAndAgree",
  "verifySignedData",
  "tokenLogin",
  "tokenLogout",
];

/** Growable big-endian writer over a non-pooled Buffer (its ArrayBuffer can be transferred). */
class WireWriter {
  #buf: Buffer;
  #len = 0;
  constructor(capacity: number) {
    this.#buf = Buffer.alloc(Math.max(64, capacity));
  }
  #room(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    const next = Buffer.alloc(Math.max(this.#buf.length * 2, this.#len + n));
    this.#buf.copy(next, 0, 0, this.#len);
    this.#buf.fill(0);
    this.#buf = next;
  }
  u8(v: number): void {
    this.#room(1);
    this.#buf[this.#len++] = v;
  }
  u16(v: number): void {
    this.#room(2);
    this.#len = this.#buf.writeUInt16BE(v & 0xffff, this.#len);
  }
  u32(v: number): void {
    this.#room(4);
    this.#len = this.#buf.writeUInt32BE(v >>> 0, this.#len);
  }
  bytes(b: Uint8Array): void {
    this.u32(b.length);
    this.#room(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
  }
  str(s: string): void {
    const n = Buffer.byteLength(s);
    this.u32(n);
    this.#room(n);
    this.#len += this.#buf.write(s, this.#len);
  }
  /** The encoded message: a view whose ArrayBuffer belongs to it alone. */
  done(): Uint8Array {
    return new Uint8Array(this.#buf.buffer, this.#buf.byteOffset, this.#len);
  }
}

/** Bounds-checked reader; byte fields are views into the message, not copies. */
class WireReader {
  readonly #buf: Buffer;
  #pos = 0;
  constructor(msg: Uint8Array) {
    this.#buf = Buffer.from(msg.buffer, msg.byteOffset, msg.byteLength);
  }
  #need(n: number): number {
    if (this.#pos + n > this.#buf.length) throw new RangeError(`wire message truncated at ${this.#pos}`);
    const at = this.#pos;
    this.#pos += n;
    return at;
  }
  u8(): number {
    return this.#buf[this.#need(1)]!;
  }
  u16(): number {
    return this.#buf.readUInt16BE(this.#need(2));
  }
  u32(): number {
    return this.#buf.readUInt32BE(this.#need(4));
  }
  bytes(): Buffer {
    const n = this.u32();
    const at = this.#need(n);
    return this.#buf.subarray(at, at + n);
  }
  str(): string {
    const n = this.u32();
    const at = this.#need(n);
    return this.#buf.toString("utf8", at, at + n);
  }
  end(): void {
    if (this.#pos !== this.#buf.length) throw new RangeError(`wire message has ${this.#buf.length - this.#pos} extra bytes`);
  }
}

function writeKeyRef(w: WireWriter, r: KeyRefFields): void {
  w.str(r.keyId);
  w.u32(r.keyVersion);
  const src = r.keySource;
  if (src === undefined) w.u8(0);
  else if ("path" in src && src.pkcs11Library !== undefined) (w.u8(4), w.str(src.path), w.str(src.pkcs11Library));
  else if ("path" in src) (w.u8(1), w.str(src.path));
  else if ("pem" in src) (w.u8(2), w.str(src.pem));
  else (w.u8(3), w.bytes(src.der));
}

function readKeyRef(r: WireReader): KeyRefFields {
  const keyId = r.str();
  const keyVersion = r.u32();
  const kind = r.u8();
  if (kind === 0) return { keyId, keyVersion };
  if (kind === 1) return { keyId, keyVersion, keySource: { path: r.str() } };
  if (kind === 2) return { keyId, keyVersion, keySource: { pem: r.str() } };
  if (kind === 3) return { keyId, keyVersion, keySource: { der: r.bytes() } };
  if (kind === 4) return { keyId, keyVersion, keySource: { path: r.str(), pkcs11Library: r.str() } };
  throw new RangeError(`bad key source kind ${kind}`);
}

function writeKeyInput(w: WireWriter, k: Uint8Array | string): void {
  if (typeof k === "string") (w.u8(1), w.str(k));
  else (w.u8(0), w.bytes(k));
}

function readKeyInput(r: WireReader): Uint8Array | string {
  const kind = r.u8();
  if (kind === 0) return r.bytes();
  if (kind === 1) return r.str();
  throw new RangeError(`bad key input kind ${kind}`);
}

function writeRequest(w: WireWriter, req: TaskRequest): void {
  w.u8(OP_CODES[req.op]);
  switch (req.op) {
    case "dhGenerate":
      return w.u32(req.group);
    case "dhAgree":
      return (w.u32(req.group), w.bytes(req.privateValue), w.bytes(req.peerPublic));
    case "dhGenerateAndAgree":
      return (w.u32(req.group), w.bytes(req.peerPublic));
    case "sign":
      return (writeKeyRef(w, req), w.bytes(req.hash));
    case "decrypt":
      return (writeKeyRef(w, req), w.bytes(req.ciphertext));
    case "loadKey":
      return writeKeyRef(w, req);
    case "verify":
      return (writeKeyInput(w, req.publicKey), w.bytes(req.hash), w.bytes(req.signature));
    case "encrypt":
      return (writeKeyInput(w, req.publicKey), w.bytes(req.plaintext));
    case "verifySignedData":
      return (w.bytes(req.spki), w.str(req.alg.family), w.str(req.alg.hash ?? ""), w.u32(req.alg.saltLength ?? 0), w.bytes(req.data), w.bytes(req.signature));
    case "tokenLogin":
      return (w.str(req.library), w.str(req.token), w.bytes(req.pin));
    case "tokenLogout":
      return (w.str(req.library), w.str(req.token));
    default: {
      const never: never = req;
      throw new TypeError(`unknown op ${String(never)}`);
    }
  }
}

function readRequest(r: WireReader): TaskRequest {
  const op = OPS[r.u8()];
  switch (op) {
    case "dhGenerate":
      return { op, group: r.u32() };
    case "dhAgree":
      return { op, group: r.u32(), privateValue: r.bytes(), peerPublic: r.bytes() };
    case "dhGenerateAndAgree":
      return { op, group: r.u32(), peerPublic: r.bytes() };
    case "sign":
      return { op, ...readKeyRef(r), hash: r.bytes() };
    case "decrypt":
      return { op, ...readKeyRef(r), ciphertext: r.bytes() };
    case "loadKey":
      return { op, ...readKeyRef(r) };
    case "verify":
      return { op, publicKey: readKeyInput(r), hash: r.bytes(), signature: r.bytes() };
    case "encrypt":
      return { op, publicKey: readKeyInput(r), plaintext: r.bytes() };
    case "verifySignedData": {
      const spki = r.bytes();
      const family = r.str() as SignedDataFamily;
      const hash = r.str();
      const saltLength = r.u32();
      return { op, spki, alg: { family, hash: hash === "" ? null : hash, saltLength }, data: r.bytes(), signature: r.bytes() };
    }
    case "tokenLogin":
      return { op, library: r.str(), token: r.str(), pin: r.bytes() };
    case "tokenLogout":
      return { op, library: r.str(), token: r.str() };
    case undefined:
      throw new RangeError("unknown op code");
  }
}

function writeResponse(w: WireWriter, res: TaskResponse): void {
  if (!res.ok) return (w.u8(0), w.str(res.error.code), w.str(res.error.message));
  w.u8(1);
  const v: unknown = res.value;
  if (v instanceof Uint8Array) return (w.u8(1), w.bytes(v));
  if (typeof v === "boolean") return (w.u8(3), w.u8(v ? 1 : 0));
  if (typeof v === "object" && v !== null && "sharedSecret" in v) {
    const ex = v as DhExchange;
    return (w.u8(5), w.bytes(ex.publicValue), w.bytes(ex.sharedSecret));
  }
  if (typeof v === "object" && v !== null && "publicValue" in v) {
    const kp = v as DhKeyPair;
    return (w.u8(2), w.bytes(kp.publicValue), w.bytes(kp.privateValue));
  }
  const kd = v as KeyDescription;
  w.u8(4);
  w.str(kd.type);
  w.u32(kd.bits);
  w.bytes(kd.spki);
  if (kd.token === undefined) return w.u8(0);
  w.u8(1);
  w.str(kd.token.label);
  w.u8(kd.token.locked ? 1 : 0);
}

/**
 * Byte fields of a response are copied out: each caller gets Buffers of its own. Those that may be
 * secret (g^xy, private values, plaintexts: every bare Buffer value) get allocations of their own,
 * outside Node's shared pool (`unpooledCopy`), so the caller's wipe leaves nothing behind.
 */
function readResponse(r: WireReader): TaskResponse {
  if (r.u8() === 0) return { ok: false, error: { code: r.str(), message: r.str() } };
  const tag = r.u8();
  if (tag === 1) return { ok: true, value: unpooledCopy(r.bytes()) };
  if (tag === 2) return { ok: true, value: { publicValue: Buffer.from(r.bytes()), privateValue: unpooledCopy(r.bytes()) } };
  if (tag === 3) return { ok: true, value: r.u8() === 1 };
  if (tag === 5) return { ok: true, value: { publicValue: Buffer.from(r.bytes()), sharedSecret: unpooledCopy(r.bytes()) } };
  if (tag === 4) {
    const type = r.str();
    if (type !== "rsa" && type !== "dsa") throw new RangeError("bad key type");
    const bits = r.u32();
    const spki = Buffer.from(r.bytes());
    if (r.u8() === 0) return { ok: true, value: { type, bits, spki } };
    return { ok: true, value: { type, bits, spki, token: { label: r.str(), locked: r.u8() === 1 } } };
  }
  throw new RangeError(`bad response tag ${tag}`);
}

function sizeHint(items: readonly object[]): number {
  return items.length * 600;
}

/** Encode requests for one Piscina task. */
export function encodeRequests(reqs: readonly TaskRequest[]): Uint8Array {
  const w = new WireWriter(sizeHint(reqs));
  w.u16(reqs.length);
  for (const req of reqs) writeRequest(w, req);
  return w.done();
}

/** Decode a worker's input; byte fields are views into `msg` (wipe it when done). */
export function decodeRequests(msg: Uint8Array): TaskRequest[] {
  const r = new WireReader(msg);
  const n = r.u16();
  const out: TaskRequest[] = [];
  for (let i = 0; i < n; i++) out.push(readRequest(r));
  r.end();
  return out;
}

/** Encode a worker's responses, in request order. */
export function encodeResponses(responses: readonly TaskResponse[]): Uint8Array {
  const w = new WireWriter(sizeHint(responses));
  w.u16(responses.length);
  for (const res of responses) writeResponse(w, res);
  return w.done();
}

/** Decode responses (copies: the message can be wiped right after). */
export function decodeResponses(msg: Uint8Array): TaskResponse[] {
  const r = new WireReader(msg);
  const n = r.u16();
  const out: TaskResponse[] = [];
  for (let i = 0; i < n; i++) out.push(readResponse(r));
  r.end();
  return out;
}
