/**
 * Byte builders for the codec tables. They do not use the codec: lengths are counted from the hex
 * given, so a table's bytes are an independent statement of the wire format.
 */

/** Hex (whitespace allowed) to a Buffer. */
export function h(hex: string): Buffer {
  const clean = hex.replace(/\s+/g, "");
  if (!/^([0-9a-fA-F]{2})*$/.test(clean)) throw new Error(`bad hex: ${hex}`);
  return Buffer.from(clean, "hex");
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, "0");
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, "0");
}

/** A generic-header payload: next payload, reserved 0, length (4 + body), body. */
export function gh(next: number, body: string): string {
  const clean = body.replace(/\s+/g, "");
  return hex2(next) + "00" + hex4(4 + clean.length / 2) + clean;
}

/** A TV attribute. */
export function tv(type: number, value: number): string {
  return hex4(0x8000 | type) + hex4(value);
}

/** A TLV attribute. */
export function tlv(type: number, value: string): string {
  const clean = value.replace(/\s+/g, "");
  return hex4(type) + hex4(clean.length / 2) + clean;
}

/** A 28-byte ISAKMP header followed by `body`, with the length field covering both. */
export function msg(opts: {
  icookie?: string;
  rcookie?: string;
  next: number;
  version?: number;
  exchange: number;
  flags?: number;
  messageId?: number;
  length?: number;
}, body = ""): string {
  const clean = body.replace(/\s+/g, "");
  const len = opts.length ?? 28 + clean.length / 2;
  return (
    (opts.icookie ?? "0102030405060708") +
    (opts.rcookie ?? "0000000000000000") +
    hex2(opts.next) +
    hex2(opts.version ?? 0x10) +
    hex2(opts.exchange) +
    hex2(opts.flags ?? 0) +
    (opts.messageId ?? 0).toString(16).padStart(8, "0") +
    len.toString(16).padStart(8, "0") +
    clean
  );
}

/** A deep copy of a decoded value without the `raw` views, for comparing with a table value. */
export function strip<T>(v: T): T {
  if (Buffer.isBuffer(v)) return v;
  if (Array.isArray(v)) return v.map(strip) as unknown as T;
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (k !== "raw") out[k] = strip(x);
    return out as T;
  }
  return v;
}

/** `n` copies of a hex string. */
export function rep(hex: string, n: number): string {
  return hex.repeat(n);
}
