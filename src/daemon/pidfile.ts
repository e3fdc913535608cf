/**
 * Single-instance lock: the pid file is created exclusively ('wx'); if it exists, the pid in it
 * is probed with signal 0, and a file naming a dead process (a crash, a reboot) is replaced.
 */
import fs from "node:fs";
import path from "node:path";

/** Lock outcome. */
export type PidLockResult =
  | { ok: true; lock: PidLock; recoveredStalePid?: number }
  | { ok: false; code: "IKE_ERR_ALREADY_RUNNING" | "IKE_ERR_PIDFILE"; message: string; pid?: number };

/** A held pid file; `release()` removes it if it still names this process. */
export class PidLock {
  constructor(readonly file: string, readonly pid: number) {}

  /** Remove the pid file when it is still ours. */
  release(): void {
    try {
      if (fs.readFileSync(this.file, "utf8").trim() === String(this.pid)) fs.unlinkSync(this.file);
    } catch {
      // Gone already or unreadable: nothing of ours left to remove.
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Take the lock at `file` for `pid` (default: this process). */
export function acquirePidLock(file: string, pid = process.pid): PidLockResult {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
  let recovered: number | undefined;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(file, "wx", 0o644);
      fs.writeSync(fd, `${pid}\n`);
      fs.closeSync(fd);
      return recovered === undefined ? { ok: true, lock: new PidLock(file, pid) } : { ok: true, lock: new PidLock(file, pid), recoveredStalePid: recovered };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") {
        return { ok: false, code: "IKE_ERR_PIDFILE", message: `cannot create pid file ${file}: ${(err as Error).message}` };
      }
    }
    let text = "";
    try {
      text = fs.readFileSync(file, "utf8").trim();
    } catch {
      // Removed between open and read: retry the exclusive create.
      continue;
    }
    const other = /^[0-9]+$/.test(text) ? Number(text) : NaN;
    if (Number.isSafeInteger(other) && other > 0 && other !== pid && alive(other)) {
      return { ok: false, code: "IKE_ERR_ALREADY_RUNNING", message: `in.iked is already running (pid ${other}, pid file ${file})`, pid: other };
    }
    // Stale: the process is gone (or the file is garbage). Remove and try once more.
    recovered = Number.isSafeInteger(other) ? other : 0;
    try {
      fs.unlinkSync(file);
    } catch {
      // Someone else removed it first; the next exclusive create decides.
    }
  }
  return { ok: false, code: "IKE_ERR_ALREADY_RUNNING", message: `pid file ${file} keeps reappearing; another in.iked is starting` };
}
