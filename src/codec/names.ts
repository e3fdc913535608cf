/**
 * Reverse lookup for the `as const` protocol-number tables: `nameOf(ExchangeType, 2)` gives
 * "IdentityProtection". Used by logs, the trace dumper and `ikeadm`; never by protocol logic.
 */

const reverse = new WeakMap<object, Map<number, string>>();

/** A table of protocol numbers named with RFC terms. */
export type NumberTable = { readonly [name: string]: number };

/** The name of `value` in `table`, or `UNKNOWN(<value>)` for a number the table lacks. */
export function nameOf(table: NumberTable, value: number): string {
  let map = reverse.get(table);
  if (map === undefined) {
    map = new Map();
    for (const [name, v] of Object.entries(table)) if (!map.has(v)) map.set(v, name);
    reverse.set(table, map);
  }
  return map.get(value) ?? `UNKNOWN(${value})`;
}

/** Whether `value` is one of the numbers in `table`. */
export function isKnown(table: NumberTable, value: number): boolean {
  return !nameOf(table, value).startsWith("UNKNOWN(");
}
