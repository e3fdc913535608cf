/**
 * A V8 heap snapshot (`.heapsnapshot`, the JSON `v8.writeHeapSnapshot` and
 * `--heapsnapshot-signal` write) summed by class: for each "what" (an object's constructor, a
 * closure's function name, `(string)`, `(array)`, a native node's name) and the classes of its
 * first strong retainer and of that one's, `depth` levels up, the count and the self size. A snapshot holds only what was reachable after the
 * full GC that precedes it, so the difference of two summaries is what the extra load retains.
 */
import fs from "node:fs";

/** Count and bytes of one (what, retained-by) class. */
export interface ClassTotal {
  count: number;
  bytes: number;
}

/** A snapshot summed up. */
export interface HeapSummary {
  /** Self sizes of every node, bytes. */
  readonly totalBytes: number;
  /** Keyed `what <- retainer`. */
  readonly classes: ReadonlyMap<string, ClassTotal>;
}

interface RawSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** Read and sum `file`. */
export function summariseSnapshot(file: string, depth = 1): HeapSummary {
  const raw = JSON.parse(fs.readFileSync(file, "utf8")) as RawSnapshot;
  const meta = raw.snapshot.meta;
  const nf = meta.node_fields.length;
  const ef = meta.edge_fields.length;
  const nType = meta.node_fields.indexOf("type");
  const nName = meta.node_fields.indexOf("name");
  const nSize = meta.node_fields.indexOf("self_size");
  const nEdges = meta.node_fields.indexOf("edge_count");
  const eType = meta.edge_fields.indexOf("type");
  const eTo = meta.edge_fields.indexOf("to_node");
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const weak = edgeTypes.indexOf("weak");
  const shortcut = edgeTypes.indexOf("shortcut");
  const { nodes, edges, strings } = raw;
  const count = nodes.length / nf;

  const what = (i: number): string => {
    const type = nodeTypes[nodes[i * nf + nType]!]!;
    const name = strings[nodes[i * nf + nName]!]!;
    if (type === "object" || type === "native" || type === "hidden") return name.length > 60 ? `${name.slice(0, 57)}...` : name;
    if (type === "closure") return `(closure ${name || "anonymous"})`;
    return `(${type})`;
  };

  // The first strong retainer of each node.
  const retainer = new Int32Array(count).fill(-1);
  let e = 0;
  for (let i = 0; i < count; i++) {
    const n = nodes[i * nf + nEdges]!;
    for (let k = 0; k < n; k++, e += ef) {
      const t = edges[e + eType]!;
      if (t === weak || t === shortcut) continue;
      const to = edges[e + eTo]! / nf;
      if (retainer[to] === -1) retainer[to] = i;
    }
  }

  const classes = new Map<string, ClassTotal>();
  let totalBytes = 0;
  for (let i = 0; i < count; i++) {
    const size = nodes[i * nf + nSize]!;
    totalBytes += size;
    let key = what(i);
    let r = retainer[i]!;
    for (let d = 0; d < depth; d++) {
      key += ` <- ${r === -1 ? "(root)" : what(r)}`;
      if (r === -1) break;
      r = retainer[r]!;
    }
    const c = classes.get(key);
    if (c === undefined) classes.set(key, { count: 1, bytes: size });
    else {
      c.count++;
      c.bytes += size;
    }
  }
  return { totalBytes, classes };
}

/** Per-unit growth from `a` to `b` over `units` (e.g. pairs), largest first. */
export function diffPerUnit(a: HeapSummary, b: HeapSummary, units: number): { key: string; count: number; bytes: number }[] {
  const keys = new Set([...a.classes.keys(), ...b.classes.keys()]);
  const out: { key: string; count: number; bytes: number }[] = [];
  for (const key of keys) {
    const x = a.classes.get(key) ?? { count: 0, bytes: 0 };
    const y = b.classes.get(key) ?? { count: 0, bytes: 0 };
    out.push({ key, count: (y.count - x.count) / units, bytes: (y.bytes - x.bytes) / units });
  }
  return out.sort((p, q) => q.bytes - p.bytes);
}
