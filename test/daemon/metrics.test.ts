/**
 * The metrics endpoint as in.iked runs it: off by default; `--metrics` and the ike.config keyword,
 * the command line winning; what `-c` and start-up say about an address they will not or cannot
 * use; SIGHUP rebinding a changed keyword and closing an `off` one; log lines for the journal; the
 * UDP sockets' counters moving with what they read.
 *
 * Resources: 127.0.0.1 TCP ports 16620-16629, UDP ports 16625-16626 (inside the test's network
 * namespace).
 */
import { spawn } from "node:child_process";
import dgram from "node:dgram";
import { once } from "node:events";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import assert from "node:assert/strict";
import { poll } from "../helpers/wait.js";
import { GOOD_CONFIG, IN_IKED, ikeadm, makeRoot, rootPath, run, startDaemon, waitForSocket, type RunningDaemon } from "./harness.js";

const reachable = async (port: number): Promise<number | string> => {
  try {
    return (await fetch(`http://127.0.0.1:${port}/metrics`)).status;
  } catch (err) {
    return String((err as { cause?: { code?: string } }).cause?.code ?? err);
  }
};

test("in.iked -c: a bad metrics address fails with file:line:col; a named non-loopback one is warned about", async () => {
  const bad = makeRoot(`metrics "gw.example.com:9712"\n${GOOD_CONFIG}`);
  const exposed = makeRoot(`metrics 192.0.2.1:9712\n${GOOD_CONFIG}`);
  try {
    const r1 = await run(IN_IKED, ["-c", "--root", bad]);
    assert.equal(r1.code, 1);
    assert.match(r1.stderr, /config:1:9: .*bad metrics address: 'gw\.example\.com:9712': 'gw\.example\.com' is not an IP address/);
    const r2 = await run(IN_IKED, ["-c", "--root", exposed]);
    assert.equal(r2.code, 0, r2.stderr);
    assert.match(r2.stderr, /config:1:9: warning: metrics endpoint on the non-loopback address 192\.0\.2\.1: it has no authentication/);
    const r3 = await run(IN_IKED, ["-c", "--root", bad, "--metrics", "[::]:9712"]);
    assert.match(r3.stderr, /warning: --metrics: metrics endpoint on every address of this host/);
    const r4 = await run(IN_IKED, ["-d", "--root", bad, "--metrics", ":9712"]);
    assert.equal(r4.code, 1);
    assert.match(r4.stderr, /in\.iked: --metrics ':9712': name the address to listen on \(a port alone means 127\.0\.0\.1\)/);
  } finally {
    for (const r of [bad, exposed]) fs.rmSync(r, { recursive: true, force: true });
  }
});

test("start-up refuses to go on when the metrics address cannot be bound, and says why", async () => {
  // 192.0.2.1 (TEST-NET-1) is on no interface here: named explicitly, it is tried, and fails.
  const root = makeRoot(`metrics 192.0.2.1:16620\n${GOOD_CONFIG}`);
  try {
    const r = await run(IN_IKED, ["-d", "--root", root, "--kernel", "memory", "--workers", "0", "--port", "0", "--natt-port", "0"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /fatal error - exiting: cannot serve metrics on 192\.0\.2\.1:16620: EADDRNOTAVAIL/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("off by default; the keyword serves, --metrics wins over it, SIGHUP rebinds a changed keyword and closes an off one", async () => {
  const root = makeRoot(GOOD_CONFIG);
  let d: RunningDaemon | undefined;
  try {
    d = await startDaemon(root);
    assert.doesNotMatch(d.output(), /metrics endpoint/);
    await d.stop();

    fs.writeFileSync(rootPath.config(root), `metrics 16621\n${GOOD_CONFIG}`);
    d = await startDaemon(root, ["--metrics", "127.0.0.1:16622"]);
    assert.equal(await reachable(16622), 200);
    assert.equal(await reachable(16621), "ECONNREFUSED", "--metrics wins over the keyword");
    await d.stop();

    d = await startDaemon(root);
    assert.equal(await reachable(16621), 200);
    fs.writeFileSync(rootPath.config(root), `metrics "127.0.0.1:16623"\n${GOOD_CONFIG}`);
    d.signal("SIGHUP");
    await d.waitFor("metrics endpoint listening on=127.0.0.1:16623");
    assert.equal(await reachable(16623), 200);
    assert.equal(await reachable(16621), "ECONNREFUSED", "the old endpoint is closed");

    fs.writeFileSync(rootPath.config(root), `metrics off\n${GOOD_CONFIG}`);
    d.signal("SIGHUP");
    await d.waitFor("metrics endpoint closed");
    assert.equal(await reachable(16623), "ECONNREFUSED");
  } finally {
    await d?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("under systemd (--foreground, stderr the journal stream): JSON lines behind a syslog priority, debug category as a field", async () => {
  const root = makeRoot(GOOD_CONFIG);
  const log = path.join(root, "journal.txt");
  const fd = fs.openSync(log, "w");
  const st = fs.fstatSync(fd);
  const p = spawn(process.execPath, ["--openssl-legacy-provider", IN_IKED, "--foreground", "--root", root, "--kernel", "memory", "--workers", "0", "--port", "0", "--natt-port", "0"], {
    // JOURNAL_STREAM names the stream systemd connected stderr to; here, the file.
    env: { ...process.env, JOURNAL_STREAM: `${st.dev}:${st.ino}`, debug_level: "op+config" },
    stdio: ["ignore", fd, fd],
  });
  fs.closeSync(fd);
  const exited = new Promise((r) => p.on("exit", r));
  try {
    await waitForSocket(rootPath.socket(root));
    assert.equal((await ikeadm(root, ["dbg", "rbdump"])).code, 0);
    const lines = fs.readFileSync(log, "utf8").split("\n").filter((l) => l !== "");
    assert.ok(lines.length > 0);
    for (const l of lines) assert.match(l, /^<[2-7]>\{"level":\d+,/, l);
    const started = lines.find((l) => l.includes('"msg":"in.iked started"'))!;
    assert.ok(started.startsWith("<6>"), started);
    assert.equal(JSON.parse(started.slice(3)).sub, "dmn");
    assert.ok(lines.some((l) => l.startsWith("<7>") && JSON.parse(l.slice(3)).cat === "config"), "debug lines carry their category");
  } finally {
    p.kill("SIGTERM");
    await exited;
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("the UDP sockets' counters: each datagram read counted once by kind, the responder-cookie socket's apart", async () => {
  const root = makeRoot(GOOD_CONFIG);
  const IKE = 16625;
  const NATT = 16626;
  const sock = dgram.createSocket("udp4");
  let d: RunningDaemon | undefined;
  /** The transport's counters from one scrape, by kind, and the steered socket's. */
  const scrape = async (): Promise<Record<string, number>> => {
    const text = await (await fetch("http://127.0.0.1:16624/metrics")).text();
    const out: Record<string, number> = {};
    for (const m of text.matchAll(/^iked_transport_datagrams_total\{kind="(\w+)"\} (\d+)$/gm)) out[m[1]!] = Number(m[2]);
    const v = /^iked_transport_verified_datagrams_total (\d+)$/m.exec(text);
    if (v !== null) out.verified = Number(v[1]);
    for (const m of text.matchAll(/^iked_transport_sends_total\{outcome="(\w+)"\} (\d+)$/gm)) out[`send_${m[1]!}`] = Number(m[2]);
    return out;
  };
  try {
    d = await startDaemon(root, ["--metrics", "127.0.0.1:16624", "--port", String(IKE), "--natt-port", String(NATT)]);
    const before = await scrape();
    assert.deepEqual(before, { isakmp: 0, keepalive: 0, esp: 0, runt: 0, verified: 0, send_sent: 0, send_dropped: 0, send_error: 0 });
    sock.bind(0, "127.0.0.1");
    await once(sock, "listening");
    // Neither port is 500: every ISAKMP datagram carries the RFC 3948 non-ESP marker.
    const header = (rcookie: number): Buffer => {
      const h = Buffer.alloc(32);
      h.fill(0x5a, 4, 12); // initiator cookie
      if (rcookie !== 0) h.writeUInt32BE(rcookie, 16); // responder cookie (bytes 8..15 of the header)
      h[21] = 0x10; // version 1.0
      h[22] = 2; // Identity Protection
      h.writeUInt32BE(28, 28);
      return h;
    };
    const send = (b: Buffer, port: number) => new Promise<void>((resolve, reject) => sock.send(b, port, "127.0.0.1", (err) => (err ? reject(err) : resolve())));
    await send(header(0), IKE); // an MM1-shaped header: isakmp
    await send(header(0x1234), IKE); // a responder cookie: isakmp, read from the steered socket
    await send(Buffer.from([0, 0]), IKE); // shorter than the marker: runt
    await send(Buffer.from([0xff]), NATT); // keepalive
    await send(Buffer.from("0102030400000001", "hex"), NATT); // a non-zero SPI: ESP
    const want = { isakmp: 2, keepalive: 1, esp: 1, runt: 1, verified: 1 };
    let after: Record<string, number> = {};
    await poll(async () => {
      after = await scrape();
      return Object.entries(want).every(([k, n]) => after[k]! >= n);
    }, () => `the counters to move: ${JSON.stringify(after)}`);
    const { send_sent: sent, send_dropped: dropped, send_error: errors, ...read } = after;
    assert.deepEqual(read, want, "each datagram counted once, under its kind");
    // get stats --json has the same counters, the sends' included.
    const stats = await ikeadm(root, ["--json", "get", "stats"]);
    const t = (JSON.parse(stats.stdout) as { transport: Record<string, number> }).transport;
    assert.deepEqual([t.received, t.keepalives, t.espDropped, t.runts, t.verifiedReceived], [2, 1, 1, 1, 1]);
    assert.deepEqual([sent, dropped, errors], [t.sent, t.sendDropped, t.sendErrors]);
  } finally {
    sock.close();
    await d?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
});
