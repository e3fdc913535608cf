/**
 * examples/two-namespaces.sh, the script the README offers readers, run as a reader would (as root,
 * on a kernel with ESP): it must end with its pings answered over ESP and exit 0.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { GuestCase } from "./index.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const SCRIPT = path.resolve(here, "../../../../../examples/two-namespaces.sh");

function runScript(kind: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn("sh", [SCRIPT, kind], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NODE: process.execPath } });
    let out = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (out += d.toString()));
    p.on("error", reject);
    p.on("exit", (code) => resolve({ code, out }));
  });
}

/** The example script, on the PF_KEY backend (the daemon cases cover XFRM more). */
export function exampleCases(): GuestCase[] {
  return [
    {
      name: "examples/two-namespaces.sh (pfkey): two gateways in namespaces, the pings go over ESP",
      timeoutMs: 300_000,
      run: async () => {
        const r = await runScript("pfkey");
        assert.equal(r.code, 0, r.out);
        assert.match(r.out, /== done: the pings went over ESP/);
        assert.match(r.out, /== ESP packets counted by the SAs: [1-9]/);
      },
    },
  ];
}
