/**
 * A private key that lives on a PKCS#11 token is named in the store (etc/inet/secret/
 * ike.privatekeys/<slot>) by a small text file in place of the key (ikecert.md §2: hardware
 * objects are slots of the same store):
 *
 *   iked-pkcs11-key 1
 *   token "<label>"
 *   id <CKA_ID, hex>
 *   pin "<PIN>"            only with `ikecert ... -p -T` (ikecert.md §2.1: stored in the clear in
 *                          a root-only file; otherwise `ikeadm token login` unlocks the key)
 *
 * Strings are JSON strings. The file is a key file like any other: root-only, read by the crypto
 * workers only (it may hold the PIN).
 */

/** The parsed reference. */
export interface TokenKeyFile {
  /** Token label, without the PKCS#11 space padding. */
  readonly token: string;
  /** CKA_ID of the key pair's objects (private key, public key and certificate share it). */
  readonly id: Buffer;
  readonly pin?: string;
}

const MAGIC = "iked-pkcs11-key 1\n";
/** Most bytes a reference may have (a label, an id and a PIN are tiny). */
const MAX_FILE = 4096;

/** Whether a key file's bytes are a token reference (not a key). */
export function isTokenKeyFile(bytes: Uint8Array): boolean {
  return bytes.length >= MAGIC.length && Buffer.from(bytes.buffer, bytes.byteOffset, MAGIC.length).toString("latin1") === MAGIC;
}

function jsonString(v: string, what: string): string | Error {
  try {
    const s: unknown = JSON.parse(v);
    return typeof s === "string" ? s : new Error(`${what} is not a string`);
  } catch {
    return new Error(`${what} is not a quoted string`);
  }
}

/** Parses a reference; a string result says what is wrong (never echoing the PIN). */
export function parseTokenKeyFile(bytes: Uint8Array): TokenKeyFile | string {
  if (!isTokenKeyFile(bytes)) return "not a PKCS#11 key reference";
  if (bytes.length > MAX_FILE) return `key reference larger than ${MAX_FILE} bytes`;
  const lines = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8").split("\n").slice(1);
  let token: string | undefined;
  let id: Buffer | undefined;
  let pin: string | undefined;
  for (const [i, line] of lines.entries()) {
    if (line === "") continue;
    const sp = line.indexOf(" ");
    const key = sp < 0 ? line : line.slice(0, sp);
    const value = sp < 0 ? "" : line.slice(sp + 1);
    const seen = key === "token" ? token : key === "id" ? id : key === "pin" ? pin : undefined;
    if (seen !== undefined) return `line ${i + 2}: '${key}' given twice`;
    switch (key) {
      case "token": {
        const s = jsonString(value, "token");
        if (s instanceof Error) return `line ${i + 2}: ${s.message}`;
        if (s.length === 0 || Buffer.byteLength(s) > 32) return `line ${i + 2}: a token label has 1 to 32 bytes`;
        token = s;
        break;
      }
      case "id":
        if (!/^(?:[0-9a-f]{2}){1,64}$/.test(value)) return `line ${i + 2}: id must be 1 to 64 bytes of lower-case hex`;
        id = Buffer.from(value, "hex");
        break;
      case "pin": {
        const s = jsonString(value, "pin");
        if (s instanceof Error) return `line ${i + 2}: pin is not a quoted string`;
        pin = s;
        break;
      }
      default:
        return `line ${i + 2}: unknown keyword '${key.slice(0, 32)}'`;
    }
  }
  if (token === undefined) return "no 'token' line";
  if (id === undefined) return "no 'id' line";
  return pin === undefined ? { token, id } : { token, id, pin };
}

/** The file text for a reference. */
export function formatTokenKeyFile(ref: TokenKeyFile): string {
  return `${MAGIC}token ${JSON.stringify(ref.token.trimEnd())}\nid ${ref.id.toString("hex")}\n${ref.pin !== undefined ? `pin ${JSON.stringify(ref.pin)}\n` : ""}`;
}
