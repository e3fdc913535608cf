/**
 * `ikecert tokens` (ikecert.md §1): the tokens of the PKCS#11 library that `pkcs11_path` in
 * ike.config names (default libpkcs11.so), with their labels space-padded to 32 characters as
 * PKCS#11 stores them. Tested with Debian's SoftHSM2.
 */
import type { IkedPaths } from "../../daemon/paths.js";
import { closeLibrary, openLibrary, padLabel, tokenLabels } from "../../crypto/pkcs11.js";
import { pkcs11Library, tokenCall } from "./token-session.js";

/** Lists the tokens with their labels. */
export async function tokens(p: IkedPaths, out: (s: string) => void): Promise<void> {
  const lib = await pkcs11Library(p);
  let labels: string[];
  try {
    labels = tokenCall(() => tokenLabels(openLibrary(lib)));
  } finally {
    closeLibrary(lib);
  }
  out(`Available tokens with library "${lib}":\n\n`);
  for (const label of labels) out(`"${padLabel(label)}"\n`);
}
