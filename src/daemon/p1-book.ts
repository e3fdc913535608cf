/**
 * What `ikeadm get|dump p1` shows about each ISAKMP SA, kept beside the engine: the engine's SA
 * object knows its cookies, endpoints, state and Quick Mode counts; the Phase 1 result (transform,
 * identities) comes from the engine's events, so the book listens to them and the view is
 * assembled on request (reference ikeadm.md section 3.6, the `ike_p1_sa_t` record). Keys go into
 * the view only when the caller says the daemon runs at privilege keymat (2).
 */
import type { IkeEngine } from "../ike/engine.js";
import type { IsakmpSa } from "../ike/isakmp-sa.js";
import type { Phase1Result } from "../ike/phase1/main-mode.js";
import type { AdminId } from "../control/messages.js";
import type { P1KeysView, P1View } from "../control/results.js";
import { parseIp } from "../config/address.js";

interface Entry {
  result?: Phase1Result;
  pfs: number;
}

const STATE_NAMES: Readonly<Record<IsakmpSa["state"], string>> = {
  larval: "INITIALIZING",
  negotiating: "NEGOTIATING",
  established: "ACTIVE",
  expired: "EXPIRED",
  dead: "DELETED",
};

/** Per-SA facts for the admin views; entries die with their SA. */
export class P1Book {
  readonly #entries = new WeakMap<IsakmpSa, Entry>();

  /** Start listening to `engine`; `pfsOf(label)` gives the rule's p2_pfs for the XFORM line. */
  constructor(readonly engine: IkeEngine, pfsOf: (label: string | undefined) => number) {
    engine.on("phase1-up", (sa, result) => {
      const e = this.#entry(sa);
      e.result = result;
      e.pfs = pfsOf(sa.rule);
    });
  }

  #entry(sa: IsakmpSa): Entry {
    let e = this.#entries.get(sa);
    if (e === undefined) {
      e = { pfs: 0 };
      this.#entries.set(sa, e);
    }
    return e;
  }

  /** The admin view of one SA; `withKeys` (privilege keymat only) adds the KEY: material. */
  view(sa: IsakmpSa, withKeys = false): P1View {
    const e = this.#entry(sa);
    const r = e.result;
    const t = r?.transform;
    return {
      icookie: sa.icookie.toString("hex"),
      rcookie: sa.rcookie.toString("hex"),
      initiator: sa.role === "initiator",
      state: STATE_NAMES[sa.state],
      ...(sa.rule !== undefined ? { rule: sa.rule } : {}),
      local: { address: sa.local.address, port: sa.local.port },
      remote: { address: sa.remote.address, port: sa.remote.port },
      ...(t !== undefined && r !== undefined
        ? { xform: { authMethod: t.auth, encrAlg: t.encr, keyBits: r.keyBits, hashAlg: t.hash, group: t.group, pfs: e.pfs, lifeSecs: r.lifeSecs, lifeKb: t.lifeKb ?? 0 } }
        : {}),
      // The daemon's engine runs on the system clock (Date.now), so these are wall-clock times.
      createdMs: sa.createdAt,
      ...(sa.establishedAt !== undefined ? { establishedMs: sa.establishedAt } : {}),
      // The engine counts them per SA (IsakmpSa.ipsecCreated; ipsecDeleted and phase1.exchange
      // are there too, for when P1View grows fields for them).
      qmCreated: sa.ipsecCreated,
      ...(r !== undefined ? { localId: r.localId, remoteId: r.peerId } : {}),
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
        return live.filter((sa) => {
          const r = this.#entry(sa).result;
          return r !== undefined && r.localId === id.local && r.peerId === id.remote;
        });
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
