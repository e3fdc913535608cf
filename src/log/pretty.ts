/**
 * Human-readable rendering of pino's JSON lines, for the terminal (`in.iked -d`) and the
 * debug log file: `2026-01-01T00:00:00.000Z INFO  cfg: message key=value`.
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
  const level = (LEVEL_NAMES[Number(rec.level)] ?? String(rec.level)).padEnd(5);
  const sub = typeof rec.sub === "string" ? `${rec.sub}: ` : "";
  const extras = Object.entries(rec)
    .filter(([k]) => !SKIP.has(k))
    .map(([k, v]) => `${k}=${renderValue(v)}`)
    .join(" ");
  return `${time} ${level} ${sub}${String(rec.msg ?? "")}${extras ? " " + extras : ""}\n`;
}
