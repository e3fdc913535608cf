/**
 * strongSwan and Libreswan as peers in the kernel VM, on the guest's real kernel (guest side).
 *
 * shared/interop runs both daemons under an LD_PRELOAD shim that fakes NETLINK_XFRM (the project's
 * machines have no ESP). Here the kernel is real, so both run as on a normal Linux host, with
 * configurations of our own:
 *
 * - strongSwan 5.9.8: `charon` with its kernel-netlink plugin, driven over vici by `swanctl`
 *   (strongswan.conf and swanctl.conf written here; no routes, no virtual IPs).
 * - Libreswan 4.10: `pluto` from the unpacked Debian package shared/interop keeps (the host copies
 *   it into the work tree before the boot, since the guest cannot see the host's /tmp; the path
 *   comes in KERNEL_VM_LIBRESWAN), in a private mount namespace with its `/usr/libexec` bound over
 *   the guest's (pluto runs `addconn` from there), driven by `whack`; `leftupdown=%disabled`.
 *
 * Both run in a side's network namespace with IKE on ports 500/4500, pre-shared key PSK_HEX.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { until } from "../../helpers/netns.js";
import { PSK_HEX } from "./iked.js";
import type { Side } from "./world.js";

/** What both peers are told about the connection. */
export interface PeerSpec {
  mode: "tunnel" | "transport";
  /** Traffic selectors (tunnel mode): this side's and the other side's networks. */
  localTs?: string;
  remoteTs?: string;
}

/** A running peer daemon. */
export interface Peer {
  /** Starts the connection as initiator. */
  initiate(): Promise<void>;
  /** Ends the connection (the peer sends its Deletes). */
  terminate(): Promise<void>;
  /** The daemon's log, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
    let out = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (out += d.toString()));
    p.on("error", reject);
    p.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(" ")}: exit ${code}\n${out}`))));
  });
}

function launch(side: Side, args: string[], logFile: string): { child: ChildProcess; exited: Promise<number | null> } {
  const child = spawn("ip", ["netns", "exec", side.ns.name, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.on("exit", (code) => {
      writeFileSync(`${logFile}.out`, out);
      resolve(code);
    }),
  );
  return { child, exited };
}

const readLog = (file: string): string => (existsSync(file) ? readFileSync(file, "utf8").slice(-8000) : "(no log)");

/** charon on `self`, peer `other` (IKEv1 main mode, PSK, AES-128/SHA-256/MODP-2048). */
export async function startCharon(self: Side, other: Side, spec: PeerSpec): Promise<Peer> {
  const dir = mkdtempSync("/tmp/charon-");
  const vici = `unix://${dir}/charon.vici`;
  const log = path.join(dir, "charon.log");
  writeFileSync(
    path.join(dir, "strongswan.conf"),
    `charon {
  load_modular = no
  load = random nonce openssl pem pkcs1 x509 pubkey hmac kdf aes sha1 sha2 md5 gmp kernel-netlink socket-default vici
  install_routes = no
  install_virtual_ip = no
  retransmit_tries = 4
  retransmit_timeout = 4.0
  plugins { vici { socket = ${vici} } }
  filelog { main { path = ${log}
    time_format = %H:%M:%S
    default = 1
    ike = 2
    knl = 2
    chd = 2 } }
  syslog { daemon { default = -1 } }
}
`,
  );
  const ts = spec.mode === "tunnel" ? `local_ts = ${spec.localTs}\n        remote_ts = ${spec.remoteTs}` : `local_ts = ${self.v4}/32\n        remote_ts = ${other.v4}/32`;
  writeFileSync(
    path.join(dir, "swanctl.conf"),
    `connections {
  peer {
    version = 1
    local_addrs = ${self.v4}
    remote_addrs = ${other.v4}
    proposals = aes128-sha256-modp2048
    local { auth = psk
      id = ${self.v4} }
    remote { auth = psk
      id = ${other.v4} }
    children {
      child {
        ${ts}
        esp_proposals = aes128-sha256
        mode = ${spec.mode}
        start_action = none
      }
    }
  }
}
secrets {
  ike-peer {
    id-a = ${self.v4}
    id-b = ${other.v4}
    secret = 0x${PSK_HEX}
  }
}
`,
  );
  const { child, exited } = launch(self, ["env", `STRONGSWAN_CONF=${dir}/strongswan.conf`, "/usr/lib/ipsec/charon"], log);
  let dead = false;
  void exited.then(() => (dead = true));
  const swanctl = (...args: string[]) => run("swanctl", [...args, "--uri", vici]);
  try {
    await until("charon's vici socket", async () => dead || (existsSync(`${dir}/charon.vici`) && (await swanctl("--stats").then(() => true, () => false))), 60_000);
    if (dead) throw new Error("charon exited during start-up");
    await swanctl("--load-all", "--file", path.join(dir, "swanctl.conf"));
  } catch (err) {
    child.kill("SIGKILL");
    throw new Error(`${(err as Error).message}\n${readLog(log)}`);
  }
  return {
    initiate: async () => void (await swanctl("--initiate", "--child", "child", "--timeout", "60")),
    terminate: async () => void (await swanctl("--terminate", "--ike", "peer", "--timeout", "30")),
    log: () => readLog(log),
    async stop() {
      if (!dead) child.kill("SIGTERM");
      await exited;
    },
  };
}

/** pluto on `self`, peer `other` (IKEv1 main mode, PSK, AES-128/SHA-256/MODP-2048; ESP AES-128/HMAC-SHA-512). */
export async function startPluto(self: Side, other: Side, spec: PeerSpec): Promise<Peer> {
  const root = process.env["KERNEL_VM_LIBRESWAN"];
  if (root === undefined || !existsSync(path.join(root, "usr/libexec/ipsec/pluto"))) throw new Error(`Libreswan not found: KERNEL_VM_LIBRESWAN=${root ?? "(unset)"}`);
  const dir = mkdtempSync("/tmp/pluto-");
  mkdirSync(path.join(dir, "nss"));
  mkdirSync(path.join(dir, "run"));
  const log = path.join(dir, "pluto.log");
  await run("certutil", ["-N", "-d", `sql:${dir}/nss`, "--empty-password"]);
  const subnets = spec.mode === "tunnel" ? `leftsubnet=${spec.localTs}\n\trightsubnet=${spec.remoteTs}` : "";
  writeFileSync(
    path.join(dir, "ipsec.conf"),
    `config setup
\tikev1-policy=accept
\tlogtime=yes
\tlogappend=yes

conn peer
\tkeyexchange=ike
\tikev2=no
\tauthby=secret
\tleft=${self.v4}
\tleftid=${self.v4}
\tright=${other.v4}
\trightid=${other.v4}
\t${subnets}
\tike=aes128-sha2_256-modp2048
\tphase2=esp
\tphase2alg=aes128-sha2_512
\tpfs=no
\ttype=${spec.mode}
\tkeyingtries=1
\tretransmit-timeout=60s
\tleftupdown=%disabled
\tauto=add
`,
  );
  writeFileSync(path.join(dir, "ipsec.secrets"), `${self.v4} ${other.v4} : PSK 0x${PSK_HEX}\n`, { mode: 0o600 });
  const pluto = path.join(root, "usr/libexec/ipsec/pluto");
  const whackBin = path.join(root, "usr/libexec/ipsec/whack");
  const ctl = path.join(dir, "run/pluto.ctl");
  const { child, exited } = launch(
    self,
    [
      "unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", 'mount --bind "$1/usr/libexec" /usr/libexec && shift && exec "$@"', "pluto-launch", root,
      pluto, "--nofork", "--config", path.join(dir, "ipsec.conf"), "--secretsfile", path.join(dir, "ipsec.secrets"), "--nssdir", path.join(dir, "nss"),
      "--ipsecdir", dir, "--logfile", log, "--listen", self.v4, "--rundir", path.join(dir, "run"), "--dumpdir", path.join(dir, "run"),
    ],
    log,
  );
  let dead = false;
  void exited.then(() => (dead = true));
  const whack = (...args: string[]) => run("ip", ["netns", "exec", self.ns.name, whackBin, "--ctlsocket", ctl, ...args]);
  try {
    await until("pluto to load the connection", () => dead || (existsSync(log) && /"peer": added/.test(readFileSync(log, "utf8"))), 60_000);
    if (dead) throw new Error("pluto exited during start-up");
  } catch (err) {
    child.kill("SIGKILL");
    throw new Error(`${(err as Error).message}\n${readLog(log)}\n${readLog(`${log}.out`)}`);
  }
  return {
    initiate: async () => void (await whack("--name", "peer", "--initiate")),
    terminate: async () => void (await whack("--name", "peer", "--terminate")),
    log: () => readLog(log),
    async stop() {
      if (!dead) child.kill("SIGTERM");
      await exited;
    },
  };
}
