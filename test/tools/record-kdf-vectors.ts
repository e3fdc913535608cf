/**
 * Records IKEv1 key-derivation vectors from real strongSwan 5.9.8 exchanges (strongSwan initiator
 * against strongSwan responder on loopback, through shared/interop), for
 * test/crypto/strongswan-kdf.test.ts.
 *
 *   npx tsc -p tsconfig.json && node dist/test/tools/record-kdf-vectors.js [case-name ...]
 *
 * For each case it starts a capture and both peers at `--log-level 4`, waits until the CHILD_SA is
 * installed, stops the initiator gracefully (so that encrypted Informational DELETEs are sent),
 * then writes test/fixtures/crypto/strongswan-<case>.json with:
 *   - `packets`: every ISAKMP datagram of the exchange in capture order (dumpcap + tshark
 *     `udp.payload`), with its sender; the test takes cookies, SAi_b, KE and nonces from them;
 *   - `log.initiator` / `log.responder`: the byte blocks charon printed (`NAME => N bytes`):
 *     g^xy, SKEYID*, Ka, initial IV, HASH_I/HASH_R (and their inputs), Quick Mode Hash(1..3),
 *     the Quick Mode DH secret and SA seeds, and every "next IV for MID m";
 *   - `sas`: the SAs charon installed through the fake XFRM (spi, protocol, keys) from xfrm.log;
 *   - the PSK. All keys are throw-away values of this test run; the peers' state directories
 *     (logs with keys) are purged afterwards.
 *
 * Resources (shared machine): addresses 127.0.2.1/127.0.2.2, UDP ports 12500/12501 (NAT-T 12504/
 * 12505), instance names kdf-*; never `stop --all`.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
/** Repository root, from dist/test/tools or test/tools. */
const root = path.resolve(here, here.includes(`${path.sep}dist${path.sep}`) ? "../../.." : "../..");
const shared = process.env.IKED_SHARED ?? path.resolve(root, "../shared");
const interop = path.join(shared, "interop");
const outDir = path.join(root, "test/fixtures/crypto");

interface Case {
  name: string;
  description: string;
  args: string[];
}

const CASES: Case[] = [
  { name: "psk-3des-md5-modp1024", description: "Main Mode PSK, 3DES/MD5/group 2 (Ka expanded: 24 bytes from a 16-byte SKEYID_e), ESP 3DES/HMAC-MD5, no PFS",
    args: ["--cipher", "3des", "--hash", "md5", "--dh", "2", "--esp", "3des-md5", "--pfs", "none"] },
  { name: "psk-aes256-sha1-modp2048-pfs14", description: "Main Mode PSK, AES-256/SHA1/group 14 (Ka expanded: 32 from 20 bytes), ESP AES-256/HMAC-SHA1 with PFS group 14",
    args: ["--cipher", "aes256", "--hash", "sha1", "--dh", "14", "--esp", "aes256-sha1", "--pfs", "14"] },
  { name: "psk-aes128-sha256-modp2048-pfs5", description: "Main Mode PSK, AES-128/SHA-256/group 14, ESP AES-128/HMAC-SHA2-256 with PFS group 5",
    args: ["--cipher", "aes128", "--hash", "sha256", "--dh", "14", "--esp", "aes128-sha256", "--pfs", "5"] },
  { name: "psk-aes192-sha384-modp3072", description: "Main Mode PSK, AES-192/SHA-384/group 15, ESP AES-192/HMAC-SHA2-384",
    args: ["--cipher", "aes192", "--hash", "sha384", "--dh", "15", "--esp", "aes192-sha384", "--pfs", "none"] },
  { name: "psk-aes256-sha512-modp4096", description: "Main Mode PSK, AES-256/SHA-512/group 16, ESP AES-256/HMAC-SHA2-512",
    args: ["--cipher", "aes256", "--hash", "sha512", "--dh", "16", "--esp", "aes256-sha512", "--pfs", "none"] },
  { name: "psk-des-md5-modp768", description: "Main Mode PSK, DES/MD5/group 1, ESP DES/HMAC-MD5",
    args: ["--cipher", "des", "--hash", "md5", "--dh", "1", "--esp", "des-md5", "--pfs", "none"] },
  { name: "psk-blowfish-sha1-modp1536", description: "Main Mode PSK, Blowfish-128/SHA1/group 5, ESP AES-128/HMAC-SHA1 with PFS group 2",
    args: ["--cipher", "blowfish", "--hash", "sha1", "--dh", "5", "--esp", "aes128-sha1", "--pfs", "2"] },
  { name: "psk-blowfish256-md5-modp1024-ah", description: "Main Mode PSK, Blowfish-256/MD5/group 2 (Ka expanded: 32 from 16 bytes), AH HMAC-SHA1",
    args: ["--cipher", "blowfish256", "--hash", "md5", "--dh", "2", "--ah", "sha1", "--pfs", "none"] },
  { name: "psk-aggressive-aes128-sha1-modp2048", description: "Aggressive Mode PSK, AES-128/SHA1/group 14 (AM3 encrypted with the initial IV), ESP AES-128/HMAC-SHA1",
    args: ["--mode", "aggressive", "--cipher", "aes128", "--hash", "sha1", "--dh", "14", "--esp", "aes128-sha1", "--pfs", "none"] },
  { name: "rsa-aes128-sha1-modp2048", description: "Main Mode RSA signatures, AES-128/SHA1/group 14 (SKEYID = prf(Ni_b|Nr_b, g^xy)), ESP AES-128/HMAC-SHA1; fragment_size raised so MM5 stays one datagram",
    args: ["--auth", "rsa", "--charon-extra", "fragment_size = 8000", "--cipher", "aes128", "--hash", "sha1", "--dh", "14", "--esp", "aes128-sha1", "--pfs", "none"] },
];

const R = { addr: "127.0.2.1", port: "12500", natt: "12504" };
const I = { addr: "127.0.2.2", port: "12501", natt: "12505" };

function sh(script: string, args: string[]): string {
  return execFileSync("bash", [path.join(interop, script), ...args], {
    encoding: "utf8",
    timeout: 90_000,
    env: { ...process.env, IKEV1_INTEROP_QUIET: "1" },
  });
}

function kv(out: string): Record<string, string> {
  const r: Record<string, string> = {};
  for (const line of out.split("\n")) {
    const m = /^([a-z_]+)=(.*)$/.exec(line.trim());
    if (m?.[1] !== undefined && m[2] !== undefined) r[m[1]] = m[2];
  }
  return r;
}

/** Every `NAME => N bytes @ addr` block of a charon log, by name, in order. */
function logBlocks(file: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  let cur: { name: string; len: number; tag: string; hex: string } | undefined;
  const flush = (): void => {
    if (cur) (out[cur.name] ??= []).push(cur.hex.slice(0, cur.len * 2));
    cur = undefined;
  };
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const h = /<([^>]+)> (.+?) => (\d+) bytes @ /.exec(line);
    if (h?.[1] !== undefined && h[2] !== undefined && h[3] !== undefined) {
      flush();
      cur = { tag: h[1], name: h[2].trim(), len: Number(h[3]), hex: "" };
      continue;
    }
    const d = /<([^>]+)>\s+(\d+): ((?:[0-9A-F]{2} ?)+)/.exec(line);
    if (cur && d?.[1] === cur.tag && d[3] !== undefined && Number(d[2]) * 2 === cur.hex.length) {
      cur.hex += d[3].replace(/ /g, "").toLowerCase();
      continue;
    }
    flush();
  }
  flush();
  return out;
}

/** The SAs charon installed, from `strongswan-peer.sh keys` ("sa add_sa|update_sa ..." lines). */
function installedSas(name: string): Record<string, string>[] {
  return sh("strongswan-peer.sh", ["keys", "--name", name])
    .split("\n")
    .filter((l) => l.startsWith("sa "))
    .map((l) => kv(l.slice(3).split(" ").join("\n")));
}

function packets(pcap: string): { from: "initiator" | "responder"; hex: string }[] {
  const out = execFileSync(
    "tshark",
    ["-r", pcap, "-Y", `udp.port == ${R.port} || udp.port == ${R.natt}`, "-T", "fields", "-e", "udp.srcport", "-e", "udp.payload"],
    { encoding: "utf8", timeout: 60_000 },
  );
  return out
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => {
      const [src, hex] = l.split("\t");
      return { from: src === I.port || src === I.natt ? "initiator" : "responder", hex: (hex ?? "").replace(/:/g, "") };
    });
}

function record(c: Case): void {
  const psk = `kdf-throwaway-${c.name}`;
  const common = ["--psk", psk, "--log-level", "4", ...c.args];
  const leftovers: string[] = [];
  const cap = kv(sh("capture.sh", ["start", "--name", "kdf-cap", "--ports", `${R.port},${I.port},${R.natt},${I.natt}`]));
  try {
    const rInfo = kv(sh("strongswan-peer.sh", ["start", "--name", "kdf-r", "--role", "responder", "--local", R.addr, "--remote", I.addr,
      "--local-port", R.port, "--natt-port", R.natt, "--remote-port", I.port, ...common]));
    const iInfo = kv(sh("strongswan-peer.sh", ["start", "--name", "kdf-i", "--role", "initiator", "--local", I.addr, "--remote", R.addr,
      "--local-port", I.port, "--natt-port", I.natt, "--remote-port", R.port, "--wait", "30", ...common]));
    const pcap = cap.pcap ?? "";
    leftovers.push(path.dirname(rInfo.log ?? ""), path.dirname(iInfo.log ?? ""));
    if (pcap !== "") leftovers.push(pcap, pcap.replace(/\.pcap$/, ".log"), pcap.replace(/\.pcap$/, ".path"));
    const sas = installedSas("kdf-i");
    sh("strongswan-peer.sh", ["stop", "--name", "kdf-i"]);
    sh("strongswan-peer.sh", ["stop", "--name", "kdf-r"]);
    sh("capture.sh", ["stop", "--name", "kdf-cap"]);
    const fixture = {
      case: c.name,
      description: c.description,
      source:
        "strongSwan 5.9.8 charon initiator and responder at --log-level 4 via shared/interop (strongswan-peer.sh), " +
        "recorded by test/tools/record-kdf-vectors.ts; throw-away keys of a test run",
      options: common,
      psk,
      packets: packets(pcap),
      log: { initiator: logBlocks(iInfo.log ?? ""), responder: logBlocks(rInfo.log ?? "") },
      sas,
    };
    mkdirSync(outDir, { recursive: true });
    const file = path.join(outDir, `strongswan-${c.name}.json`);
    writeFileSync(file, `${JSON.stringify(fixture, null, 1)}\n`);
    console.log(`${c.name}: ${fixture.packets.length} packets, ${sas.length} SAs -> ${path.relative(root, file)}`);
  } finally {
    sh("strongswan-peer.sh", ["stop", "--name", "kdf-i", "--kill", "--purge"]);
    sh("strongswan-peer.sh", ["stop", "--name", "kdf-r", "--kill", "--purge"]);
    sh("capture.sh", ["stop", "--name", "kdf-cap"]);
    // The charon logs and the capture hold this run's keys; the fixture is the only copy kept.
    for (const p of leftovers) if (p !== "" && p !== ".") rmSync(p, { recursive: true, force: true });
  }
}

const only = process.argv.slice(2);
for (const c of CASES) if (only.length === 0 || only.includes(c.name)) record(c);
