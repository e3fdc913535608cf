/**
 * Upper bounds of ike.config's time and size knobs (issue 11 item 5: a lifetime over about 24.8
 * days, 2^31-1 ms, ended an SA 1 ms after it came up). Each knob accepts its maximum and refuses
 * one more with `IKE_ERR_CFG_BAD_VALUE` at the value's line:col, wherever the knob may stand (file
 * level, in a rule, in a p1_xform) and through `ikeadm add rule`, which reaches the same parser.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { formatDiagnostic, parseIkeConfig, resolveRule } from "../../src/config/index.js";
import { CONFIG_BOUNDS, type BoundedKnob } from "../../src/config/limits.js";
import { AdminError } from "../../src/control/messages.js";
import { createAdminHandler } from "../../src/daemon/admin.js";
import { LiveConfig } from "../../src/daemon/live-config.js";
import { LogHub } from "../../src/log/logger.js";

const X = "p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes }";
const ADDRS = "local_addr 10.0.0.1 remote_addr 10.0.0.2";

/** 2^31-1 ms, the longest delay a Node timer holds, in whole seconds. */
const TIMER_MAX_SECS = Math.floor(0x7fffffff / 1000);

function errorsOf(text: string): string[] {
  const r = parseIkeConfig(text, "b.conf");
  return r.diagnostics.filter((d) => d.severity === "error").map((d) => `${d.code}@${d.line}:${d.col}`);
}

const FILE_KNOBS: readonly BoundedKnob[] = [
  "p1_lifetime_secs", "p2_lifetime_secs", "p2_softlife_secs", "p2_idletime_secs", "p2_lifetime_kb", "p2_softlife_kb",
  "expire_timer", "retry_limit", "retry_timer_init", "retry_timer_max", "max_certs", "p1_nonce_len", "p2_nonce_len",
  "unverified_dh_share", "dpd_interval_secs", "dpd_retries",
];

test("every bounded knob at file level: its maximum loads, one above is refused at the value's position", () => {
  for (const k of FILE_KNOBS) {
    const { max } = CONFIG_BOUNDS[k];
    // A soft lifetime at its maximum needs a hard one at least as long (validate refuses soft > hard).
    const pair = k === "p2_softlife_secs" ? "p2_lifetime_secs 0\n" : k === "p2_softlife_kb" ? "p2_lifetime_kb 0\n" : "";
    assert.deepEqual(errorsOf(`${pair}${k} ${max}\n`), [], `${k} ${max}`);
    const over = Number.isInteger(max) ? max + 1 : max + 0.001;
    const r = parseIkeConfig(`${pair}${k} ${over}\n`, "b.conf");
    const line = pair === "" ? 1 : 2;
    if (max === 0xffffffff) {
      // Byte lifetimes keep the whole 32-bit range: past it the literal itself is malformed.
      assert.deepEqual(r.diagnostics.map((d) => `${d.code}@${d.line}:${d.col}`), [`IKE_ERR_CFG_BAD_NUMBER@${line}:${k.length + 2}`], `${k} ${over}`);
      continue;
    }
    assert.deepEqual(r.diagnostics.map((d) => `${d.code}@${d.line}:${d.col}`), [`IKE_ERR_CFG_BAD_VALUE@${line}:${k.length + 2}`], `${k} ${over}`);
    assert.match(formatDiagnostic(r.diagnostics[0]!), new RegExp(`^b\\.conf:${line}:${k.length + 2}: '${k}' must be from [0-9.]+ to ${max}\\b.*, found ${over}$`));
  }
});

test("no time knob can hold a delay past what a JS timer holds (2^31-1 ms)", () => {
  for (const k of ["p1_lifetime_secs", "p2_lifetime_secs", "p2_softlife_secs", "p2_idletime_secs", "expire_timer", "retry_timer_init", "retry_timer_max"] as const) {
    assert.ok(CONFIG_BOUNDS[k].max <= TIMER_MAX_SECS, `${k} max ${CONFIG_BOUNDS[k].max}`);
  }
  // The case: 30 days of Phase 1 lifetime.
  assert.deepEqual(errorsOf("p1_lifetime_secs 2592000\n"), ["IKE_ERR_CFG_BAD_VALUE@1:18"]);
  assert.deepEqual(errorsOf("expire_timer 4294967295\n"), ["IKE_ERR_CFG_BAD_VALUE@1:14"]);
});

test("per-rule Phase 2 values and per-transform Phase 1 lifetimes are bounded the same way", () => {
  const max = CONFIG_BOUNDS.p2_lifetime_secs.max;
  assert.deepEqual(errorsOf(`{ label "r" ${ADDRS} ${X}\n  p2_lifetime_secs ${max + 1} }`), ["IKE_ERR_CFG_BAD_VALUE@2:20"]);
  assert.deepEqual(errorsOf(`{ label "r" ${ADDRS} ${X}\n  p2_idletime_secs 0x7fffffff }`), ["IKE_ERR_CFG_BAD_VALUE@2:20"]);
  assert.deepEqual(errorsOf(`{ label "r" ${ADDRS} ${X}\n  p2_lifetime_secs ${max} }`), []);
  const p1 = CONFIG_BOUNDS.p1_lifetime_secs.max;
  assert.deepEqual(
    errorsOf(`p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes\n p1_lifetime_secs ${p1 + 1} }\n`),
    ["IKE_ERR_CFG_BAD_VALUE@2:19"],
  );
  assert.deepEqual(errorsOf(`p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes p1_lifetime_secs ${p1} }\n`), []);
});

test("DPD keywords (extensions) in a rule: bounded at the value's line:col, below the minimum too; the rule's value wins over the file's", () => {
  assert.deepEqual(errorsOf(`{ label "r" ${ADDRS} ${X}\n  dpd_interval_secs 86401 }`), ["IKE_ERR_CFG_BAD_VALUE@2:21"]);
  assert.deepEqual(errorsOf(`{ label "r" ${ADDRS} ${X}\n  dpd_retries 0 }`), ["IKE_ERR_CFG_BAD_VALUE@2:15"]);
  assert.deepEqual(errorsOf(`{ label "r" ${ADDRS} ${X}\n  dpd_retries 31 }`), ["IKE_ERR_CFG_BAD_VALUE@2:15"]);
  assert.deepEqual(errorsOf(`{ label "r" ${ADDRS} ${X}\n  dpd_retries 2 dpd_retries 3 }`), ["IKE_ERR_CFG_DUPLICATE@2:17"]);
  const r = parseIkeConfig(`dpd_interval_secs 20\ndpd_retries 4\n{ label "a" ${ADDRS} ${X} dpd_interval_secs 5 }\n{ label "b" local_addr 10.0.0.1 remote_addr 10.0.0.3 ${X} }\n`, "b.conf");
  assert.ok(r.ok, JSON.stringify(r.diagnostics));
  const [a, b] = r.value.rules.map((x) => resolveRule(r.value, x));
  assert.deepEqual([a!.dpdIntervalSecs, a!.dpdRetries, b!.dpdIntervalSecs, b!.dpdRetries], [5, 4, 20, 4]);
  const none = parseIkeConfig(`{ label "c" ${ADDRS} ${X} }\n`, "b.conf");
  const c = resolveRule(none.value, none.value.rules[0]!);
  assert.deepEqual([c.dpdIntervalSecs, c.dpdRetries], [0, 5], "DPD off by default");
});

test("ikeadm add rule reaches the same bounds and says file:line:col", async () => {
  const empty = parseIkeConfig("", "empty");
  const live = new LiveConfig(empty.value, []);
  const logs = new LogHub({ debugLevel: 0, privilege: 0, destination: { kind: "stderr" } });
  const handle = createAdminHandler({
    live, logs, log: logs.logger("ctl"), configFile: "/nonexistent/config", presharedFile: "/nonexistent/ike.preshared",
    ikePort: 500, nattPort: 4500, engine: undefined,
  });
  const text = `{ label "long" ${ADDRS}\n ${X}\n p2_lifetime_secs 31536000 }`;
  const res = await handle({ cmd: "add_rule", text, source: "(command line)" });
  assert.ok(!res.ok && res.error.code === AdminError.DATA_INVALID);
  assert.ok(!res.ok && res.error.details?.some((l) => /^\(command line\):3:19: 'p2_lifetime_secs' must be from 0 to 604800\b/.test(l)), JSON.stringify(res));
  assert.equal(live.current.config.rules.length, 0);
});
