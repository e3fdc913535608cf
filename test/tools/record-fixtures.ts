/**
 * Records the real-packet fixtures in test/fixtures/packets/ from live IKEv1 exchanges.
 *
 * Usage (as root, with shared/interop present; takes about a minute):
 *
 *   cd /work/main && npx tsc -p tsconfig.json
 *   node --openssl-legacy-provider dist/test/tools/record-fixtures.js [--only REGEX] [--keep]
 *
 * For each scenario it starts a capture (capture.sh, ports 11500-11599), a strongSwan
 * responder on 127.0.1.1:11500 and an initiator on 127.0.1.2:11510 (or a Libreswan responder
 * on 127.0.1.4:11520) at --log-level 4, waits for the SAs, stops the initiator gracefully so
 * the Delete informationals go out, and stops everything. It then reads the pcap, strips the
 * RFC 3948 non-ESP marker (neither side uses port 500, so every packet carries one), drops
 * retransmissions, decrypts encrypted messages with the Ka and initial IV strongSwan logged
 * (see ikev1-decrypt.ts for the IV chain), and writes <scenario>.json. IKE fragments (payload
 * 132) are kept as captured, and the message they reassemble to follows them as an extra
 * packet named "...-reassembled" (not a datagram on the wire, but what the receiver decrypts):
 *
 *   { "source": "...", "packets": [ { "name", "hex", "plaintextHex"? } ] }
 *
 * Only plaintext is stored, never keys; the peers' state directories (whose logs hold keys)
 * are purged. Resources: 127.0.1.0/24, UDP 11500-11599 (Libreswan also opens 127.0.1.4:4500),
 * instance names fx-rec-*. `--keep` leaves the pcaps and peer directories for debugging.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import {
  Capture,
  InteropPeer,
  interopAvailable,
  repoRoot,
  runScript,
  type LibreswanOptions,
  type StrongSwanOptions,
} from "../helpers/interop.js";
import { readPcapFile, type UdpDatagram } from "../helpers/pcap.js";
import { readHeader, SaDecryptor, walkChain } from "./ikev1-decrypt.js";
import { PEER_WAIT_S, poll } from "../helpers/wait.js";

/** One recorded exchange: the peers' options (minus addresses) and what to do while up. */
interface Scenario {
  name: string;
  /** Options for both strongSwan sides (cipher/hash/dh also drive decryption). */
  common: Partial<StrongSwanOptions> & { cipher: string; hash: string };
  initiator?: Partial<StrongSwanOptions>;
  responder?: Partial<StrongSwanOptions>;
  /** Use a Libreswan responder instead of strongSwan. */
  libreswan?: Partial<LibreswanOptions>;
  /** Seconds to stay up after establishment (DPD). */
  linger?: number;
}

const SCENARIOS: Scenario[] = [
  { name: "mm-psk-3des-sha1-g2", common: { mode: "main", cipher: "3des", hash: "sha1", dh: 2, esp: "aes128-sha1" } },
  {
    name: "mm-psk-aes128-sha256-g14-pfs",
    common: { mode: "main", cipher: "aes128", hash: "sha256", dh: 14, esp: "aes256-sha256", pfs: 14 },
    initiator: { localTs: "10.1.0.0/16", remoteTs: "10.2.0.0/16" },
    responder: { localTs: "10.2.0.0/16", remoteTs: "10.1.0.0/16" },
  },
  { name: "mm-psk-blowfish-md5-g5", common: { mode: "main", cipher: "blowfish", hash: "md5", dh: 5, esp: "3des-md5" } },
  {
    name: "am-psk-aes128-sha1-g2",
    common: { mode: "aggressive", cipher: "aes128", hash: "sha1", dh: 2, esp: "aes128-sha1" },
    initiator: { localId: "@fx-init.example", remoteId: "@fx-resp.example" },
    responder: { localId: "@fx-resp.example", remoteId: "@fx-init.example" },
  },
  {
    name: "mm-psk-ah-transport",
    common: { mode: "main", cipher: "aes256", hash: "sha1", dh: 2, ah: "sha1", espMode: "transport" },
  },
  { name: "mm-rsa-aes128-sha1-g14", common: { mode: "main", auth: "rsa", cipher: "aes128", hash: "sha1", dh: 14, esp: "aes128-sha1", fragmentation: "no" } },
  // With fragmentation on, strongSwan splits the certificate-carrying MM5 into IKE fragments.
  { name: "mm-rsa-fragmented", common: { mode: "main", auth: "rsa", cipher: "aes128", hash: "sha1", dh: 14, esp: "aes128-sha1", fragmentation: "yes" } },
  {
    name: "mm-ecdsa-aes256-sha256-g19-pfs",
    common: { mode: "main", auth: "ecdsa", cipher: "aes256", hash: "sha256", dh: 19, esp: "aes256-sha256", pfs: 19, fragmentation: "no" },
  },
  {
    name: "mm-psk-ipcomp-lifebytes",
    common: { mode: "main", cipher: "aes128", hash: "sha1", dh: 2, esp: "aes128-sha1", ipcomp: "yes", childLifebytes: 100_000_000 },
  },
  {
    name: "mm-psk-dpd",
    common: { mode: "main", cipher: "3des", hash: "sha1", dh: 2, esp: "aes128-sha1" },
    initiator: { dpd: 1 },
    linger: 2.5,
  },
  {
    name: "mm-psk-strongswan-libreswan",
    common: { mode: "main", cipher: "aes128", hash: "sha1", dh: 14, esp: "aes128-sha1" },
    libreswan: {},
  },
];

const RESP = { addr: "127.0.1.1", port: 11500, natt: 11501 };
const LSW = { addr: "127.0.1.4", port: 11520 };
const INIT = { addr: "127.0.1.2", port: 11510, natt: 11511 };

/** Payload type of an IKEv1 fragment (Cisco's, also strongSwan's and Libreswan's). */
const FRAGMENT = 132;

const EXCHANGE: Record<number, string> = { 1: "base", 2: "main", 4: "aggressive", 5: "info", 6: "transaction", 32: "quick" };

interface FixturePacket {
  name: string;
  hex: string;
  plaintextHex?: string;
}

function argValue(flag: string): string | undefined {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function versions(): Promise<string> {
  const ss = await runScript("strongswan-peer.sh", ["setup"], 120_000);
  return `strongSwan ${ss.kv["strongswan-charon"] ?? "?"}`;
}

/** Runs one scenario's peers under a capture; returns the pcap path and the initiator keys. */
async function run(sc: Scenario, keep: boolean) {
  const tag = `fx-rec-${sc.name}`.slice(0, 60);
  const respAddr = sc.libreswan ? LSW : RESP;
  const cap = await Capture.start({ name: tag, ports: "11500-11599" });
  let resp: InteropPeer | undefined;
  let init: InteropPeer | undefined;
  try {
    const { cipher, hash, dh, mode, esp, ah, pfs, espMode } = sc.common;
    if (sc.libreswan) {
      resp = await InteropPeer.startLibreswan({
        name: `${tag}-r`,
        role: "responder",
        local: LSW.addr,
        remote: INIT.addr,
        localPort: LSW.port,
        remotePort: INIT.port,
        cipher,
        hash,
        dh,
        mode,
        esp,
        ah,
        pfs,
        espMode,
        ...sc.libreswan,
      });
    } else {
      resp = await InteropPeer.startStrongSwan({
        name: `${tag}-r`,
        role: "responder",
        local: RESP.addr,
        remote: INIT.addr,
        localPort: RESP.port,
        nattPort: RESP.natt,
        remotePort: INIT.port,
        logLevel: 4,
        ...sc.common,
        ...sc.responder,
      });
    }
    init = await InteropPeer.startStrongSwan({
      name: `${tag}-i`,
      role: "initiator",
      local: INIT.addr,
      remote: respAddr.addr,
      localPort: INIT.port,
      nattPort: INIT.natt,
      remotePort: respAddr.port,
      logLevel: 4,
      ...sc.common,
      ...sc.initiator,
    });
    const st = await init.status({ wait: PEER_WAIT_S });
    if (!st.established) throw new Error(`${sc.name}: not established: ${JSON.stringify(st.kv)}`);
    // Not a wait for a program: the scenario keeps the SA up this long (DPD exchanges happen).
    if (sc.linger) await new Promise((r) => setTimeout(r, sc.linger! * 1000));
    const keys = await init.keys();
    // Graceful: the initiator sends Delete informationals for the CHILD_SA and the ISAKMP SA; once
    // the responder has acted on them they have crossed the wire (and the capture).
    await init.stop({ purge: !keep });
    const r = resp;
    await poll(async () => (await r.status()).code !== 0, "the responder to act on the initiator's Deletes");
    return { pcap: cap.pcap, keys, initPort: INIT.port, respPort: respAddr.port };
  } finally {
    await init?.stop({ kill: true, purge: !keep }).catch(() => undefined);
    await resp?.stop({ kill: true, purge: !keep }).catch(() => undefined);
    await cap.stop();
  }
}

/** Turns captured datagrams into fixture packets: marker stripped, deduplicated, decrypted. */
function extract(sc: Scenario, dgrams: UdpDatagram[], keys: Awaited<ReturnType<typeof run>>["keys"], initPort: number, respPort: number): FixturePacket[] {
  const ports = new Set([initPort, respPort]);
  const seen = new Set<string>();
  const decryptors = new Map<string, SaDecryptor>();
  const out: FixturePacket[] = [];
  const fragments = new Map<string, Map<number, Buffer>>();
  const emit = (msg: Buffer, from: string, what: string) => {
    const h = readHeader(msg);
    if (!h || h.length !== msg.length) throw new Error(`${sc.name}: datagram is not one ISAKMP message`);
    const exch = h.nextPayload === FRAGMENT && !(h.flags & 1) ? "fragment" : (EXCHANGE[h.exchangeType] ?? `x${h.exchangeType}`);
    const pkt: FixturePacket = { name: `${sc.name}-${out.length + 1}-${exch}-${from}${what}`, hex: msg.toString("hex") };
    if (h.flags & 1) {
      let dec = decryptors.get(h.icookie);
      if (!dec) {
        const k = keys.ike.find((x) => x.icookie === h.icookie);
        if (!k?.enc_key || !k.iv) throw new Error(`${sc.name}: no keys logged for icookie ${h.icookie}`);
        dec = new SaDecryptor({ encKey: k.enc_key, initialIv: k.iv, cipher: sc.common.cipher, hash: sc.common.hash });
        decryptors.set(h.icookie, dec);
      }
      const r = dec.decrypt(msg);
      if ("error" in r) throw new Error(`${sc.name}: ${pkt.name}: ${r.error}`);
      pkt.plaintextHex = r.plaintext.toString("hex");
    } else {
      const w = walkChain(msg.subarray(28), h.nextPayload, 0);
      if ("error" in w) throw new Error(`${sc.name}: ${pkt.name}: ${w.error}`);
    }
    out.push(pkt);
    return h;
  };
  for (const d of dgrams) {
    if (!ports.has(d.sport) || !ports.has(d.dport)) continue;
    let msg = d.payload;
    if (d.sport !== 500 && d.dport !== 500) {
      if (msg.length < 4 || msg.readUInt32BE(0) !== 0) continue; // ESP or keepalive, not IKE
      msg = msg.subarray(4);
    }
    const key = `${d.sport}>${d.dport}:${msg.toString("hex")}`;
    if (seen.has(key)) continue; // retransmission
    seen.add(key);
    const from = d.sport === initPort ? "i" : "r";
    const h = emit(msg, from, "");
    if (h.nextPayload !== FRAGMENT || h.flags & 1) continue;
    // Cisco-style fragment (one payload: ID u16, number u8, flags u8 with 1 = last, data): the
    // fragments' data, in number order, is the original encrypted message, which must be
    // decrypted in sequence to keep the IV chain; it follows its fragments as "-reassembled".
    const fid = `${from}:${msg.readUInt16BE(32)}`;
    const parts = fragments.get(fid) ?? new Map<number, Buffer>();
    fragments.set(fid, parts);
    parts.set(msg[34]!, Buffer.from(msg.subarray(36, 28 + msg.readUInt16BE(30))));
    const last = msg[35]! & 1 ? msg[34]! : undefined;
    if (last !== undefined) parts.set(0, Buffer.from([last]));
    const total = parts.get(0)?.[0];
    if (total !== undefined && parts.size === total + 1) {
      const whole = Buffer.concat(Array.from({ length: total }, (_, i) => parts.get(i + 1)!));
      emit(whole, from, "-reassembled");
      fragments.delete(fid);
    }
  }
  return out;
}

function describe(sc: Scenario, ver: string): string {
  const opts = Object.entries(sc.common)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(" ");
  const peers = sc.libreswan ? `${ver} initiator -> Libreswan 4.10 (pluto) responder` : `${ver} initiator -> ${ver} responder`;
  const extra = [sc.initiator && `initiator ${JSON.stringify(sc.initiator)}`, sc.responder && `responder ${JSON.stringify(sc.responder)}`]
    .filter(Boolean)
    .join("; ");
  return (
    `${peers} on loopback via shared/interop (strongswan-peer.sh/libreswan-peer.sh start, capture.sh), ` +
    `${opts}${extra ? `; ${extra}` : ""}${sc.linger ? `; up ${sc.linger}s` : ""}; initiator stopped gracefully. ` +
    `Recorded by node dist/test/tools/record-fixtures.js on ${new Date().toISOString()}; ` +
    `non-ESP marker stripped, retransmissions dropped, encrypted bodies decrypted at record time` +
    `, IKE fragments followed by the message they reassemble to ("-reassembled").`
  );
}

async function main(): Promise<number> {
  const avail = interopAvailable();
  if (!avail.ok) {
    console.error(`record-fixtures: ${avail.reason}`);
    return 2;
  }
  const only = argValue("--only");
  const keep = process.argv.includes("--keep");
  const outDir = path.join(repoRoot(), "test/fixtures/packets");
  mkdirSync(outDir, { recursive: true });
  const ver = await versions();
  let failed = 0;
  for (const sc of SCENARIOS) {
    if (only && !new RegExp(only).test(sc.name)) continue;
    try {
      const r = await run(sc, keep);
      const pcap = readPcapFile(r.pcap);
      if (pcap.error) throw new Error(`${sc.name}: pcap: ${pcap.error.message} at ${pcap.error.offset}`);
      const packets = extract(sc, pcap.datagrams, r.keys, r.initPort, r.respPort);
      if (!keep) rmSync(r.pcap, { force: true });
      const file = path.join(outDir, `${sc.name}.json`);
      writeFileSync(file, `${JSON.stringify({ source: describe(sc, ver), packets }, null, 2)}\n`);
      console.log(`${sc.name}: ${packets.length} packets (${packets.filter((p) => p.plaintextHex).length} decrypted) -> ${path.relative(repoRoot(), file)}`);
    } catch (e) {
      failed++;
      console.error(`${sc.name}: FAILED: ${(e as Error).message}`);
    }
  }
  return failed ? 1 : 0;
}

process.exitCode = await main();
