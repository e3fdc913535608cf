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
 * are left out and a number that is not finite prints as null.
 */
export function prettyDirect(level: number, sub: string, msg: string, fields: Readonly<Record<string, unknown>>): string | undefined {
  let extras = "";
  for (const k of Object.keys(fields)) {
    if (SKIP.has(k)) return undefined;
    const v = fields[k];
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
  return `${head(new Date().toISOString(), level, sub, msg)}${extras}\n`;
}
