/**
 * Counts the engine's inserts into and deletes from long-lived `Map`s and `Set`s: the tables V8
 * re-allocates in old space when a delete empties or shrinks them (bench/handshake/README.md,
 * "where in.iked's old space per negotiation is allocated"). Deterministic: it counts calls, not
 * bytes, so it does not depend on when the GC runs.
 *
 * {@link installTableChurn} replaces the global `Map` and `Set` with subclasses that note each
 * table's birth epoch, and wraps `set`/`add`/`delete`/`clear` on the prototypes. A table is
 * long-lived in an epoch when it was born before the epoch began (or before the hook was
 * installed). Only calls made directly from the engine's code (dist/src/) count: the test's
 * network, clock and Node's own internals are left out. Install it before the engine is built, in
 * a test file of its own (the hook stays for the process).
 */

/** One call site's counts. */
export interface SiteCounts {
  inserts: number;
  deletes: number;
  /** Deletes that left the table empty (V8 then allocates a new capacity-4 table in old space). */
  emptying: number;
}

/** The counts of one epoch. */
export interface ChurnCounts {
  readonly inserts: number;
  readonly deletes: number;
  readonly emptying: number;
  /** By call site (`file:line` in dist/src/). */
  readonly sites: ReadonlyMap<string, SiteCounts>;
}

/** The hook: epochs delimit the measured windows. */
export interface TableChurn {
  /** Start counting; tables born from now on are young. */
  begin(): void;
  /** Stop counting and return the counts since {@link begin}. */
  end(): ChurnCounts;
}

const SRC_MARK = "/dist/src/";

let installed: TableChurn | undefined;

/** Install the hook (once per process). */
export function installTableChurn(): TableChurn {
  if (installed !== undefined) return installed;
  const OrigMap = globalThis.Map;
  const OrigSet = globalThis.Set;
  // The tables' birth epochs. Kept in a WeakMap: a WeakMap is neither a Map nor a Set here.
  const born = new WeakMap<object, number>();
  let epoch = 0;
  let constructing = 0;
  let counting = false;
  let sites = new OrigMap<string, SiteCounts>();

  const site = (): string | undefined => {
    const stack = new Error().stack ?? "";
    // Frames: the Error line, this function, the wrapper, then the caller.
    const line = stack.split("\n")[4] ?? "";
    const at = line.indexOf(SRC_MARK);
    if (at < 0) return undefined;
    const end = line.lastIndexOf(":");
    return line.slice(at + SRC_MARK.length, end > at ? end : undefined).replace(/\)$/, "");
  };
  const longLived = (t: object): boolean => {
    if (constructing > 0) return false;
    const b = born.get(t);
    return b === undefined || b < epoch;
  };
  const note = (t: object, kind: "insert" | "delete", empty: boolean): void => {
    if (!counting || !longLived(t)) return;
    const s = site();
    if (s === undefined) return;
    let c = sites.get(s);
    if (c === undefined) sites.set(s, (c = { inserts: 0, deletes: 0, emptying: 0 }));
    if (kind === "insert") c.inserts++;
    else {
      c.deletes++;
      if (empty) c.emptying++;
    }
  };

  class CountedMap<K, V> extends OrigMap<K, V> {
    constructor(entries?: Iterable<readonly [K, V]> | null) {
      constructing++;
      try {
        super(entries);
      } finally {
        constructing--;
      }
      born.set(this, epoch);
    }
  }
  class CountedSet<T> extends OrigSet<T> {
    constructor(values?: Iterable<T> | null) {
      constructing++;
      try {
        super(values);
      } finally {
        constructing--;
      }
      born.set(this, epoch);
    }
  }

  const mapSet = OrigMap.prototype.set;
  const mapDelete = OrigMap.prototype.delete;
  const mapClear = OrigMap.prototype.clear;
  const setAdd = OrigSet.prototype.add;
  const setDelete = OrigSet.prototype.delete;
  const setClear = OrigSet.prototype.clear;
  OrigMap.prototype.set = function <K, V>(this: Map<K, V>, k: K, v: V) {
    if (counting && !this.has(k)) note(this, "insert", false);
    return mapSet.call(this, k, v) as Map<K, V>;
  };
  OrigMap.prototype.delete = function <K>(this: Map<K, unknown>, k: K): boolean {
    const gone = mapDelete.call(this, k);
    if (gone) note(this, "delete", this.size === 0);
    return gone;
  };
  OrigMap.prototype.clear = function (this: Map<unknown, unknown>): void {
    const had = this.size > 0;
    mapClear.call(this);
    if (had) note(this, "delete", true);
  };
  OrigSet.prototype.add = function <T>(this: Set<T>, v: T) {
    if (counting && !this.has(v)) note(this, "insert", false);
    return setAdd.call(this, v) as Set<T>;
  };
  OrigSet.prototype.delete = function <T>(this: Set<T>, v: T): boolean {
    const gone = setDelete.call(this, v);
    if (gone) note(this, "delete", this.size === 0);
    return gone;
  };
  OrigSet.prototype.clear = function (this: Set<unknown>): void {
    const had = this.size > 0;
    setClear.call(this);
    if (had) note(this, "delete", true);
  };
  globalThis.Map = CountedMap as MapConstructor;
  globalThis.Set = CountedSet as SetConstructor;

  installed = {
    begin(): void {
      epoch++;
      sites = new OrigMap();
      counting = true;
    },
    end(): ChurnCounts {
      counting = false;
      let inserts = 0;
      let deletes = 0;
      let emptying = 0;
      for (const c of sites.values()) {
        inserts += c.inserts;
        deletes += c.deletes;
        emptying += c.emptying;
      }
      return { inserts, deletes, emptying, sites };
    },
  };
  return installed;
}

/** One line per site, for assertion messages and the test's log. */
export function describeChurn(c: ChurnCounts, per = 1): string {
  const f = (n: number): string => (n / per).toFixed(2);
  return [...c.sites]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([s, n]) => `${s} +${f(n.inserts)} -${f(n.deletes)} (${f(n.emptying)} emptying)`)
    .join("\n");
}
