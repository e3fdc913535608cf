/**
 * Reading the configuration files from disk. The pre-shared key file is opened first and checked
 * through the open descriptor (no window between check and read): it must be a regular file,
 * owned by root or the daemon's uid, with no group or other permission bits.
 */
import { constants } from "node:fs";
import { open } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { wipe } from "../crypto/secure.js";
import { MAX_FILE_CHARS } from "./diagnostics.js";
import { parseIkeConfig } from "./ike-config-parser.js";
import type { ConfigContext } from "./ike-config-validate.js";
import { parsePreshared } from "./preshared-parser.js";
import type { ConfigDiagnostic, IkeConfig, ParseResult, PresharedEntry } from "./types.js";

/** Options for the secret-file check. */
export interface SecretFileOptions {
  /** The uid allowed to own the file besides root; default: this process's uid. */
  readonly ownerUid?: number;
}

/** A whole-file diagnostic (line 0: no position). */
function fileProblem(file: string, code: string, message: string): ConfigDiagnostic {
  return { code, severity: "error", file, line: 0, col: 0, message };
}

function ioMessage(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ? `cannot read the file (${e.code})` : "cannot read the file";
}

type Opened = { fh: FileHandle; mode: number; uid: number } | ConfigDiagnostic;

async function openRegular(path: string): Promise<Opened> {
  let fh: FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO (or a device) put at the path must not hang the loader until
    // a writer appears; it is then refused below as not a regular file. Regular files ignore it.
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    return fileProblem(path, "IKE_ERR_CFG_IO", ioMessage(err));
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) {
      await fh.close();
      return fileProblem(path, "IKE_ERR_CFG_IO", "not a regular file");
    }
    if (st.size > MAX_FILE_CHARS) {
      await fh.close();
      return fileProblem(path, "IKE_ERR_CFG_TOO_LARGE", `file is larger than ${MAX_FILE_CHARS} bytes`);
    }
    return { fh, mode: st.mode, uid: st.uid };
  } catch (err) {
    await fh.close();
    return fileProblem(path, "IKE_ERR_CFG_IO", ioMessage(err));
  }
}

/** `path` as one shell word, so the suggested fix command can be pasted as printed. */
function shellWord(path: string): string {
  return /^[\w@%+=:,./-]+$/.test(path) ? path : `'${path.replace(/'/g, "'\\''")}'`;
}

/** The problem with a secret file's mode/owner, or `undefined` when it is safe. */
export function secretModeProblem(path: string, mode: number, uid: number, opts: SecretFileOptions = {}): ConfigDiagnostic | undefined {
  const self = opts.ownerUid ?? process.getuid?.() ?? 0;
  if ((mode & 0o077) !== 0) {
    const octal = (mode & 0o777).toString(8).padStart(4, "0");
    return fileProblem(path, "IKE_ERR_CFG_PERMS", `holds secrets but other users may read or write it (mode ${octal}); run: chmod 600 ${shellWord(path)}`);
  }
  if (uid !== 0 && uid !== self) {
    return fileProblem(path, "IKE_ERR_CFG_PERMS", `holds secrets but is owned by uid ${uid}, not root; run: chown root ${shellWord(path)}`);
  }
  return undefined;
}

/**
 * Checks that `path` may hold secrets: a regular file, owned by root or `opts.ownerUid`
 * (default: this process), mode with no group/other bits. Returns the problem or `undefined`.
 */
export async function checkSecretFilePermissions(path: string, opts: SecretFileOptions = {}): Promise<ConfigDiagnostic | undefined> {
  const o = await openRegular(path);
  if ("code" in o) return o;
  await o.fh.close();
  return secretModeProblem(path, o.mode, o.uid, opts);
}

async function readAll(o: { fh: FileHandle }): Promise<string> {
  try {
    return await o.fh.readFile({ encoding: "utf8" });
  } finally {
    await o.fh.close();
  }
}

/** The file's bytes, for a caller that wipes them after use. */
async function readBytes(o: { fh: FileHandle }): Promise<Buffer> {
  try {
    return await o.fh.readFile();
  } finally {
    await o.fh.close();
  }
}

/** Options for reading an ike.config file. */
export interface ConfigFileOptions {
  /**
   * When the file turns out private (no group or other read permission, as the pre-shared key
   * file or /etc/shadow), quote none of its text in diagnostics. Decided from `fstat` of the very
   * descriptor the text is read through, so swapping the file (or a symbolic link) between check
   * and read cannot make a private file's words show.
   */
  readonly hideTextIfPrivate?: boolean;
  /** Checks beyond the file itself (the certificate store). */
  readonly context?: ConfigContext;
}

/** True when only the file's owner may read it. */
export function isPrivateMode(mode: number): boolean {
  return (mode & 0o044) === 0;
}

/** Reads and parses an ike.config file; I/O problems come back as diagnostics too. */
export async function loadIkeConfig(path: string, opts: ConfigFileOptions = {}): Promise<ParseResult<IkeConfig>> {
  const o = await openRegular(path);
  const empty = parseIkeConfig("", path).value;
  if ("code" in o) return { ok: false, value: empty, diagnostics: [o] };
  let text: string;
  try {
    text = await readAll(o);
  } catch (err) {
    return { ok: false, value: empty, diagnostics: [fileProblem(path, "IKE_ERR_CFG_IO", ioMessage(err))] };
  }
  return parseIkeConfig(text, path, {
    hideText: (opts.hideTextIfPrivate ?? false) && isPrivateMode(o.mode),
    ...(opts.context ? { context: opts.context } : {}),
  });
}

/**
 * Reads and parses an ike.preshared file after the secret-file check (refused files are not
 * read at all). Diagnostics never contain key material. The keys come back in secure memory
 * (the caller releases them with `releasePreshared`); the file's bytes are zeroed after parsing,
 * though the decoded text is a JS string that cannot be (see preshared-parser.ts).
 */
export async function loadPreshared(path: string, opts: SecretFileOptions = {}): Promise<ParseResult<PresharedEntry[]>> {
  const o = await openRegular(path);
  if ("code" in o) return { ok: false, value: [], diagnostics: [o] };
  const problem = secretModeProblem(path, o.mode, o.uid, opts);
  if (problem) {
    await o.fh.close();
    return { ok: false, value: [], diagnostics: [problem] };
  }
  let bytes: Buffer;
  try {
    bytes = await readBytes(o);
  } catch (err) {
    return { ok: false, value: [], diagnostics: [fileProblem(path, "IKE_ERR_CFG_IO", ioMessage(err))] };
  }
  try {
    return parsePreshared(bytes.toString("utf8"), path);
  } finally {
    wipe(bytes);
  }
}
