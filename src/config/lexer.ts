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

/** Character classes, indexed by char code (0: ordinary word character). */
const SPACE = 1;
const NEWLINE = 2;
const BRACE = 3;
const PAREN = 4;
const QUOTE = 5;
const HASH = 6;
const SLASH = 7;
const BACKSLASH = 8;
const CLASS = new Uint8Array(128);
for (const c of " \t\r\f\v") CLASS[c.charCodeAt(0)] = SPACE;
CLASS[10] = NEWLINE;
CLASS[0x7b] = BRACE;
CLASS[0x7d] = BRACE;
CLASS[0x28] = PAREN;
CLASS[0x29] = PAREN;
CLASS[0x22] = QUOTE;
CLASS[0x23] = HASH;
CLASS[0x2f] = SLASH;
CLASS[0x5c] = BACKSLASH;

/**
 * Produces the tokens of `text` one at a time (`nextToken`), ending with `eof` forever after.
 * Lazy, so memory does not grow with the token count and a parser that gives up stops the lexer
 * too. Lexical errors (an unterminated string) go to `diags`; lexing resumes on the next line.
 */
export class Lexer {
  private i = 0;
  private line = 1;
  private lineStart = 0;
  /** Columns count code points: low surrogates seen on this line before `surrogateScan`. */
  private lowSurrogates = 0;
  private surrogateScan = 0;

  constructor(
    private readonly text: string,
    private readonly opts: LexOptions,
    private readonly diags: Diagnostics,
  ) {}

  private classAt(j: number): number {
    const code = this.text.charCodeAt(j);
    return code < 128 ? CLASS[code]! : 0;
  }

  /** Backslash right before a newline (LF or CRLF): white space. */
  private atContinuation(j: number): boolean {
    const t = this.text;
    return t.charCodeAt(j) === 0x5c && (t.charCodeAt(j + 1) === 10 || (t.charCodeAt(j + 1) === 13 && t.charCodeAt(j + 2) === 10));
  }

  /** True when the character at `j` ends a word (or starts a comment). */
  private endsWord(j: number): boolean {
    switch (this.classAt(j)) {
      case 0:
        return false;
      case PAREN:
        return this.opts.parens;
      case SLASH:
        return this.opts.slashComments && this.text.charCodeAt(j + 1) === 0x2f;
      case BACKSLASH:
        return this.atContinuation(j);
      default:
        return true;
    }
  }

  /** The next token. */
  nextToken(): Token {
    const text = this.text;
    const n = text.length;
    while (this.i < n) {
      const i = this.i;
      const cls = this.classAt(i);
      if (cls === NEWLINE) {
        this.i++;
        this.line++;
        this.lineStart = this.i;
        this.lowSurrogates = 0;
        this.surrogateScan = this.i;
        continue;
      }
      if (cls === SPACE) {
        this.i++;
        continue;
      }
      if (cls === BACKSLASH && this.atContinuation(i)) {
        // Skip the backslash (and a CR); the newline is counted on the next turn.
        this.i += text.charCodeAt(i + 1) === 10 ? 1 : 2;
        continue;
      }
      if (cls === HASH || (cls === SLASH && this.opts.slashComments && text.charCodeAt(i + 1) === 0x2f)) {
        const eol = text.indexOf("\n", i);
        this.i = eol < 0 ? n : eol;
        continue;
      }
      const line = this.line;
      const col = this.colAt(i);
      if (cls === BRACE || (cls === PAREN && this.opts.parens)) {
        this.i++;
        const c = text[i]!;
        return { kind: c as TokenKind, text: c, line, col };
      }
      if (cls === QUOTE) {
        const s = this.string(i + 1);
        if (s === undefined) {
          this.diags.error("IKE_ERR_CFG_UNTERMINATED_STRING", { line, col }, "unterminated quoted string (a string ends on its own line)");
          continue;
        }
        return { kind: "string", text: s, line, col };
      }
      let j = i + 1;
      while (j < n && !this.endsWord(j)) j++;
      this.i = j;
      return { kind: "word", text: text.slice(i, j), line, col };
    }
    return { kind: "eof", text: "", line: this.line, col: this.colAt(this.i) };
  }

  /**
   * 1-based column of index `j` on the current line, in code points (a tab is one), so that an
   * editor's column agrees past an emoji. Scans each character once per line, whatever the
   * number of tokens on it.
   */
  private colAt(j: number): number {
    const t = this.text;
    for (; this.surrogateScan < j; this.surrogateScan++) {
      const c = t.charCodeAt(this.surrogateScan);
      if (c >= 0xdc00 && c <= 0xdfff) this.lowSurrogates++;
    }
    return j - this.lineStart - this.lowSurrogates + 1;
  }

  /** Reads a string body from `j` (after the quote); `undefined` when the line ends first. */
  private string(j: number): string | undefined {
    const text = this.text;
    const n = text.length;
    const anyEscape = this.opts.escapes === "any";
    let out = "";
    let from = j;
    while (j < n) {
      const code = text.charCodeAt(j);
      if (code === 10) break;
      if (code === 0x22) {
        this.i = j + 1;
        return out + text.slice(from, j);
      }
      if (code === 0x5c && j + 1 < n && text.charCodeAt(j + 1) !== 10) {
        const e = text.charCodeAt(j + 1);
        if (anyEscape || e === 0x22 || e === 0x5c) {
          out += text.slice(from, j) + text[j + 1];
          j += 2;
          from = j;
          continue;
        }
      }
      j++;
    }
    this.i = j;
    return undefined;
  }
}

/** All tokens of `text`, ending with one `eof` token (see `Lexer`). */
export function tokenize(text: string, opts: LexOptions, diags: Diagnostics): Token[] {
  const lexer = new Lexer(text, opts, diags);
  const out: Token[] = [];
  for (;;) {
    const t = lexer.nextToken();
    out.push(t);
    if (t.kind === "eof") return out;
  }
}

/** Reads tokens front to back with one token of lookahead; `eof` repeats forever. */
export class TokenStream {
  private ahead: Token | undefined;

  constructor(private readonly source: { nextToken(): Token }) {}

  /** The next token without consuming it. */
  peek(): Token {
    this.ahead ??= this.source.nextToken();
    return this.ahead;
  }

  /** Consumes and returns the next token. */
  next(): Token {
    const t = this.peek();
    if (t.kind !== "eof") this.ahead = undefined;
    return t;
  }

  /** True at end of input. */
  get atEnd(): boolean {
    return this.peek().kind === "eof";
  }
}
