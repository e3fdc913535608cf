/**
 * Collecting problems found in a configuration file (STYLE §7: report them all, with
 * `file:line:col`, but bounded so hostile input cannot grow the list without limit).
 */
import { clip } from "./address.js";
import type { ConfigDiagnostic, Severity } from "./types.js";

/** Most diagnostics kept per file; past it one `IKE_ERR_CFG_TOO_MANY_ERRORS` closes the list. */
export const MAX_DIAGNOSTICS = 100;

/** Largest file the parsers accept (bytes of text); bigger input is refused up front. */
export const MAX_FILE_CHARS = 4 * 1024 * 1024;

/** A 1-based source position. */
export interface Pos {
  readonly line: number;
  readonly col: number;
}

/** How diagnostics may show the file's own text. */
export interface DiagnosticsOptions {
  /**
   * Quote none of it: the file is private to its owner and the reader may not see secrets (an
   * admin below privilege keymat naming, say, the pre-shared key file in `ikeadm read rule`).
   * Every piece of file text then reads as its length; positions and the rest stay.
   */
  readonly hideText?: boolean;
}

/** Bounded list of diagnostics for one file. */
export class Diagnostics {
  readonly list: ConfigDiagnostic[] = [];
  private errors = 0;
  private full = false;
  private readonly hideText: boolean;

  constructor(readonly file: string, opts: DiagnosticsOptions = {}) {
    this.hideText = opts.hideText ?? false;
  }

  /**
   * A piece of the file's text as a message shows it: between `mark`s, clipped, or, when the
   * file's text is hidden, as its length. Every file-derived word of a message goes through here
   * (or `value`), so hiding is decided where the text enters, not by scanning messages later.
   */
  quote(text: string, mark = "'"): string {
    return this.hideText ? `<${text.length} characters hidden: private file, privilege below keymat>` : `${mark}${clip(text)}${mark}`;
  }

  /** A number or other value read from the file, for a message (hidden like `quote`). */
  value(v: number | string): string {
    return this.hideText ? this.quote(String(v)) : String(v);
  }

  /** True when the file's text must not appear in messages. */
  get hidesText(): boolean {
    return this.hideText;
  }

  /** Records an error; returns false once the bound is reached so callers may stop early. */
  error(code: string, at: Pos, message: string): boolean {
    return this.add("error", code, at, message);
  }

  /** Records a warning (the file stays valid). */
  warn(code: string, at: Pos, message: string): boolean {
    return this.add("warning", code, at, message);
  }

  /** Error count so far. */
  get errorCount(): number {
    return this.errors;
  }

  /** True once the bound was hit; parsers stop then. */
  get exhausted(): boolean {
    return this.full;
  }

  /** The diagnostics in file order (the too-many marker, if any, stays last). */
  sorted(): ConfigDiagnostic[] {
    const body = this.full ? this.list.slice(0, -1) : this.list.slice();
    body.sort((a, b) => a.line - b.line || a.col - b.col);
    return this.full ? [...body, this.list[this.list.length - 1]!] : body;
  }

  private add(severity: Severity, code: string, at: Pos, message: string): boolean {
    if (this.full) return false;
    if (severity === "error") this.errors++;
    if (this.list.length >= MAX_DIAGNOSTICS - 1) {
      this.full = true;
      this.errors++;
      this.list.push({
        code: "IKE_ERR_CFG_TOO_MANY_ERRORS",
        severity: "error",
        file: this.file,
        line: at.line,
        col: at.col,
        message: `too many problems, stopped after ${MAX_DIAGNOSTICS - 1}`,
      });
      return false;
    }
    this.list.push({ code, severity, file: this.file, line: at.line, col: at.col, message });
    return true;
  }
}

/**
 * `file:line:col: message`, or `file: message` for whole-file problems (line 0); the
 * `warning: ` prefix marks warnings.
 */
export function formatDiagnostic(d: ConfigDiagnostic): string {
  const sev = d.severity === "warning" ? "warning: " : "";
  const where = d.line > 0 ? `${d.file}:${d.line}:${d.col}` : d.file;
  return `${where}: ${sev}${d.message}`;
}
