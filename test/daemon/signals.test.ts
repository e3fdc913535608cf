/**
 * Signals at every step of start-up, in-process: Daemon.start runs with the IKE engine, and the
 * test emits SIGTERM or SIGHUP when start-up reaches each stage (`iked:daemon:stage`), right
 * there, a microtask later, one event-loop turn later or a few milliseconds later, so the signal
 * lands at the boundary and inside the awaits that follow it. Then several SIGHUPs during a
 * reload. The same with real signals to a real process is startup-signals.test.ts.
 */
import assert from "node:assert/strict";
import diagnostics from "node:diagnostics_channel";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { Daemon, StartupInterrupted } from "../../src/daemon/daemon.js";
import { STARTUP_STAGES, type StartupStage } from "../../src/daemon/signals.js";
import { ikeServiceFactory } from "../../src/daemon/ike-service.js";
import { parseDaemonOptions } from "../../src/daemon/options.js";
import { GOOD_CONFIG, makeRoot, rootPath } from "./harness.js";

const SIGNALS = ["SIGHUP", "SIGTERM", "SIGINT"] as const;

function optionsFor(root: string) {
  const parsed = parseDaemonOptions(["--root", root, "--kernel", "memory", "--workers", "0", "--port", "0", "--natt-port", "0"], { debug_logfile: path.join(root, "d.log") });
  if (parsed.kind !== "run") throw new Error(`options: ${JSON.stringify(parsed)}`);
  return parsed.options;
}

/** Replace the config file in one step (rename), so a read never sees half of it. */
function writeConfig(root: string, text: string): void {
  fs.writeFileSync(`${rootPath.config(root)}.new`, text);
  fs.renameSync(`${rootPath.config(root)}.new`, rootPath.config(root));
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Records the events of one daemon on the lifecycle channels. */
function recordEvents(): { events: string[]; done: () => void } {
  const events: string[] = [];
  const names = ["iked:daemon:start", "iked:daemon:reload", "iked:daemon:stop"];
  const fns = names.map((n) => (m: unknown) => events.push(`${n.slice(12)}${n.endsWith("reload") ? `:${(m as { ok: boolean }).ok}` : ""}`));
  names.forEach((n, i) => diagnostics.subscribe(n, fns[i]!));
  return { events, done: () => names.forEach((n, i) => diagnostics.unsubscribe(n, fns[i]!)) };
}

function assertNothingLeft(root: string, what: string): void {
  assert.equal(fs.existsSync(rootPath.pid(root)), false, `${what}: pid file left behind`);
  assert.equal(fs.existsSync(rootPath.socket(root)), false, `${what}: admin socket left behind`);
  for (const sig of SIGNALS) assert.equal(process.listenerCount(sig), 0, `${what}: a ${sig} handler left behind`);
}

/** When, after a stage is reached, the signal is emitted. */
const TIMINGS: Record<string, (emit: () => void) => void> = {
  "at once": (emit) => emit(),
  "a microtask later": (emit) => queueMicrotask(emit),
  "a turn later": (emit) => setImmediate(emit),
  "1 ms later": (emit) => setTimeout(emit, 1),
};

/** Emit `sig` once start-up reaches `stage`, with `timing`; returns the unsubscribe. */
function signalAt(stage: StartupStage, timing: string, sig: NodeJS.Signals): () => void {
  const fn = (m: unknown) => {
    if ((m as { stage: string }).stage === stage) TIMINGS[timing]!(() => process.emit(sig, sig));
  };
  diagnostics.subscribe("iked:daemon:stage", fn);
  return () => diagnostics.unsubscribe("iked:daemon:stage", fn);
}

const GRID = STARTUP_STAGES.flatMap((stage) => Object.keys(TIMINGS).map((timing) => ({ stage, timing })));

test("SIGTERM at every stage of start-up: start-up stops and takes down what it built, or the running daemon stops", { timeout: 120_000 }, async () => {
  const root = makeRoot();
  const interrupted: string[] = [];
  for (const { stage, timing } of GRID) {
    const what = `SIGTERM at ${stage}, ${timing}`;
    const rec = recordEvents();
    const off = signalAt(stage, timing, "SIGTERM");
    let exited: (code: number) => void = () => {};
    const exit = new Promise<number>((resolve) => (exited = resolve));
    const r = await Daemon.start(optionsFor(root), { engineFactory: ikeServiceFactory, exit: (code) => exited(code) }).then(
      (d) => ({ d }),
      (err: unknown) => ({ err }),
    );
    off();
    if ("err" in r) {
      assert.ok(r.err instanceof StartupInterrupted, `${what}: ${String(r.err)}`);
      assert.equal(r.err.signal, "SIGTERM");
      interrupted.push(`${stage}, ${timing}`);
      assert.deepEqual(rec.events, ["stop"], what);
    } else {
      // Came after the last stage: the running daemon stops.
      assert.equal(await exit, 0, `${what}: exit code`);
      assert.deepEqual(rec.events, ["start", "stop"], what);
    }
    rec.done();
    assertNothingLeft(root, what);
    assert.match(fs.readFileSync(path.join(root, "d.log"), "utf8").trimEnd().split("\n").at(-1)!, /in\.iked stopped/, what);
  }
  // Emitted at once, a signal always stops start-up; a microtask later too, except after the last
  // stage, from which nothing waits until the daemon runs. Later timings may land either side.
  const certain = GRID.filter(({ stage, timing }) => timing === "at once" || (timing === "a microtask later" && stage !== "admin socket"));
  for (const { stage, timing } of certain) assert.ok(interrupted.includes(`${stage}, ${timing}`), `SIGTERM at ${stage}, ${timing} did not stop start-up`);
  fs.rmSync(root, { recursive: true, force: true });
});

test("SIGHUP at every stage of start-up: exactly one reload, after start-up has finished", { timeout: 120_000 }, async () => {
  const root = makeRoot();
  for (const { stage, timing } of GRID) {
    const what = `SIGHUP at ${stage}, ${timing}`;
    writeConfig(root, GOOD_CONFIG);
    const rec = recordEvents();
    const off = signalAt(stage, timing, "SIGHUP");
    // Whether start-up or the reload reads it, this is the file the daemon must end up with.
    diagnostics.subscribe("iked:daemon:stage", function rewrite(m) {
      if ((m as { stage: string }).stage !== stage) return;
      diagnostics.unsubscribe("iked:daemon:stage", rewrite);
      writeConfig(root, GOOD_CONFIG.replace('"loop a"', '"after hup"'));
    });
    const d = await Daemon.start(optionsFor(root), { engineFactory: ikeServiceFactory });
    off();
    while (!rec.events.includes("reload:true")) await turn();
    assert.deepEqual(d.live.current.config.rules.map((r) => r.label), ["after hup", "loop b"], what);
    assert.equal(d.live.current.generation, 2, `${what}: exactly one reload`);
    await d.stop();
    rec.done();
    assert.deepEqual(rec.events, ["start", "reload:true", "stop"], what);
    assertNothingLeft(root, what);
  }
  fs.rmSync(root, { recursive: true, force: true });
});

test("SIGHUPs during a reload coalesce into one more reload; SIGTERM during a reload lets it finish first", async () => {
  const root = makeRoot();
  const rec = recordEvents();
  let exited: (code: number) => void = () => {};
  const exit = new Promise<number>((resolve) => (exited = resolve));
  const d = await Daemon.start(optionsFor(root), { engineFactory: ikeServiceFactory, exit: (code) => exited(code) });
  const reloads = () => rec.events.filter((e) => e.startsWith("reload")).length;
  for (let i = 0; i < 5; i++) process.emit("SIGHUP", "SIGHUP");
  while (reloads() < 2) await turn();
  // A third reload queued by the burst would have begun in the same microtask chain: let it show.
  await turn();
  assert.equal(reloads(), 2);

  process.emit("SIGHUP", "SIGHUP");
  process.emit("SIGTERM", "SIGTERM");
  assert.equal(await exit, 0);
  rec.done();
  assert.deepEqual(rec.events, ["start", "reload:true", "reload:true", "stop", "reload:true"]);
  assertNothingLeft(root, "after the reloads");
  fs.rmSync(root, { recursive: true, force: true });
});
