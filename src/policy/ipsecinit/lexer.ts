/**
 * Tokens of `ipsecinit.conf`: braces and whitespace-separated words, with their line and column.
 * `#` starts a comment that runs to the end of the line (ipsecconf(8): comments at the beginning or
 * the end of a line). Never throws; bounded by the input size.
 */

/** One token. `text` is `{`, `}` or a word. */
export interface Token {
  text: string;
  line: number;
  col: number;
}

/**
 * Splits the text into tokens. Columns count code points from 1 (an emoji is one, as in an
 * editor; tabs count as one).
 */
export function tokenize(source: string): Token[] {
  const out: Token[] = [];
  let line = 1;
  let lineStart = 0;
  // Low surrogates seen on this line before `scanned`: each pair is two UTF-16 units, one column.
  let lowSurrogates = 0;
  let scanned = 0;
  let i = 0;
  const n = source.length;
  while (i < n) {
    const c = source[i]!;
    if (c === "\n") {
      line++;
      lineStart = ++i;
      lowSurrogates = 0;
      scanned = i;
      continue;
    }
    // Any other white space (NBSP, U+2028 ...) separates too: the word loop below stops at \s, so a
    // white-space character it did not skip here would never be consumed.
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "#") {
      while (i < n && source[i] !== "\n") i++;
      continue;
    }
    for (; scanned < i; scanned++) {
      const u = source.charCodeAt(scanned);
      if (u >= 0xdc00 && u <= 0xdfff) lowSurrogates++;
    }
    const col = i - lineStart - lowSurrogates + 1;
    if (c === "{" || c === "}") {
      out.push({ text: c, line, col });
      i++;
      continue;
    }
    const start = i;
    while (i < n && !/[\s{}#]/.test(source[i]!)) i++;
    out.push({ text: source.slice(start, i), line, col });
  }
  return out;
}
