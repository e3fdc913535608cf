/**
 * use_http: CRLs fetched from a certificate's distribution point, directly and through an HTTP
 * proxy, cached, bounded in time and size. Opens sockets: run inside a network namespace
 * (/work/wt-tools/nsrun NAME ...), as every socket test here.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { after, describe, test } from "node:test";
import { CrlFetcher, CrlIndex, inlineVerifier, parseCertificate, validatePath, PkiCode } from "../../src/pki/index.js";
import { derObjects } from "../../src/pki/pem.js";
import { WAIT_MS } from "../helpers/wait.js";
import { pkiTestOptions, removeTestPki, testPki } from "./fixtures.js";

const servers: http.Server[] = [];
after(async () => {
  for (const s of servers) await new Promise((r) => s.close(r));
  removeTestPki();
});

async function serve(handler: http.RequestListener): Promise<number> {
  const s = http.createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  return (s.address() as AddressInfo).port;
}

const cert = (file: string) => {
  const d = derObjects(fs.readFileSync(file), "certificate");
  assert.ok(Array.isArray(d));
  const r = parseCertificate(d[0]!);
  assert.ok(r.ok);
  return r.value;
};

describe("CRL fetching (use_http, proxy)", pkiTestOptions(), () => {
  test("direct fetch, cache, a revoked certificate found through its distribution point", async () => {
    const pki = testPki();
    const crl = fs.readFileSync(pki.crlDer);
    let hits = 0;
    const port = await serve((req, res) => {
      hits++;
      if (req.url === "/ca.crl") res.end(crl);
      else res.writeHead(404).end();
    });
    const url = `http://127.0.0.1:${port}/ca.crl`;
    // A certificate of the same CA naming that distribution point.
    execFileSync("sh", ["-c", `pki --gen --type rsa --size 1024 > cdp.key && pki --pub --in cdp.key | pki --issue --cacert ca.crt --cakey ca.key --dn "C=US, O=IKEv1 Interop Test, CN=cdp.example" --san cdp.example --crl ${url} > cdp.crt`],
      { cwd: pki.dir, env: { ...process.env, STRONGSWAN_CONF: path.join(pki.dir, "pki.conf") } });
    const outcomes: string[] = [];
    const fetcher = new CrlFetcher({ onResult: (u, o) => outcomes.push(`${u} ${o.ok}`) });
    const leaf = cert(path.join(pki.dir, "cdp.crt"));
    assert.deepEqual(leaf.ext.crlDistributionPoints, [url]);
    const o = { anchors: { roots: [cert(pki.ca)], trusted: [] }, intermediates: [], maxCerts: 4, now: Date.now(), verifier: inlineVerifier, usage: "signature" as const };
    const ok = await validatePath(leaf, [], { ...o, crls: new CrlIndex([], fetcher) });
    assert.ok(ok.ok, ok.ok ? "" : ok.error.message);
    assert.equal(hits, 1);
    const again = await validatePath(leaf, [], { ...o, crls: new CrlIndex([], fetcher) });
    assert.ok(again.ok);
    assert.equal(hits, 1, "the CRL came from the cache");
    assert.deepEqual(outcomes, [`${url} true`]);
    const none = await validatePath(leaf, [], { ...o, crls: new CrlIndex([]) });
    assert.equal(!none.ok && none.error.code, PkiCode.CrlUnavailable, "without use_http the CRL is missing");
  });

  test("through the proxy: the request carries the absolute URI", async () => {
    const crl = fs.readFileSync(testPki().crlDer);
    const seen: string[] = [];
    const proxyPort = await serve((req, res) => {
      seen.push(`${req.url} host=${req.headers.host}`);
      res.end(crl);
    });
    const f = new CrlFetcher({ proxy: `http://127.0.0.1:${proxyPort}` });
    const got = await f.fetch("http://crl.example.net:8080/root.crl");
    assert.ok(got);
    assert.deepEqual(seen, ["http://crl.example.net:8080/root.crl host=crl.example.net:8080"]);
  });

  test("bounded: a server that never answers, one that sends too much, a 404, https, garbage; failures are cached", async () => {
    const silent = await serve(() => undefined);
    const huge = await serve((_req, res) => {
      res.writeHead(200);
      const chunk = Buffer.alloc(64 * 1024, 0x30);
      let sent = 0;
      const more = () => {
        while (sent < 8 * 1024 * 1024) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once("drain", more);
        }
        res.end();
      };
      more();
    });
    let missingHits = 0;
    const missing = await serve((_req, res) => {
      missingHits++;
      res.writeHead(404).end();
    });
    const junk = await serve((_req, res) => res.end("not a CRL"));
    const reasons = new Map<string, string>();
    const onResult = (u: string, o: { ok: true } | { ok: false; reason: string }) => void (!o.ok && reasons.set(u, o.reason));
    // The silent server meets a short deadline; the others a generous one, so that on a loaded
    // machine the 8 MiB answer is refused for its size, not for its time.
    const quick = new CrlFetcher({ timeoutMs: 300, maxBytes: 256 * 1024, onResult });
    assert.equal(await quick.fetch(`http://127.0.0.1:${silent}/x.crl`), undefined);
    const f = new CrlFetcher({ timeoutMs: WAIT_MS, maxBytes: 256 * 1024, onResult });
    assert.equal(await f.fetch(`http://127.0.0.1:${huge}/x.crl`), undefined);
    assert.equal(await f.fetch(`http://127.0.0.1:${missing}/x.crl`), undefined);
    assert.equal(await f.fetch(`http://127.0.0.1:${missing}/x.crl`), undefined);
    assert.equal(missingHits, 1, "a failure is cached");
    assert.equal(await f.fetch(`http://127.0.0.1:${junk}/x.crl`), undefined);
    assert.equal(await f.fetch("https://127.0.0.1/x.crl"), undefined);
    assert.match(reasons.get(`http://127.0.0.1:${silent}/x.crl`)!, /within 300 ms/);
    assert.match(reasons.get(`http://127.0.0.1:${huge}/x.crl`)!, /larger than 262144/);
    assert.match(reasons.get(`http://127.0.0.1:${missing}/x.crl`)!, /404/);
    assert.match(reasons.get("https://127.0.0.1/x.crl")!, /only http/);
    assert.throws(() => new CrlFetcher({ proxy: "socks5://127.0.0.1:1080" }), /only http:\/\/ proxies/);
  });
});
