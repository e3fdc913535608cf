/**
 * A real LDAP server for tests: Debian's OpenLDAP slapd (installed by .ci/run), with an MDB
 * database in a temporary directory loaded by slapadd from LDIF, listening on 127.0.0.1 at a free
 * port. Run the tests inside the worktree's network namespace (nsrun), as every socket test.
 * Without slapd the tests skip, saying why, except under CI=true, where they fail naming it.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { skipFor } from "./skip.js";

const SLAPD = "/usr/sbin/slapd";
const SLAPADD = "/usr/sbin/slapadd";

/** Why slapd cannot run here, or false; under CI its absence throws (helpers/skip.ts). */
export function slapdSkip(): string | false {
  const missing = [SLAPD, SLAPADD, "/etc/ldap/schema/core.schema"].filter((f) => !fs.existsSync(f));
  const why = missing.length > 0 ? `${missing.join(", ")} missing (apt-get install slapd)` : process.getuid?.() !== 0 ? "slapd tests need root" : false;
  return skipFor(why);
}

/** A running slapd. */
export interface Slapd {
  readonly port: number;
  stop(): Promise<void>;
}

/** A port nobody listens on now (slapd needs one on its command line). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`slapd exited (${child.exitCode}) before listening`);
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, "127.0.0.1");
      c.once("connect", () => (c.destroy(), resolve(true)));
      c.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`slapd did not listen on port ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts slapd with suffix `suffix` and the entries of `ldif`. */
export async function startSlapd(suffix: string, ldif: string): Promise<Slapd> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "iked-slapd-"));
  fs.mkdirSync(path.join(dir, "db"));
  const conf = path.join(dir, "slapd.conf");
  fs.writeFileSync(conf, [
    "include /etc/ldap/schema/core.schema",
    "modulepath /usr/lib/ldap",
    "moduleload back_mdb",
    `pidfile ${dir}/slapd.pid`,
    `argsfile ${dir}/slapd.args`,
    "database mdb",
    "maxsize 10485760",
    `suffix "${suffix}"`,
    `rootdn "cn=admin,${suffix}"`,
    `directory ${dir}/db`,
    "",
  ].join("\n"));
  fs.writeFileSync(path.join(dir, "data.ldif"), ldif);
  execFileSync(SLAPADD, ["-f", conf, "-l", path.join(dir, "data.ldif")], { stdio: "pipe" });
  const port = await freePort();
  // -d 0: stay in the foreground (no fork), log nothing.
  const child = spawn(SLAPD, ["-f", conf, "-h", `ldap://127.0.0.1:${port}/`, "-d", "0"], { stdio: "ignore" });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    await waitForPort(port, child, 20_000);
  } catch (err) {
    child.kill("SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    port,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An LDIF attribute line carrying binary data (base64, RFC 2849). */
export const ldifBinary = (attr: string, der: Buffer): string => `${attr};binary:: ${der.toString("base64")}`;
