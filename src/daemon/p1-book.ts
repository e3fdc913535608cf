/**
 * What `ikeadm get|dump p1` shows about each ISAKMP SA, assembled on request from the engine's SA
 * object (reference ikeadm.md section 3.6, the `ike_p1_sa_t` record): its cookies, endpoints,
 * state, Quick Mode counts and, once established, its Phase 1 summary (transform, lifetimes,
 * identities). The book keeps nothing per SA. Keys go into the view only when the caller says the
 * daemon runs at privilege keymat (2).
 */
import type { IkeEngine } from "../ike/engine.js";
import type { IsakmpSa } from "../ike/isakmp-sa.js";
import type { AdminId } from "../control/messages.js";
import type { P1KeysView, P1View } from "../control/results.js";
import { parseIp } from "../config/address.js";

const STATE_NAMES: Readonly<Record<IsakmpSa["state"], string>> = {
  larval: "INITIALIZING",
  negotiating: "NEGOTIATING",
  established: "ACTIVE",
  expired: "EXPIRED",
  dead: "DELETED",
};

/** The admin views of the engine's ISAKMP SAs. */
export class P1Book {
  /**
   * `pfsOf(label)` gives the p2_pfs of the rule so labelled for the XFORM line of an SA made
   * without its resolved rule (the engine's SAs carry theirs: that rule's p2_pfs, which its Quick
   * Modes use, is shown).
   */
  constructor(
    readonly engine: IkeEngine,
    private readonly pfsOf: (label: string | undefined) => number,
  ) {}

  /** The admin view of one SA; `withKeys` (privilege keymat only) adds the KEY: material. */
  view(sa: IsakmpSa, withKeys = false): P1View {
    const p = sa.phase1;
    return {
      icookie: sa.icookie.toString("hex"),
      rcookie: sa.rcookie.toString("hex"),
      initiator: sa.role === "initiator",
      state: STATE_NAMES[sa.state],
      ...(sa.rule !== undefined ? { rule: sa.rule } : {}),
      local: { address: sa.local.address, port: sa.local.port },
      remote: { address: sa.remote.address, port: sa.remote.port },
      ...(p !== undefined
        ? { xform: { authMethod: p.auth, encrAlg: p.encr, keyBits: p.keyBits, hashAlg: p.hash, group: p.group, pfs: sa.config?.p2Pfs ?? this.pfsOf(sa.rule), lifeSecs: p.agreedLifeSecs, lifeKb: p.lifeKb } }
        : {}),
      // The daemon's engine runs on the system clock (Date.now), so these are wall-clock times.
      createdMs: sa.createdAt,
      ...(sa.establishedAt !== undefined ? { establishedMs: sa.establishedAt } : {}),
      // The engine counts them per SA (IsakmpSa.ipsecCreated; ipsecDeleted and phase1.exchange
      // are there too, for when P1View grows fields for them).
      qmCreated: sa.ipsecCreated,
      ...(p !== undefined ? { localId: p.localId, remoteId: p.peerId } : {}),
      ...(withKeys ? keysOf(sa) : {}),
      ...(sa.natt !== undefined ? { natt: { version: sa.natt.version, floated: sa.natt.floated, ...sa.natt.detection } } : {}),
      dpd: sa.dpd.view(),
    };
  }

  /** Live SAs (not yet dead) matching an ikeadm identifier. */
  find(id: AdminId): IsakmpSa[] {
    const live = this.engine.sas.all().filter((sa) => !sa.isDead());
    switch (id.kind) {
      case "cookies":
        return live.filter((sa) => sa.icookie.toString("hex") === id.icookie && sa.rcookie.toString("hex") === id.rcookie);
      case "addr":
        return live.filter((sa) => sameAddress(sa.local.address, id.local) && sameAddress(sa.remote.address, id.remote));
      case "ident":
        return live.filter((sa) => sa.phase1 !== undefined && sa.phase1.localId === id.local && sa.phase1.peerId === id.remote);
      default: {
        const never: never = id;
        return never;
      }
    }
  }
}

/**
 * The SA's keys as hex for a privilege-keymat reply; nothing before the derivation or once the
 * holder is gone. The exported copies are wiped as soon as they are hex.
 */
function keysOf(sa: IsakmpSa): { keys?: P1KeysView } {
  const km = sa.keymat;
  if (km === undefined || !km.derived) return {};
  const k = km.exportForKeymatPrivilege();
  try {
    return {
      keys: {
        skeyidHex: k.skeyid.toString("hex"),
        skeyidDHex: k.skeyidD.toString("hex"),
        skeyidAHex: k.skeyidA.toString("hex"),
        skeyidEHex: k.skeyidE.toString("hex"),
        encKeyHex: k.ka.toString("hex"),
        ivHex: km.currentIv(0).toString("hex"),
      },
    };
  } finally {
    for (const b of Object.values(k)) b.fill(0);
  }
}

/** Whether two address literals name the same address (IPv6 spellings differ). */
function sameAddress(a: string, b: string): boolean {
  if (a === b) return true;
  const x = parseIp(a);
  const y = parseIp(b);
  return x !== undefined && y !== undefined && x.family === y.family && x.value === y.value;
}
