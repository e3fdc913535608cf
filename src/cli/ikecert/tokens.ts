/**
 * `ikecert tokens` (ikecert.md §1): the tokens of the PKCS#11 library that `pkcs11_path` in
 * ike.config names (default libpkcs11.so), through pkcs11js. Tested with Debian's SoftHSM2. Only
 * listing is built: keys on tokens (-T, -p, -U, -C, -L) are refused, since the crypto workers hold
 * disk keys only.
 */
import { createRequire } from "node:module";
import { IKE_DEFAULTS } from "../../config/defaults.js";
import { loadIkeConfig } from "../../config/load.js";
import type { IkedPaths } from "../../daemon/paths.js";
import { IkecertError } from "./store-ops.js";

type Pkcs11Module = typeof import("pkcs11js");

/** Lists the tokens with their labels, space-padded to 32 characters as PKCS#11 stores them. */
export async function tokens(p: IkedPaths, out: (s: string) => void): Promise<void> {
  const cfg = await loadIkeConfig(p.configFile);
  const lib = cfg.value.globals.pkcs11Path ?? IKE_DEFAULTS.pkcs11Path;
  let pkcs11js: Pkcs11Module;
  try {
    pkcs11js = createRequire(import.meta.url)("pkcs11js") as Pkcs11Module;
  } catch (err) {
    throw new IkecertError(`the pkcs11js module is not installed (${(err as Error).message.split("\n")[0]})`);
  }
  const m = new pkcs11js.PKCS11();
  try {
    m.load(lib);
  } catch (err) {
    throw new IkecertError(`cannot load the PKCS#11 library "${lib}" (pkcs11_path): ${(err as Error).message}`);
  }
  m.C_Initialize();
  try {
    out(`Available tokens with library "${lib}":\n\n`);
    for (const slot of m.C_GetSlotList(true)) {
      const label = m.C_GetTokenInfo(slot).label;
      out(`"${label.padEnd(32, " ").slice(0, 32)}"\n`);
    }
  } finally {
    m.C_Finalize();
  }
}
