/**
 * Token PINs and PKCS#12 passwords for ikecert. In order:
 *   -P file     (extension) the first line of `file`;
 *   a terminal  standard input is a terminal: prompted for, without echo;
 *   a pipe      the first line of standard input, for commands whose standard input carries no data.
 * A command that reads data on standard input (-a) without a terminal needs -P.
 */
import fs from "node:fs";
import { readSecretLine } from "../secret-prompt.js";
import type { Opts } from "./options.js";
import { IkecertError, readStdin } from "./store-ops.js";

/** Most bytes read for a secret (a PIN or password is a line). */
const MAX_SECRET = 4096;

function firstLine(bytes: Buffer): string {
  const text = bytes.toString("utf8");
  bytes.fill(0);
  return text.split(/\r?\n/, 1)[0] ?? "";
}

/** Reads a secret as the file comment says; `stdinIsData` when standard input carries the command's data. */
export async function readSecret(o: Opts, what: string, stdinIsData: boolean): Promise<string> {
  const prompt = `Enter ${what}: `;
  const file = o.value("P");
  if (file !== undefined) {
    let fd: number | undefined;
    try {
      fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOCTTY);
      const buf = Buffer.alloc(MAX_SECRET);
      const n = fs.readSync(fd, buf, 0, buf.length, 0);
      return firstLine(buf.subarray(0, n));
    } catch (err) {
      throw new IkecertError(`-P ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
  }
  if (process.stdin.isTTY) return readSecretLine(prompt);
  if (stdinIsData) throw new IkecertError(`${what}: standard input carries the data and is not a terminal; give it with -P FILE`);
  return firstLine(readStdin(MAX_SECRET));
}
