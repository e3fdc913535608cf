#!/usr/bin/env -S node --openssl-legacy-provider
/**
 * ikecert: the certificate databases of in.iked (reference ikecert.md).
 *
 * ```
 * ikecert [--root DIR] certlocal|certdb|certrldb <option> [args...]
 * ikecert [--root DIR] tokens
 * ```
 * The daemon sees changes after `ikeadm flush certcache`, SIGHUP or a restart.
 */
import { ikedPaths } from "../daemon/paths.js";
import { certdb, certrldb } from "./ikecert/certdb.js";
import { certlocal } from "./ikecert/certlocal.js";
import { HELP } from "./ikecert/help.js";
import { parseOpts } from "./ikecert/options.js";
import { tokens } from "./ikecert/tokens.js";
import { IkecertError } from "./ikecert/store-ops.js";
import { closeTokens } from "./ikecert/token-session.js";
import { TokenError } from "../crypto/pkcs11.js";

const USAGE = "Usage: ikecert [--root DIR] certlocal|certdb|certrldb [options...]\n       ikecert [--root DIR] tokens\nUse -h after a subcommand for its options.\n";

async function main(argv: string[]): Promise<number> {
  let root = "/";
  while (argv[0]?.startsWith("--root")) {
    const a = argv.shift()!;
    const v = a.includes("=") ? a.slice(7) : argv.shift();
    if (!v) {
      process.stderr.write("ikecert: --root needs a directory\n");
      return 1;
    }
    root = v;
  }
  const [sub, ...rest] = argv;
  const paths = ikedPaths(root);
  const out = (s: string | Buffer) => void process.stdout.write(s);
  const err = (s: string) => void process.stderr.write(s);
  try {
    switch (sub) {
      case "certlocal":
      case "certdb":
      case "certrldb": {
        const o = parseOpts(rest);
        if (o.primary === "h") {
          out(HELP[sub]);
          return 0;
        }
        if (sub === "certlocal") await certlocal(paths, o, out, err);
        else if (sub === "certdb") await certdb(paths, o, out, err);
        else certrldb(paths, o, out, err);
        return 0;
      }
      case "tokens":
        if (rest.length > 0) throw new IkecertError("tokens takes no arguments");
        await tokens(paths, out);
        return 0;
      default:
        err(USAGE);
        return 1;
    }
  } catch (e) {
    if (!(e instanceof IkecertError) && !(e instanceof TokenError) && !(e as NodeJS.ErrnoException).code) throw e;
    err(`ikecert: ${(e as Error).message}\n`);
    return 1;
  } finally {
    closeTokens();
  }
}

process.exitCode = await main(process.argv.slice(2));
