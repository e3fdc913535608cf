/**
 * Where the metrics endpoint listens (extension; `in.iked --metrics` and the ike.config keyword
 * `metrics` take the same text):
 *
 * ```
 *   PORT                 127.0.0.1:PORT (the default address is loopback)
 *   ADDRESS:PORT         an IPv4 address; [ADDRESS]:PORT for IPv6; localhost means 127.0.0.1
 *   unix:/PATH           a Unix socket (absolute path)
 *   off                  no endpoint (on the command line: ignore the keyword)
 * ```
 *
 * Only IP addresses are accepted, never a host name, which could resolve to any address: the
 * endpoint is on a non-loopback address only when the operator wrote that address, and the caller
 * warns when it is (it has no authentication). PORT 0 takes any free port (tests).
 */
import net from "node:net";

/** A place to listen. */
export type MetricsEndpoint =
  | { readonly kind: "tcp"; readonly host: string; readonly port: number; readonly loopback: boolean }
  | { readonly kind: "unix"; readonly path: string };

/** The setting: an endpoint, or none. */
export type MetricsSetting = MetricsEndpoint | { readonly kind: "off" };

/** Longest Unix socket path Linux binds (sun_path is 108 bytes, NUL included). */
const MAX_UNIX_PATH = 107;

/** Whether `host` (an IP literal) is a loopback address: 127.0.0.0/8, ::1 or ::ffff:127.x.y.z. */
export function isLoopbackAddress(host: string): boolean {
  if (net.isIPv4(host)) return host.startsWith("127.");
  if (!net.isIPv6(host)) return false;
  const h = host.toLowerCase();
  if (h === "::1" || h === "0:0:0:0:0:0:0:1") return true;
  const mapped = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  return mapped !== null && net.isIPv4(mapped[1]!) && mapped[1]!.startsWith("127.");
}

function parsePort(text: string, whole: string): number | string {
  if (!/^[0-9]{1,5}$/.test(text)) return `'${whole}': expected a port number after the address`;
  const n = Number(text);
  return n <= 65535 ? n : `'${whole}': port ${n} out of range 0..65535`;
}

/** Parses the text of `--metrics` or the `metrics` keyword; the message says what is wrong. */
export function parseMetricsSetting(text: string): { ok: true; value: MetricsSetting } | { ok: false; message: string } {
  const t = text.trim();
  const bad = (message: string) => ({ ok: false as const, message });
  if (t === "off") return { ok: true, value: { kind: "off" } };
  if (t.startsWith("unix:")) {
    const p = t.slice(5);
    if (!p.startsWith("/")) return bad(`'${t}': the Unix socket path must be absolute`);
    if (Buffer.byteLength(p) > MAX_UNIX_PATH || p.includes("\0")) return bad(`'${t}': not a usable Unix socket path (at most ${MAX_UNIX_PATH} bytes)`);
    return { ok: true, value: { kind: "unix", path: p } };
  }
  let host = "127.0.0.1";
  let portText = t;
  const v6 = /^\[([^\]]*)\]:(.*)$/.exec(t);
  if (v6 !== null) {
    host = v6[1]!;
    portText = v6[2]!;
    if (!net.isIPv6(host)) return bad(`'${t}': '${host}' is not an IPv6 address`);
  } else if (t.includes(":")) {
    const i = t.lastIndexOf(":");
    host = t.slice(0, i);
    portText = t.slice(i + 1);
    if (host === "localhost") host = "127.0.0.1";
    else if (host === "") return bad(`'${t}': name the address to listen on (a port alone means 127.0.0.1)`);
    else if (net.isIPv6(host)) return bad(`'${t}': write an IPv6 address in brackets, [${host}]:PORT`);
    else if (!net.isIPv4(host)) return bad(`'${t}': '${host}' is not an IP address (a host name could resolve to any address; name the address itself)`);
  }
  const port = parsePort(portText, t);
  if (typeof port === "string") return bad(port);
  return { ok: true, value: { kind: "tcp", host, port, loopback: isLoopbackAddress(host) } };
}

/** The setting as it is written (`127.0.0.1:9712`, `[::1]:9712`, `unix:/run/x`, `off`). */
export function formatMetricsSetting(s: MetricsSetting): string {
  switch (s.kind) {
    case "off":
      return "off";
    case "unix":
      return `unix:${s.path}`;
    case "tcp":
      return net.isIPv6(s.host) ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`;
    default: {
      const never: never = s;
      return never;
    }
  }
}

/**
 * The warning an explicitly named non-loopback address deserves (none for loopback, a Unix socket
 * or off): anyone who reaches it reads the counters.
 */
export function metricsExposureWarning(s: MetricsSetting): string | undefined {
  if (s.kind !== "tcp" || s.loopback) return undefined;
  const where = s.host === "0.0.0.0" || s.host === "::" ? "every address of this host" : `the non-loopback address ${s.host}`;
  return `metrics endpoint on ${where}: it has no authentication, so anyone who can reach port ${s.port} there reads the counters; firewall it, or use 127.0.0.1 or unix:PATH`;
}
