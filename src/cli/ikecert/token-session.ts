/**
 * ikecert's way to a PKCS#11 token (ikecert.md §2.1 `-T`): the library `pkcs11_path` names in
 * ike.config (the only setting ikecert reads there), the token by label, a read-write session,
 * and a login when the operation needs private objects. The PIN is asked for once per run.
 */
import { IKE_DEFAULTS } from "../../config/defaults.js";
import { loadIkeConfig } from "../../config/load.js";
import type { IkedPaths } from "../../daemon/paths.js";
import { TokenError, closeLibrary, login, openLibrary, openSession, tokenSlot, type Handle, type Pkcs11 } from "../../crypto/pkcs11.js";
import type { Opts } from "./options.js";
import { readSecret } from "./secret.js";
import { IkecertError } from "./store-ops.js";

/** An open session on the token `-T` names. */
export interface TokenSession {
  readonly library: string;
  /** The label as given (without padding). */
  readonly label: string;
  readonly m: Pkcs11;
  readonly session: Handle;
  /** The PIN, when this run logged in (kept for `-p`). */
  pin: string | undefined;
}

/** The PKCS#11 library of ike.config's `pkcs11_path`, or the documented default. */
export async function pkcs11Library(p: IkedPaths): Promise<string> {
  const cfg = await loadIkeConfig(p.configFile);
  return cfg.value.globals.pkcs11Path ?? IKE_DEFAULTS.pkcs11Path;
}

/** Turns token failures into ikecert's errors. */
export function tokenCall<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof TokenError) throw new IkecertError(err.message);
    throw err;
  }
}

/**
 * -C: makes each part (private key, public key, certificate) on the token in its own call, says on
 * `err` what was copied or why not, and returns the parts that failed.
 */
export function copyParts(t: TokenSession, slot: string, id: Buffer, parts: ReadonlyArray<readonly [string, () => void]>, err: (s: string) => void): string[] {
  const failed: string[] = [];
  for (const [what, f] of parts) {
    try {
      tokenCall(f);
      err(`Copied the ${what} of slot ${slot} to token "${t.label}" (id ${id.toString("hex")}).\n`);
    } catch (e) {
      failed.push(what);
      err(`Could not copy the ${what}: ${(e as Error).message}\n`);
    }
  }
  return failed;
}

/** This run's sessions, by token label (ikecert runs one command, then `closeTokens`). */
const open = new Map<string, TokenSession>();

/** A read-write session on `label` (the token label, at most 32 bytes), opened once per run. */
export async function openToken(p: IkedPaths, label: string): Promise<TokenSession> {
  if (label.length === 0 || Buffer.byteLength(label) > 32) throw new IkecertError("-T: a token label has 1 to 32 bytes");
  const have = open.get(label.trimEnd());
  if (have) return have;
  const library = await pkcs11Library(p);
  const t = tokenCall(() => {
    const m = openLibrary(library);
    return { library, label: label.trimEnd(), m, session: openSession(m, tokenSlot(m, label), true), pin: undefined };
  });
  open.set(t.label, t);
  return t;
}

/** Logs in (asking for the PIN) unless this run already did. */
export async function loginToken(t: TokenSession, o: Opts, stdinIsData: boolean): Promise<void> {
  if (t.pin !== undefined) return;
  const pin = await readSecret(o, `the PIN of PKCS#11 token "${t.label}"`, stdinIsData);
  tokenCall(() => login(t.m, t.session, pin));
  t.pin = pin;
}

/** Ends the run's use of the libraries (sessions close with them). */
export function closeTokens(): void {
  for (const t of open.values()) closeLibrary(t.library);
  open.clear();
}
