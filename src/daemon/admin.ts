/**
 * The daemon's answers to admin requests, with the privilege rules of the original
 * (reference ikeadm.md §4):
 *
 * - level 0 (base): no pre-shared key information leaves or enters the daemon;
 * - level 1 (modkeys): pre-shared key get/dump/add/del/read, without key bytes;
 * - level 2 (keymat): key bytes in pre-shared output, keying material from the engine, and
 *   `write preshared`: the file it makes holds the key bytes, which modkeys may not see (the
 *   reference lists write under modkeys, but also says key bytes stay out of modkeys' reach;
 *   keeping them in is the property that matters);
 * - `set priv` may only lower the level.
 *
 * Phase 1 SAs and statistics are the IKE service's (service.ts); until one is plugged in the daemon
 * says so with CMD_NOTSUP. Certificates and tokens are the PKI holder's (admin-pki.ts).
 */
import { groups, phase1Ciphers, phase1Hashes } from "../crypto/algorithms.js";
import { AdminError, type AdminRequest } from "../control/messages.js";
import type { AuthAlgView, DebugResult, EncrAlgView, GroupView, ListResult, PrivResult } from "../control/results.js";
import type { HandlerResult } from "../control/server.js";
import { PRIVILEGE_DESCRIPTIONS, type PrivilegeLevel } from "../log/categories.js";
import type { LogHub, Logger } from "../log/logger.js";
import { presharedCommands, ruleCommands } from "./admin-config.js";
import { dumpCertCache, flushCertCache, tokenLogin, tokenLogout } from "./admin-pki.js";
import { defaultsTable } from "./defaults-table.js";
import { SERVICE_COMMANDS, type ServiceAdminRequest, type IkeService } from "./service.js";
import type { LiveConfig } from "./live-config.js";
import type { PkiLive } from "./pki-live.js";
import type { DaemonMetrics } from "../metrics/daemon-metrics.js";

/** What the admin handler works on. */
export interface AdminState {
  readonly live: LiveConfig;
  readonly logs: LogHub;
  readonly log: Logger;
  /** Files `read rule` / `read preshared` use when no file is named. */
  readonly configFile: string;
  readonly presharedFile: string;
  readonly ikePort: number;
  readonly nattPort: number;
  /** The IKE service (the exchange engine on its sockets), once one is plugged in. */
  readonly engine: IkeService | undefined;
  /** The certificate store, cache and tokens (pki-live.ts). */
  readonly pki?: PkiLive;
  /** The metrics: `get stats` carries their counters (extension, shown by `--json`). */
  readonly metrics?: DaemonMetrics;
}

const fail = (code: number, message: string): HandlerResult => ({ ok: false, error: { code, message } });
const done = (result: unknown): HandlerResult => ({ ok: true, result });

const NO_PRIV = (what: string, need: PrivilegeLevel): HandlerResult =>
  fail(AdminError.NO_PRIV, `${what} not allowed at current privilege level (needs ${need}, ${PRIVILEGE_DESCRIPTIONS[need]}; in.iked -p / admin_privilege)`);

const NOT_YET = {
  engine: "not available in this version: phase 1 SAs and statistics come with the IKE exchange engine",
  pki: "this daemon was started without its certificate store",
} as const;

function destinationText(logs: LogHub): string {
  const d = logs.destination;
  return d.kind === "file" ? d.path : "stderr";
}

/** Build the request handler for the control server. */
export function createAdminHandler(state: AdminState): (req: AdminRequest) => Promise<HandlerResult> {
  const { live, logs, log } = state;
  const priv = (): PrivilegeLevel => logs.privilege;

  return async (req) => {
    switch (req.cmd) {
      case "get_debug":
        return done({ level: logs.debugLevel, destination: destinationText(logs) } satisfies DebugResult);
      case "set_debug": {
        if (req.file !== undefined) {
          try {
            logs.setDestination({ kind: "file", path: req.file });
          } catch (err) {
            const e = err as NodeJS.ErrnoException;
            return { ok: false, error: { code: AdminError.SYS_ERR, message: `cannot open debug log ${req.file}: ${e.code ?? e.message}`, errno: e.code ?? "EIO" } };
          }
        }
        const previous = logs.setDebugLevel(req.level);
        log.info("debug level changed", { from: `0x${previous.toString(16)}`, to: `0x${req.level.toString(16)}`, destination: destinationText(logs) });
        return done({ level: logs.debugLevel, previous, destination: destinationText(logs) } satisfies DebugResult);
      }
      case "get_priv":
        return done({ level: priv() } satisfies PrivResult);
      case "set_priv": {
        const previous = priv();
        if (req.level > 2) return fail(AdminError.DATA_INVALID, `bad privilege level ${req.level}`);
        if (req.level > previous) return fail(AdminError.NO_PRIV, `raising the privilege level (from ${previous} to ${req.level}) not allowed at current privilege level; restart in.iked to raise it`);
        logs.setPrivilege(req.level as PrivilegeLevel);
        log.info("privilege level lowered", { from: previous, to: req.level });
        return done({ level: req.level, previous } satisfies PrivResult);
      }
      case "get_defaults":
        return done(defaultsTable(live.current.config, state));

      case "get_stats": {
        if (!state.engine) return fail(AdminError.CMD_NOTSUP, NOT_YET.engine);
        const r = await state.engine.admin(req, priv());
        if (!r.ok || state.metrics === undefined) return r;
        return done({ ...(r.result as object), ...(await state.metrics.statsExtension()) });
      }
      case "get_p1":
      case "del_p1":
      case "dump_p1":
      case "flush_p1":
      case "dump_sadb":
      case "acquire":
        if (!state.engine || !SERVICE_COMMANDS.has(req.cmd)) return fail(AdminError.CMD_NOTSUP, NOT_YET.engine);
        return state.engine.admin(req as ServiceAdminRequest, priv());

      case "get_rule":
        return ruleCommands.get(live, req.label);
      case "dump_rules":
        return ruleCommands.dump(live);
      case "del_rule":
        return ruleCommands.del(live, req.label);
      case "add_rule":
        return ruleCommands.add(live, req.text, req.source);
      case "read_rules":
        return ruleCommands.read(live, req.file ?? state.configFile, priv() >= 2);
      case "write_rules":
        return ruleCommands.write(live, req.file);
      case "dbg_rbdump":
        log.debug("config", "rule base dump", { rules: live.current.config.rules.length });
        for (const line of ruleCommands.text(live).split("\n")) if (line !== "") log.debug("config", line);
        return done({ count: live.current.config.rules.length, warnings: [] });

      case "get_ps":
      case "dump_ps":
      case "del_ps":
      case "add_ps":
      case "read_ps":
      case "write_ps": {
        if (priv() < 1) return NO_PRIV("pre-shared key access", 1);
        if (req.cmd === "write_ps" && priv() < 2) return NO_PRIV("writing pre-shared keys to a file (it holds the key bytes)", 2);
        const reveal = priv() >= 2;
        switch (req.cmd) {
          case "get_ps": return presharedCommands.get(live, req.id, reveal);
          case "dump_ps": return presharedCommands.dump(live, reveal);
          case "del_ps": return presharedCommands.del(live, req.id);
          case "add_ps": return presharedCommands.add(live, req.text, req.source);
          case "read_ps": return presharedCommands.read(live, req.file ?? state.presharedFile);
          case "write_ps": return presharedCommands.write(live, req.file);
          default: {
            const never: never = req;
            return never;
          }
        }
      }

      case "dump_groups":
        return done({ items: groups.map((g) => ({ value: g.id, strength: g.strength, description: g.display })) } satisfies ListResult<GroupView>);
      case "dump_encralgs":
        return done({
          items: phase1Ciphers.map((c) => ({ value: c.id, name: c.display, keyMin: c.variableKeyLength ? c.keyBits.min : 0, keyMax: c.variableKeyLength ? c.keyBits.max : 0 })),
        } satisfies ListResult<EncrAlgView>);
      case "dump_authalgs":
        return done({ items: phase1Hashes.map((h) => ({ value: h.id, name: h.display })) } satisfies ListResult<AuthAlgView>);

      case "dump_certcache":
      case "flush_certcache":
      case "token_login":
      case "token_logout": {
        const pki = state.pki;
        if (!pki) return fail(AdminError.CMD_NOTSUP, NOT_YET.pki);
        if (req.cmd === "dump_certcache") return dumpCertCache(pki);
        if (req.cmd === "flush_certcache") return flushCertCache(pki);
        if (req.cmd === "token_login") return tokenLogin(pki, req.label, req.pin);
        return tokenLogout(pki, req.label);
      }

      default: {
        const never: never = req;
        return never;
      }
    }
  };
}
