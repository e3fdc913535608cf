/**
 * Tokeniser shared by the ike.config and ike.preshared parsers.
 *
 * ike.config lexical rules (reference ike-config.md §1): whitespace separates tokens; an unquoted
 * `#` or `//` starts a comment to end of line; a backslash right before a newline is whitespace;
 * `{` `}` (and here `(` `)`) are self-delimiting; strings are double-quoted with backslash
 * escaping the next character. ike.preshared differs only in string escapes: a backslash escapes
 * a quote or a backslash and is kept literally before anything else.
 */
import type { Diagnostics, Pos } from "./diagnostics.js";

/** Token kinds. `string` text is the unescaped content. */
export type TokenKind = "word" | "string" | "{" | "}" | "(" | ")" | "eof";

/** One token with the position of its first character. */
export interface Token extends Pos {
  readonly kind: TokenKind;
  readonly text: string;
}

/** Lexer dialect. */
export interface LexOptions {
  /** `//` starts a comment (ike.config). */
  readonly slashComments: boolean;
  /** `(` and `)` are tokens of their own (ike.config `aes(128..256)`). */
  readonly parens: boolean;
  /** `any`: backslash escapes every character; `quote`: only `"` and `\`. */
  readonly escapes: "any" | "quote";
}

/** ike.config dialect. */
export const CONFIG_LEX: LexOptions = { slashComments: true, parens: true, escapes: "any" };
/** ike.preshared dialect. */
export const PRESHARED_LEX: LexOptions = { slashComments: false, parens: false, escapes: "quote" };

function isSpace(c: string): boolean {
  return c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f" || c === "\v";
}

/**
 * Yields the tokens of `text` one at a time, ending with one `eof` token. Lazy, so memory does
 * not grow with the token count and a parser that gives up stops the lexer too. Lexical errors
 * (an unterminated string) go to `diags`; the lexer then resumes on the next line.
 */
export function* lex(text: string, opts: LexOptions, diags: Diagnostics): Generator<Token, void, undefined> {
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const n = text.length;
  const delimiters = opts.parens ? '{}()"' : '{}"';

  const atComment = (j: number): boolean =>
    text[j] === "#" || (opts.slashComments && text[j] === "/" && text[j + 1] === "/");
  const atContinuation = (j: number): boolean =>
    text[j] === "\\" && (text[j + 1] === "\n" || (text[j + 1] === "\r" && text[j + 2] === "\n"));

  while (i < n) {
    const c = text[i]!;
    if (c === "\n") {
      i++;
      line++;
      lineStart = i;
      continue;
    }
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (atContinuation(i)) {
      i += text[i + 1] === "\n" ? 1 : 2;
      continue;
    }
    if (atComment(i)) {
      while (i < n && text[i] !== "\n") i++;
      continue;
    }
    const pos = { line, col: i - lineStart + 1 };
    if (delimiters.includes(c) && c !== '"') {
      yield { kind: c as TokenKind, text: c, ...pos };
      i++;
      continue;
    }
    if (c === '"') {
      let out = "";
      let j = i + 1;
      let closed = false;
      while (j < n) {
        const d = text[j]!;
        if (d === "\n") break;
        if (d === '"') {
          closed = true;
          j++;
          break;
        }
        if (d === "\\" && j + 1 < n && text[j + 1] !== "\n") {
          const e = text[j + 1]!;
          if (opts.escapes === "any" || e === '"' || e === "\\") {
            out += e;
            j += 2;
            continue;
          }
        }
        out += d;
        j++;
      }
      if (!closed) {
        diags.error("IKE_ERR_CFG_UNTERMINATED_STRING", pos, "unterminated quoted string (a string ends on its own line)");
        i = j;
        continue;
      }
      yield { kind: "string", text: out, ...pos };
      i = j;
      continue;
    }
    let j = i;
    while (j < n && !isSpace(text[j]!) && !delimiters.includes(text[j]!) && !atComment(j) && !atContinuation(j)) j++;
    yield { kind: "word", text: text.slice(i, j), ...pos };
    i = j;
  }
  yield { kind: "eof", text: "", line, col: i - lineStart + 1 };
}

/** All tokens of `text` at once (see `lex`). */
export function tokenize(text: string, opts: LexOptions, diags: Diagnostics): Token[] {
  return [...lex(text, opts, diags)];
}

/** Reads tokens front to back with one token of lookahead; `eof` repeats forever. */
export class TokenStream {
  private ahead: Token | undefined;
  private last: Token | undefined;

  constructor(private readonly source: Iterator<Token, void, undefined>) {}

  /** The next token without consuming it. */
  peek(): Token {
    if (this.ahead) return this.ahead;
    if (this.last?.kind === "eof") return this.last;
    const r = this.source.next();
    // The lexer always ends with an eof token; after it, keep answering with that token.
    this.ahead = r.done ? (this.last ?? { kind: "eof", text: "", line: 1, col: 1 }) : r.value;
    return this.ahead;
  }

  /** Consumes and returns the next token. */
  next(): Token {
    const t = this.peek();
    this.ahead = undefined;
    this.last = t;
    return t;
  }

  /** True at end of input. */
  get atEnd(): boolean {
    return this.peek().kind === "eof";
  }
}
