/**
 * SoftHSM2 tokens for tests (Debian softhsm2, installed by .ci/run): a token directory and
 * configuration in a temporary directory, named by SOFTHSM2_CONF. Without softhsm2 the tests skip,
 * saying why, except under CI=true, where they fail naming the missing package.
 *
 * PKCS#11 is initialised once per process and SoftHSM reads SOFTHSM2_CONF then, so a test file
 * that uses tokens in its own process (the crypto pool) makes all its tokens with one `softhsm()`
 * before the first PKCS#11 call; tests that run ikecert or in.iked as child processes pass `env`.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { skipFor } from "./skip.js";

/** Debian's SoftHSM2 PKCS#11 module. */
export const SOFTHSM_LIB = "/usr/lib/softhsm/libsofthsm2.so";

/** Why SoftHSM2 cannot be used here, or false; under CI its absence throws (helpers/skip.ts). */
export function softhsmSkip(): string | false {
  const missing = [SOFTHSM_LIB, "/usr/bin/softhsm2-util"].filter((f) => !fs.existsSync(f));
  return skipFor(missing.length > 0 && `${missing.join(" and ")} missing (apt-get install softhsm2)`);
}

/** A SoftHSM2 configuration with its own token directory. */
export interface SoftHsm {
  readonly dir: string;
  readonly conf: string;
  /** process.env plus SOFTHSM2_CONF, for child processes. */
  readonly env: NodeJS.ProcessEnv;
  /** Initialises a token; returns its label. */
  initToken(label: string, pin: string): string;
  remove(): void;
}

/** Makes a token directory; `adopt` also sets SOFTHSM2_CONF in this process (see the file comment). */
export function softhsm(opts: { adopt?: boolean } = {}): SoftHsm {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "iked-softhsm-"));
  fs.mkdirSync(path.join(dir, "tokens"));
  const conf = path.join(dir, "softhsm2.conf");
  fs.writeFileSync(conf, `directories.tokendir = ${path.join(dir, "tokens")}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  const env = { ...process.env, SOFTHSM2_CONF: conf };
  if (opts.adopt) process.env.SOFTHSM2_CONF = conf;
  return {
    dir,
    conf,
    env,
    initToken(label, pin) {
      execFileSync("softhsm2-util", ["--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", "87654321"], { env, stdio: "pipe" });
      return label;
    },
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
