/**
 * Shared pieces of the NAT traversal interop tests (not a test file): a daemon root for one peer
 * seen through the NAT (test/helpers/nat-topology.ts), the peers' base options on the real ports
 * 500/4500, and the checks of the daemon's NAT state (`ikeadm dump p1`) and of its UDP-encapsulated
 * IPsec SAs (`ikeadm dump sadb`), from the gateway's side and from behind the NAT.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import type { ListResult, P1View, SadbView } from "../../src/control/results.js";
import { ikeadm, makeRoot, startDaemon, type RunningDaemon } from "../daemon/harness.js";
import { Capture, type InteropPeer, type LibreswanOptions, type StrongSwanOptions } from "../helpers/interop.js";
import { GW_ADDR, HOME_ADDR, NAT_ADDR, natTopology, type NatTopology } from "../helpers/nat-topology.js";
import { stopQuietly } from "../helpers/scenario.js";
import { poll } from "../helpers/wait.js";
import { ikeConfig, preshared } from "../interop/common.js";
import { json, keymatArgs, P1, PSK } from "./common.js";

export type Phase1Mode = "main" | "aggressive";

const IPSEC = "ipsec { encr_algs aes encr_auth_algs sha1 }";
/** The daemon on the real ports, as the peers expect it. */
export const DAEMON_PORTS = ["--port", "500", "--natt-port", "4500"];

/**
 * A daemon root: one rule from `local` to `remote` (the address the peer is seen from), the key
 * for the identity `remoteId` (an Aggressive Mode responder picks it by AM1's ID, which a peer
 * behind the NAT gives as its own address), and ipsecinit.conf entries for `policyPeers`.
 */
export function natRoot(opts: {
  local: string;
  remote: string;
  remoteId?: string;
  mode?: Phase1Mode;
  policyPeers?: readonly string[];
  ipsecinit?: string;
}): string {
  const ipsecinit = opts.ipsecinit ?? (opts.policyPeers ?? []).map((p) => `{ raddr ${p} } ${IPSEC}\n`).join("");
  const root = makeRoot(ikeConfig(`natt ${opts.remote}`, opts.local, opts.remote, P1), preshared(opts.local, opts.remoteId ?? opts.remote, PSK, opts.mode ?? "main"));
  fs.writeFileSync(path.join(root, "etc/inet/ipsecinit.conf"), ipsecinit);
  return root;
}

/** The daemon's established ISAKMP SAs. */
export const p1Of = async (root: string): Promise<P1View[]> => (await json<ListResult<P1View>>(root, ["dump", "p1"])).items.filter((p) => p.state === "ACTIVE");
/** The daemon's mature IPsec SAs. */
export const sadbOf = async (root: string): Promise<SadbView[]> => (await json<ListResult<SadbView>>(root, ["dump", "sadb"])).items.filter((s) => s.state === "mature");

/** What one case started, for {@link cleanup}. */
export interface NatRun {
  topo?: NatTopology;
  d?: RunningDaemon;
  cap?: Capture;
  peer?: InteropPeer;
  root?: string;
}

/** Stop and remove everything a case started. */
export async function cleanup(r: NatRun): Promise<void> {
  await stopQuietly(r.cap);
  await r.d?.stop();
  await r.peer?.stop({ kill: true, purge: true });
  if (r.root !== undefined) fs.rmSync(r.root, { recursive: true, force: true });
  await r.topo?.remove();
}

/** strongSwan on the real ports in `netns` (aes128-sha256-modp2048, ESP aes128-sha1, transport). */
export const ssBase = (name: string, role: "initiator" | "responder", netns: string, mode: Phase1Mode = "main"): StrongSwanOptions & { netns: string } => ({
  name, role, netns, localPort: 500, nattPort: 4500, remotePort: 500, local: "", remote: "",
  mode, auth: "psk", psk: PSK, cipher: "aes128", hash: "sha256", dh: 14, esp: "aes128-sha1", pfs: "none", espMode: "transport", logLevel: 4,
});

/** Libreswan in `netns` (aes128-sha256-modp2048, ESP aes128-sha1, transport). */
export const lsBase = (name: string, role: "initiator" | "responder", netns: string, mode: Phase1Mode = "main"): LibreswanOptions & { netns: string } => ({
  name, role, netns, local: "", remote: "", mode, auth: "psk", psk: PSK, cipher: "aes128", hash: "sha256", dh: 14, esp: "aes128-sha1", pfs: "none", espMode: "transport",
});

/**
 * The gateway daemon's view of its one SA with a peer behind the NAT: NAT-T `version`, the peer
 * behind a NAT, floated to our port 4500 and the NAT's mapped port, and its two IPsec SAs
 * UDP-encapsulated between those ports.
 */
export async function assertGatewaySide(root: string, version: RegExp): Promise<P1View> {
  const p1 = await p1Of(root);
  assert.equal(p1.length, 1, JSON.stringify(p1));
  const v = p1[0]!;
  assert.match(v.natt?.version ?? "", version);
  assert.deepEqual([v.natt?.localBehindNat, v.natt?.peerBehindNat, v.natt?.floated], [false, true, true]);
  assert.equal(v.local.port, 4500);
  assert.equal(v.remote.address, NAT_ADDR);
  assert.ok(v.remote.port >= 30000 && v.remote.port <= 31999, `the NAT's port, got ${v.remote.port}`);
  const text = (await ikeadm(root, ["dump", "p1"])).stdout;
  assert.match(text, /^NATT:  NAT traversal (rfc3947|draft-\S+); remote host behind NAT; floated to the NAT-T port$/m);
  const sadb = await sadbOf(root);
  assert.equal(sadb.length, 2);
  for (const s of sadb) {
    const inbound = s.dst === GW_ADDR;
    assert.deepEqual([s.encap?.sport, s.encap?.dport], inbound ? [v.remote.port, 4500] : [4500, v.remote.port], `encap of ${s.src}>${s.dst}`);
  }
  return v;
}

/**
 * The view of the daemon behind the NAT of its one SA with the gateway: RFC 3947, we are behind a
 * NAT, floated from our port 4500 to the gateway's, the IPsec SAs UDP-encapsulated 4500-4500.
 */
export async function assertBehindNatSide(root: string): Promise<P1View> {
  const p1 = await p1Of(root);
  assert.equal(p1.length, 1, JSON.stringify(p1));
  const v = p1[0]!;
  assert.deepEqual([v.natt?.version, v.natt?.localBehindNat, v.natt?.peerBehindNat, v.natt?.floated], ["rfc3947", true, false, true]);
  assert.deepEqual([v.local, v.remote], [{ address: HOME_ADDR, port: 4500 }, { address: GW_ADDR, port: 4500 }]);
  assert.match((await ikeadm(root, ["dump", "p1"])).stdout, /^NATT:  NAT traversal rfc3947; local host behind NAT; floated to the NAT-T port$/m);
  const sadb = await sadbOf(root);
  assert.equal(sadb.length, 2);
  for (const s of sadb) assert.deepEqual([s.encap?.sport, s.encap?.dport], [4500, 4500], `encap of ${s.src}>${s.dst}`);
  return v;
}

/**
 * in.iked behind the NAT starts Phase 1 in `mode` with `ikeadm acquire`; the peer `startPeer`
 * runs answers on the gateway, where the capture (named by `tag`) is taken. Returns once the peer
 * says the SA is up and the daemon holds its two IPsec SAs, with the daemon's view of its ISAKMP SA
 * ({@link assertBehindNatSide}).
 */
export async function daemonBehindNatInitiates(r: NatRun, tag: string, mode: Phase1Mode, startPeer: (topo: NatTopology) => Promise<InteropPeer>): Promise<P1View> {
  r.topo = await natTopology();
  r.root = natRoot({ local: HOME_ADDR, remote: GW_ADDR, mode, policyPeers: [GW_ADDR] });
  r.d = await startDaemon(r.root, [...keymatArgs(r.root), ...DAEMON_PORTS], {}, { netns: r.topo.home.name });
  r.cap = await Capture.start({ name: `natt-cap-${tag}-${process.pid}`, ports: "500,4500", netns: r.topo.gw.name, iface: "ng0" });
  r.peer = await startPeer(r.topo);
  const acq = await ikeadm(r.root, ["acquire", HOME_ADDR, GW_ADDR]);
  assert.equal(acq.code, 0, acq.stderr + acq.stdout);
  const st = await r.peer.status({ wait: 30 });
  assert.ok(st.established, `the peer says ${JSON.stringify(st.kv)}\n${r.d.output()}`);
  await poll(async () => (await sadbOf(r.root!)).length === 2, "our two IPsec SAs");
  return assertBehindNatSide(r.root);
}
