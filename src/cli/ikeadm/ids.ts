/**
 * Object identifiers on the ikeadm command line (reference ikeadm.md §5): `local remote`
 * addresses (host names resolved unless `-n`), `0x<icookie> 0x<rcookie>` for Phase 1 SAs, and
 * `type value type value` identity pairs for pre-shared keys.
 */
import { lookup } from "node:dns/promises";
import { parseIp } from "../../config/address.js";
import { PRESHARED_ID_TYPE_WORDS } from "../../config/names.js";
import type { AdminId } from "../../control/messages.js";

/** Parse outcome. */
export type IdResult = { ok: true; id: AdminId } | { ok: false; message: string };

async function address(word: string, numeric: boolean): Promise<{ ok: true; addr: string } | { ok: false; message: string }> {
  const slash = word.indexOf("/");
  const [host, suffix] = slash >= 0 ? [word.slice(0, slash), word.slice(slash)] : [word, ""];
  if (parseIp(host)) return { ok: true, addr: word };
  if (numeric) return { ok: false, message: `'${word}' is not a numeric address (-n forbids name lookups)` };
  let all: { address: string }[];
  try {
    all = await lookup(host, { all: true, verbatim: true });
  } catch {
    return { ok: false, message: `cannot resolve '${host}'` };
  }
  if (all.length !== 1) return { ok: false, message: `'${host}' resolves to ${all.length} addresses; give one address` };
  return { ok: true, addr: all[0]!.address + suffix };
}

/** Identifier of a Phase 1 SA: cookie pair or address pair. */
export async function parseP1Id(args: readonly string[], numeric: boolean): Promise<IdResult> {
  if (args.length !== 2) return { ok: false, message: "a phase 1 SA is identified by 'local_ip remote_ip' or '0x<icookie> 0x<rcookie>'" };
  const [a, b] = args as [string, string];
  if (/^0x/i.test(a)) {
    if (!/^0x[0-9a-f]{1,16}$/i.test(a) || !/^0x[0-9a-f]{1,16}$/i.test(b)) return { ok: false, message: "cookies are 64-bit hex numbers (0x...)" };
    return { ok: true, id: { kind: "cookies", icookie: a.slice(2).toLowerCase().padStart(16, "0"), rcookie: b.slice(2).toLowerCase().padStart(16, "0") } };
  }
  return addressPair(a, b, numeric);
}

async function addressPair(a: string, b: string, numeric: boolean): Promise<IdResult> {
  const l = await address(a, numeric);
  if (!l.ok) return l;
  const r = await address(b, numeric);
  if (!r.ok) return r;
  return { ok: true, id: { kind: "addr", local: l.addr, remote: r.addr } };
}

/** Identifier of a pre-shared key: address pair or `type value type value`. */
export async function parsePresharedId(args: readonly string[], numeric: boolean): Promise<IdResult> {
  if (args.length === 4 && PRESHARED_ID_TYPE_WORDS.has(args[0]!.toLowerCase())) {
    const [lt, l, rt, r] = args as [string, string, string, string];
    if (!PRESHARED_ID_TYPE_WORDS.has(rt.toLowerCase())) return { ok: false, message: `unknown identity type '${rt}'` };
    return { ok: true, id: { kind: "ident", localType: lt.toLowerCase(), local: l, remoteType: rt.toLowerCase(), remote: r } };
  }
  if (args.length !== 2) return { ok: false, message: "a pre-shared key is identified by 'local_ip remote_ip' or 'idtype id idtype id'" };
  return addressPair(args[0]!, args[1]!, numeric);
}
