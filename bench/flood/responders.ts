/**
 * The flood bench's pieces on our side: a genuine MM1 to flood with (built by our engine, never
 * sent), and our responder, the real in.iked daemon in its own process (temporary --root with
 * ike.config, ike.preshared, --kernel memory), read through `ikeadm get stats`.
 */
import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { parseIkeConfig, parsePreshared } from "../../src/config/index.js";
import { IkeEngine } from "../../src/ike/engine.js";
import { configPolicy } from "../../src/ike/ports.js";
import type { Transport } from "../../src/ike/transport.js";
import { inlineDh } from "../../test/helpers/dh.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const IN_IKED = path.join(HERE, "../../src/cli/in-iked.js");
const IKEADM = path.join(HERE, "../../src/cli/ikeadm.js");
const run = promisify(execFile);

const xform = (dh: number): string => `p1_xform { auth_method preshared oakley_group ${dh} auth_alg sha1 encr_alg aes(128..128) }`;

/** An MM1 as an initiator proposing PSK aes128/sha1/`dh` sends it (from port 500, no marker). */
export async function captureMm1(dh: number, psk: string): Promise<Buffer> {
  const cfg = parseIkeConfig(`{\n label "t"\n local_addr 127.7.4.1\n remote_addr 127.0.7.41\n ${xform(dh)}\n}\n`, "mm1");
  const keys = parsePreshared(`{ localidtype ip localid 127.7.4.1 remoteidtype ip remoteid 127.0.7.41 key "${psk}" }\n`, "mm1");
  if (!cfg.ok || !keys.ok) throw new Error("flood bench: MM1 template configuration");
  let mm1: Buffer | undefined;
  const transport: Transport = { send: (d) => ((mm1 ??= Buffer.from(d)), true), onDatagram: () => undefined };
  const policy = configPolicy(() => ({ config: cfg.value, preshared: keys.value }));
  const engine = new IkeEngine({ transport, dh: inlineDh, policy });
  engine.initiate(policy.ruleByLabel("t")!, { address: "127.7.4.1", port: 500 }, { address: "127.0.7.41", port: 500 });
  for (let i = 0; i < 50 && mm1 === undefined; i++) await new Promise((r) => setImmediate(r));
  engine.close();
  if (mm1 === undefined) throw new Error("flood bench: no MM1 built");
  return mm1;
}

/** Our responder process. */
export interface OurResponder {
  readonly pid: number;
  /** The engine's counters (`ikeadm get stats`). */
  engineStats(): Promise<Record<string, number>>;
  /** The transport's counters (`ikeadm get stats`: datagrams read, sent). */
  transportStats(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

/**
 * Start in.iked on `address:port` with one rule for every 127/8 peer and a key for `sources`; `tree`:
 * another checkout's build (its dist/) instead of this one, for a baseline in the same run;
 * `nodeArgs`: node flags for the daemon.
 */
export async function ourResponder(o: { address: string; port: number; psk: string; dh: number; workers: number; sources: string; tree?: string; nodeArgs?: readonly string[] }): Promise<OurResponder> {
  const inIked = o.tree !== undefined ? path.join(o.tree, "dist/src/cli/in-iked.js") : IN_IKED;
  const ikeadmJs = o.tree !== undefined ? path.join(o.tree, "dist/src/cli/ikeadm.js") : IKEADM;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "iked-flood-"));
  fs.mkdirSync(path.join(root, "etc/inet/ike"), { recursive: true });
  fs.mkdirSync(path.join(root, "etc/inet/secret"), { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(root, "etc/inet/ike/config"), `{\n label "flood"\n local_addr ${o.address}\n remote_addr 127.0.0.0/8\n ${xform(o.dh)}\n}\n`);
  fs.writeFileSync(
    path.join(root, "etc/inet/secret/ike.preshared"),
    `{ localidtype ip localid ${o.address} remoteidtype ip remoteid ${o.sources} key "${o.psk}" }\n`,
    { mode: 0o600 },
  );
  // `nodeArgs` (e.g. --cpu-prof) reach the detached daemon too: it is started with the launcher's node flags.
  const args = ["--openssl-legacy-provider", ...(o.nodeArgs ?? []), inIked, "--root", root, "--kernel", "memory", "--workers", String(o.workers), "--port", String(o.port), "--natt-port", String(o.port + 1)];
  // Without -d the launcher detaches the daemon and exits once it serves (logs in --root).
  const launcher = spawn(process.execPath, args, { stdio: ["ignore", "inherit", "inherit"] });
  const code = await new Promise<number | null>((r) => launcher.on("exit", r));
  if (code !== 0) throw new Error(`in.iked exited ${code} at start`);
  const pid = Number(fs.readFileSync(path.join(root, "var/run/in.iked.pid"), "utf8").trim());
  const ikeadm = async (...a: string[]): Promise<string> => (await run(process.execPath, ["--openssl-legacy-provider", ikeadmJs, "--root", root, ...a])).stdout;
  const stats = async (): Promise<{ engine: Record<string, number>; transport: Record<string, number> }> => JSON.parse(await ikeadm("--json", "get", "stats"));
  return {
    pid,
    async engineStats() {
      return (await stats()).engine;
    },
    async transportStats() {
      return (await stats()).transport;
    },
    async stop() {
      try {
        process.kill(pid, "SIGTERM");
      } catch {
        // Already gone: nothing to stop.
      }
      for (let i = 0; i < 100; i++) {
        try {
          process.kill(pid, 0);
        } catch {
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
