/**
 * Shared pieces of the daemon interop tests (not a test file): a temporary --root for one peer,
 * ikeadm --json calls, the comparison of our SADB with the SAs a peer installed, and the capture
 * check decrypted with the daemon's own `--keys-file`.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import type { ListResult, SadbView } from "../../src/control/results.js";
import { ikeadm } from "../daemon/harness.js";
import type { Capture, CheckResult, Kv, StrongSwanOptions } from "../helpers/interop.js";
import { checkCapture, type Scenario } from "../helpers/scenario.js";
import { ikeConfig, preshared } from "../interop/common.js";

export const US = "127.0.6.1";
export const SS_INITIATOR = "127.0.6.2";
export const SS_RESPONDER = "127.0.6.3";
export const PSK = "daemon-interop-psk-9f3c";
export const P1 = "p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes(128..128) }";

/**
 * A root (removed when the case ends) with one rule towards `peer`, its pre-shared key and an
 * ipsecinit.conf entry for it.
 */
export function rootFor(s: Scenario, peer: string, p1 = P1): string {
  const root = s.root(ikeConfig(`dmn ${peer}`, US, peer, p1), preshared(US, peer, PSK));
  fs.writeFileSync(path.join(root, "etc/inet/ipsecinit.conf"), `{ raddr ${peer} } ipsec { encr_algs aes encr_auth_algs sha1 }\n`);
  return root;
}

/** `ikeadm --json args`, which must succeed; the parsed result. */
export async function json<T>(root: string, args: string[]): Promise<T> {
  const r = await ikeadm(root, ["--json", ...args]);
  assert.equal(r.code, 0, `ikeadm ${args.join(" ")}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** Our mature SAs, with keys when the daemon runs at keymat. */
export const mature = async (root: string) => (await json<ListResult<SadbView>>(root, ["dump", "sadb"])).items.filter((s) => s.state === "mature");

/** Our SADB (with keys) equals what the peer installed: addresses, SPI, protocol, key bytes. */
export function assertSameSadb(ours: readonly SadbView[], theirs: readonly Kv[]): void {
  assert.equal(ours.length, 2, "one inbound and one outbound SA");
  for (const sa of ours) {
    const twin = theirs.find((t) => t.spi !== undefined && Number.parseInt(t.spi, 16) === Number.parseInt(sa.spi, 16) && t.src === sa.src && t.dst === sa.dst && t.proto === sa.proto);
    assert.ok(twin, `the peer installed no ${sa.proto} SA ${sa.src}>${sa.dst} spi ${sa.spi}; it has ${theirs.map((t) => `${t.proto}:${t.src}>${t.dst}:${t.spi}`).join(" ")}`);
    assert.equal(twin.enc_key?.toLowerCase(), sa.encKeyHex, `encryption key of spi ${sa.spi}`);
    assert.equal(twin.auth_key?.toLowerCase(), sa.authKeyHex, `authentication key of spi ${sa.spi}`);
  }
}

/** strongSwan options for the daemon on `ourPort` (aes128-sha256-modp2048, ESP aes128-sha1, transport). */
export function strongSwanFor(name: string, role: "initiator" | "responder", local: string, port: number, ourPort: number): StrongSwanOptions {
  return {
    name, role, local, remote: US, localPort: port, nattPort: port + 1, remotePort: ourPort,
    mode: "main", auth: "psk", psk: PSK, cipher: "aes128", hash: "sha256", dh: 14,
    esp: "aes128-sha1", pfs: "none", espMode: "transport", logLevel: 4,
  };
}


/** Where a test daemon writes its `--keys-file` (inside its private temporary root). */
export const keysFileOf = (root: string): string => path.join(root, "p1keys.csv");

/** in.iked arguments: privilege keymat and the key file for captures. */
export const keymatArgs = (root: string): string[] => ["-p", "keymat", "--keys-file", keysFileOf(root)];

/**
 * `capture.sh check --keys` with the daemon's own key file only (no peer log): the check must
 * pass and every encrypted packet, the peer's included, must decrypt with our Ka, so the inner
 * payloads are dissected and checked as well. Returns the check (one line per packet).
 */
export async function checkWithOurKeys(cap: Capture, root: string, expect: string): Promise<CheckResult> {
  const keys = keysFileOf(root);
  const lines = fs.readFileSync(keys, "utf8").split("\n").filter((l) => l !== "");
  assert.ok(lines.length >= 1 && lines.every((l) => /^[0-9a-f]{16},[0-9a-f]+$/.test(l)), `key file lines: ${lines.length}`);
  assert.equal(fs.statSync(keys).mode & 0o777, 0o600);
  return checkCapture(cap, { keys, expect });
}
