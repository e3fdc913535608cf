/**
 * Numeric literals of ike.config (reference §1): C integer literals — decimal, `0x`/`0X`
 * hexadecimal, leading-`0` octal (`010` is eight) — and, for the two retransmit timers only,
 * a decimal fraction. Values travel in 32-bit door fields, so integers are capped at 2^32-1.
 */

/** Largest integer accepted (uint32). */
export const MAX_UINT32 = 0xffffffff;

/** Parses a C integer literal; `undefined` when malformed or above 2^32-1. */
export function parseCInteger(text: string): number | undefined {
  let digits: string;
  let radix: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(text)) {
    digits = text.slice(2);
    radix = 16;
  } else if (/^0[0-7]*$/.test(text)) {
    digits = text;
    radix = 8;
  } else if (/^[1-9][0-9]*$/.test(text)) {
    digits = text;
    radix = 10;
  } else {
    return undefined;
  }
  // Strip leading zeros first so a long run of them cannot defeat the length check.
  digits = digits.replace(/^0+(?=.)/, "");
  if (digits.length > 11) return undefined;
  const v = parseInt(digits, radix);
  return v <= MAX_UINT32 ? v : undefined;
}

/** Digits allowed after the decimal point (microseconds are plenty for retransmit timers). */
export const MAX_FRACTION_DIGITS = 6;

/** Parses an integer literal or a decimal fraction (`0.5`, `.5`, `2.`); `undefined` if malformed. */
export function parseFloatLiteral(text: string): number | undefined {
  const asInt = parseCInteger(text);
  if (asInt !== undefined) return asInt;
  if (!/^(?:[0-9]{1,10}\.[0-9]{0,6}|\.[0-9]{1,6})$/.test(text)) return undefined;
  const v = Number(text);
  return Number.isFinite(v) && v <= MAX_UINT32 ? v : undefined;
}

/** Writes a number so that `parseFloatLiteral` reads back the same value. */
export function formatFloat(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return v.toFixed(MAX_FRACTION_DIGITS).replace(/0+$/, "");
}
