/**
 * Which way imports go in src/ (src/README.md): no import cycle anywhere (type-only imports count,
 * they tie modules together as much as value imports), and each folder imports only the folders
 * below it. Read from the TypeScript sources, so the rule holds for what is written, not only for
 * what survives compilation.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const src = path.join(root, "src");

/**
 * What each part of src/ may import (besides itself, node: modules and npm packages). Top-level
 * files (clock.ts, errors.ts, fifo-table.ts, timer-heap.ts, timer-queue.ts) are parts of their own; `native` and `workers` are the folders beside src/.
 */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  "clock.ts": ["errors.ts"],
  "errors.ts": [],
  "fifo-table.ts": [],
  "timer-heap.ts": [],
  "timer-queue.ts": ["clock.ts", "timer-heap.ts"],
  codec: [],
  log: [],
  crypto: ["codec", "errors.ts", "native", "workers"],
  config: ["codec", "crypto", "errors.ts"],
  kernel: ["clock.ts", "codec", "errors.ts", "log", "native", "timer-heap.ts"],
  policy: ["codec", "kernel"],
  pki: ["clock.ts", "codec", "config", "crypto", "fifo-table.ts"],
  ike: ["clock.ts", "codec", "config", "crypto", "errors.ts", "fifo-table.ts", "kernel", "policy", "timer-queue.ts"],
  net: ["clock.ts", "errors.ts", "ike", "native"],
  control: ["config", "ike", "log"],
  metrics: ["clock.ts", "config", "control", "crypto", "ike", "kernel", "log"],
  load: ["clock.ts", "codec", "config", "crypto", "ike", "kernel", "net", "pki", "policy"],
  daemon: ["clock.ts", "config", "control", "crypto", "errors.ts", "ike", "kernel", "log", "metrics", "native", "net", "pki", "policy"],
  cli: ["codec", "config", "control", "crypto", "daemon", "load", "log", "pki"],
};

/** Files the IKE engine must not import even inside allowed folders: it is handed a pool and a kernel. */
const IKE_FORBIDDEN = ["crypto/pool.ts", "kernel/memory.ts"];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : p.endsWith(".ts") ? [p] : [];
  });
}

/** Relative imports and re-exports of a file (`import type` included), resolved to .ts paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s[^;]*?\sfrom\s+"(\.[^"]+)"/gms)) {
    out.push(path.resolve(path.dirname(file), m[1]!.replace(/\.js$/, ".ts")));
  }
  for (const m of text.matchAll(/^import\s+"(\.[^"]+)"/gm)) out.push(path.resolve(path.dirname(file), m[1]!.replace(/\.js$/, ".ts")));
  return out;
}

/** The part of the tree a path belongs to: a src/ folder, a top-level src file, or a folder beside src/. */
function partOf(file: string): string {
  const rel = path.relative(src, file);
  if (rel.startsWith("..")) return path.relative(root, file).split(path.sep)[0]!;
  return rel.split(path.sep)[0]!;
}

const graph = new Map<string, string[]>(sources(src).map((f) => [f, importsOf(f)]));

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
function cycles(g: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of g.get(v) ?? []) {
      if (!g.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    for (let w = stack.pop()!; ; w = stack.pop()!) {
      onStack.delete(w);
      scc.push(w);
      if (w === v) break;
    }
    if (scc.length > 1 || (g.get(v) ?? []).includes(v)) found.push(scc.map((f) => path.relative(src, f)).sort());
  };
  for (const v of g.keys()) if (!index.has(v)) visit(v);
  return found;
}

test("the walk sees the tree: every module of src/ with its imports", () => {
  assert.ok(graph.size > 100, `${graph.size} modules`);
  assert.ok((graph.get(path.join(src, "ike/engine.ts")) ?? []).length > 10);
});

test("no import cycle in src/ (type-only imports included)", () => {
  assert.deepEqual(cycles(graph), []);
});

test("the cycle check finds a cycle when there is one", () => {
  const g = new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]], ["d", ["d"]], ["e", ["a"]]].map(([k, v]) => [path.join(src, k as string), (v as string[]).map((x) => path.join(src, x))]));
  assert.deepEqual(cycles(g), [["a", "b", "c"], ["d"]]);
});

test("each part of src/ imports only the parts below it", () => {
  const wrong: string[] = [];
  for (const [file, deps] of graph) {
    const from = partOf(file);
    const allowed = ALLOWED[from];
    if (allowed === undefined) {
      wrong.push(`${path.relative(src, file)}: part '${from}' has no row in ALLOWED`);
      continue;
    }
    for (const d of deps) {
      const to = partOf(d);
      if (to !== from && !allowed.includes(to)) wrong.push(`${path.relative(src, file)} imports ${path.relative(root, d)}`);
      if (from === "ike" && IKE_FORBIDDEN.some((f) => d === path.join(src, f))) wrong.push(`${path.relative(src, file)} imports ${path.relative(src, d)}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test("only src/metrics imports prom-client (the engine counts; the metrics layer exports)", () => {
  const importers = [...graph.keys()].filter((f) => /from\s+"prom-client"/.test(readFileSync(f, "utf8"))).map((f) => path.relative(src, f));
  assert.ok(importers.length > 0, "someone imports prom-client");
  assert.deepEqual(importers.filter((f) => !f.startsWith(`metrics${path.sep}`)), []);
});
