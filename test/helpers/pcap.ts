/**
 * Capture files for tests: read the UDP datagrams out of what dumpcap writes, and write our
 * own datagrams as a capture so tshark can dissect them.
 *
 * Reading accepts classic pcap (both byte orders, micro- and nanosecond magic) and pcapng
 * (what `dumpcap -w` writes by default: SHB, IDB with if_tsresol, EPB, SPB), with the link
 * types a loopback capture uses: Ethernet (1), null/loopback (0 and 108), raw IP (101, 12, 14,
 * 228, 229), Linux cooked v1 (113) and v2 (276). IPv4 and IPv6 (with extension headers), UDP
 * only; everything else is skipped. Malformed input never throws: the result carries the
 * datagrams read so far and an error with its byte offset.
 *
 * Writing produces classic little-endian microsecond pcap, link type raw IP (101) or Ethernet
 * (1), with synthesised IPv4 (RFC 791) / IPv6 (RFC 8200) and UDP (RFC 768) headers whose
 * lengths and checksums are correct.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { isIPv4, isIPv6 } from "node:net";

/** One UDP datagram, as read from or written to a capture. */
export interface UdpDatagram {
  /** Seconds since the epoch (microsecond or better resolution). */
  time: number;
  src: string;
  sport: number;
  dst: string;
  dport: number;
  payload: Buffer;
}

/** Why a capture could not be read completely. */
export interface PcapError {
  code: "PCAP_ERR_MAGIC" | "PCAP_ERR_TRUNCATED" | "PCAP_ERR_BLOCK" | "PCAP_ERR_INTERFACE";
  offset: number;
  message: string;
}

/** Datagrams read, and the error that stopped reading, if any. */
export interface PcapReadResult {
  datagrams: UdpDatagram[];
  /** Link types seen (one per interface for pcapng). */
  linkTypes: number[];
  error?: PcapError;
}

/** Link types this module understands. */
export const LinkType = {
  Null: 0,
  Ethernet: 1,
  RawBsd12: 12,
  RawBsd14: 14,
  Raw: 101,
  Loop: 108,
  LinuxSll: 113,
  Ipv4: 228,
  Ipv6: 229,
  LinuxSll2: 276,
} as const;

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const ETH_VLAN = [0x8100, 0x88a8];

/** Finds the IP packet inside one link-layer frame; `undefined` when not IP. */
function ipOf(linkType: number, frame: Buffer, littleEndianHost: boolean): Buffer | undefined {
  switch (linkType) {
    case LinkType.Ethernet: {
      let off = 12;
      if (frame.length < 14) return undefined;
      let type = frame.readUInt16BE(off);
      while (ETH_VLAN.includes(type) && frame.length >= off + 6) {
        off += 4;
        type = frame.readUInt16BE(off);
      }
      return type === ETH_IPV4 || type === ETH_IPV6 ? frame.subarray(off + 2) : undefined;
    }
    case LinkType.Null:
    case LinkType.Loop: {
      // The family is a host-order u32 for DLT_NULL and network order for DLT_LOOP.
      if (frame.length < 4) return undefined;
      const fam = linkType === LinkType.Loop || !littleEndianHost ? frame.readUInt32BE(0) : frame.readUInt32LE(0);
      return fam === 2 || fam === 24 || fam === 28 || fam === 30 ? frame.subarray(4) : undefined;
    }
    case LinkType.Raw:
    case LinkType.RawBsd12:
    case LinkType.RawBsd14:
    case LinkType.Ipv4:
    case LinkType.Ipv6:
      return frame;
    case LinkType.LinuxSll:
      if (frame.length < 16) return undefined;
      return [ETH_IPV4, ETH_IPV6].includes(frame.readUInt16BE(14)) ? frame.subarray(16) : undefined;
    case LinkType.LinuxSll2:
      if (frame.length < 20) return undefined;
      return [ETH_IPV4, ETH_IPV6].includes(frame.readUInt16BE(0)) ? frame.subarray(20) : undefined;
    default:
      return undefined;
  }
}

/** Formats 16 address bytes as RFC 5952 text (longest run of zero groups as `::`). */
export function formatIPv6(b: Buffer): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

/** Parses IPv4 or IPv6 text into 4 or 16 bytes; throws on anything else (caller's input). */
export function parseAddress(addr: string): Buffer {
  if (isIPv4(addr)) return Buffer.from(addr.split(".").map(Number));
  if (!isIPv6(addr)) throw new Error(`not an IP address: ${addr}`);
  // An embedded dotted quad (::ffff:1.2.3.4) stands for the last two groups.
  let text = addr;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let quad: Buffer | undefined;
  if (v4?.[1]) {
    quad = parseAddress(v4[1]);
    text = `${text.slice(0, -v4[1].length)}0:0`;
  }
  const [head, rest] = text.includes("::") ? (text.split("::") as [string, string]) : [text, undefined];
  const h = head ? head.split(":") : [];
  const r = rest === undefined ? [] : rest ? rest.split(":") : [];
  const fill = rest === undefined ? 0 : 8 - h.length - r.length;
  const groups = [...h, ...Array<string>(fill).fill("0"), ...r].map((g) => parseInt(g, 16));
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  quad?.copy(out, 12);
  return out;
}

/** Extracts the UDP datagram from an IP packet; `undefined` for non-UDP, fragments or junk. */
function udpOf(ip: Buffer, time: number): UdpDatagram | undefined {
  if (ip.length < 1) return undefined;
  const version = ip[0]! >> 4;
  let src: string;
  let dst: string;
  let l4: Buffer;
  if (version === 4) {
    const ihl = (ip[0]! & 0x0f) * 4;
    if (ihl < 20 || ip.length < ihl) return undefined;
    const total = ip.readUInt16BE(2);
    const fragField = ip.readUInt16BE(6);
    // A later fragment has no UDP header, and a first one only part of the payload.
    if ((fragField & 0x1fff) !== 0 || (fragField & 0x2000) !== 0) return undefined;
    if (ip[9] !== 17) return undefined;
    src = [...ip.subarray(12, 16)].join(".");
    dst = [...ip.subarray(16, 20)].join(".");
    l4 = ip.subarray(ihl, Math.min(ip.length, Math.max(total, ihl)));
  } else if (version === 6) {
    if (ip.length < 40) return undefined;
    src = formatIPv6(ip.subarray(8, 24));
    dst = formatIPv6(ip.subarray(24, 40));
    let next = ip[6]!;
    let off = 40;
    const end = Math.min(ip.length, 40 + ip.readUInt16BE(4));
    // Walk hop-by-hop (0), routing (43) and destination options (60); a fragment (44) ends it.
    while (next === 0 || next === 43 || next === 60) {
      if (off + 2 > end) return undefined;
      const nh = ip[off]!;
      off += (ip[off + 1]! + 1) * 8;
      next = nh;
    }
    if (next !== 17 || off > end) return undefined;
    l4 = ip.subarray(off, end);
  } else {
    return undefined;
  }
  if (l4.length < 8) return undefined;
  const udpLen = l4.readUInt16BE(4);
  if (udpLen < 8 || udpLen > l4.length) return undefined;
  return {
    time,
    src,
    sport: l4.readUInt16BE(0),
    dst,
    dport: l4.readUInt16BE(2),
    payload: Buffer.from(l4.subarray(8, udpLen)),
  };
}

function readClassic(buf: Buffer, out: PcapReadResult): void {
  const magicLE = buf.readUInt32LE(0);
  const le = magicLE === 0xa1b2c3d4 || magicLE === 0xa1b23c4d;
  const magic = le ? magicLE : buf.readUInt32BE(0);
  const nano = magic === 0xa1b23c4d;
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  if (buf.length < 24) {
    out.error = { code: "PCAP_ERR_TRUNCATED", offset: buf.length, message: "pcap file header truncated" };
    return;
  }
  const linkType = u32(20) & 0x0fffffff;
  out.linkTypes.push(linkType);
  let off = 24;
  while (off < buf.length) {
    if (off + 16 > buf.length) {
      out.error = { code: "PCAP_ERR_TRUNCATED", offset: off, message: "record header truncated" };
      return;
    }
    const sec = u32(off);
    const frac = u32(off + 4);
    const incl = u32(off + 8);
    if (off + 16 + incl > buf.length) {
      out.error = { code: "PCAP_ERR_TRUNCATED", offset: off, message: `record of ${incl} bytes truncated` };
      return;
    }
    const time = sec + frac / (nano ? 1e9 : 1e6);
    const ip = ipOf(linkType, buf.subarray(off + 16, off + 16 + incl), le);
    const d = ip && udpOf(ip, time);
    if (d) out.datagrams.push(d);
    off += 16 + incl;
  }
}

interface Iface {
  linkType: number;
  /** Timestamp units per second. */
  unitsPerSec: number;
}

/** Reads the if_tsresol option (code 9) of an IDB; default microseconds. */
function tsresol(opts: Buffer, le: boolean): number {
  let o = 0;
  while (o + 4 <= opts.length) {
    const code = le ? opts.readUInt16LE(o) : opts.readUInt16BE(o);
    const len = le ? opts.readUInt16LE(o + 2) : opts.readUInt16BE(o + 2);
    if (code === 0) break;
    if (code === 9 && len >= 1 && o + 5 <= opts.length) {
      const v = opts[o + 4]!;
      return v & 0x80 ? 2 ** (v & 0x7f) : 10 ** v;
    }
    o += 4 + ((len + 3) & ~3);
  }
  return 1e6;
}

function readPcapng(buf: Buffer, out: PcapReadResult): void {
  let le = true;
  let ifaces: Iface[] = [];
  let off = 0;
  while (off < buf.length) {
    if (off + 12 > buf.length) {
      out.error = { code: "PCAP_ERR_TRUNCATED", offset: off, message: "block header truncated" };
      return;
    }
    const rawType = buf.readUInt32LE(off);
    if (rawType === 0x0a0d0d0a) {
      // Section Header Block: its byte-order magic decides how to read this section.
      le = buf.readUInt32LE(off + 8) === 0x1a2b3c4d;
      ifaces = [];
    }
    const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
    const u16 = (o: number) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
    const type = u32(off);
    const len = u32(off + 4);
    if (len < 12 || len % 4 !== 0 || off + len > buf.length) {
      out.error = { code: "PCAP_ERR_BLOCK", offset: off, message: `bad block length ${len}` };
      return;
    }
    const body = buf.subarray(off + 8, off + len - 4);
    if (type === 1 && body.length >= 8) {
      const iface = { linkType: u16(off + 8), unitsPerSec: tsresol(body.subarray(8), le) };
      ifaces.push(iface);
      out.linkTypes.push(iface.linkType);
    } else if (type === 6 && body.length >= 20) {
      const iface = ifaces[u32(off + 8)];
      if (!iface) {
        out.error = { code: "PCAP_ERR_INTERFACE", offset: off, message: "packet names an undeclared interface" };
        return;
      }
      const ts = u32(off + 12) * 2 ** 32 + u32(off + 16);
      const caplen = u32(off + 20);
      if (20 + caplen > body.length) {
        out.error = { code: "PCAP_ERR_TRUNCATED", offset: off, message: "packet data overruns its block" };
        return;
      }
      const ip = ipOf(iface.linkType, body.subarray(20, 20 + caplen), le);
      const d = ip && udpOf(ip, ts / iface.unitsPerSec);
      if (d) out.datagrams.push(d);
    } else if (type === 3 && body.length >= 4) {
      const iface = ifaces[0];
      if (!iface) {
        out.error = { code: "PCAP_ERR_INTERFACE", offset: off, message: "simple packet without interface" };
        return;
      }
      const ip = ipOf(iface.linkType, body.subarray(4), le);
      const d = ip && udpOf(ip, 0);
      if (d) out.datagrams.push(d);
    }
    off += len;
  }
}

/** Reads the UDP datagrams of a classic pcap or pcapng capture held in memory. */
export function readPcap(buf: Buffer): PcapReadResult {
  const out: PcapReadResult = { datagrams: [], linkTypes: [] };
  if (buf.length < 4) {
    out.error = { code: "PCAP_ERR_MAGIC", offset: 0, message: "file too short for a magic number" };
    return out;
  }
  const m = buf.readUInt32LE(0);
  if (m === 0x0a0d0d0a) readPcapng(buf, out);
  else if ([0xa1b2c3d4, 0xa1b23c4d, 0xd4c3b2a1, 0x4d3cb2a1].includes(m)) readClassic(buf, out);
  else out.error = { code: "PCAP_ERR_MAGIC", offset: 0, message: `unknown magic 0x${m.toString(16)}` };
  return out;
}

/** Reads a capture file; see {@link readPcap}. */
export function readPcapFile(file: string): PcapReadResult {
  return readPcap(readFileSync(file));
}

/** RFC 1071 one's-complement sum of several buffers, folded to 16 bits and inverted. */
export function internetChecksum(...parts: Buffer[]): number {
  let sum = 0;
  for (const p of parts) {
    for (let i = 0; i + 1 < p.length; i += 2) sum += p.readUInt16BE(i);
    if (p.length % 2) sum += p[p.length - 1]! << 8;
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** Builds the IP packet (IPv4 or IPv6 + UDP) for one datagram, with lengths and checksums. */
export function buildIpUdp(d: Omit<UdpDatagram, "time">, ipId = 0): Buffer {
  const src = parseAddress(d.src);
  const dst = parseAddress(d.dst);
  if (src.length !== dst.length) throw new Error(`address families differ: ${d.src} -> ${d.dst}`);
  const udpLen = 8 + d.payload.length;
  if (udpLen > 0xffff) throw new Error(`UDP payload too long: ${d.payload.length}`);
  const udp = Buffer.alloc(udpLen);
  udp.writeUInt16BE(d.sport, 0);
  udp.writeUInt16BE(d.dport, 2);
  udp.writeUInt16BE(udpLen, 4);
  d.payload.copy(udp, 8);
  const pseudo = Buffer.alloc(src.length === 4 ? 12 : 40);
  if (src.length === 4) {
    src.copy(pseudo, 0);
    dst.copy(pseudo, 4);
    pseudo[9] = 17;
    pseudo.writeUInt16BE(udpLen, 10);
  } else {
    src.copy(pseudo, 0);
    dst.copy(pseudo, 16);
    pseudo.writeUInt32BE(udpLen, 32);
    pseudo[39] = 17;
  }
  // A computed zero is sent as 0xffff: zero means "no checksum" (RFC 768).
  udp.writeUInt16BE(internetChecksum(pseudo, udp) || 0xffff, 6);
  if (src.length === 4) {
    if (20 + udpLen > 0xffff) throw new Error("IPv4 packet too long");
    const ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + udpLen, 2);
    ip.writeUInt16BE(ipId & 0xffff, 4);
    ip.writeUInt16BE(0x4000, 6);
    ip[8] = 64;
    ip[9] = 17;
    src.copy(ip, 12);
    dst.copy(ip, 16);
    ip.writeUInt16BE(internetChecksum(ip), 10);
    return Buffer.concat([ip, udp]);
  }
  const ip = Buffer.alloc(40);
  ip.writeUInt32BE(0x60000000, 0);
  ip.writeUInt16BE(udpLen, 4);
  ip[6] = 17;
  ip[7] = 64;
  src.copy(ip, 8);
  dst.copy(ip, 24);
  return Buffer.concat([ip, udp]);
}

/** Options of {@link writePcap}. */
export interface WritePcapOptions {
  /** Link type of the file: raw IP (default) or Ethernet with zero MAC addresses. */
  linkType?: "raw" | "ethernet";
}

/** Builds a classic pcap (little-endian, microseconds) holding the given datagrams in order. */
export function writePcap(datagrams: readonly UdpDatagram[], opts: WritePcapOptions = {}): Buffer {
  const eth = opts.linkType === "ethernet";
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(262144, 16);
  head.writeUInt32LE(eth ? LinkType.Ethernet : LinkType.Raw, 20);
  const parts: Buffer[] = [head];
  datagrams.forEach((d, i) => {
    const ip = buildIpUdp(d, i + 1);
    let frame = ip;
    if (eth) {
      const l2 = Buffer.alloc(14);
      l2.writeUInt16BE(ip[0]! >> 4 === 4 ? ETH_IPV4 : ETH_IPV6, 12);
      frame = Buffer.concat([l2, ip]);
    }
    const rec = Buffer.alloc(16);
    let sec = Math.floor(d.time);
    let usec = Math.round((d.time - sec) * 1e6);
    if (usec >= 1e6) {
      sec += 1;
      usec -= 1e6;
    }
    rec.writeUInt32LE(sec >>> 0, 0);
    rec.writeUInt32LE(usec, 4);
    rec.writeUInt32LE(frame.length, 8);
    rec.writeUInt32LE(frame.length, 12);
    parts.push(rec, frame);
  });
  return Buffer.concat(parts);
}

/** Writes {@link writePcap}'s output to a file. */
export function writePcapFile(file: string, datagrams: readonly UdpDatagram[], opts: WritePcapOptions = {}): void {
  writeFileSync(file, writePcap(datagrams, opts));
}
