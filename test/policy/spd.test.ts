import { test } from "node:test";
import assert from "node:assert/strict";
import { formatPolicyError, parseIpsecPolicy } from "../../src/policy/index.js";
import { spdErrors, spdFromIpsecPolicy } from "../../src/policy/spd.js";

/** ipsecinit.conf entries as kernel SPD policies. */
const parse = (text: string) => {
  const r = parseIpsecPolicy(text);
  assert.deepEqual(r.errors, []);
  return r.policy;
};

test("a host entry becomes an out and an in policy; ESP before AH; ranks follow the SPD order", () => {
  const t = spdFromIpsecPolicy(parse("{ laddr 192.0.2.1 raddr 192.0.2.2 ulp tcp rport 23 } ipsec { encr_algs aes encr_auth_algs sha1 auth_algs sha256 }\n{ raddr 192.0.2.9 } bypass {}\n"));
  assert.deepEqual(t.refused, []);
  assert.deepEqual(t.policies, [
    { id: 2, dir: "out", selector: { src: "0.0.0.0/0", dst: "192.0.2.9/32", ulp: 0, srcPort: 0, dstPort: 0 }, action: "bypass", rank: 0, templates: [] },
    { id: 2, dir: "in", selector: { src: "192.0.2.9/32", dst: "0.0.0.0/0", ulp: 0, srcPort: 0, dstPort: 0 }, action: "bypass", rank: 0, templates: [] },
    { id: 1, dir: "out", selector: { src: "192.0.2.1/32", dst: "192.0.2.2/32", ulp: 6, srcPort: 0, dstPort: 23 }, action: "ipsec", rank: 1, templates: [{ proto: "esp", mode: "transport" }, { proto: "ah", mode: "transport" }] },
    { id: 1, dir: "in", selector: { src: "192.0.2.2/32", dst: "192.0.2.1/32", ulp: 6, srcPort: 23, dstPort: 0 }, action: "ipsec", rank: 1, templates: [{ proto: "esp", mode: "transport" }, { proto: "ah", mode: "transport" }] },
  ]);
});

test("an entry without addresses covers both families; apply and permit keep their one direction", () => {
  const t = spdFromIpsecPolicy(parse("{ ulp udp rport 53 } apply { encr_algs aes sa shared }\n{ ulp udp lport 53 } permit { encr_algs aes }\n"));
  assert.deepEqual(t.policies.map((p) => [p.id, p.dir, p.selector.src, p.selector.dst]), [
    [1, "out", "0.0.0.0/0", "0.0.0.0/0"],
    [1, "out", "::/0", "::/0"],
    [2, "in", "0.0.0.0/0", "0.0.0.0/0"],
    [2, "in", "::/0", "::/0"],
  ]);
});

test("tunnel mode: the named tunnel's endpoints, and a forward policy for the gateway", () => {
  const policy = parse("{ tunnel ip.tun0 negotiate tunnel laddr 198.51.100.0/24 raddr 203.0.113.0/24 } ipsec { encr_algs aes encr_auth_algs sha1 }\n");
  const t = spdFromIpsecPolicy(policy, (name) => (name === "ip.tun0" ? { local: "192.0.2.1", remote: "192.0.2.2" } : undefined));
  assert.deepEqual(t.policies.map((p) => [p.dir, p.selector.src, p.selector.dst, p.templates]), [
    ["out", "198.51.100.0/24", "203.0.113.0/24", [{ proto: "esp", mode: "tunnel", src: "192.0.2.1", dst: "192.0.2.2" }]],
    ["in", "203.0.113.0/24", "198.51.100.0/24", [{ proto: "esp", mode: "tunnel", src: "192.0.2.2", dst: "192.0.2.1" }]],
    ["fwd", "203.0.113.0/24", "198.51.100.0/24", [{ proto: "esp", mode: "tunnel", src: "192.0.2.2", dst: "192.0.2.1" }]],
  ]);
  const unknown = spdFromIpsecPolicy(policy);
  assert.deepEqual(unknown.policies, []);
  assert.match(unknown.refused[0]!.reason, /no endpoints known for tunnel ip\.tun0/);
});

test("what a Linux policy cannot say is refused with a reason; differing alternatives warn", () => {
  const t = spdFromIpsecPolicy(parse("{ ulp icmp type 0-8 } drop {}\n{ ulp icmp type 8 code 0 } pass {}\n{ tunnel ip.tun1 negotiate transport } ipsec { encr_algs aes }\n{ raddr 192.0.2.3 } ipsec { encr_algs aes } or ipsec { auth_algs sha1 }\n"));
  assert.deepEqual(t.refused.map((r) => r.entry.index), [1, 3]);
  assert.match(t.refused[0]!.reason, /ICMP type or code range/);
  assert.match(t.refused[1]!.reason, /without inner addresses/);
  const icmp = t.policies.filter((p) => p.id === 2);
  assert.deepEqual(icmp.map((p) => [p.dir, p.selector.srcPort, p.selector.dstPort]), [["out", 8, 0], ["in", 8, 0]]);
  assert.deepEqual(t.warnings.map((w) => w.entry.index), [4]);
  assert.deepEqual(t.policies.find((p) => p.id === 4)!.templates, [{ proto: "esp", mode: "transport" }]);
});

test("entries a Linux policy cannot say are errors of the file at the entry's '{', in file order, with a stable code", () => {
  const policy = parseIpsecPolicy(
    "{ raddr 192.0.2.3 } ipsec { encr_algs aes }\n  { tunnel ip.tun1 negotiate transport } ipsec { encr_algs aes }\n{ ulp icmp type 0-8 } drop {}\n{ tunnel ip.tun0 negotiate tunnel raddr 203.0.113.0/24 } ipsec { encr_algs aes }\n",
    "/etc/inet/ipsecinit.conf",
  );
  assert.deepEqual(policy.errors, []);
  const errors = spdErrors(policy.policy, () => undefined);
  assert.deepEqual(errors.map((e) => [e.code, formatPolicyError(e)]), [
    ["IKE_ERR_POLICY_UNSUPPORTED", "/etc/inet/ipsecinit.conf:2:3: policy entry 2 cannot be put in the kernel: tunnel ip.tun1 without inner addresses (an interface policy Linux has no form for)"],
    ["IKE_ERR_POLICY_UNSUPPORTED", "/etc/inet/ipsecinit.conf:3:1: policy entry 3 cannot be put in the kernel: an ICMP type or code range (a kernel selector holds one value or any)"],
    ["IKE_ERR_POLICY_UNSUPPORTED", "/etc/inet/ipsecinit.conf:4:1: policy entry 4 cannot be put in the kernel: no endpoints known for tunnel ip.tun0"],
  ]);
  // With the tunnel's endpoints known, and the other two entries gone, nothing is refused.
  const good = parse("{ raddr 192.0.2.3 } ipsec { encr_algs aes }\n{ ulp icmp type 8 code 0 } drop {}\n{ tunnel ip.tun0 negotiate tunnel raddr 203.0.113.0/24 } ipsec { encr_algs aes }\n");
  assert.deepEqual(spdErrors(good, () => ({ local: "192.0.2.1", remote: "192.0.2.2" })), []);
});
