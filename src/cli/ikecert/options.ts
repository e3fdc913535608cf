/**
 * Option parsing for ikecert's subcommands: exactly one primary option (-a -e -h -kc -ks -l -r
 * and the token options -U -C -L), value options (-m -t -D -A -S -F -f -T, and the extension -P
 * file for a PIN or password), flags (-v -p) and positional arguments (slot, certspec terms).
 */
import { IkecertError } from "./store-ops.js";

const PRIMARY = new Set(["a", "e", "h", "kc", "ks", "l", "r", "U", "C", "L"]);
const VALUED = new Set(["m", "t", "D", "A", "S", "F", "f", "T", "P"]);
const FLAGS = new Set(["v", "p"]);

/** Parsed subcommand options. */
export class Opts {
  primary = "";
  readonly args: string[] = [];
  readonly #values = new Map<string, string[]>();
  readonly #flags = new Set<string>();

  /** The last value of `-x`. */
  value(x: string): string | undefined {
    return this.#values.get(x)?.at(-1);
  }
  /** Every value of a repeatable option (`-A`). */
  values(x: string): string[] {
    return this.#values.get(x) ?? [];
  }
  flag(x: string): boolean {
    return this.#flags.has(x);
  }
  setValue(x: string, v: string): void {
    this.#values.set(x, [...this.values(x), v]);
  }
  setFlag(x: string): void {
    this.#flags.add(x);
  }
}

/** Parses a subcommand's arguments; usage errors throw IkecertError. */
export function parseOpts(argv: readonly string[]): Opts {
  const o = new Opts();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("-") || a === "-" || /^-\d/.test(a)) {
      o.args.push(a);
      continue;
    }
    const name = a.slice(1);
    if (PRIMARY.has(name)) {
      if (o.primary) throw new IkecertError(`-${name} and -${o.primary} cannot be combined; give one primary option`);
      o.primary = name;
    } else if (VALUED.has(name)) {
      const v = argv[++i];
      if (v === undefined) throw new IkecertError(`-${name} needs a value`);
      o.setValue(name, v);
    } else if (FLAGS.has(name)) o.setFlag(name);
    else if (name === "k") throw new IkecertError("-k must be -kc (certificate request) or -ks (self-signed certificate)");
    else throw new IkecertError(`unknown option ${a}`);
  }
  if (o.flag("p") && o.value("T") === undefined) throw new IkecertError("-p (store the token PIN) needs -T token");
  if (!o.primary) throw new IkecertError("one primary option is required (-h for help)");
  return o;
}
