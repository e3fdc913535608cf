/**
 * Default file locations of in.iked (reference in-iked.md §4), all below one root so a test,
 * `npm start` or a second instance can run against a private tree (`--root DIR`, an extension).
 */
import path from "node:path";

/** Every path the daemon and ikeadm use by default. */
export interface IkedPaths {
  readonly root: string;
  readonly configFile: string;
  readonly presharedFile: string;
  /** The IPsec policy file Quick Mode and ACQUIREs follow. */
  readonly ipsecPolicyFile: string;
  readonly privateKeysDir: string;
  readonly publicKeysDir: string;
  readonly crlsDir: string;
  /** The admin socket, at the original door's path. */
  readonly adminSocket: string;
  readonly pidFile: string;
  /** Where a detached daemon's stdout/stderr go when no debug_logfile is set. */
  readonly defaultLogFile: string;
}

/** Paths below `root` ("/" for the system daemon). */
export function ikedPaths(root = "/"): IkedPaths {
  const r = path.resolve(root);
  const p = (...parts: string[]) => path.join(r, ...parts);
  return {
    root: r,
    configFile: p("etc/inet/ike/config"),
    presharedFile: p("etc/inet/secret/ike.preshared"),
    ipsecPolicyFile: p("etc/inet/ipsecinit.conf"),
    privateKeysDir: p("etc/inet/secret/ike.privatekeys"),
    publicKeysDir: p("etc/inet/ike/publickeys"),
    crlsDir: p("etc/inet/ike/crls"),
    adminSocket: p("var/run/ike_door"),
    pidFile: p("var/run/in.iked.pid"),
    defaultLogFile: p("var/log/in.iked.log"),
  };
}
