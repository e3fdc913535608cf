/**
 * Writes ike.preshared text (`ikeadm write preshared`). The output contains key material: only
 * privileged callers may use it (the daemon checks the admin privilege level, `modkeys` or
 * higher) and the file must be created with mode 0600. `parsePreshared` reads the output back
 * to deep-equal entries: keys are written as `hex/bits`.
 */
import { ConfigError } from "../errors.js";
import { formatAddressSpec } from "./address.js";
import { IdType } from "../codec/constants.js";
import type { PresharedEntry, PresharedId } from "./types.js";

/** Quotes a value for ike.preshared (backslash escapes only `"` and `\` there). */
export function quotePresharedString(s: string): string {
  if (/[\r\n]/.test(s)) throw new ConfigError("IKE_ERR_CFG_UNREPRESENTABLE", "a value with a line break cannot be written to ike.preshared");
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

const NAME_TYPE_WORDS: ReadonlyMap<number, string> = new Map([
  [IdType.ID_FQDN, "fqdn"],
  [IdType.ID_USER_FQDN, "user_fqdn"],
  [IdType.ID_DER_ASN1_DN, "dn"],
  [IdType.ID_DER_ASN1_GN, "gn"],
  [IdType.ID_KEY_ID, "keyid"],
]);

function idLines(side: "local" | "remote", id: PresharedId): string[] {
  if ("addr" in id) {
    const a = id.addr;
    const typeWord = a.kind === "range" ? (a.family === 4 ? "ipv4-range" : "ipv6-range") : "ip";
    return [`\t${side}idtype ${typeWord}`, `\t${side}id ${formatAddressSpec(a)}`];
  }
  const typeWord = NAME_TYPE_WORDS.get(id.type);
  if (typeWord === undefined) throw new ConfigError("IKE_ERR_CFG_UNREPRESENTABLE", `identity type ${id.type} has no ike.preshared name`);
  return [`\t${side}idtype ${typeWord}`, `\t${side}id ${quotePresharedString(id.name)}`];
}

/** One entry as a `{ ... }` block (contains the key). */
export function formatPresharedEntry(e: PresharedEntry): string {
  const lines = [
    ...idLines("local", e.localId),
    ...idLines("remote", e.remoteId),
    `\tike_mode ${e.ikeMode}`,
    `\tkey ${e.key.toString("hex")}/${e.keyBits}`,
  ];
  return `{\n${lines.join("\n")}\n}\n`;
}

/** A whole ike.preshared file (contains keys: privileged callers only, write it mode 0600). */
export function formatPreshared(entries: readonly PresharedEntry[]): string {
  return ["# ike.preshared written by iked\n", ...entries.map(formatPresharedEntry)].join("\n");
}
