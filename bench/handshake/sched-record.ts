/**
 * `perf record` of the scheduler's switches and wakeups, machine-wide, for one measured window
 * of the handshake bench (`--sched`), and the trace read back (sched-trace.ts). perf starts with
 * its events disabled (`-D -1`) and a control FIFO: `start` returns once perf has acknowledged
 * "enable", so the window is covered from the first negotiation; `stop` interrupts it and waits
 * for its file. perf runs at nice 19, so that draining its buffers yields to the measured threads
 * (what it still takes shows as the `perf` holder). Timestamps are CLOCK_MONOTONIC (`-k`), the clock of `process.hrtime`. Needs root
 * (or perf_event_paranoid <= -1) and `perf` with tracepoints (linux-perf).
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { open } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import { SchedTraceBuilder, type SchedTrace } from "./sched-trace.js";

const EVENTS = ["sched:sched_switch", "sched:sched_wakeup", "sched:sched_wakeup_new"];
/** How long perf may take to start or to write its file; generous, a bound, not a wait. */
const BOUND_MS = 60_000;

/** A running recording. */
export interface SchedRecording {
  readonly file: string;
  readonly pid: number;
  /** Stop recording and wait for perf to finish its file; returns its messages (lost events, if any). */
  stop(): Promise<string>;
}

function bounded<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`perf: ${what}: no answer in ${BOUND_MS / 1000} s`)), BOUND_MS)));
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

/** Start recording into `dir/name.data`; resolves once perf's events are enabled. */
export async function startSchedRecording(dir: string, name: string): Promise<SchedRecording> {
  const file = path.join(dir, `${name}.data`);
  const ctl = path.join(dir, `${name}.ctl`);
  const ack = path.join(dir, `${name}.ack`);
  execFileSync("mkfifo", [ctl, ack]);
  // Both ends opened read-write: neither open blocks on the other side (Linux FIFOs).
  const ctlFd = await open(ctl, "r+");
  const ackFd = await open(ack, "r+");
  // At the lowest priority: perf's own CPU (draining its buffers, tens of ms at a time) would
  // otherwise take a measured process's CPU in one piece and show up in the tail it measures.
  const perf: ChildProcess = spawn("nice", ["-n", "19", "perf", "record", "-q", "-D", "-1", "--control", `fifo:${ctl},${ack}`, "-a", "-k", "CLOCK_MONOTONIC", "-m", "4096", "-e", EVENTS.join(","), "-o", file], { stdio: ["ignore", "ignore", "pipe"] });
  let messages = "";
  perf.stderr!.setEncoding("utf8").on("data", (d: string) => (messages += d));
  const exited = once(perf, "exit");
  try {
    await ctlFd.write("enable\n");
    const buf = Buffer.alloc(16);
    const got = await bounded(
      Promise.race([ackFd.read(buf, 0, buf.length, null), exited.then(() => Promise.reject(new Error(`perf record ended: ${messages.trim()}`)))]),
      "enable",
    );
    if (!buf.subarray(0, got.bytesRead).toString().startsWith("ack")) throw new Error(`perf: unexpected answer ${JSON.stringify(buf.toString())}`);
  } catch (err) {
    perf.kill("SIGKILL");
    await ctlFd.close();
    await ackFd.close();
    throw err;
  }
  return {
    file,
    pid: perf.pid!,
    async stop() {
      perf.kill("SIGINT");
      await bounded(exited, "writing its file");
      await ctlFd.close();
      await ackFd.close();
      return messages.trim();
    },
  };
}

/** Read a recording back: every thread's timeline for which `interest(tid)` holds, every CPU's. */
export async function readSchedRecording(file: string, interest: (tid: number) => boolean): Promise<{ trace: SchedTrace; messages: string }> {
  const b = new SchedTraceBuilder(interest);
  const script = spawn("perf", ["script", "-i", file, "-F", "pid,tid,cpu,time,event,trace", "--ns"], { stdio: ["ignore", "pipe", "pipe"] });
  let messages = "";
  script.stderr!.setEncoding("utf8").on("data", (d: string) => (messages += d));
  const exited = once(script, "exit");
  for await (const line of createInterface({ input: script.stdout! })) b.line(line);
  const [code] = (await exited) as [number | null];
  if (code !== 0) throw new Error(`perf script: exit ${code}: ${messages.trim()}`);
  // perf script warns about fields of other event types; keep only what is not that.
  return { trace: b.finish(), messages: messages.split("\n").filter((l) => l !== "" && !/not valid for .* events/.test(l)).join("\n") };
}
