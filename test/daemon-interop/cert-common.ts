/**
 * Shared pieces of the daemon's certificate interop tests (not a test file): identities issued by
 * the shared harness's make-certs.sh in the test PKI's directory (one CA for both sides, whose CRL
 * revokes `revoked.example.net`), and a `--root` whose store holds that CA as `cert_root`, its CRL,
 * and our certificate with its private key.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ikedPaths } from "../../src/daemon/paths.js";
import { sharedDir } from "../helpers/interop.js";
import { testPki } from "../pki/fixtures.js";
import { makeRoot } from "../daemon/harness.js";
import { writeStore } from "../exchange/cert-harness.js";

/** The test CA, as ike.config names it. */
export const TEST_CA = "C=US, O=IKEv1 Interop Test, CN=IKEv1 Interop Test CA";

/** A certificate and key make-certs.sh issued for one identity. */
export interface Issued {
  readonly cert: string;
  readonly key: string;
  readonly subject: string;
}

/** Certificates for `ids` (make-certs.sh syntax: an address, `@fqdn`, `user@domain`, a DN), from the test CA. */
export function issue(...ids: string[]): Issued[] {
  const pki = testPki();
  const out = execFileSync("bash", [path.join(sharedDir(), "interop/make-certs.sh"), "--dir", pki.dir, ...ids], {
    encoding: "utf8",
    env: { ...process.env, IKEV1_INTEROP_QUIET: "1" },
  });
  return out.trim().split("\n").map((line) => {
    const kv = (k: string) => new RegExp(`(?:^| )${k}=(.*?)(?= [a-z]+=|$)`).exec(line)?.[1] ?? "";
    return { cert: kv("cert"), key: kv("key"), subject: kv("subject") };
  });
}

/** What our side of a certificate rule says. */
export interface OurSide {
  readonly local: string;
  readonly remote: string;
  readonly localIdType: string;
  readonly localId: string;
  readonly remoteId: readonly string[];
  /** Our certificate and key, and CA certificates above it besides the root. */
  readonly cert: string;
  readonly key: string;
  readonly intermediates?: readonly string[];
  /** Phase 1 transform (default rsa_sig, MODP 2048, SHA-256, AES-128). */
  readonly xform?: string;
}

/** A root for in.iked with the store and one rule for `s`, plus an ipsecinit.conf entry for the peer. */
export function certRoot(s: OurSide): string {
  const pki = testPki();
  const xform = s.xform ?? "p1_xform { auth_method rsa_sig oakley_group 14 auth_alg sha256 encr_alg aes(128..128) }";
  const config = `cert_root "${TEST_CA}"
{
  label "cert ${s.remote}"
  local_addr ${s.local}
  remote_addr ${s.remote}
  local_id_type ${s.localIdType}
  local_id "${s.localId}"
${s.remoteId.map((r) => `  remote_id "${r}"`).join("\n")}
  ${xform}
}
`;
  const root = makeRoot(config);
  const certs: Record<string, string> = { "0": pki.ca, "1": s.cert };
  (s.intermediates ?? []).forEach((c, i) => (certs[String(10 + i)] = c));
  writeStore(ikedPaths(root), { certs, keys: { "1": s.key }, crls: [pki.crlDer] });
  fs.writeFileSync(path.join(root, "etc/inet/ipsecinit.conf"), `{ raddr ${s.remote} } ipsec { encr_algs aes encr_auth_algs sha1 }\n`);
  return root;
}
