/**
 * The kernel-VM suite's guest side: runs inside ONE boot of shared/kernel-vm (a Debian kernel with
 * ESP, AH and AF_KEY), every registered case in turn, and reports each on stdout as one line
 *
 *   IKED-VM-CASE {"name": ..., "ok": true|false, "ms": ..., "error"?: ...}
 *
 * then `IKED-VM-END {"cases": n, "failed": m}`. Everything else (logs, tool output) goes to stderr.
 * The host side (test/kernel-vm/vm-suite.test.ts) boots the VM and turns each line into a subtest.
 * KERNEL_VM_ONLY=<regex> runs the cases whose names match.
 *
 * Cases live in cases/*.ts and are listed in cases/index.ts; a case is a name and an async function
 * that throws on failure. Later suites (in.iked on each side, strongSwan or Libreswan in the guest)
 * add their lists there and run in the same boot.
 */
import { CASES } from "./cases/index.js";

const only = process.env["KERNEL_VM_ONLY"] !== undefined ? new RegExp(process.env["KERNEL_VM_ONLY"]) : null;
/** One case may take this long before it counts as failed (TCG runs about ten times slower). */
const CASE_TIMEOUT_MS = Number(process.env["KERNEL_VM_CASE_TIMEOUT_MS"] ?? 120_000);

async function main(): Promise<void> {
  let failed = 0;
  let count = 0;
  for (const c of CASES) {
    if (only !== null && !only.test(c.name)) continue;
    count++;
    const start = Date.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        c.run(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`case timed out after ${CASE_TIMEOUT_MS} ms`)), CASE_TIMEOUT_MS);
        }),
      ]);
      report({ name: c.name, ok: true, ms: Date.now() - start });
    } catch (err) {
      failed++;
      report({ name: c.name, ok: false, ms: Date.now() - start, error: (err as Error)?.stack ?? String(err) });
    } finally {
      clearTimeout(timer);
    }
  }
  process.stdout.write(`IKED-VM-END ${JSON.stringify({ cases: count, failed })}\n`);
}

function report(r: { name: string; ok: boolean; ms: number; error?: string }): void {
  process.stdout.write(`IKED-VM-CASE ${JSON.stringify(r)}\n`);
  process.stderr.write(`${r.ok ? "ok  " : "FAIL"} ${r.name} (${r.ms} ms)\n${r.error ?? ""}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`runner failed: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
