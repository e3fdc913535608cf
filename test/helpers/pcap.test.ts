import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  buildIpUdp,
  formatIPv6,
  internetChecksum,
  LinkType,
  parseAddress,
  readPcap,
  writePcap,
  type UdpDatagram,
} from "./pcap.js";

const v4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => [...b].join("."));
const v6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => formatIPv6(Buffer.from(b)));
const port = fc.integer({ min: 0, max: 65535 });
const datagram = (addr: fc.Arbitrary<string>): fc.Arbitrary<UdpDatagram> =>
  fc.record({
    time: fc.integer({ min: 0, max: 2 ** 32 - 1 }).chain((s) => fc.integer({ min: 0, max: 999_999 }).map((us) => s + us / 1e6)),
    src: addr,
    sport: port,
    dst: addr,
    dport: port,
    payload: fc.uint8Array({ maxLength: 1500 }).map((b) => Buffer.from(b)),
  });
const datagrams = fc.array(fc.oneof(datagram(v4), datagram(v6)), { maxLength: 20 });

const usec = (t: number) => Math.round(t * 1e6);
const norm = (ds: UdpDatagram[]) => ds.map((d) => ({ ...d, time: usec(d.time) }));

test("pcap: write then read gives the same datagrams (raw and Ethernet)", () => {
  fc.assert(
    fc.property(datagrams, fc.constantFrom("raw" as const, "ethernet" as const), (ds, linkType) => {
      const r = readPcap(writePcap(ds, { linkType }));
      assert.equal(r.error, undefined);
      assert.deepEqual(r.linkTypes, [linkType === "raw" ? LinkType.Raw : LinkType.Ethernet]);
      assert.deepEqual(norm(r.datagrams), norm(ds));
    }),
    { numRuns: 200 },
  );
});

test("pcap: IPv4 header and UDP checksums verify, lengths match", () => {
  const payload = Buffer.from("0102030405", "hex");
  const ip = buildIpUdp({ src: "127.0.1.1", sport: 11500, dst: "127.0.1.2", dport: 500, payload });
  assert.equal(ip.length, 20 + 8 + 5);
  assert.equal(ip.readUInt16BE(2), 33);
  assert.equal(internetChecksum(ip.subarray(0, 20)), 0);
  const pseudo = Buffer.concat([ip.subarray(12, 20), Buffer.from([0, 17, 0, 13])]);
  assert.equal(internetChecksum(pseudo, ip.subarray(20)), 0);
  assert.equal(ip.readUInt16BE(24), 13);
});

test("pcap: IPv6 UDP checksum verifies over the pseudo-header", () => {
  fc.assert(
    fc.property(datagram(v6), (d) => {
      const ip = buildIpUdp(d);
      const len = 8 + d.payload.length;
      assert.equal(ip.readUInt16BE(4), len);
      const pseudo = Buffer.alloc(40);
      ip.copy(pseudo, 0, 8, 40);
      pseudo.writeUInt32BE(len, 32);
      pseudo[39] = 17;
      assert.equal(internetChecksum(pseudo, ip.subarray(40)), 0);
      assert.notEqual(ip.readUInt16BE(46), 0);
    }),
  );
});

test("pcap: IPv6 text round-trips through parseAddress/formatIPv6", () => {
  assert.equal(formatIPv6(parseAddress("::1")), "::1");
  assert.equal(formatIPv6(parseAddress("2001:db8:0:0:1:0:0:1")), "2001:db8::1:0:0:1");
  assert.equal(formatIPv6(parseAddress("::ffff:127.0.1.2")), "::ffff:7f00:102");
  assert.equal(formatIPv6(parseAddress("fe80::")), "fe80::");
  assert.deepEqual([...parseAddress("127.0.1.9")], [127, 0, 1, 9]);
});

/** A pcapng with one Linux-cooked interface in nanoseconds, built by hand (pcapng draft §4). */
function pcapngOf(frames: Buffer[], linkType: number, tsresol: number, times: bigint[]): Buffer {
  const block = (type: number, body: Buffer) => {
    const len = 12 + body.length;
    const b = Buffer.alloc(len);
    b.writeUInt32LE(type, 0);
    b.writeUInt32LE(len, 4);
    body.copy(b, 8);
    b.writeUInt32LE(len, len - 4);
    return b;
  };
  const shb = Buffer.alloc(16);
  shb.writeUInt32LE(0x1a2b3c4d, 0);
  shb.writeUInt16LE(1, 4);
  shb.writeBigInt64LE(-1n, 8);
  const idb = Buffer.alloc(8 + 8 + 4);
  idb.writeUInt16LE(linkType, 0);
  idb.writeUInt16LE(9, 8);
  idb.writeUInt16LE(1, 10);
  idb[12] = tsresol;
  const out = [block(0x0a0d0d0a, shb), block(1, idb)];
  frames.forEach((f, i) => {
    const pad = (4 - (f.length % 4)) % 4;
    const epb = Buffer.alloc(20 + f.length + pad);
    const t = times[i] ?? 0n;
    epb.writeUInt32LE(Number(t >> 32n), 4);
    epb.writeUInt32LE(Number(t & 0xffffffffn), 8);
    epb.writeUInt32LE(f.length, 12);
    epb.writeUInt32LE(f.length, 16);
    f.copy(epb, 20);
    out.push(block(6, epb));
  });
  return Buffer.concat(out);
}

test("pcap: reads pcapng with Linux cooked (SLL) frames and nanosecond stamps", () => {
  const d = { src: "127.0.1.1", sport: 11500, dst: "::1", dport: 11510, payload: Buffer.from("abc") };
  const v4frame = buildIpUdp({ ...d, dst: "127.0.1.2" });
  const v6frame = buildIpUdp({ ...d, src: "::2" });
  const sll = (ip: Buffer) => {
    const h = Buffer.alloc(16);
    h.writeUInt16BE(ip[0]! >> 4 === 4 ? 0x0800 : 0x86dd, 14);
    return Buffer.concat([h, ip]);
  };
  const ns = 1_795_750_512_650_179_234n;
  const buf = pcapngOf([sll(v4frame), sll(v6frame)], LinkType.LinuxSll, 9, [ns, ns + 1000n]);
  const r = readPcap(buf);
  assert.equal(r.error, undefined);
  assert.deepEqual(r.linkTypes, [LinkType.LinuxSll]);
  assert.equal(r.datagrams.length, 2);
  assert.equal(r.datagrams[0]?.dst, "127.0.1.2");
  assert.equal(r.datagrams[1]?.src, "::2");
  assert.equal(r.datagrams[1]?.dst, "::1");
  assert.equal(r.datagrams[1]?.payload.toString(), "abc");
  assert.ok(Math.abs((r.datagrams[0]?.time ?? 0) - 1_795_750_512.650179) < 1e-5);
});

test("pcap: classic null link type and non-UDP packets are handled", () => {
  const ip = buildIpUdp({ src: "127.0.1.1", sport: 1, dst: "127.0.1.2", dport: 2, payload: Buffer.from([9]) });
  const tcp = Buffer.from(ip);
  tcp[9] = 6;
  const frames = [ip, tcp].map((f) => Buffer.concat([Buffer.from([2, 0, 0, 0]), f]));
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt32LE(LinkType.Null, 20);
  const recs = frames.flatMap((f) => {
    const r = Buffer.alloc(16);
    r.writeUInt32LE(f.length, 8);
    r.writeUInt32LE(f.length, 12);
    return [r, f];
  });
  const r = readPcap(Buffer.concat([head, ...recs]));
  assert.equal(r.error, undefined);
  assert.equal(r.datagrams.length, 1);
  assert.deepEqual([...(r.datagrams[0]?.payload ?? [])], [9]);
});

test("pcap: truncated and arbitrary input never throws, errors carry offsets", () => {
  const good = writePcap([{ time: 1, src: "127.0.1.1", sport: 1, dst: "127.0.1.2", dport: 2, payload: Buffer.alloc(40) }]);
  const cut = readPcap(good.subarray(0, good.length - 3));
  assert.equal(cut.error?.code, "PCAP_ERR_TRUNCATED");
  assert.equal(cut.error?.offset, 24);
  assert.equal(readPcap(Buffer.from("nope")).error?.code, "PCAP_ERR_MAGIC");
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.constantFrom(0xa1b2c3d4, 0x0a0d0d0a, 0xd4c3b2a1), (junk, magic) => {
      const b = Buffer.from(junk);
      if (b.length >= 4) b.writeUInt32LE(magic, 0);
      const r = readPcap(b);
      assert.ok(Array.isArray(r.datagrams));
    }),
    { numRuns: 500 },
  );
});
