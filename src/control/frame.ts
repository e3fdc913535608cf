/**
 * Admin socket framing. Linux has no doors, so requests and replies travel over a Unix stream
 * socket as length-prefixed, versioned frames whose body is one msgpack value:
 *
 * ```
 *  0               1               2               3
 *  +---------------+---------------+---------------+---------------+
 *  |  magic 'I'    |  magic 'K'    |   version     |   reserved 0  |
 *  +---------------+---------------+---------------+---------------+
 *  |                  body length (uint32, big endian)             |
 *  +---------------+---------------+---------------+---------------+
 *  |                  body: msgpack (msgpackr) ...                 |
 * ```
 *
 * The decoder is incremental and bounded: a header announcing more than MAX_FRAME_BODY, a bad
 * magic or version, or a body msgpack cannot decode yields an error value, never a throw.
 *
 * Frames carry secrets (a token PIN, keys at privilege keymat): the decoder zeroes the bytes it
 * was given once they are decoded or copied, and a partial frame when the connection ends
 * (close()), so the received chunks do not keep them. Binary fields are decoded as copies, never
 * as views of those bytes.
 */
import { Packr } from "msgpackr";

/** Frame format version; bumped on any incompatible change of framing or messages. */
export const FRAME_VERSION = 1;
/** Bytes before the body. */
export const FRAME_HEADER_LEN = 8;
/** Largest body accepted (a config file sent by `add rule` fits many times over). */
export const MAX_FRAME_BODY = 1024 * 1024;

const MAGIC0 = 0x49; // 'I'
const MAGIC1 = 0x4b; // 'K'

// Plain maps in, plain objects out; no records or structure sharing, so frames are self-contained.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false, copyBuffers: true });

/** Why a byte stream is not a valid frame sequence. Offsets are from the start of the frame. */
export interface FrameError {
  code: "IKE_ERR_FRAME_MAGIC" | "IKE_ERR_FRAME_VERSION" | "IKE_ERR_FRAME_RESERVED" | "IKE_ERR_FRAME_TOO_LARGE" | "IKE_ERR_FRAME_BODY";
  message: string;
  offset: number;
}

/** Encode one value as a frame. */
export function encodeFrame(value: unknown): Buffer {
  const body = packr.pack(value);
  if (body.length > MAX_FRAME_BODY) throw new RangeError(`frame body ${body.length} bytes exceeds ${MAX_FRAME_BODY}`);
  const head = Buffer.alloc(FRAME_HEADER_LEN);
  head[0] = MAGIC0;
  head[1] = MAGIC1;
  head[2] = FRAME_VERSION;
  head.writeUInt32BE(body.length, 4);
  const frame = Buffer.concat([head, body]);
  // The packer's buffer (reused, kept for the next frame) must not keep a reply's contents:
  // at privilege keymat those can be keys.
  body.fill(0);
  return frame;
}

/** One decoded item: a value or an error (after an error the stream must be closed). */
export type FrameItem = { ok: true; value: unknown } | { ok: false; error: FrameError };

/** Incremental frame decoder for one connection. */
export class FrameDecoder {
  #buf: Buffer = Buffer.alloc(0);
  #failed = false;

  /** Bytes buffered but not yet a whole frame. */
  get pending(): number {
    return this.#buf.length;
  }

  /**
   * Feed bytes; returns every complete frame, stopping at the first error. The decoder owns
   * `chunk` from here: its bytes are zeroed once decoded (or copied to join the next chunk).
   */
  push(chunk: Buffer): FrameItem[] {
    if (this.#failed) return [];
    if (this.#buf.length === 0) this.#buf = chunk;
    else {
      const joined = Buffer.concat([this.#buf, chunk]);
      this.#buf.fill(0);
      chunk.fill(0);
      this.#buf = joined;
    }
    const out: FrameItem[] = [];
    while (this.#buf.length >= 2) {
      const err = this.#checkHeader();
      if (err) {
        this.#fail();
        out.push({ ok: false, error: err });
        return out;
      }
      if (this.#buf.length < FRAME_HEADER_LEN) break;
      const len = this.#buf.readUInt32BE(4);
      if (this.#buf.length < FRAME_HEADER_LEN + len) break;
      const frame = this.#buf.subarray(0, FRAME_HEADER_LEN + len);
      this.#buf = this.#buf.subarray(FRAME_HEADER_LEN + len);
      out.push(decodeBody(frame.subarray(FRAME_HEADER_LEN)));
      // The value holds its own copies (strings, copied binaries): a PIN or key stays nowhere else.
      frame.fill(0);
      if (!out[out.length - 1]!.ok) {
        this.#fail();
        return out;
      }
    }
    return out;
  }

  /**
   * The connection ended (closed, or dropped idle): a partial frame's bytes (a request with a PIN
   * whose end never came) are zeroed, and nothing more is decoded.
   */
  close(): void {
    this.#fail();
  }

  /** Nothing more is decoded; what is buffered is zeroed. */
  #fail(): void {
    this.#failed = true;
    this.#buf.fill(0);
    this.#buf = Buffer.alloc(0);
  }

  #checkHeader(): FrameError | undefined {
    const b = this.#buf;
    if (b[0] !== MAGIC0 || b[1] !== MAGIC1) {
      return { code: "IKE_ERR_FRAME_MAGIC", message: "not an iked admin frame (bad magic)", offset: b[0] !== MAGIC0 ? 0 : 1 };
    }
    if (b.length >= 3 && b[2] !== FRAME_VERSION) {
      return { code: "IKE_ERR_FRAME_VERSION", message: `unsupported frame version ${b[2]} (this daemon speaks ${FRAME_VERSION})`, offset: 2 };
    }
    if (b.length >= 4 && b[3] !== 0) {
      return { code: "IKE_ERR_FRAME_RESERVED", message: "reserved header byte is not zero", offset: 3 };
    }
    if (b.length >= FRAME_HEADER_LEN) {
      const len = b.readUInt32BE(4);
      if (len > MAX_FRAME_BODY) {
        return { code: "IKE_ERR_FRAME_TOO_LARGE", message: `frame body of ${len} bytes exceeds the limit of ${MAX_FRAME_BODY}`, offset: 4 };
      }
    }
    return undefined;
  }
}

function decodeBody(body: Buffer): FrameItem {
  try {
    return { ok: true, value: packr.unpack(body) };
  } catch (err) {
    // msgpackr throws on malformed input; hostile bytes become an error value here.
    return { ok: false, error: { code: "IKE_ERR_FRAME_BODY", message: `undecodable frame body: ${(err as Error).message}`, offset: FRAME_HEADER_LEN } };
  }
}
