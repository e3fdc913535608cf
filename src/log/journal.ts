/**
 * Logging to the systemd journal. Under systemd the daemon runs in the foreground (`--foreground`,
 * the unit's Type=exec) and its stderr is a stream the journal reads; systemd says so in
 * `JOURNAL_STREAM` (`device:inode` of that stream, sd_journal_stream_fd(3)). Then each line is
 * pino's JSON (fields `sub`, `cat`, `sa`, ...) behind a syslog priority prefix (`<6>`), which
 * journald strips into the entry's PRIORITY field: `journalctl -u in.iked -p warning` filters by
 * level, and `journalctl -u in.iked -o cat | jq 'select(.cat == "phase1")'` by debug category.
 */
import fs from "node:fs";

/** How log lines are written: text for people, pino's JSON, or JSON with a syslog priority. */
export type LogFormat = "pretty" | "json" | "journal";

/** Whether stderr is the journal stream systemd set up for this process. */
export function journalStreamIsStderr(env: NodeJS.ProcessEnv = process.env, fd = 2): boolean {
  const want = env.JOURNAL_STREAM;
  if (want === undefined || !/^[0-9]+:[0-9]+$/.test(want)) return false;
  try {
    const st = fs.fstatSync(fd);
    return `${st.dev}:${st.ino}` === want;
  } catch {
    // No stderr at all: certainly not the journal.
    return false;
  }
}

/** syslog(3) priority of a pino level: trace/debug 7, info 6, warn 4, error 3, fatal 2. */
export function syslogPriority(pinoLevel: number): number {
  if (pinoLevel >= 60) return 2;
  if (pinoLevel >= 50) return 3;
  if (pinoLevel >= 40) return 4;
  if (pinoLevel >= 30) return 6;
  return 7;
}

/** One pino JSON line as the journal takes it: `<priority>` then the JSON. */
export function journalLine(json: string): string {
  const m = /"level":(\d+)/.exec(json);
  const line = json.endsWith("\n") ? json : json + "\n";
  return `<${syslogPriority(m === null ? 30 : Number(m[1]))}>${line}`;
}
