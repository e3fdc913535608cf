/**
 * The file `ikeadm add rule|preshared FILE` sends: ikeadm reads it (the daemon gets the text), so
 * it is bounded here.
 */
import fs from "node:fs";
import { MAX_FRAME_BODY } from "../../control/frame.js";

/**
 * Read an `add` definition file: a regular file no larger than a request frame may carry.
 * O_NONBLOCK so a FIFO does not hang ikeadm; /dev/zero and the like are refused by type, before
 * any read, instead of filling memory.
 */
export function readDefinitionFile(file: string): { text: string } | string {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) return "not a regular file";
    if (st.size > MAX_FRAME_BODY) return `larger than ${MAX_FRAME_BODY} bytes`;
    return { text: fs.readFileSync(fd, "utf8") };
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  } finally {
    fs.closeSync(fd);
  }
}
