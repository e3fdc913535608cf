import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { formatPrefix } from "../../src/kernel/address.js";
import { AuthAlg, EncAlg } from "../../src/kernel/algorithms.js";
import { formatPolicyError, loadIpsecPolicy, MAX_POLICY_ERRORS, parseIpsecPolicy } from "../../src/policy/index.js";
import { policyFixture } from "./fixtures.js";

const pfx = (p: { bytes: Uint8Array; length: number; family: 4 | 6 } | null) => (p === null ? null : formatPrefix(p));

test("a site policy written the illumos way parses into typed entries", async () => {
  const { policy, errors } = await loadIpsecPolicy(policyFixture("site.ipsecinit.conf"));
  assert.deepEqual(errors, []);
  assert.equal(policy.entries.length, 13);
  const [dns1, dns2, ntp, telnet, arachnid, lab, v6, nd, branch, tun1, apply, permit, drop] = policy.entries;

  assert.equal(dns1!.pattern.localPort, 53);
  assert.equal(dns1!.actions[0]!.type, "bypass");
  assert.equal(dns2!.pattern.remotePort, 53);
  assert.deepEqual([ntp!.pattern.ulp, ntp!.pattern.remotePort, ntp!.actions[0]!.type, ntp!.dir], [17, 123, "bypass", "both"]);

  assert.equal(telnet!.line, 12);
  assert.equal(pfx(telnet!.pattern.remote), "192.0.2.20/32");
  assert.equal(telnet!.pattern.remotePort, 23);
  assert.equal(telnet!.actions.length, 2);
  assert.deepEqual(telnet!.actions[0], {
    type: "ipsec",
    ah: null,
    espEncr: { id: EncAlg.TripleDesCbc, name: "3des", minBits: 0, maxBits: 0 },
    espAuth: { id: AuthAlg.HmacSha1, name: "sha1", minBits: 0, maxBits: 0 },
    sa: "shared",
    dir: null,
  });
  assert.deepEqual(telnet!.actions[1]!.espEncr, { id: EncAlg.AesCbc, name: "aes", minBits: 128, maxBits: 256 });

  assert.equal(arachnid!.line, 17);
  assert.equal(pfx(arachnid!.pattern.local), "192.0.2.10/32");
  assert.deepEqual(arachnid!.actions[0]!.espEncr, { id: EncAlg.AesCbc, name: "aes", minBits: 256, maxBits: 256 });
  assert.equal(arachnid!.actions[0]!.espAuth!.id, AuthAlg.HmacSha256);
  assert.equal(arachnid!.actions[0]!.sa, "unique");

  assert.deepEqual([lab!.actions[0]!.ah!.id, lab!.actions[0]!.espEncr!.id, lab!.actions[0]!.espAuth!.id], [AuthAlg.HmacSha1, EncAlg.BlowfishCbc, AuthAlg.HmacMd5]);
  assert.equal(pfx(v6!.pattern.remote), "2001:db8:1::/48");
  assert.equal(v6!.actions[0]!.ah!.name, "SHA1");
  assert.deepEqual([nd!.pattern.ulp, nd!.pattern.icmpType, nd!.actions[0]!.type], [58, { min: 133, max: 137 }, "bypass"]);

  assert.deepEqual([branch!.pattern.tunnel, branch!.pattern.negotiate, pfx(branch!.pattern.local), pfx(branch!.pattern.remote)], ["ip.tun0", "tunnel", "10.1.0.0/16", "10.2.0.0/16"]);
  assert.deepEqual([tun1!.pattern.tunnel, tun1!.pattern.negotiate, tun1!.pattern.local], ["ip.tun1", "transport", null]);

  assert.deepEqual([pfx(apply!.pattern.local), pfx(apply!.pattern.remote), apply!.pattern.ulp, apply!.pattern.remotePort, apply!.dir], ["192.0.2.0/24", "203.0.113.5/32", 6, 443, "out"]);
  assert.deepEqual(apply!.actions[0]!.espEncr, { id: "any", name: "any", minBits: 192, maxBits: 0 });
  // Inbound: the datagram's source (srcaddr, sport) is the remote side.
  assert.deepEqual([pfx(permit!.pattern.local), pfx(permit!.pattern.remote), permit!.pattern.remotePort, permit!.dir, permit!.actions[0]!.type], ["192.0.2.10/32", "203.0.113.5/32", 443, "in", "permit"]);
  assert.deepEqual([pfx(drop!.pattern.remote), drop!.actions[0]!.type, drop!.index], ["192.0.2.66/32", "drop", 13]);
});

/** Each line of errors.ipsecinit.conf holds one mistake; these are the exact reports. */
const EXPECTED_ERRORS: Array<[number, number, string, string]> = [
  [2, 25, "IKE_ERR_POLICY_VALUE", "'99999' is not a port number (1..65535) or known service name"],
  [3, 9, "IKE_ERR_POLICY_HOSTNAME", "'spiderweb' is a host or network name; names are not resolved, write an address literal"],
  [4, 35, "IKE_ERR_POLICY_DUPLICATE", "duplicate 'daddr' (already given as 'raddr' at 4:3)"],
  [5, 39, "IKE_ERR_POLICY_VALUE", "unknown encryption algorithm 'rot13'"],
  [6, 39, "IKE_ERR_POLICY_VALUE", "aes keys are 128..256 bits; '(512)' leaves none"],
  [7, 30, "IKE_ERR_POLICY_CONFLICT", "'encr_algs' does not belong to a bypass action"],
  [8, 21, "IKE_ERR_POLICY_CONFLICT", "'ipsec' needs auth_algs, encr_algs or encr_auth_algs"],
  [9, 21, "IKE_ERR_POLICY_KEYWORD", "unknown action 'encrypt' (expected ipsec, apply, permit, bypass, pass or drop)"],
  [10, 19, "IKE_ERR_POLICY_KEYWORD", "unknown pattern name 'color'"],
  [11, 19, "IKE_ERR_POLICY_CONFLICT", "'type' needs 'ulp icmp' or 'ulp ipv6-icmp'"],
  [13, 2, "IKE_ERR_POLICY_SYNTAX", "'or' must be on the same line as the '}' before it"],
  [14, 9, "IKE_ERR_POLICY_VALUE", "prefix length in '192.0.2.1/33' must be 0..32"],
  [15, 47, "IKE_ERR_POLICY_CONFLICT", "'apply' applies to outbound traffic only, not 'in'"],
  [16, 3, "IKE_ERR_POLICY_CONFLICT", "'negotiate' needs 'tunnel'"],
  [17, 28, "IKE_ERR_POLICY_CONFLICT", "'negotiate transport' allows no addresses in the entry"],
  [18, 22, "IKE_ERR_POLICY_CONFLICT", "'smask' given although 'laddr' has a prefix length"],
  [19, 25, "IKE_ERR_POLICY_VALUE", "mask '255.0.255.0' is not contiguous"],
  [20, 25, "IKE_ERR_POLICY_CONFLICT", "local and remote addresses are of different families"],
  [21, 51, "IKE_ERR_POLICY_CONFLICT", "with 'ipsec', 'dir' belongs in the pattern"],
  [22, 39, "IKE_ERR_POLICY_VALUE", "key length '(..)' must be (n), (n..), (..n) or (n..m)"],
  [23, 46, "IKE_ERR_POLICY_VALUE", "sa must be shared or unique, not 'maybe'"],
  [24, 45, "IKE_ERR_POLICY_SYNTAX", "a policy entry must begin on a new line"],
  [25, 28, "IKE_ERR_POLICY_CONFLICT", "'code' needs 'type'"],
  [26, 21, "IKE_ERR_POLICY_CONFLICT", "'apply' cannot be combined with 'or'"],
  [27, 43, "IKE_ERR_POLICY_DUPLICATE", "duplicate 'encr_algs' (already given as 'encr_algs' at 27:29)"],
  [28, 39, "IKE_ERR_POLICY_VALUE", "null encryption takes no key length"],
  [29, 27, "IKE_ERR_POLICY_SYNTAX", "'rport' needs a value"],
  [29, 1, "IKE_ERR_POLICY_SYNTAX", "'{' of the pattern is never closed"],
];

test("every mistake is reported with its exact line, column and code", async () => {
  const file = policyFixture("errors.ipsecinit.conf");
  const { errors, policy } = await loadIpsecPolicy(file);
  assert.deepEqual(errors.map((e) => [e.line, e.col, e.code, e.message]), EXPECTED_ERRORS);
  assert.ok(errors.every((e) => e.file === file));
  assert.equal(formatPolicyError(errors[0]!), `${file}:2:25: '99999' is not a port number (1..65535) or known service name`);
  // Only the first, well-formed entry of line 24 survives.
  assert.deepEqual(policy.entries.map((e) => e.line), [24]);
});

test("each pattern keyword and alias is read", () => {
  const src = [
    "{ saddr 10.0.0.1 daddr 10.0.0.2 sport 1000 dport 2000 proto udp } ipsec { encr_algs des }",
    "{ src 10.0.0.1 dst 10.0.0.2 } ipsec { encr_algs des-cbc }",
    "{ srcaddr 10.0.0.0 smask 0xFFFF0000 dstaddr 10.1.0.0 dmask 255.255.255.0 } ipsec { encr_algs 3des-cbc }",
    "{ local 10.0.0.1 remote 10.0.0.2 lport ssh rport 22 ulp 6 } ipsec { encr_algs blowfish-cbc }",
    "{ laddr ::1 raddr fe80::a00:20ff:fe21:4483 } ipsec { encr_algs aes-cbc }",
    "{ ulp icmp type echo code 0 dir in } bypass { }",
    "{ ulp icmp type 3 code host-unr-net-unr } bypass { }",
    "{ ulp ipv6-icmp type neigh-sol6 code 0-2 dir out } drop { }",
    "{ tunnel ip6.tun3 } ipsec { encr_algs aes }",
  ].join("\n");
  const { policy, errors } = parseIpsecPolicy(src, "kw.conf");
  assert.deepEqual(errors.map((e) => [e.line, e.col, e.message]), [[7, 24, "ICMP code 'host-unr-net-unr' must be 0..254, a range n-m, or an ICMP code name"]]);
  const e = policy.entries;
  assert.equal(e.length, 8);
  assert.deepEqual([pfx(e[0]!.pattern.local), pfx(e[0]!.pattern.remote), e[0]!.pattern.localPort, e[0]!.pattern.remotePort, e[0]!.pattern.ulp], ["10.0.0.1/32", "10.0.0.2/32", 1000, 2000, 17]);
  assert.equal(e[1]!.actions[0]!.espEncr!.id, EncAlg.DesCbc);
  assert.deepEqual([pfx(e[2]!.pattern.local), pfx(e[2]!.pattern.remote)], ["10.0.0.0/16", "10.1.0.0/24"]);
  assert.deepEqual([e[3]!.pattern.localPort, e[3]!.pattern.remotePort, e[3]!.pattern.ulp, e[3]!.actions[0]!.espEncr!.id], [22, 22, 6, EncAlg.BlowfishCbc]);
  assert.deepEqual([pfx(e[4]!.pattern.local), pfx(e[4]!.pattern.remote)], ["::1/128", "fe80::a00:20ff:fe21:4483/128"]);
  assert.deepEqual([e[5]!.pattern.icmpType, e[5]!.pattern.icmpCode, e[5]!.dir], [{ min: 8, max: 8 }, { min: 0, max: 0 }, "in"]);
  assert.deepEqual([e[6]!.pattern.icmpType, e[6]!.pattern.icmpCode, e[6]!.dir, e[6]!.actions[0]!.type], [{ min: 135, max: 135 }, { min: 0, max: 2 }, "out", "drop"]);
  assert.deepEqual([e[7]!.pattern.tunnel, e[7]!.pattern.negotiate], ["ip6.tun3", null]);
});

test("algorithm names, numbers and every key-length form", () => {
  const algs = [
    ["aes", "AES", 0, 0], ["aes(192)", "aes", 192, 192], ["aes(..192)", "aes", 0, 192], ["aes(192..)", "aes", 192, 0],
    ["aes(192..256)", "aes", 192, 256], ["any(192..)", "any", 192, 0], ["12", "12", 0, 0], ["NULL", "NULL", 0, 0],
  ] as const;
  const src = algs.map(([a], i) => `{ lport ${1000 + i} } ipsec { encr_algs ${a === "aes" ? "AES" : a} }`).join("\n");
  const { policy, errors } = parseIpsecPolicy(src + "\n{ lport 9 } ipsec { encr_algs aes (128..192) auth_algs hmac-sha512 encr_auth_algs hmac-sha }\n");
  assert.deepEqual(errors, []);
  algs.forEach(([, name, minBits, maxBits], i) => {
    const c = policy.entries[i]!.actions[0]!.espEncr!;
    assert.deepEqual([c.name, c.minBits, c.maxBits], [name, minBits, maxBits]);
  });
  const last = policy.entries[algs.length]!.actions[0]!;
  assert.deepEqual([last.espEncr!.minBits, last.espEncr!.maxBits, last.ah!.id, last.espAuth!.id], [128, 192, AuthAlg.HmacSha512, AuthAlg.HmacSha1]);
  const bad = parseIpsecPolicy("{ } ipsec { encr_algs aes(256..128) auth_algs md5(512) encr_auth_algs 300 }\n");
  assert.deepEqual(bad.errors.map((e) => [e.col, e.message]), [
    [23, "key length range '(256..128)' runs backwards"],
    [47, "hmac-md5 keys are 128..128 bits; '(512)' leaves none".replace("hmac-md5", "md5")],
    [71, "unknown authentication algorithm '300'"],
  ]);
});

test("comments, blank lines and brace spacing do not matter; empty input is an empty policy", () => {
  const a = parseIpsecPolicy("{raddr 10.0.0.1}ipsec{encr_algs aes}#c\n");
  const b = parseIpsecPolicy("# head\n\n   {   raddr   10.0.0.1   }   ipsec   {   encr_algs   aes   }   # tail\n\n");
  assert.deepEqual(a.errors, []);
  assert.deepEqual(b.errors, []);
  assert.deepEqual(a.policy.entries.map((e) => e.actions), b.policy.entries.map((e) => e.actions));
  assert.deepEqual(parseIpsecPolicy("").policy.entries, []);
  assert.deepEqual(parseIpsecPolicy("# nothing but a comment\n").errors, []);
  // Unicode white space separates words like a space does.
  assert.deepEqual(parseIpsecPolicy("{\u00a0raddr\u2028 10.0.0.1 }\u2029ipsec { encr_algs aes }").policy.entries.length, 1);
});

test("stray tokens and unclosed braces are reported and parsing resumes at the next entry", () => {
  const src = "ipsec { encr_algs aes }\n{ raddr 10.0.0.1 } ipsec { encr_algs aes\n{ raddr 10.0.0.2 } ipsec { encr_algs aes }\n{ raddr 10.0.0.3 } ipsec\n";
  const { errors, policy } = parseIpsecPolicy(src, "x");
  assert.deepEqual(errors.map((e) => [e.line, e.col, e.message]), [
    [1, 1, "expected '{' to begin a policy entry, found 'ipsec'"],
    [3, 1, "unexpected '{' inside the properties"],
    [4, 25, "expected '{' to open the properties after 'ipsec'"],
  ]);
  assert.deepEqual(policy.entries, []);
});

test("the loader reports unreadable files as an error value", async () => {
  const r = await loadIpsecPolicy("/nonexistent/ipsecinit.conf");
  assert.deepEqual(r.errors.map((e) => [e.code, e.line, e.col, e.message]), [["IKE_ERR_POLICY_IO", 1, 1, "cannot read policy file (ENOENT)"]]);
  assert.equal(r.missing, true, "a file that does not exist is told from one that cannot be read");
});

test("a policy file that is a dangling symlink is an error, not an absent file (a reload keeps the running policy)", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "iked-policy-"));
  try {
    // e.g. a link into a configuration volume that is not mounted: the file is there, unreadable.
    const link = path.join(dir, "ipsecinit.conf");
    symlinkSync(path.join(dir, "unmounted", "ipsecinit.conf"), link);
    const r = await loadIpsecPolicy(link);
    assert.deepEqual(r.errors.map((e) => [e.code, e.line, e.col, e.message]), [["IKE_ERR_POLICY_IO", 1, 1, "cannot read policy file (dangling symbolic link: ENOENT)"]]);
    assert.equal(r.missing, undefined, "the link exists: an error, not an absent file");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a policy file under a directory that is a dangling symlink is an error, not an absent file", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "iked-policy-"));
  try {
    // e.g. /etc/inet a link into a configuration volume that is not mounted: a reload must keep the running policy.
    const etc = path.join(dir, "inet");
    symlinkSync(path.join(dir, "unmounted", "inet"), etc);
    const r = await loadIpsecPolicy(path.join(etc, "ipsecinit.conf"));
    assert.deepEqual(r.errors.map((e) => [e.code, e.line, e.col, e.message]), [["IKE_ERR_POLICY_IO", 1, 1, "cannot read policy file (dangling symbolic link: ENOENT)"]]);
    assert.equal(r.missing, undefined, "a directory on the path is a dangling link: an error, not an absent file");
    // A link that resolves, to a directory without the file: the file is absent.
    const real = path.join(dir, "real");
    mkdirSync(real);
    const good = path.join(dir, "good");
    symlinkSync(real, good);
    assert.equal((await loadIpsecPolicy(path.join(good, "ipsecinit.conf"))).missing, true);
    assert.equal((await loadIpsecPolicy(path.join(dir, "none", "ipsecinit.conf"))).missing, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the loader refuses a device or FIFO instead of reading without end or waiting for a writer", { timeout: 10_000 }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "iked-policy-"));
  try {
    const fifo = path.join(dir, "fifo");
    execFileSync("mkfifo", [fifo]);
    for (const p of ["/dev/zero", fifo]) {
      const r = await loadIpsecPolicy(p);
      assert.deepEqual(r.errors.map((e) => [e.code, e.message]), [["IKE_ERR_POLICY_IO", "not a regular file"]]);
      assert.equal(r.missing, undefined, "it exists: an error, not an absent file");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the error list is bounded: a file of mistakes stops at MAX_POLICY_ERRORS with a final marker", () => {
  const bad = "{ raddr 10.0.0.1 colour 1 } pass {}\n".repeat(5000);
  const { errors, policy } = parseIpsecPolicy(bad + "{ raddr 10.0.0.2 } pass {}\n", "p");
  assert.equal(errors.length, MAX_POLICY_ERRORS);
  assert.deepEqual(errors.slice(0, 2).map((e) => [e.line, e.col, e.code]), [[1, 18, "IKE_ERR_POLICY_KEYWORD"], [2, 18, "IKE_ERR_POLICY_KEYWORD"]]);
  assert.deepEqual([errors.at(-1)!.code, errors.at(-1)!.line], ["IKE_ERR_POLICY_TOO_MANY_ERRORS", MAX_POLICY_ERRORS]);
  assert.deepEqual(policy.entries, []);
});

test("arbitrary bytes never make the parser throw", () => {
  const corpus = readFileSync(policyFixture("site.ipsecinit.conf"), "utf8");
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let i = 0; i < 300; i++) {
    const chars = corpus.split("");
    for (let j = 0; j < 5; j++) chars[Math.floor(rnd() * chars.length)] = String.fromCharCode(Math.floor(rnd() * 128));
    const cut = chars.slice(0, Math.floor(rnd() * chars.length)).join("");
    const r = parseIpsecPolicy(cut, "fuzz");
    for (const e of r.errors) assert.ok(e.line >= 1 && e.col >= 1, `seed ${seed}`);
  }
});

test("error columns count code points, so an emoji before a mistake does not shift it", () => {
  const { errors } = parseIpsecPolicy("# 😀\n{ laddr 😀😀 colour 1 } pass {}\n", "p.conf");
  assert.deepEqual(errors.map((e) => [e.line, e.col, e.code]), [
    [2, 9, "IKE_ERR_POLICY_VALUE"],
    [2, 12, "IKE_ERR_POLICY_KEYWORD"],
  ]);
});
