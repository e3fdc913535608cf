import { test } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import {
  optionsToArgs,
  parseKeys,
  parseKv,
  sharedDir,
  uniqueName,
} from "./interop.js";
import { readPcapFile } from "./pcap.js";
import { interopTest } from "./scenario.js";

test("interop: parseKv reads one-per-line and one-line outputs", () => {
  assert.deepEqual(parseKv("name=a\npid=12\ndir=/x/y\n"), { name: "a", pid: "12", dir: "/x/y" });
  assert.deepEqual(parseKv("name=a state=stopped log=/l\n"), { name: "a", state: "stopped", log: "/l" });
  assert.deepEqual(parseKv("ike=ESTABLISHED child=INSTALLED elapsed_ms=160"), {
    ike: "ESTABLISHED",
    child: "INSTALLED",
    elapsed_ms: "160",
  });
  assert.deepEqual(parseKv("garbage\n=x\n"), {});
});

test("interop: optionsToArgs maps camelCase to --kebab-case and drops undefined", () => {
  assert.deepEqual(optionsToArgs({ name: "n", localPort: 11500, nattPort: undefined, espMode: "transport" }), [
    "--name",
    "n",
    "--local-port",
    "11500",
    "--esp-mode",
    "transport",
  ]);
});

test("interop: parseKeys separates IKE, child and installed-SA lines", () => {
  const k = parseKeys(
    [
      "ike_sa=peer|1 icookie=99 rcookie=35 enc_key=36 iv=c3",
      "child ike_sa=peer|1 encr_i=7c encr_r=15",
      "sa add_sa src=127.0.1.2 dst=127.0.1.1 spi=0xcf8e39f0 proto=esp",
    ].join("\n"),
  );
  assert.equal(k.ike[0]?.icookie, "99");
  assert.equal(k.child[0]?.encr_r, "15");
  assert.equal(k.sa[0]?.op, "add_sa");
  assert.equal(k.sa[0]?.spi, "0xcf8e39f0");
});

test("interop: uniqueName is harness-valid and unique", () => {
  const a = uniqueName("t 1/x");
  const b = uniqueName("t 1/x");
  assert.notEqual(a, b);
  assert.match(a, /^fx-[A-Za-z0-9_.-]{1,77}$/);
  assert.ok(sharedDir().length > 0);
});

interopTest("interop: strongSwan responder + initiator pair establishes", async (s) => {
  const cap = await s.capture(uniqueName("hc"), { ports: "11600-11619" });
  const r = await s.strongSwan({ name: uniqueName("hr"), role: "responder", local: "127.0.1.21", remote: "127.0.1.22", localPort: 11600, nattPort: 11601, remotePort: 11610 });
  const i = await s.strongSwan({ name: uniqueName("hi"), role: "initiator", local: "127.0.1.22", remote: "127.0.1.21", localPort: 11610, nattPort: 11611, remotePort: 11600 });
  await s.established(i);
  assert.equal((await i.status()).kv.ike, "ESTABLISHED");
  await s.established(r);
  await cap.stop();

  // Both charons use non-500 ports, so every IKE packet carries the RFC 3948 non-ESP marker.
  const pcap = readPcapFile(cap.pcap);
  rmSync(cap.pcap, { force: true });
  assert.equal(pcap.error, undefined);
  const ike = pcap.datagrams.filter((d) => d.sport === 11610 && d.dport === 11600);
  assert.ok(ike.length >= 1, "no MM1 captured");
  assert.equal(ike[0]?.payload.readUInt32BE(0), 0);
  assert.equal(ike[0]?.payload[4 + 16 + 2], 0x02, "first packet is Main Mode");
});
