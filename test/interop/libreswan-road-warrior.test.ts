/**
 * A road warrior with a pre-shared key and a name for an identity, against a real Libreswan 4.10
 * gateway in Aggressive Mode: our rule says `local_id_type fqdn` and gives no `local_id`, so the
 * name comes from our ike.preshared entry's `localid`. Libreswan expects `@road.example` and answers
 * anything else (the address we used to send in its place) with INVALID-ID-INFORMATION. Phase 1
 * and Quick Mode come up; the capture passes `capture.sh check`, decrypted with Ka re-derived from
 * our DH values (ka.ts).
 *
 * Resources: pluto on 127.0.5.(112+slot):500 (its own address: libreswan.test.ts and
 * libreswan-tunnel.test.ts use theirs at the same time), our port ports.udp + 42.
 */
import assert from "node:assert/strict";
import { assertSameSas, xfrmSas } from "../helpers/engine-host.js";
import { checkCapture, interopTest } from "../helpers/scenario.js";
import { RecordingDh, kaLines, suiteByName } from "./ka.js";
import { ikeConfig, plan } from "./common.js";

const PSK = "iop-road-warrior-psk";
const { us: US, ports } = plan();
const THEM = `127.0.5.${112 + (process.pid % 8)}`;

interopTest("Aggressive Mode PSK to Libreswan with an FQDN identity from ike.preshared's localid (no local_id in the rule)", async (s) => {
  const ourPort = ports.udp + 42;
  const dh = new RecordingDh(`iop-rw-${process.pid}`);
  const host = await s.host({
    dh,
    address: US,
    port: ourPort,
    ikeConfig: ikeConfig("rw", US, THEM, "p1_xform { auth_method preshared oakley_group 14 auth_alg sha1 encr_alg aes(128..128) }\n  local_id_type fqdn"),
    preshared: `{\n  localidtype fqdn\n  localid road.example\n  remoteidtype ip\n  remoteid ${THEM}\n  ike_mode aggressive\n  key "${PSK}"\n}\n`,
    ipsecinit: `{ raddr ${THEM} } ipsec { encr_algs aes encr_auth_algs sha1 }\n`,
  });
  const cap = await s.capture(`iop-rw-cap-${process.pid}`, ourPort);
  const peer = await s.libreswan({
    name: `iop-rw-${process.pid}`,
    role: "responder",
    local: THEM,
    remote: US,
    remotePort: ourPort,
    mode: "aggressive",
    auth: "psk",
    psk: PSK,
    cipher: "aes128",
    hash: "sha1",
    dh: 14,
    esp: "aes128-sha1",
    pfs: "none",
    espMode: "transport",
    remoteId: "@road.example",
  });
  host.negotiate("rw", { address: THEM, port: 500 });
  await host.waitFor("phase2-up");
  await s.established(peer);
  const up = host.of("phase1-up")[0]!;
  assert.equal(up.result.localId, "road.example");
  assertSameSas(await host.matureSas(), xfrmSas(peer.info.xfrmlog ?? ""));
  await checkCapture(cap, { keyLines: (pcap) => kaLines(pcap, { psk: PSK, suite: suiteByName("aes128", "sha1"), dh }), expect: "aggressive:3,quick:3" });
});
