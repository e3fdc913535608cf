/**
 * ikecert's `-S`/`-F` validity times (ikecert.md §5): relative `+`/`-` followed by any mix of
 * N s|m|h|d|w|M|y (fixed units add up in seconds; months and years are calendar steps that overflow
 * like the original: Jan 31 + 1M = Mar 3 in a common year), or an absolute date. The original takes
 * absolute dates in any getdate(3C) template of /etc/datemsk; here the accepted forms are
 * `MM/DD/YYYY [HH:MM[:SS]]` (the manual's example) and `YYYY-MM-DD[ HH:MM[:SS]]`, in UTC.
 */

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 7 * 86400 };

/** Parses one time relative to `base` (ms); a string result says what is wrong. */
export function parseWhen(text: string, base: number): number | string {
  const t = text.trim();
  if (/^[+-]/.test(t)) {
    const sign = t[0] === "-" ? -1 : 1;
    const body = t.slice(1);
    if (!/^(\d+[smhdwMy])+$/.test(body)) return `'${text}': expected +/- then numbers with units s m h d w M y`;
    const d = new Date(base);
    let seconds = 0;
    for (const [, n, unit] of body.matchAll(/(\d+)([smhdwMy])/g)) {
      const v = sign * Number(n);
      if (unit === "M") d.setUTCMonth(d.getUTCMonth() + v);
      else if (unit === "y") d.setUTCFullYear(d.getUTCFullYear() + v);
      else seconds += v * UNIT_SECONDS[unit!]!;
    }
    const ms = d.getTime() + seconds * 1000;
    return Number.isFinite(ms) ? ms : `'${text}' is out of range`;
  }
  let m = /^(\d{1,2})\/(\d{1,2})\/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$/.exec(t);
  let parts: number[] | undefined;
  if (m) parts = [Number(m[3]), Number(m[1]), Number(m[2]), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
  m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?Z?$/.exec(t);
  if (m) parts = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
  if (!parts) return `'${text}' is not a date (use +3d12h, -1d, "MM/DD/YYYY HH:MM:SS" or YYYY-MM-DD)`;
  const [y, mo, d, h, mi, s] = parts as [number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(ms);
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return `'${text}' is not a valid date`;
  return ms;
}
