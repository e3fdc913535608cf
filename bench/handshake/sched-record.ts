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
import { readFileSync, rmSync } from "node:fs";
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
  /**
   * Stop recording and wait for perf to finish its file; returns its messages (lost events, if
   * any). A perf that does not finish within the bound is killed and waited for, and this rejects.
   * The control FIFOs are removed either way.
   */
  stop(): Promise<string>;
}

function bounded<T>(p: Promise<T>, what: string, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`perf: ${what}: no answer in ${ms / 1000} s`)), ms)));
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

/**
 * Refuse `--sched` up front, before the closed-loop rounds, where perf could not record: no `perf`
 * command, or neither root nor `kernel.perf_event_paranoid` -1. `env` is this machine's by default.
 */
export function schedPreflight(env: { readonly perf?: string; readonly uid?: number; readonly paranoid?: number } = {}): void {
  const perf = env.perf ?? "perf";
  try {
    execFileSync(perf, ["--version"], { stdio: "ignore" });
  } catch (err) {
    throw new Error(`--sched: cannot run ${perf} (${(err as Error).message.split("\n")[0]}); install linux-perf`);
  }
  const uid = env.uid ?? process.getuid?.() ?? -1;
  const paranoid = env.paranoid ?? paranoidLevel();
  if (uid !== 0 && paranoid > -1) throw new Error(`--sched: perf records every CPU's scheduler events: run as root, or set kernel.perf_event_paranoid to -1 (it is ${paranoid})`);
}

function paranoidLevel(): number {
  try {
    return Number(readFileSync("/proc/sys/kernel/perf_event_paranoid", "utf8").trim());
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/** Stop `perf` for good: SIGKILL, and wait until it has exited (so no recording outlives the bench). */
async function kill(perf: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (perf.exitCode === null && perf.signalCode === null) perf.kill("SIGKILL");
  await exited.catch(() => undefined);
}

/**
 * Start recording into `dir/name.data`; resolves once perf's events are enabled. `boundMs`: how
 * long perf may take to start, and later to write its file, before it is killed.
 */
export async function startSchedRecording(dir: string, name: string, boundMs = BOUND_MS): Promise<SchedRecording> {
  const file = path.join(dir, `${name}.data`);
  const ctl = path.join(dir, `${name}.ctl`);
  const ack = path.join(dir, `${name}.ack`);
  // A kept directory may hold a crashed run's FIFOs; mkfifo refuses existing names.
  const removeFifos = (): void => {
    for (const f of [ctl, ack]) rmSync(f, { force: true });
  };
  removeFifos();
  execFileSync("mkfifo", [ctl, ack]);
  // Both ends opened read-write: neither open blocks on the other side (Linux FIFOs).
  const ctlFd = await open(ctl, "r+");
  const ackFd = await open(ack, "r+");
  // At the lowest priority: perf's own CPU (draining its buffers, tens of ms at a time) would
  // otherwise take a measured process's CPU in one piece and show up in the tail it measures.
  const perf: ChildProcess = spawn("nice", ["-n", "19", "perf", "record", "-q", "-D", "-1", "--control", `fifo:${ctl},${ack}`, "-a", "-k", "CLOCK_MONOTONIC", "-m", "4096", "-e", EVENTS.join(","), "-o", file], { stdio: ["ignore", "ignore", "pipe"] });
  let messages = "";
  perf.stderr!.setEncoding("utf8").on("data", (d: string) => (messages += d));
  // "close", not "exit": its stderr (the reason it ended) is read to the end by then.
  const exited = once(perf, "close");
  const buf = Buffer.alloc(16);
  let answer: Promise<unknown> = Promise.resolve();
  try {
    await ctlFd.write("enable\n");
    const read = ackFd.read(buf, 0, buf.length, null);
    answer = read;
    const got = await bounded(
      Promise.race([read, exited.then(() => Promise.reject(new Error(`perf record ended: ${messages.trim()}`)))]),
      "enable",
      boundMs,
    );
    if (!buf.subarray(0, got.bytesRead).toString().startsWith("ack")) throw new Error(`perf: unexpected answer ${JSON.stringify(buf.toString())}`);
  } catch (err) {
    await kill(perf, exited);
    // A FileHandle closes only once its reads are done, and nobody else will write the ack FIFO
    // now: answer the read still waiting on it ourselves, or close() would wait for ever.
    await ackFd.write("\n");
    await answer.catch(() => undefined);
    await ctlFd.close();
    await ackFd.close();
    removeFifos();
    throw err;
  }
  return {
    file,
    pid: perf.pid!,
    async stop() {
      try {
        perf.kill("SIGINT");
        await bounded(exited, "writing its file", boundMs);
      } catch (err) {
        await kill(perf, exited);
        throw err;
      } finally {
        await ctlFd.close();
        await ackFd.close();
        removeFifos();
      }
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
  const exited = once(script, "close");
  for await (const line of createInterface({ input: script.stdout! })) b.line(line);
  const [code] = (await exited) as [number | null];
  if (code !== 0) throw new Error(`perf script: exit ${code}: ${messages.trim()}`);
  // perf script warns about fields of other event types; keep only what is not that.
  const trace = b.finish();
  const notes = messages.split("\n").filter((l) => l !== "" && !/not valid for .* events/.test(l));
  if (trace.outOfOrder > 0) notes.push(`${trace.outOfOrder} events out of time order skipped`);
  return { trace, messages: notes.join("\n") };
}
