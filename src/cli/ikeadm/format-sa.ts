/**
 * Text output for SAs: `get|dump p1` records in the original's line-prefix layout (reference
 * ikeadm.md section 3.6: IKESA:, XFORM:, LOCIP:, REMIP:, LIFTM:, STATS:, LOCID:, REMID:, and KEY:
 * when the daemon runs at privilege keymat), and
 * the extensions `dump sadb` and `acquire`. The prefixes are interface constants scripts parse.
 */
import { isIPv6 } from "node:net";
import { authMethodWord } from "../../config/names.js";
import { cipherById, groupById, hashById } from "../../crypto/algorithms.js";
import type { AcquireResult, EndpointView, P1NattView, P1View, SadbView } from "../../control/results.js";
import { human, type FormatOptions } from "./format.js";

const AUTH_TEXT: Record<string, string> = {
  preshared: "pre-shared key",
  dss_sig: "DSS signatures",
  rsa_sig: "RSA signatures",
  rsa_encrypt: "RSA Encryption",
};

function ipLine(prefix: string, who: string, e: EndpointView): string {
  return `${prefix} ${who} IP address: ${isIPv6(e.address) ? "AF_INET6" : "AF_INET"}: port ${e.port}, ${e.address}`;
}

const when = (ms: number) => new Date(ms).toUTCString();

/**
 * One `ike_p1_sa_t` record. The KEY: lines appear only when the daemon sent keys (privilege
 * keymat); `-p` prints each key byte as XX. The pre-shared key is not repeated here: the SA does
 * not keep it (`get preshared` shows it at the same level).
 */
export function formatP1(v: P1View, opts: FormatOptions = { paranoid: false }): string[] {
  const me = v.initiator ? "Initiator" : "Responder";
  const them = v.initiator ? "Responder" : "Initiator";
  const out = [
    `IKESA: SA Initiator cookie 0x${v.icookie}, Responder cookie 0x${v.rcookie}`,
    `       Local host is the ${me.toLowerCase()}; IKE version 1.0; state ${v.state}${v.rule !== undefined ? `; rule "${v.rule}"` : ""}`,
    ...dpdLines(v),
  ];
  const x = v.xform;
  if (x !== undefined) {
    const c = cipherById(x.encrAlg);
    const auth = authMethodWord(x.authMethod);
    out.push(
      `XFORM: Authentication method: ${(auth !== undefined ? AUTH_TEXT[auth] : undefined) ?? `method ${x.authMethod}`}; ` +
        `Encryption alg: ${c?.display ?? `#${x.encrAlg}`}${x.keyBits > 0 ? `(${x.keyBits})` : ""}; ` +
        `Authentication alg: ${hashById(x.hashAlg)?.display ?? `#${x.hashAlg}`}; ` +
        `Oakley Group: ${groupById(x.group)?.display ?? `group ${x.group}`}; ` +
        (x.pfs === 0 ? "Phase 2 PFS is not used" : `Phase 2 PFS is used, group ${x.pfs}`),
    );
  }
  out.push(ipLine("LOCIP:", `Local (${me})`, v.local), ipLine("REMIP:", `Remote (${them})`, v.remote));
  if (x !== undefined) {
    const life = x.lifeSecs;
    const left = v.establishedMs !== undefined ? Math.max(0, Math.round((v.establishedMs + life * 1000 - Date.now()) / 1000)) : life;
    out.push(
      `LIFTM: Lifetime limits: ${life} seconds${human(life)}; ${x.lifeKb > 0 ? `${x.lifeKb} kbytes protected` : "no kbyte limit"}; no key-use limit`,
      `       Current usage: created ${when(v.createdMs)}${v.establishedMs !== undefined ? `, established ${when(v.establishedMs)}` : ""}`,
      `       Expires in ${left} seconds${human(left)}`,
    );
  } else {
    out.push(`LIFTM: Current usage: created ${when(v.createdMs)}`);
  }
  out.push(`STATS: ${v.qmCreated} Quick Mode SAs created`);
  if (v.localId !== undefined) out.push(`LOCID: ${me} identity: ${v.localId}`);
  if (v.remoteId !== undefined) out.push(`REMID: ${them} identity: ${v.remoteId}`);
  if (v.natt !== undefined) out.push(nattLine(v.natt));
  const k = v.keys;
  if (k !== undefined) {
    const keys: [string, string][] = [
      ["SKEYID", k.skeyidHex], ["SKEYID_d", k.skeyidDHex], ["SKEYID_a", k.skeyidAHex], ["SKEYID_e", k.skeyidEHex],
      ["Encryption key", k.encKeyHex], ["Initialization vector", k.ivHex],
    ];
    for (const [what, hex] of keys) out.push(`KEY:   ${what} (${hex.length / 2} bytes): ${opts.paranoid ? "XX".repeat(hex.length / 2) : hex}/${hex.length * 4}`);
  }
  return out;
}

/** `NATT:` (an extension): the NAT-T version, who is behind a NAT, whether the SA floated to 4500. */
function nattLine(n: P1NattView): string {
  const nat =
    n.localBehindNat === undefined
      ? "NAT-D not exchanged"
      : n.localBehindNat && n.peerBehindNat
        ? "both ends behind NAT"
        : n.localBehindNat
          ? "local host behind NAT"
          : n.peerBehindNat
            ? "remote host behind NAT"
            : "no NAT";
  return `NATT:  NAT traversal ${n.version}; ${nat}; ${n.floated ? "floated to the NAT-T port" : "not floated"}`;
}

/** UDP encapsulation of an SA (NAT-T): its ports and the original address NAT-OA gave. */
function encapLine(e: NonNullable<SadbView["encap"]>): string {
  const oa = e.originalSrc ?? e.originalDst;
  return `       UDP encapsulation: sport ${e.sport} dport ${e.dport}${oa !== undefined ? `; original address ${oa}` : ""}`;
}

/** The IKESA: record's DPD part (RFC 3706), as the original reports it, with our counters. */
function dpdLines(v: P1View): string[] {
  const d = v.dpd;
  if (d === undefined) return [];
  if (!d.enabled) {
    const why = !d.weSent ? "not configured" : !d.peerSent ? "peer did not send the DPD vendor ID" : "not running: SA not established, or dpd_interval_secs 0 since a reload";
    return [`       Dead Peer Detection (RFC 3706): not in use (${why})`];
  }
  const state = d.outstanding > 0 ? `in progress, ${d.outstanding} R-U-THERE unanswered` : d.lastAckMs !== undefined ? `successful at ${when(d.lastAckMs)}` : "not initiated";
  return [
    `       Dead Peer Detection (RFC 3706) is enabled; handshake ${state}`,
    `       DPD: peer last heard ${when(d.lastHeardMs)}; our seq ${d.seq ?? "none yet"}; peer seq ${d.peerSeq ?? "none yet"}`,
  ];
}

function keyLine(what: string, hex: string | undefined, bits: number, opts: FormatOptions): string[] {
  if (hex === undefined) return [];
  const shown = opts.paranoid ? "XX".repeat(hex.length / 2) : hex;
  return [`       KEY: ${what} (${hex.length / 2} bytes): ${shown}/${bits}`];
}

/** One SA of the in-memory SADB (`dump sadb`); keys only when the daemon sent them (level 2). */
export function formatSadb(v: SadbView, opts: FormatOptions): string[] {
  return [
    `SADB: ${v.proto} spi 0x${v.spi} ${v.src} -> ${v.dst} mode ${v.mode} state ${v.state} reqid ${v.reqid}${v.label !== "" ? ` label "${v.label}"` : ""}`,
    `       encr alg ${v.encAlg}/${v.encKeyBits} bits; auth alg ${v.authAlg}/${v.authKeyBits} bits`,
    ...(v.encap !== undefined ? [encapLine(v.encap)] : []),
    ...keyLine("Encryption key", v.encKeyHex, v.encKeyBits, opts),
    ...keyLine("Authentication key", v.authKeyHex, v.authKeyBits, opts),
  ];
}

const WHY: Record<string, string> = {
  pending: "an ACQUIRE for this traffic is already being answered",
  "no-ipsec-policy": "no IPsec policy is loaded (ipsecinit.conf)",
  "no-rule": "no ike.config rule covers these addresses",
  bypass: "the IPsec policy bypasses this traffic",
  drop: "the IPsec policy drops this traffic",
  none: "no IPsec policy entry matches this traffic",
  "no-algorithms": "the IPsec policy entry offers no algorithm this daemon supports",
  "not-registered": "the kernel has no key manager registered for ESP",
};

/** `acquire` outcome, and whether it counts as success. */
export function formatAcquire(r: AcquireResult): { ok: boolean; lines: string[] } {
  if (r.outcome === "started") {
    return { ok: true, lines: [`ACQUIRE ${r.seq}: negotiating with ${r.peer !== undefined ? `${r.peer.address}:${r.peer.port}` : "the peer"}.`] };
  }
  const why = WHY[r.outcome] ?? r.outcome;
  return { ok: r.outcome === "pending", lines: [`ACQUIRE ${r.seq}: not started: ${why}.`] };
}
