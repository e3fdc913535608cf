/**
 * Daemon-facing loader of the IPsec policy file (default `/etc/inet/ipsecinit.conf`). The only I/O
 * of src/policy: it reads the file and hands the text to the pure parser. A file that cannot be
 * read is one error at line 1, column 1, in the same form as syntax errors; `missing` tells a file
 * that does not exist (ENOENT: the daemon runs without a policy) from one that exists but cannot
 * be read (a directory, a symlink loop or one whose target is gone, the file's or a directory's
 * on its path, EACCES: an error like a syntax error).
 */
import { constants } from "node:fs";
import { lstat, open, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { parseIpsecPolicy, type PolicyParseResult } from "./ipsecinit/parser.js";

/** Default location, as on illumos. */
export const DEFAULT_IPSEC_POLICY_PATH = "/etc/inet/ipsecinit.conf";

/** Largest policy file read (bounded memory); a larger one is refused. */
export const MAX_POLICY_BYTES = 4 * 1024 * 1024;

/** A loaded policy file; `missing` when it does not exist (then `errors` holds its one IKE_ERR_POLICY_IO). */
export interface PolicyLoadResult extends PolicyParseResult {
  missing?: true;
}

/** Reads and parses a policy file. Never throws: I/O problems come back as `IKE_ERR_POLICY_IO`. */
export async function loadIpsecPolicy(path: string = DEFAULT_IPSEC_POLICY_PATH): Promise<PolicyLoadResult> {
  let text: string;
  try {
    // Size is checked on the open descriptor before reading, so a device such as /dev/zero or a
    // FIFO (O_NONBLOCK: no wait for a writer) is refused instead of read without end.
    const fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
    try {
      const st = await fh.stat();
      if (!st.isFile()) return ioError(path, "not a regular file");
      if (st.size > MAX_POLICY_BYTES) return ioError(path, `file is larger than ${MAX_POLICY_BYTES} bytes`);
      const buf = Buffer.alloc(st.size);
      let got = 0;
      for (let n = -1; n !== 0 && got < buf.length; got += n) n = (await fh.read(buf, got, buf.length - got, got)).bytesRead;
      text = buf.subarray(0, got).toString("utf8");
    } finally {
      await fh.close();
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "EIO";
    // ENOENT from a name that is there (a symlink whose target is gone, e.g. on a volume not
    // mounted: the file's or a directory's on its path) is a file that cannot be read, not an
    // absent one: a reload must not empty the SPD.
    if (code === "ENOENT" && (await danglingOnPath(path))) return ioError(path, "cannot read policy file (dangling symbolic link: ENOENT)");
    const r = ioError(path, `cannot read policy file (${code})`);
    return code === "ENOENT" ? { ...r, missing: true } : r;
  }
  return parseIpsecPolicy(text, path);
}

function ioError(path: string, message: string): PolicyParseResult {
  return { policy: { file: path, entries: [] }, errors: [{ code: "IKE_ERR_POLICY_IO", message, file: path, line: 1, col: 1 }] };
}

/**
 * Whether ENOENT for `path` comes from a dangling symbolic link: the deepest name on the path that
 * exists (lstat) is a link whose target does not. A missing name under a real directory, or under
 * a link that resolves, is an absent file.
 */
async function danglingOnPath(path: string): Promise<boolean> {
  for (let p = path; ; p = dirname(p)) {
    try {
      if (!(await lstat(p)).isSymbolicLink()) return false;
    } catch {
      if (dirname(p) === p) return false;
      continue;
    }
    try {
      await stat(p);
      return false;
    } catch {
      return true;
    }
  }
}
