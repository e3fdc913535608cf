/**
 * Interactive-mode tokenising (reference ikeadm.md §1.1): whitespace separates words, double
 * quotes group words (the quotes are removed), a line whose first non-blank character is `#` is a
 * comment, and a trailing backslash continues the command on the next line.
 */

/** Result of feeding one input line. */
export type LineResult =
  | { kind: "words"; words: string[] }
  | { kind: "more" }
  | { kind: "empty" }
  | { kind: "error"; message: string };

/** Split a complete command text into words. */
export function splitWords(text: string): { ok: true; words: string[] } | { ok: false; message: string } {
  const words: string[] = [];
  let cur = "";
  let inWord = false;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === "\\" && (text[i + 1] === '"' || text[i + 1] === "\\")) {
        cur += text[++i];
      } else if (c === '"') {
        quoted = false;
      } else {
        cur += c;
      }
      continue;
    }
    if (c === '"') {
      quoted = true;
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = "";
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quoted) return { ok: false, message: "unterminated quoted string" };
  if (inWord) words.push(cur);
  return { ok: true, words };
}

/** Accumulates continued lines into one command. */
export class LineAssembler {
  #pending = "";

  /** Feed one line as read (without its newline). */
  feed(line: string): LineResult {
    if (this.#pending === "" && /^\s*#/.test(line)) return { kind: "empty" };
    if (/\\$/.test(line)) {
      this.#pending += line.slice(0, -1) + " ";
      return { kind: "more" };
    }
    const text = this.#pending + line;
    this.#pending = "";
    const r = splitWords(text);
    if (!r.ok) return { kind: "error", message: r.message };
    return r.words.length === 0 ? { kind: "empty" } : { kind: "words", words: r.words };
  }

  /** Drop a half-entered command (Ctrl-C). */
  reset(): void {
    this.#pending = "";
  }
}
