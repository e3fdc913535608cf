/**
 * Secrets in log lines.
 *
 * A key, PSK or DH value reaches a log line only wrapped in `Secret` and only through
 * `Logger.secret()`, which prints the bytes solely when the daemon runs at privilege level 2
 * (keymat). Everything else that could carry one is scrubbed by `scrubFields()`: a `Secret`
 * prints as a placeholder and a raw Buffer only as its length, so passing a key by mistake in an
 * ordinary field leaks nothing.
 */
import { inspect } from "node:util";

const hidden = new WeakMap<Secret, Buffer>();

/** A secret value; its bytes are reachable only through `revealSecret()`. */
export class Secret {
  /** Number of bytes held. */
  readonly length: number;
  constructor(value: Buffer | string) {
    const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : Buffer.from(value);
    hidden.set(this, bytes);
    this.length = bytes.length;
  }
  toString(): string {
    return `[secret ${this.length} bytes]`;
  }
  toJSON(): string {
    return this.toString();
  }
  [inspect.custom](): string {
    return this.toString();
  }
}

/** The bytes of a secret; used only by the logger's privilege-checked path. */
export function revealSecret(s: Secret): Buffer {
  return hidden.get(s) ?? Buffer.alloc(0);
}

/** Field names whose values are always redacted when logged as plain fields. */
export const SECRET_FIELD_NAMES: readonly string[] = [
  "key", "psk", "pin", "secret", "password", "skeyid", "skeyidD", "skeyidA", "skeyidE",
  "gxy", "dhPrivate", "privateKey", "keymat",
];

const SECRET_NAMES = new Set(SECRET_FIELD_NAMES);

/** What `scrubFields` keeps of one field: a description of its size for anything that might hold secret bytes. */
export function scrubValue(name: string, value: unknown): unknown {
  if (value instanceof Secret) return value.toString();
  if (value instanceof Uint8Array) return `[${value.length} bytes]`;
  if (SECRET_NAMES.has(name)) return "[redacted]";
  return value;
}

/**
 * Replace anything that might hold secret bytes by a description of its size. Runs for every
 * line that goes through pino (the audit lines the "pretty" format renders directly apply
 * `scrubValue` field by field instead, without this copy): own keys, no entry arrays.
 */
export function scrubFields(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(fields)) out[name] = scrubValue(name, fields[name]);
  return out;
}
