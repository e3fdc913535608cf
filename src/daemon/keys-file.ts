/**
 * The capture key file (`in.iked -p keymat --keys-file FILE`, an extension): one line
 * `icookie_hex,Ka_hex` per established Phase 1 SA, the format Wireshark's IKEv1 decryption table
 * takes (and `capture.sh check --keys FILE` of the interop harness), so captures of the daemon's
 * own traffic can be decrypted and their inner payloads checked.
 *
 * Why these rules: the file holds encryption keys, so it exists only at privilege keymat (the
 * option is refused otherwise, and lines stop when `ikeadm set priv` lowers the level), it is
 * created mode 0600, an existing file must be a regular file of ours that nobody else can read,
 * and a symbolic link is refused (O_NOFOLLOW) so the daemon cannot be tricked into appending
 * keys to another file.
 */
import fs from "node:fs";

/** An open key file; lines are appended synchronously (one short write per SA). */
export class KeysFile {
  private constructor(
    readonly path: string,
    private fd: number | undefined,
  ) {}

  /** Open (create, mode 0600) for appending; throws an Error naming the path and the reason. */
  static open(path: string): KeysFile {
    let fd: number;
    try {
      fd = fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new Error(`--keys-file ${path}: ${e.code === "ELOOP" ? "is a symbolic link" : (e.code ?? e.message)}`);
    }
    const st = fs.fstatSync(fd);
    const why = !st.isFile() ? "not a regular file" : (st.mode & 0o077) !== 0 ? `mode ${(st.mode & 0o777).toString(8)} lets others read it (chmod 600 '${path}')` : typeof process.getuid === "function" && st.uid !== process.getuid() ? "owned by another user" : undefined;
    if (why !== undefined) {
      fs.closeSync(fd);
      throw new Error(`--keys-file ${path}: ${why}`);
    }
    return new KeysFile(path, fd);
  }

  /**
   * Append `icookie,ka` (both hex). The line is spelled into a buffer of its own, never a JS
   * string (which could not be wiped), and the buffer is wiped once written.
   */
  append(icookie: Buffer, ka: Buffer): void {
    if (this.fd === undefined) return;
    const line = Buffer.alloc(2 * icookie.length + 1 + 2 * ka.length + 1);
    let at = hexInto(line, 0, icookie);
    line[at++] = 0x2c; // ","
    at = hexInto(line, at, ka);
    line[at] = 0x0a; // "\n"
    try {
      fs.writeSync(this.fd, line);
    } finally {
      line.fill(0);
    }
  }

  /** Close the file (idempotent). */
  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

const HEX_DIGITS = Buffer.from("0123456789abcdef");

/** Writes `bytes` as lower-case hex into `out` at `at`; returns the offset after it. */
function hexInto(out: Buffer, at: number, bytes: Buffer): number {
  for (const b of bytes) {
    out[at++] = HEX_DIGITS[b >> 4]!;
    out[at++] = HEX_DIGITS[b & 15]!;
  }
  return at;
}
