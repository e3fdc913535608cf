/**
 * DES key checks: FIPS 74 (1981) section 3.6 lists 4 weak and 12 semi-weak DES keys; RFC 2405
 * section 5 and RFC 2451 section 2.3 require rejecting them. A 3DES key whose parts repeat is
 * refused too: K1 = K2 or K2 = K3 is single DES in disguise, and K1 = K3 is two-key TDEA (SP 800-67
 * keying option 2), which NIST SP 800-131A rev. 2 disallows for encryption. A derived key hits
 * either case with probability about 2^-54, so refusing costs no interoperability.
 * Parity bits (the low bit of each byte) are ignored in all comparisons, as DES ignores them.
 */

/** FIPS 74 section 3.6: weak keys, then the six semi-weak pairs (both members), with odd parity. */
const WEAK_OR_SEMIWEAK_HEX = [
  "0101010101010101", "fefefefefefefefe", "e0e0e0e0f1f1f1f1", "1f1f1f1f0e0e0e0e",
  "01fe01fe01fe01fe", "fe01fe01fe01fe01", "1fe01fe00ef10ef1", "e01fe01ff10ef10e",
  "01e001e001f101f1", "e001e001f101f101", "1ffe1ffe0efe0efe", "fe1ffe1ffe0efe0e",
  "011f011f010e010e", "1f011f010e010e01", "e0fee0fef1fef1fe", "fee0fee0fef1fef1",
];
const WEAK = WEAK_OR_SEMIWEAK_HEX.map((h) => Buffer.from(h, "hex"));

function equalIgnoringParity(a: Uint8Array, b: Uint8Array): boolean {
  let diff = 0;
  for (let i = 0; i < 8; i++) diff |= ((a[i] ?? 0) ^ (b[i] ?? 0)) & 0xfe;
  return diff === 0;
}

/** Whether an 8-byte DES key is one of the FIPS 74 weak or semi-weak keys. */
export function isWeakDesKey(key: Uint8Array): boolean {
  return WEAK.some((w) => equalIgnoringParity(key, w));
}

/** Result of checking a 3DES key: fine, a weak part, or repeated parts. */
export type TripleDesKeyCheck = "ok" | "weak" | "degenerate";

/** Checks a 24-byte 3DES key: repeated parts (K1 = K2, K2 = K3 or K1 = K3) first, then weak parts. */
export function checkTripleDesKey(key: Uint8Array): TripleDesKeyCheck {
  const k1 = key.subarray(0, 8);
  const k2 = key.subarray(8, 16);
  const k3 = key.subarray(16, 24);
  if (equalIgnoringParity(k1, k2) || equalIgnoringParity(k2, k3) || equalIgnoringParity(k1, k3)) return "degenerate";
  if (isWeakDesKey(k1) || isWeakDesKey(k2) || isWeakDesKey(k3)) return "weak";
  return "ok";
}
