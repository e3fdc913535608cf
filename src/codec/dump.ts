/**
 * Trace-level dump of decoded messages, driven by the same specs as decode and encode (STYLE §3.1,
 * after isakmpd's field descriptions). Each payload becomes `key=value` lines such as
 * `SA.proposals[0].transforms[0].attributes[1]=HashAlgorithm:2(SHA)`. Which fields are secret is the
 * caller's policy (`redact`); the codec marks none itself.
 */
import { dumpFields, type Redact } from "./fields.js";
import { headerSpec, type Header } from "./header.js";
import { payloadSpec, type Payload } from "./payloads/index.js";
import { nameOf } from "./names.js";
import { PayloadType } from "./constants.js";
import type { Message } from "./message.js";

export type { Redact };

/** Lines for the header. */
export function dumpHeader(h: Header): string[] {
  const out: string[] = [];
  dumpFields(headerSpec, h as unknown as Record<string, unknown>, "HDR", PayloadType.None, out, undefined, undefined);
  return out;
}

/** Lines for one payload; `redact(payloadType, path)` replaces a byte field by its length. */
export function dumpPayload(p: Payload, redact?: Redact): string[] {
  const s = payloadSpec(p.type);
  const out: string[] = [];
  if (s === undefined) return out;
  dumpFields(s, p as unknown as Record<string, unknown>, nameOf(PayloadType, p.type), p.type, out, redact, undefined);
  return out;
}

/** Lines for a whole message (the ciphertext of an encrypted one is summarised by its length). */
export function dumpMessage(m: Message, redact?: Redact): string[] {
  const out = dumpHeader(m.header);
  if (m.kind === "encrypted") {
    out.push(`BODY=<encrypted ${m.ciphertext.length} bytes>`);
    return out;
  }
  for (const p of m.payloads) out.push(...dumpPayload(p, redact));
  return out;
}
