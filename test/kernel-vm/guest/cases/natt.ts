/**
 * NAT traversal in a real kernel: in.iked behind a real NAT (nftables MASQUERADE in a namespace
 * between the two, test/helpers/nat-topology.ts) initiating to in.iked on the gateway, on each
 * kernel backend.
 * What an operator would check:
 *
 * - the first ping's ACQUIRE brings up UDP-encapsulated transport-mode ESP (RFC 3948) through the
 *   NAT, and that first echo is answered;
 * - between the NAT and the gateway only UDP: IKE, ESP in UDP on 4500, keepalives; no protocol 50;
 * - both sides' SAs counted packets, and `ip xfrm state` shows `encap type espinudp` with the NAT's
 *   port on the gateway;
 * - a NAT rebinding (a new masquerade port range, the NAT's conntrack entries deleted): the home
 *   side's next DPD probe (its SAs hear nothing back, so it asks) arrives from the new mapping and
 *   moves the gateway's ISAKMP SA; the gateway's SAs in the kernel take the new port in place (the
 *   same SPIs: nothing renegotiated), and the ping is answered again.
 */
import assert from "node:assert/strict";
import { IKED_REQID } from "../../../../src/kernel/kernel.js";
import { GW_ADDR, HOME_ADDR, NAT_ADDR, natTopology, type NatTopology } from "../../../helpers/nat-topology.js";
import { netnsNamed, until } from "../../../helpers/netns.js";
import { PSK_HEX, kernelSas, startIked, type Iked } from "../iked.js";
import { ping, sniffOn, type Side } from "../world.js";
import { countersRose, stopClean } from "./daemon.js";
import type { GuestCase } from "./index.js";

const sideOf = (ns: string, dev: string, v4: string): Side => ({ ns: netnsNamed(ns), dev, v4, v6: "", inner4: "", inner6: "" });

/** ike.config and ike.preshared of one end: `remote` is the address the peer is seen from. */
function files(local: string, remote: string): { config: string; preshared: string } {
  return {
    config: [
      "p1_xform { auth_method preshared oakley_group 14 auth_alg sha256 encr_alg aes }",
      `{\n  label "natt"\n  local_addr ${local}\n  remote_addr ${remote}\n  dpd_interval_secs 2\n}\n`,
    ].join("\n"),
    preshared: `{\n  localidtype IP\n  localid ${local}\n  remoteidtype IP\n  remoteid ${remote}\n  key ${PSK_HEX}\n}\n`,
  };
}

// HMAC-SHA-1: PF_KEY cannot carry HMAC-SHA-256 as RFC 4868 has it (pfkey-sa.ts).
const IPSEC = "ipsec { encr_algs aes encr_auth_algs sha1 }";

/** The UDP encapsulation of each SA of the daemon in a namespace, by SPI (`ip xfrm state`). */
async function encaps(side: Side): Promise<Map<number, { sport: number; dport: number }>> {
  const out = new Map<number, { sport: number; dport: number }>();
  for (const block of (await side.ns.ip("xfrm", "state")).split(/^(?=src )/m)) {
    const spi = /proto esp spi 0x([0-9a-f]+)/.exec(block);
    if (spi === null || !block.includes(`reqid ${IKED_REQID}`)) continue;
    const e = /encap type espinudp sport (\d+) dport (\d+)/.exec(block);
    assert.ok(e !== null, `${side.dev}: SA ${spi[1]} without encap espinudp:\n${block}`);
    out.set(Number.parseInt(spi[1]!, 16), { sport: Number(e[1]), dport: Number(e[2]) });
  }
  return out;
}

/** The gateway's SAs all encapsulate to (outbound) or from (inbound) the NAT's `port`, ours 4500. */
async function gatewayAt(gw: Side, port: number): Promise<number[]> {
  const sas = (await kernelSas(gw)).filter((s) => s.reqid === IKED_REQID);
  const e = await encaps(gw);
  assert.equal(sas.length, 2, "one pair on the gateway");
  for (const s of sas) {
    const want = s.src === GW_ADDR ? { sport: 4500, dport: port } : { sport: port, dport: 4500 };
    assert.deepEqual(e.get(s.spi), want, `gateway SA ${s.spi.toString(16)} ${s.src}>${s.dst}`);
  }
  return sas.map((s) => s.spi).sort();
}

/** The NAT's port for the home side's NAT-T socket: the gateway's inbound SA's encapsulation source. */
async function natPort(gw: Side): Promise<number> {
  const inbound = (await kernelSas(gw)).find((s) => s.reqid === IKED_REQID && s.dst === GW_ADDR);
  assert.ok(inbound !== undefined, "the gateway's inbound SA");
  return (await encaps(gw)).get(inbound.spi)!.sport;
}

async function run(kind: string): Promise<void> {
  let topo: NatTopology | undefined;
  const daemons: Iked[] = [];
  try {
    topo = await natTopology();
    const home = sideOf(topo.home.name, "nh0", HOME_ADDR);
    const gw = sideOf(topo.gw.name, "ng0", GW_ADDR);
    const nat = sideOf(topo.nat.name, "ng1", NAT_ADDR);
    for (const s of [home, gw]) await s.ns.sysctl("net.core.xfrm_larval_drop=0");
    // Both at once (nothing moves before the first ping): a daemon's start is slow under TCG.
    const started = await Promise.allSettled([
      startIked(gw, home, kind, `{ laddr ${GW_ADDR} raddr ${NAT_ADDR} } ${IPSEC}\n{ laddr ${GW_ADDR} raddr ${HOME_ADDR} } ${IPSEC}\n`, "", files(GW_ADDR, NAT_ADDR)),
      startIked(home, gw, kind, `{ laddr ${HOME_ADDR} raddr ${GW_ADDR} } ${IPSEC}\n`, "", files(HOME_ADDR, GW_ADDR)),
    ]);
    for (const r of started) if (r.status === "fulfilled") daemons.push(r.value);
    for (const r of started) if (r.status === "rejected") throw r.reason;
    const [g, h] = daemons as [Iked, Iked];
    const logs = () => `--- home ---\n${h.output().slice(-4000)}\n--- gateway ---\n${g.output().slice(-4000)}`;

    // Between the NAT and the gateway (each end's outgoing frames): the translated side.
    const seen = await sniffOn([gw, nat], [NAT_ADDR, GW_ADDR], async () => {
      assert.ok(await ping(home, GW_ADDR, { count: 1, wait: 60 }), `the first echo through the NAT was not answered\n${logs()}`);
      assert.ok(await ping(home, GW_ADDR, { count: 2 }), "ping over the UDP-encapsulated SAs");
    });
    assert.deepEqual(Object.keys(seen.byProto), ["17"], `only UDP between the NAT and the gateway: ${JSON.stringify(seen)}`);
    assert.ok((seen.udp["esp"] ?? 0) >= 6 && seen.udp["other"] === undefined, `ESP in UDP 4500 for the echoes: ${JSON.stringify(seen)}`);
    assert.equal(await countersRose([home, gw]), 4, "a pair on each side");
    for (const e of (await encaps(home)).values()) assert.deepEqual(e, { sport: 4500, dport: 4500 }, "the home side sends from and to 4500");
    const before = await natPort(gw);
    assert.ok(before >= 30000 && before <= 30999, `the NAT's first port range, got ${before}`);
    const spis = await gatewayAt(gw, before);

    // The NAT forgets its mappings and maps to other ports from now on.
    await topo.rebind();
    const state = async () => `--- NAT ---\n${await topo!.mappings()}\n--- home ---\n${await home.ns.ip("-s", "xfrm", "state")}\n--- gateway ---\n${await gw.ns.ip("-s", "xfrm", "state")}`;
    const diag = `after the rebinding:\n${await state()}`;
    await until("a ping answered after the NAT rebinding", async () => await ping(home, GW_ADDR, { count: 1, wait: 2 }), 120_000).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${diag}\nnow:\n${await state()}\n${logs()}`);
    });
    const after = await natPort(gw);
    assert.ok(after >= 31000 && after <= 31999, `the NAT's new port range, got ${after}`);
    assert.deepEqual(await gatewayAt(gw, after), spis, `the same SAs, updated in place\n${diag}\n${logs()}`);
    assert.equal(g.count(/NAT-T: IPsec SAs follow the peer's new port/), 1, logs());
    assert.equal(g.count(/IPsec SAs installed/), 1, "nothing renegotiated");

    await stopClean(daemons, [home, gw]);
  } finally {
    for (const d of daemons) await d.stop();
    await topo?.remove();
  }
}

/** The NAT-T case on each backend (the gateway's rebinding is an XFRM_MSG_UPDSA or an SADB_UPDATE). */
export function nattCases(): GuestCase[] {
  return (["xfrm", "pfkey"] as const).map((kind) => ({
    name: `${kind}: in.iked behind a real NAT (nftables MASQUERADE): ESP in UDP 4500 only, counters rise, encap espinudp; a NAT rebinding moves the kernel SAs to the new port in place and the ping is answered again`,
    timeoutMs: 300_000,
    run: () => run(kind),
  }));
}
