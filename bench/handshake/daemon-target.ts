/**
 * The real in.iked as the handshake bench's responder, run as a gateway runs it: detached (the
 * launcher forks the daemon and exits once it is up), default logging (info lines to
 * `<root>/var/log/in.iked.log`, pretty format, no debug categories), `--kernel memory`, a private
 * `--root` holding ike.config, ike.preshared and ipsecinit.conf for the bench's sources, and with
 * `--auth rsa` the certificate store (the CA in slot 0, our certificate and key in slot 1).
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { ikedPaths } from "../../src/daemon/paths.js";
import { writeStore } from "../../test/exchange/cert-harness.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const IN_IKED = path.resolve(HERE, "../../src/cli/in-iked.js");
const run = promisify(execFile);

/** What one daemon answers. */
export interface DaemonTargetOptions {
  readonly address: string;
  readonly port: number;
  readonly nattPort: number;
  readonly workers: number;
  /** ike.config address syntax for the sources. */
  readonly peers: string;
  readonly psk: string;
  readonly dhGroup: number;
  readonly certs?: { readonly ca: string; readonly caSubject: string; readonly cert: string; readonly key: string; readonly subject: string };
  /** Extra node options (e.g. `--cpu-prof`); the detached daemon inherits them. */
  readonly nodeArgs?: readonly string[];
  /** Another built tree whose dist/src/cli/in-iked.js runs instead of this one's (A/B runs). */
  readonly tree?: string;
}

/** A running daemon. */
export interface DaemonTarget {
  readonly pid: number;
  readonly root: string;
  readonly logFile: string;
  /** SIGTERM, wait until the process is gone, remove the root unless `keep`. */
  stop(keep?: boolean): Promise<void>;
}

function writeRoot(o: DaemonTargetOptions): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "iked-bench-daemon-"));
  const p = ikedPaths(root);
  fs.mkdirSync(path.dirname(p.configFile), { recursive: true });
  fs.mkdirSync(path.dirname(p.presharedFile), { recursive: true, mode: 0o700 });
  const rsa = o.certs !== undefined;
  const auth = rsa ? "rsa_sig" : "preshared";
  fs.writeFileSync(
    p.configFile,
    (rsa ? `cert_root "${o.certs.caSubject}"\nignore_crls\n` : "") +
      `{\n  label "handshake bench"\n  local_addr ${o.address}\n  remote_addr ${o.peers}\n` +
      (rsa ? `  local_id_type dn\n  local_id "${o.certs.subject}"\n  remote_id ""\n` : "") +
      `  p1_xform { auth_method ${auth} oakley_group ${o.dhGroup} auth_alg sha1 encr_alg aes(128..128) }\n}\n`,
  );
  fs.writeFileSync(
    p.presharedFile,
    rsa ? "" : `{\n  localidtype ip\n  localid ${o.address}\n  remoteidtype ip\n  remoteid ${o.peers}\n  ike_mode main\n  key "${o.psk}"\n}\n`,
    { mode: 0o600 },
  );
  fs.writeFileSync(p.ipsecPolicyFile, `{ raddr ${o.peers} } ipsec { encr_algs aes encr_auth_algs sha1 }\n`);
  if (o.certs !== undefined) writeStore(p, { certs: { "0": o.certs.ca, "1": o.certs.cert }, keys: { "1": o.certs.key } });
  return root;
}

/** Start a detached in.iked; resolves once the launcher has exited with the daemon up. */
export async function startDaemonTarget(o: DaemonTargetOptions): Promise<DaemonTarget> {
  const root = writeRoot(o);
  const p = ikedPaths(root);
  const script = o.tree === undefined ? IN_IKED : path.resolve(o.tree, "dist/src/cli/in-iked.js");
  const args = [...(o.nodeArgs ?? []), "--openssl-legacy-provider", script, "--root", root, "--kernel", "memory"];
  args.push("--workers", String(o.workers), "--port", String(o.port), "--natt-port", String(o.nattPort));
  try {
    await run(process.execPath, args, { timeout: 60_000 });
  } catch (err) {
    const log = fs.existsSync(p.defaultLogFile) ? fs.readFileSync(p.defaultLogFile, "utf8").slice(-2000) : "";
    throw new Error(`in.iked did not start: ${(err as Error).message}\n${log}`);
  }
  const pid = Number(fs.readFileSync(p.pidFile, "utf8").trim());
  return {
    pid,
    root,
    logFile: p.defaultLogFile,
    async stop(keep = false) {
      try {
        process.kill(pid, "SIGTERM");
      } catch {
        // Already gone: nothing to stop.
      }
      const until = Date.now() + 30_000;
      while (fs.existsSync(`/proc/${pid}`) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      if (fs.existsSync(`/proc/${pid}`)) process.kill(pid, "SIGKILL");
      if (!keep) fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
