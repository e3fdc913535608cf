/**
 * Our IKEv1 responder for the handshake benchmark and the load tests, wired as the daemon wires
 * its engine: configuration from ike.config / ike.preshared / ipsecinit.conf text through the
 * project's parsers and `configPolicy`, a `CryptoPool` with `--workers` threads (0: inline), the
 * in-memory SADB as its kernel, the engine on a `UdpTransport` bound to one address. (in.iked has
 * no engine factory yet, so the real daemon cannot answer IKE; this is the closest thing.)
 *
 * As a process: `node --openssl-legacy-provider dist/bench/handshake/responder.js --address A
 * --port P --workers N --psk-hex H --dh G --cipher C --hash H --peers CIDR` prints
 * `ready address=A port=P workers=N` and runs until SIGTERM/SIGINT, then prints its counters.
 * `--auth rsa --cert F --key F --ca F` authenticates with RSA signatures instead (our identity a
 * DN, any peer the CA certified), the certificate layer as src/load/certificates.ts sets it up.
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { parseIkeConfig, parsePreshared } from "../../src/config/index.js";
import { CryptoPool } from "../../src/crypto/pool.js";
import type { DhGroupId } from "../../src/crypto/dh.js";
import { IkeEngine } from "../../src/ike/engine.js";
import { configPolicy } from "../../src/ike/ports.js";
import { MemoryKernel } from "../../src/kernel/memory.js";
import { UdpTransport } from "../../src/net/udp-transport.js";
import { parseIpsecPolicy } from "../../src/policy/index.js";
import { CERT_GLOBALS, CERT_LOCAL_ID, loadCertCredentials, type CertFiles } from "../../src/load/certificates.js";

/** What the responder accepts. */
export interface ResponderOptions {
  readonly address: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly workers: number;
  /** Peers (ike.config address syntax: prefix or range) the rule and key cover. */
  readonly peers: string;
  readonly pskHex: string;
  readonly dhGroup: number;
  /** ike.config encr_alg text. */
  readonly encr: string;
  readonly hash: string;
  /** ipsecinit.conf action body for Phase 2 (default `encr_algs aes encr_auth_algs sha1`). */
  readonly ipsecAction?: string;
  /** Half-open bounds (the daemon's defaults are 1024 global, 5 per peer). */
  readonly halfOpen?: { readonly global: number; readonly perPeer: number };
  /** RSA signatures with these files instead of the pre-shared key. */
  readonly certs?: CertFiles;
}

/** A running responder. */
export interface Responder {
  readonly engine: IkeEngine;
  readonly kernel: MemoryKernel;
  readonly port: number;
  close(): Promise<void>;
}

/** Start a responder in this process. Throws on a configuration or bind error (a caller bug). */
export async function startResponder(o: ResponderOptions): Promise<Responder> {
  const cert = o.certs !== undefined;
  const cfg = parseIkeConfig(
    `${cert ? CERT_GLOBALS : ""}{\n  label "load-responder"\n  local_addr ${o.address}\n  remote_addr ${o.peers}\n` +
      (cert ? `  local_id_type dn\n  local_id "${CERT_LOCAL_ID}"\n  remote_id ""\n` : "") +
      `  p1_xform { auth_method ${cert ? "rsa_sig" : "preshared"} oakley_group ${o.dhGroup} auth_alg ${o.hash} encr_alg ${o.encr} }\n}\n`,
    "<responder ike.config>",
  );
  if (!cfg.ok) throw new Error(`responder ike.config: ${JSON.stringify(cfg.diagnostics)}`);
  const keys = parsePreshared(
    `{\n  localidtype ip\n  localid ${o.address}\n  remoteidtype ip\n  remoteid ${o.peers}\n  ike_mode both\n  key ${o.pskHex}\n}\n`,
    "<responder ike.preshared>",
  );
  if (!keys.ok) throw new Error(`responder ike.preshared: ${keys.diagnostics.map((d) => d.code).join(", ")}`);
  const ipsec = parseIpsecPolicy(`{ raddr ${o.peers} } ipsec { ${o.ipsecAction ?? "encr_algs aes encr_auth_algs sha1"} }\n`);
  if (ipsec.errors.length > 0) throw new Error(`responder ipsecinit.conf: ${JSON.stringify(ipsec.errors)}`);
  const transport = await UdpTransport.open({ addresses: [o.address], port: o.port, nattPort: null });
  const pool = new CryptoPool({ threads: o.workers, warmGroups: [o.dhGroup as DhGroupId] });
  const kernel = new MemoryKernel();
  const creds = o.certs === undefined ? undefined : await loadCertCredentials(o.certs, cfg.value.globals, pool);
  if (creds !== undefined && !creds.ok) throw new Error(`responder certificates: ${creds.message}`);
  const credentials = creds?.ok ? creds.value : undefined;
  const engine = new IkeEngine({
    transport,
    dh: pool,
    pubkey: pool,
    kernel,
    ipsecPolicy: () => ipsec.policy,
    policy: configPolicy(() => ({ config: cfg.value, preshared: keys.value, ...(credentials ? { credentials } : {}) })),
    ...(o.halfOpen ? { halfOpen: o.halfOpen } : {}),
  });
  const port = transport.ikeEndpoint(o.address)!.port;
  return {
    engine,
    kernel,
    port,
    async close() {
      engine.close();
      await transport.close();
      await kernel.close();
      await pool.close();
    },
  };
}

async function main(): Promise<void> {
  const { values: v } = parseArgs({
    options: {
      address: { type: "string", default: "127.0.7.1" },
      port: { type: "string", default: "17500" },
      workers: { type: "string", default: "0" },
      peers: { type: "string", default: "127.7.0.0/16" },
      "psk-hex": { type: "string" },
      dh: { type: "string", default: "2" },
      cipher: { type: "string", default: "aes(128..128)" },
      hash: { type: "string", default: "sha1" },
      auth: { type: "string", default: "psk" },
      cert: { type: "string" },
      key: { type: "string" },
      ca: { type: "string" },
    },
  });
  if (v["psk-hex"] === undefined) throw new Error("--psk-hex is required");
  const rsa = v.auth === "rsa";
  if (rsa && (v.cert === undefined || v.key === undefined || v.ca === undefined)) throw new Error("--auth rsa needs --cert, --key and --ca");
  const r = await startResponder({
    address: v.address,
    port: Number(v.port),
    workers: Number(v.workers),
    peers: v.peers,
    pskHex: v["psk-hex"],
    dhGroup: Number(v.dh),
    encr: v.cipher,
    hash: v.hash,
    // The load comes from many addresses at once; the defaults would refuse the burst.
    halfOpen: { global: 65_536, perPeer: 64 },
    ...(rsa ? { certs: { cert: v.cert!, key: v.key!, ca: v.ca! } } : {}),
  });
  process.stdout.write(`ready address=${v.address} port=${r.port} workers=${v.workers}\n`);
  const stop = async (): Promise<void> => {
    const s = r.engine.stats.snapshot();
    await r.close();
    process.stdout.write(`stopped resp_p1_total=${s.resp_p1_total} resp_p1_fail=${s.resp_p1_fail} dropped=${s.dropped}\n`);
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop());
  process.once("SIGINT", () => void stop());
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
