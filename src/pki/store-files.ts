/**
 * Reading the store's directories: bounded listings, regular files only, read through the open
 * descriptor (a FIFO or device put in a store directory cannot hang or exhaust the loader). Private
 * key files are checked, never read, here: their bytes are read only by the crypto workers.
 */
import { constants, type Stats } from "node:fs";
import { open, readdir, stat } from "node:fs/promises";
import { secretModeProblem, type SecretFileOptions } from "../config/load.js";
import type { ConfigDiagnostic } from "../config/types.js";

/** Most files one store directory may hold. */
export const MAX_STORE_FILES = 4096;

/** A whole-file diagnostic (no line/column). */
export function fileDiag(file: string, code: string, message: string, severity: "error" | "warning" = "error"): ConfigDiagnostic {
  return { code, severity, file, line: 0, col: 0, message };
}

function errno(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? "EIO";
}

/**
 * The slot names (file names) in `dir`, sorted numerically then by name; dot files (ikecert's
 * temporary files) are skipped. A missing directory is an empty store.
 */
export async function listSlots(dir: string, diags: ConfigDiagnostic[]): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if (errno(err) !== "ENOENT") diags.push(fileDiag(dir, "IKE_ERR_PKI_IO", `cannot list the directory (${errno(err)})`));
    return [];
  }
  const slots = names.filter((n) => !n.startsWith("."));
  if (slots.length > MAX_STORE_FILES) {
    diags.push(fileDiag(dir, "IKE_ERR_PKI_TOO_MANY", `${slots.length} files; at most ${MAX_STORE_FILES} are read`));
    return [];
  }
  return slots.sort((a, b) => (/^\d+$/.test(a) && /^\d+$/.test(b) ? Number(a) - Number(b) : a < b ? -1 : a > b ? 1 : 0));
}

/** Reads a regular file of at most `max` bytes; a problem is a diagnostic naming the file. */
export async function readBounded(file: string, max: number): Promise<Buffer | ConfigDiagnostic> {
  let fh;
  try {
    fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    return fileDiag(file, "IKE_ERR_PKI_IO", `cannot read the file (${errno(err)})`);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return fileDiag(file, "IKE_ERR_PKI_IO", "not a regular file");
    if (st.size > max) return fileDiag(file, "IKE_ERR_PKI_TOO_LARGE", `file of ${st.size} bytes is larger than ${max}`);
    return await fh.readFile();
  } catch (err) {
    return fileDiag(file, "IKE_ERR_PKI_IO", `cannot read the file (${errno(err)})`);
  } finally {
    await fh.close();
  }
}

/**
 * Checks a private key file as ike.preshared is checked (config/load.ts): a regular file, owned by
 * root or the daemon, no group/other permission bits. Returns the problem, or `undefined`.
 */
export async function checkKeyFile(file: string, maxBytes: number, opts: SecretFileOptions): Promise<ConfigDiagnostic | undefined> {
  let fh;
  try {
    fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    return fileDiag(file, "IKE_ERR_PKI_IO", `cannot open the key file (${errno(err)})`);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return fileDiag(file, "IKE_ERR_PKI_IO", "not a regular file");
    if (st.size > maxBytes) return fileDiag(file, "IKE_ERR_PKI_TOO_LARGE", `key file of ${st.size} bytes is larger than ${maxBytes}`);
    const p = secretModeProblem(file, st.mode, st.uid, opts);
    return p ? { ...p, code: "IKE_ERR_PKI_PERMS" } : undefined;
  } finally {
    await fh.close();
  }
}

/**
 * The private-key directory must not let others plant or swap keys: no group/other write bit, and
 * owned by root or the daemon (the reference keeps it root-only; read bits only reveal slot names).
 */
export async function checkKeyDir(dir: string, opts: SecretFileOptions): Promise<ConfigDiagnostic | undefined> {
  let st: Stats;
  try {
    st = await stat(dir);
  } catch (err) {
    return errno(err) === "ENOENT" ? undefined : fileDiag(dir, "IKE_ERR_PKI_IO", `cannot examine the directory (${errno(err)})`);
  }
  if (!st.isDirectory()) return fileDiag(dir, "IKE_ERR_PKI_IO", "not a directory");
  const self = opts.ownerUid ?? process.getuid?.() ?? 0;
  if ((st.mode & 0o022) !== 0 || (st.uid !== 0 && st.uid !== self)) {
    const octal = (st.mode & 0o777).toString(8).padStart(4, "0");
    return fileDiag(dir, "IKE_ERR_PKI_PERMS", `private key directory can be changed by other users (mode ${octal}, uid ${st.uid}); run: chmod 700 ${dir}`);
  }
  return undefined;
}
