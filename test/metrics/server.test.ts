/**
 * The metrics endpoint on its own (src/metrics/server.ts): where it binds, what a non-scrape
 * request costs (a 404 of a few bytes and no collection at all), its bounds (header size,
 * connections, one collection at a time) and the Unix socket it can serve on instead.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import diagnostics from "node:diagnostics_channel";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { parseMetricsSetting, type MetricsEndpoint } from "../../src/config/metrics-address.js";
import { MAX_CONNECTIONS, MetricsServer } from "../../src/metrics/server.js";
import { poll, WAIT_MS } from "../helpers/wait.js";

function endpoint(text: string): MetricsEndpoint {
  const r = parseMetricsSetting(text);
  assert.ok(r.ok && r.value.kind !== "off", text);
  return r.value as MetricsEndpoint;
}

/** A server whose collection is counted (and can be held open). */
async function serve(text: string, gate?: Promise<void>): Promise<{ srv: MetricsServer; collections: () => number }> {
  let n = 0;
  const srv = await MetricsServer.listen({
    endpoint: endpoint(text),
    contentType: "text/plain; version=0.0.4",
    collect: async () => {
      n++;
      await gate;
      return "iked_up 1\n";
    },
  });
  return { srv, collections: () => n };
}

/** One raw HTTP exchange; resolves with everything the server sent before closing or `ms`. */
function raw(port: number, request: string, ms = WAIT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1");
    let got = "";
    const t = setTimeout(() => (s.destroy(), resolve(got)), ms);
    s.on("data", (d) => (got += d.toString("latin1")));
    s.on("close", () => (clearTimeout(t), resolve(got)));
    s.on("error", reject);
    s.write(request);
  });
}

test("a port alone binds 127.0.0.1, never another address", async () => {
  const { srv } = await serve("0");
  try {
    assert.match(srv.where, /^127\.0\.0\.1:\d+$/);
    const r = await fetch(`http://127.0.0.1:${srv.port}/metrics`);
    assert.equal(r.status, 200);
    assert.equal(await r.text(), "iked_up 1\n");
  } finally {
    await srv.close();
  }
});

test("anything but GET /metrics gets a 404 of a few bytes and collects nothing", async () => {
  const { srv, collections } = await serve("127.0.0.1:0");
  try {
    const base = `http://127.0.0.1:${srv.port}`;
    for (const [url, init] of [["/", {}], ["/metricsx", {}], ["/other/metrics", {}], ["/metrics", { method: "POST", body: "x".repeat(100_000) }], ["/metrics", { method: "HEAD" }], ["/metrics", { method: "DELETE" }]] as const) {
      const r = await fetch(base + url, init as RequestInit);
      assert.equal(r.status, 404, url);
      assert.ok((await r.text()).length <= 10);
    }
    assert.equal(collections(), 0, "no 404 collected metrics");
    assert.equal((await fetch(`${base}/metrics?x=1`)).status, 200);
    assert.equal(collections(), 1);
  } finally {
    await srv.close();
  }
});

test("an oversized request head is refused (431) without collecting", async () => {
  const { srv, collections } = await serve("127.0.0.1:0");
  try {
    const got = await raw(srv.port!, `GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(8000)}\r\n\r\n`);
    assert.match(got, /^HTTP\/1\.1 431/);
    assert.equal(collections(), 0);
  } finally {
    await srv.close();
  }
});

test("scrapes during a collection share it: one collection at a time", async () => {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const { srv, collections } = await serve("127.0.0.1:0", gate);
  try {
    // The gate opens once the server has all three requests (Node's http.server.request.start).
    let arrived = 0;
    const count = () => arrived++;
    diagnostics.subscribe("http.server.request.start", count);
    const pending = [1, 2, 3].map(() => fetch(`http://127.0.0.1:${srv.port}/metrics`).then((r) => r.text()));
    await poll(() => arrived === 3, () => `three requests at the server (${arrived} so far)`);
    diagnostics.unsubscribe("http.server.request.start", count);
    open();
    assert.deepEqual(await Promise.all(pending), ["iked_up 1\n", "iked_up 1\n", "iked_up 1\n"]);
    assert.equal(collections(), 1);
  } finally {
    await srv.close();
  }
});

test(`at most ${MAX_CONNECTIONS} connections: the next one is closed at once`, async () => {
  const { srv } = await serve("127.0.0.1:0");
  const held: net.Socket[] = [];
  try {
    for (let i = 0; i < MAX_CONNECTIONS; i++) {
      const s = net.connect(srv.port!, "127.0.0.1");
      await new Promise((r) => s.once("connect", r));
      held.push(s);
    }
    const extra = net.connect(srv.port!, "127.0.0.1");
    const closed = await new Promise<boolean>((resolve) => {
      extra.once("close", () => resolve(true));
      extra.once("error", () => resolve(true));
      setTimeout(() => resolve(false), WAIT_MS);
    });
    assert.ok(closed, "the connection beyond the limit was closed");
  } finally {
    for (const s of held) s.destroy();
    await srv.close();
  }
});

test("a Unix socket: mode 0660, a stale file replaced, a live one refused", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "iked-metrics-"));
  const sock = path.join(dir, "metrics.sock");
  try {
    // A stale socket file, nobody listening on it: a process bound it and exited without closing.
    execFileSync(process.execPath, ["-e", `require("net").createServer().listen(${JSON.stringify(sock)}, () => process.exit(0))`]);
    assert.ok(fs.lstatSync(sock).isSocket());
    const { srv } = await serve(`unix:${sock}`);
    try {
      assert.equal(fs.statSync(sock).mode & 0o777, 0o660);
      const body = await new Promise<string>((resolve, reject) => {
        const s = net.connect(sock);
        let got = "";
        s.on("data", (d) => (got += d.toString()));
        s.on("end", () => resolve(got));
        s.on("error", reject);
        s.write("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      });
      assert.match(body, /^HTTP\/1\.1 200[\s\S]*iked_up 1/);
      await assert.rejects(serve(`unix:${sock}`), /served by another process/);
    } finally {
      await srv.close();
    }
    fs.writeFileSync(path.join(dir, "plain"), "");
    await assert.rejects(serve(`unix:${path.join(dir, "plain")}`), /not a socket/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a port in use is an error the caller sees", async () => {
  const { srv } = await serve("127.0.0.1:0");
  try {
    await assert.rejects(serve(`127.0.0.1:${srv.port}`), { code: "EADDRINUSE" });
  } finally {
    await srv.close();
  }
});
