/**
 * Daemon-facing loader of the IPsec policy file (default `/etc/inet/ipsecinit.conf`). The only I/O
 * of src/policy: it reads the file and hands the text to the pure parser. A file that cannot be
 * read is one error at line 1, column 1, in the same form as syntax errors.
 */
import { readFile } from "node:fs/promises";
import { parseIpsecPolicy, type PolicyParseResult } from "./ipsecinit/parser.js";

/** Default location, as on illumos. */
export const DEFAULT_IPSEC_POLICY_PATH = "/etc/inet/ipsecinit.conf";

/** Largest policy file read (bounded memory); a larger one is refused. */
export const MAX_POLICY_BYTES = 4 * 1024 * 1024;

/** Reads and parses a policy file. Never throws: I/O problems come back as `IKE_ERR_POLICY_IO`. */
export async function loadIpsecPolicy(path: string = DEFAULT_IPSEC_POLICY_PATH): Promise<PolicyParseResult> {
  let text: string;
  try {
    const buf = await readFile(path);
    if (buf.length > MAX_POLICY_BYTES) return ioError(path, `file is larger than ${MAX_POLICY_BYTES} bytes`);
    text = buf.toString("utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "EIO";
    return ioError(path, `cannot read policy file (${code})`);
  }
  return parseIpsecPolicy(text, path);
}

function ioError(path: string, message: string): PolicyParseResult {
  return { policy: { file: path, entries: [] }, errors: [{ code: "IKE_ERR_POLICY_IO", message, file: path, line: 1, col: 1 }] };
}
