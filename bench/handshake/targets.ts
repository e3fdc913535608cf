/**
 * The responders the handshake bench measures, each a process of its own whose CPU it reads from
 * /proc: strongSwan 5.9.8 (charon, from shared/interop/strongswan-peer.sh), the real in.iked
 * (daemon-target.ts, detached, default logging, --kernel memory) and, for comparison only,
 * bench/handshake/responder.ts (the engine wired without the daemon around it).
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { InteropPeer } from "../../test/helpers/interop.js";
import { startDaemonTarget } from "./daemon-target.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** What kind of responder a target is. */
export type TargetKind = "strongswan" | "daemon" | "bench";

/** A running responder. */
export interface Target {
  readonly kind: TargetKind;
  readonly label: string;
  /** Pool threads of ours; undefined for charon (its own thread pool). */
  readonly poolThreads: number | undefined;
  readonly endpoint: { readonly address: string; readonly port: number };
  readonly pid: number;
  stop(): Promise<void>;
}

/** The certificates of an `--auth rsa` run (make-certs.sh output). */
export interface Certs {
  readonly dir: string;
  readonly ca: string;
  readonly caSubject: string;
  readonly responder: { readonly cert: string; readonly key: string; readonly subject: string };
  readonly generator: { readonly cert: string; readonly key: string };
}

/** What every responder of one cell is set up with. */
export interface Setup {
  readonly group: number;
  readonly psk: string;
  /** ike.config address syntax covering the generator's sources. */
  readonly peers: string;
  readonly certs: Certs | undefined;
}

/** A strongSwan 5.9.8 responder for `s` on address:port (NAT-T on port + 1). */
export async function startStrongSwan(s: Setup, address: string, port: number): Promise<Target> {
  const peer = await InteropPeer.startStrongSwan({
    name: `perf-handshake-${port}`,
    role: "responder",
    local: address,
    remote: "%any",
    localPort: port,
    nattPort: port + 1,
    remotePort: 500,
    ...(s.certs
      ? { auth: "rsa" as const, cert: s.certs.responder.cert, key: s.certs.responder.key, ca: s.certs.ca, localId: s.certs.responder.subject }
      : { psk: s.psk }),
    cipher: "aes128",
    hash: "sha1",
    dh: s.group,
    // With certificates every source shows the same identity (the generator's DN): `never` keeps
    // one source's INITIAL-CONTACT from tearing down the others' SAs (strongSwan matches it by ID).
    unique: s.certs ? "never" : "no",
    fragmentation: "no",
    esp: "aes128-sha1",
    espMode: "transport",
    retransmitTries: 3,
    retransmitTimeout: 2,
    logLevel: 0,
  });
  return {
    kind: "strongswan",
    label: "strongSwan 5.9.8",
    poolThreads: undefined,
    endpoint: { address, port },
    pid: Number(peer.info.pid),
    stop: async () => void (await peer.stop({ kill: true, purge: true })),
  };
}

/** Which in.iked: this tree's or another built tree's, with extra node options. */
export interface DaemonVariant {
  readonly label: string;
  readonly tree?: string;
  readonly nodeArgs: readonly string[];
}

/** in.iked with `workers` pool threads on address:port (NAT-T on port + 100). */
export async function startDaemon(s: Setup, address: string, port: number, workers: number, v: DaemonVariant = { label: "in.iked", nodeArgs: [] }): Promise<Target> {
  const c = s.certs;
  const d = await startDaemonTarget({
    address, port, nattPort: port + 100, workers, peers: s.peers, psk: s.psk, dhGroup: s.group, nodeArgs: v.nodeArgs,
    ...(v.tree !== undefined ? { tree: v.tree } : {}),
    ...(c ? { certs: { ca: c.ca, caSubject: c.caSubject, cert: c.responder.cert, key: c.responder.key, subject: c.responder.subject } } : {}),
  });
  return { kind: "daemon", label: v.label, poolThreads: workers, endpoint: { address, port }, pid: d.pid, stop: () => d.stop() };
}

/** bench/handshake/responder.ts with `workers` pool threads on address:port. */
export async function startBenchResponder(s: Setup, address: string, port: number, workers: number): Promise<Target> {
  const c = s.certs;
  const child = spawn(
    process.execPath,
    [
      "--openssl-legacy-provider",
      path.join(HERE, "responder.js"),
      "--address", address,
      "--port", String(port),
      "--workers", String(workers),
      "--peers", s.peers,
      "--psk-hex", Buffer.from(s.psk).toString("hex"),
      "--dh", String(s.group),
      "--cipher", "aes(128..128)",
      "--hash", "sha1",
      ...(c ? ["--auth", "rsa", "--cert", c.responder.cert, "--key", c.responder.key, "--ca", c.ca] : []),
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    if (!line.startsWith("ready ")) continue;
    return {
      kind: "bench",
      label: "responder.ts",
      poolThreads: workers,
      endpoint: { address, port },
      pid: child.pid!,
      async stop() {
        if (child.exitCode !== null) return;
        const exited = once(child, "exit");
        child.kill("SIGTERM");
        await exited;
      },
    };
  }
  throw new Error("responder.ts exited before it was ready");
}
