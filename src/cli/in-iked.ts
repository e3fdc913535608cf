#!/usr/bin/env -S node --openssl-legacy-provider --max-semi-space-size=32 --initial-old-space-size=128
/**
 * in.iked launcher: `-c` checks the configuration; `-d` runs in the foreground; otherwise the
 * daemon detaches (src/daemon/detach.ts) and this process exits once it reports it is up.
 */
import { releasePreshared } from "../config/index.js";
import { checkPolicy, loadAll } from "../daemon/config-load.js";
import { Daemon, ExitCode, StartupError, StartupInterrupted } from "../daemon/daemon.js";
import { ikeServiceFactory } from "../daemon/ike-service.js";
import { detachAndWait, isDetachedChild, reportStartup } from "../daemon/detach.js";
import { IN_IKED_USAGE, parseDaemonOptions, type DaemonOptions } from "../daemon/options.js";
import { metricsExposureWarning } from "../config/metrics-address.js";

const say = (line: string) => process.stderr.write(`in.iked: ${line}\n`);

async function check(o: DaemonOptions): Promise<number> {
  const { rules, keys, pki } = await loadAll(o.configFile, o.presharedFile, { dirs: o.paths });
  // Only the counts are needed: the keys go back to the secure slab, zeroed, at once.
  releasePreshared(keys.value);
  const store = pki ?? { errors: [], warnings: [] };
  // The kernel's SPD takes the policy on every backend but the in-memory one (kernel-spd.ts).
  const policy = await checkPolicy(o.paths.ipsecPolicyFile, o.kernel === "memory" ? undefined : { config: rules.value });
  for (const line of [...store.errors, ...store.warnings, ...rules.errors, ...rules.warnings, ...keys.errors, ...keys.warnings, ...policy.errors, ...policy.warnings]) {
    process.stderr.write(line + "\n");
  }
  const exposed = o.metrics !== undefined ? metricsExposureWarning(o.metrics) : undefined;
  if (exposed !== undefined) say(`warning: --metrics: ${exposed}`);
  const bad = rules.errors.length + keys.errors.length + store.errors.length + policy.errors.length;
  if (bad > 0) {
    say(`configuration check failed (${bad} error${bad === 1 ? "" : "s"})`);
    return ExitCode.Error;
  }
  const snap = pki?.value.snapshot;
  const stored = snap ? snap.certs.length + snap.keys.length + snap.crls.length : 0;
  const certs = snap && stored > 0 ? `; ${snap.certs.length} certificates, ${pki!.value.bindings.length} private keys, ${snap.crls.length} CRLs` : "";
  process.stdout.write(`${policy.summary}\n`);
  process.stdout.write(`${o.configFile}: ${rules.value.rules.length} rules; ${o.presharedFile}: ${keys.value.length} pre-shared keys${certs}; configuration OK\n`);
  return ExitCode.Ok;
}

async function main(): Promise<number | undefined> {
  const argv = process.argv.slice(2);
  const parsed = parseDaemonOptions(argv);
  if (parsed.kind === "help") {
    process.stdout.write(IN_IKED_USAGE);
    return ExitCode.Ok;
  }
  if (parsed.kind === "error") {
    say(parsed.message);
    process.stderr.write("Try 'in.iked --help'.\n");
    return ExitCode.Error;
  }
  const o = parsed.options;
  if (o.check) return check(o);

  const child = isDetachedChild();
  if (!o.foreground && !child) {
    const r = await detachAndWait(argv, o.debugLogfile ?? o.paths.defaultLogFile);
    if (r.code !== 0) say(r.message ?? "startup failed");
    return r.code;
  }

  try {
    await Daemon.start(o, { engineFactory: ikeServiceFactory });
  } catch (err) {
    if (err instanceof StartupInterrupted) {
      // A stop request, not a failure: everything start-up built is gone again.
      say(err.message);
      if (child) await reportStartup({ up: false, exitCode: ExitCode.Ok, message: err.message });
      return ExitCode.Ok;
    }
    const e = err instanceof StartupError ? err : new StartupError(ExitCode.Error, (err as Error).message);
    for (const d of e.details) process.stderr.write(d + "\n");
    say(`fatal error - exiting: ${e.message}`);
    if (child) await reportStartup({ up: false, exitCode: e.exitCode, message: [e.message, ...e.details].join("\n") });
    return e.exitCode;
  }
  if (child) await reportStartup({ up: true, pid: process.pid });
  // Running: SIGTERM and SIGINT end the process (daemon.ts, signals.ts).
  return undefined;
}

main().then(
  (code) => {
    if (code !== undefined) process.exit(code);
  },
  (err: unknown) => {
    say(`fatal error - exiting: ${(err as Error).stack ?? String(err)}`);
    process.exit(ExitCode.Error);
  },
);
