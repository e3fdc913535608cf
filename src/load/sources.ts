/**
 * Source addresses of a load run: `count` consecutive addresses from a first one (127.4.0.1,
 * 127.4.0.2, ...). Every address on 127.0.0.0/8 is local on Linux without configuration, so each
 * source can bind its own socket and appear to the target as a separate peer with its own IP
 * identity, which is what a gateway under many clients sees.
 */
import net from "node:net";

function v4ToInt(a: string): number {
  return a.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
}

function intToV4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

function v6ToBig(a: string): bigint {
  const [head = "", tail] = a.split("::");
  const h = head === "" ? [] : head.split(":");
  const t = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

function bigToV6(n: bigint): string {
  const g: string[] = [];
  for (let i = 7; i >= 0; i--) g.push(((n >> BigInt(i * 16)) & 0xffffn).toString(16));
  return g.join(":");
}

/**
 * `count` addresses starting at `start`, or an error text when the range leaves the address space,
 * or leaves 127.0.0.0/8 although it starts inside it. IPv4-mapped and dotted IPv6 forms are refused.
 */
export function sourceAddresses(start: string, count: number): { ok: true; value: string[] } | { ok: false; message: string } {
  if (!Number.isInteger(count) || count < 1) return { ok: false, message: `source count ${count}` };
  if (net.isIPv4(start)) {
    const first = v4ToInt(start);
    const last = first + count - 1;
    if (last > 0xffffffff) return { ok: false, message: `${count} sources from ${start} run past 255.255.255.255` };
    if (start.startsWith("127.") && last > v4ToInt("127.255.255.255")) {
      return { ok: false, message: `${count} sources from ${start} leave 127.0.0.0/8` };
    }
    return { ok: true, value: Array.from({ length: count }, (_, i) => intToV4(first + i)) };
  }
  if (net.isIPv6(start) && !start.includes(".")) {
    const first = v6ToBig(start);
    if (first + BigInt(count - 1) > (1n << 128n) - 1n) return { ok: false, message: `${count} sources from ${start} run past the address space` };
    return { ok: true, value: Array.from({ length: count }, (_, i) => bigToV6(first + BigInt(i))) };
  }
  return { ok: false, message: `not an IP address: ${start}` };
}
