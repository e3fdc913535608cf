/**
 * Looking for known secret bytes (secrets-audit.test.ts; not a test file): in text (log output,
 * admin replies), in V8 heap snapshots and in the whole memory of a process.
 *
 * In text a secret may appear as hex (either case), base64, its raw bytes (a latin1 or utf8 dump)
 * or a JSON byte list (`Buffer.toJSON()`). A heap snapshot holds every reachable JS string and
 * number but not the bytes of Buffers or typed arrays (their backing stores are not serialised), so
 * it shows secrets that became strings; the raw bytes are looked for in the process's memory
 * (`/proc/PID/mem`, every mapping, secure memory included).
 */
import fs from "node:fs";

/** A secret the test knows, by name. */
export interface KnownSecret {
  readonly name: string;
  readonly bytes: Buffer;
}

/** The text forms of `b` worth looking for. */
export function textForms(b: Buffer): { form: string; needle: Buffer }[] {
  const hex = b.toString("hex");
  return [
    { form: "raw", needle: b },
    { form: "hex", needle: Buffer.from(hex) },
    { form: "HEX", needle: Buffer.from(hex.toUpperCase()) },
    { form: "base64", needle: Buffer.from(b.toString("base64").replace(/=+$/, "")) },
    { form: "byte list", needle: Buffer.from([...b].join(",")) },
  ];
}

/** `name (form)` of every secret found in `haystack`. */
export function findIn(haystack: Buffer, secrets: readonly KnownSecret[]): string[] {
  const found: string[] = [];
  for (const s of secrets) for (const { form, needle } of textForms(s.bytes)) if (haystack.includes(needle)) found.push(`${s.name} (${form})`);
  return found;
}

/** One mapping of a process (a line of /proc/PID/maps). */
interface Mapping {
  readonly start: number;
  readonly end: number;
  readonly perms: string;
  readonly name: string;
}

function mappings(pid: number): Mapping[] {
  return fs
    .readFileSync(`/proc/${pid}/maps`, "utf8")
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => {
      const [range, perms, , , , ...rest] = l.split(/\s+/);
      const [s, e] = range!.split("-");
      return { start: Number.parseInt(s!, 16), end: Number.parseInt(e!, 16), perms: perms!, name: rest.join(" ") };
    });
}

/**
 * The raw bytes of every secret anywhere in process `pid`'s memory: `name @ mapping` for each
 * mapping that holds one. Mappings of files (code, fonts) and the kernel's are skipped; small
 * PROT_NONE mappings (sodium's guard pages, protected secure memory) are read too where the kernel
 * allows it.
 */
export function scanMemory(pid: number, secrets: readonly KnownSecret[]): string[] {
  const fd = fs.openSync(`/proc/${pid}/mem`, "r");
  const found: string[] = [];
  try {
    for (const m of mappings(pid)) {
      if (m.name.startsWith("/") || m.name === "[vvar]" || m.name === "[vsyscall]" || m.name === "[vdso]") continue;
      // Large inaccessible reservations (V8's pointer cage, thread stacks' guards) hold no data;
      // small PROT_NONE mappings (sodium's protected secure memory) are read.
      if (m.perms.startsWith("---") && m.end - m.start > 1024 * 1024) continue;
      const CHUNK = 16 * 1024 * 1024;
      for (let at = m.start; at < m.end; at += CHUNK) {
        const len = Math.min(CHUNK + 512, m.end - at);
        const buf = Buffer.alloc(len);
        let got = 0;
        try {
          got = fs.readSync(fd, buf, 0, len, at);
        } catch {
          // Unreadable (a guard page the kernel refuses even to root): nothing to find there.
          continue;
        }
        for (const s of secrets) {
          if (buf.subarray(0, got).includes(s.bytes)) found.push(`${s.name} @ ${m.start.toString(16)}-${m.end.toString(16)} ${m.perms} ${m.name || "[anon]"}`);
        }
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return [...new Set(found)];
}
