/**
 * Human-readable rendering of pino's JSON lines, for the terminal (`in.iked -d`) and the
 * debug log file: `2026-01-01T00:00:00.000Z INFO  cfg: message key=value`.
 *
 * `prettyDirect` renders the same line straight from a log call's fields when they are all
 * scalars, skipping pino's JSON and its parse here (the audit lines of every negotiation take
 * that path); anything else goes through pino and `prettyLine`.
 */

const LEVEL_NAMES: Record<number, string> = {
  10: "TRACE", 20: "DEBUG", 30: "INFO", 40: "WARN", 50: "ERROR", 60: "FATAL",
};

const SKIP = new Set(["level", "time", "msg", "sub", "pid", "hostname"]);

function renderValue(v: unknown): string {
  if (typeof v === "string") return /[\s"=]/.test(v) || v === "" ? JSON.stringify(v) : v;
  if (typeof v === "number" || typeof v === "boolean" || v === null) return String(v);
  return JSON.stringify(v);
}

/** The second `isoPrefix` holds, in ms since the epoch (a multiple of 1000); NaN before the first line. */
let prefixSecond = Number.NaN;
/** `toISOString()` of that second up to and including the ".", e.g. "2026-01-01T00:00:00.". */
let isoPrefix = "";

/**
 * `new Date(now).toISOString()`, from the second's text made once per second: formatting a Date
 * costs ~1-2 us, about what writing the line costs, and the audit lines of one negotiation (about
 * four) fall in the same second. Exact for every time a Date holds (its text always ends ".sssZ").
 */
export function isoTime(now: number = Date.now()): string {
  const ms = ((now % 1000) + 1000) % 1000;
  const second = now - ms;
  if (second !== prefixSecond) {
    isoPrefix = new Date(second).toISOString().slice(0, -4);
    prefixSecond = second;
  }
  return isoPrefix + (ms < 10 ? "00" : ms < 100 ? "0" : "") + ms + "Z";
}

function head(time: string, level: unknown, sub: unknown, msg: unknown): string {
  const name = (LEVEL_NAMES[Number(level)] ?? String(level)).padEnd(5);
  return `${time} ${name} ${typeof sub === "string" ? `${sub}: ` : ""}${String(msg ?? "")}`;
}

/** Turn one pino JSON line into one text line (newline-terminated). Unparseable input passes through. */
export function prettyLine(json: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(json) as Record<string, unknown>;
  } catch {
    // Not pino output (should not happen): keep it rather than lose a diagnostic.
    return json.endsWith("\n") ? json : json + "\n";
  }
  const time = typeof rec.time === "string" ? rec.time : new Date(Number(rec.time ?? Date.now())).toISOString();
  let line = head(time, rec.level, rec.sub, rec.msg);
  for (const k of Object.keys(rec)) if (!SKIP.has(k)) line += ` ${k}=${renderValue(rec[k])}`;
  return line + "\n";
}

/**
 * The line `prettyLine` would make of pino's JSON for a call at `level` in subsystem `sub`, now;
 * undefined when a field is not a string, number, boolean, null or undefined, or is named like one
 * of the line's own keys (the caller then takes the JSON path). As in pino's JSON, undefined fields
 * are left out and a number that is not finite prints as null. `scrub`, when given, replaces each
 * value first (the logger passes secret.ts `scrubValue`: the line `scrubFields(fields)` would give).
 */
export function prettyDirect(
  level: number,
  sub: string,
  msg: string,
  fields: Readonly<Record<string, unknown>>,
  scrub?: (name: string, value: unknown) => unknown,
): string | undefined {
  let extras = "";
  for (const k of Object.keys(fields)) {
    if (SKIP.has(k)) return undefined;
    // A copy made by assignment (secret.ts scrubFields) has no own "__proto__" key: nor has the line.
    if (scrub !== undefined && k === "__proto__") continue;
    const v = scrub === undefined ? fields[k] : scrub(k, fields[k]);
    switch (typeof v) {
      case "string":
      case "boolean":
        extras += ` ${k}=${renderValue(v)}`;
        break;
      case "number":
        extras += ` ${k}=${Number.isFinite(v) ? String(v) : "null"}`;
        break;
      case "undefined":
        break;
      case "object":
        if (v !== null) return undefined;
        extras += ` ${k}=null`;
        break;
      default:
        return undefined;
    }
  }
  return `${head(isoTime(), level, sub, msg)}${extras}\n`;
}
