/**
 * The ikeadm command table (reference ikeadm.md §2-3): command → object → how to build the
 * admin request from the words and how to print the reply. Commands and objects match exactly
 * (case-sensitive), as in the original.
 */
import path from "node:path";
import { adminErrorName, type AdminRequest } from "../../control/messages.js";
import { readDefinitionFile } from "./definition-file.js";
import type { AdminReply } from "../../control/client.js";
import type {
  AcquireResult, AuthAlgView, CertCacheView, ChangeResult, DebugResult, DefaultsResult, EncrAlgView, FlushCertCacheResult, GroupView, ListResult, P1View,
  PresharedView, PrivResult, RuleView, SadbView, StatsResult, TokenResult,
} from "../../control/results.js";
import { formatAcquire, formatP1, formatSadb } from "./format-sa.js";
import { parseDebugLevel, parsePrivilege } from "../../log/categories.js";
import * as fmt from "./format.js";
import { parseP1Id, parsePresharedId } from "./ids.js";

/** What a command needs from the running ikeadm. */
export interface CommandContext {
  numeric: boolean;
  paranoid: boolean;
  json: boolean;
  interactive: boolean;
  cwd: string;
  request(req: AdminRequest): Promise<AdminReply>;
  out(lines: readonly string[]): void;
  err(message: string): void;
  /** Read a PIN without echo. */
  readPin(prompt: string): Promise<string>;
}

/** A command's handler: returns the exit status. */
type Run = (args: string[], ctx: CommandContext) => Promise<number>;

/** Help text per command, as `help <command>` prints it. */
export const HELP: Record<string, string[]> = {
  get: [
    "This command gets information from in.iked.", "",
    "Objects that may be retrieved include:",
    "\tdebug\t\tthe current debug level",
    "\tpriv\t\tthe current privilege level",
    "\tstats\t\tglobal statistics",
    "\tdefaults\tdefault values used by in.iked",
    "\tp1\t\ta phase 1 SA",
    "\trule\t\ta phase 1 rule definition",
    "\tpreshared\ta pre-shared key definition", "",
    "An identifier is required for p1, rule and preshared:",
    "\tp1: local_ip remote_ip | 0xicookie 0xrcookie",
    "\trule: label",
    "\tpreshared: local_ip remote_ip | idtype id idtype id",
  ],
  set: [
    "This command sets values in in.iked.", "",
    "\tset debug <level> [file]\tlevel: number or nicknames joined by + or -",
    "\t\t\t\t\t(cert key op phase1 phase2 pfkey policy prop door config label all)",
    "\tset priv <level>\t\tbase | modkeys | keymat (may only be lowered)",
  ],
  add: [
    "This command adds items to in.iked's tables.", "",
    "\tadd rule { definition } | file\tone rule in ike.config syntax",
    "\tadd preshared { definition } | file",
    "\t\tan inline preshared definition is accepted only in interactive mode",
  ],
  del: ["This command deletes an item from in.iked's tables.", "", "\tdel p1 | rule | preshared <identifier> (see 'help get')"],
  dump: [
    "This command dumps one of in.iked's tables.", "",
    "\tdump p1 | rule | preshared | groups | encralgs | authalgs",
    "\tdump sadb\t(extension) the in-memory SADB; keys only at privilege keymat",
    "\tdump certcache\tthe store's certificates and the validated peer certificates",
  ],
  flush: [
    "This command clears one of in.iked's tables.", "",
    "\tflush p1\tdelete every phase 1 SA (peers are sent Deletes)",
    "\tflush certcache\tforget validated peer certificates and re-read the certificate store",
  ],
  acquire: [
    "(extension) Raise the in-memory kernel's ACQUIRE, as outbound traffic matching an IPsec",
    "policy would, so in.iked negotiates the SAs for it now.", "",
    "\tacquire SRC DST [proto tcp|udp|icmp|N] [sport N] [dport N] [peer ADDR[:PORT]]",
    "\tpeer: negotiate with ADDR (and PORT) instead of DST and the rule's remote_port",
  ],
  read: [
    "This command reads a new configuration, replacing the live one atomically.", "",
    "\tread rule [file]\tdefault: the daemon's configuration file",
    "\tread preshared [file]\tdefault: the daemon's pre-shared key file",
  ],
  write: [
    "This command writes the live configuration to a new file (mode 0600; it must not exist).", "",
    "\twrite rule <file>", "\twrite preshared <file>",
  ],
  token: [
    "This command logs in to or out of a PKCS#11 token, unlocking or locking the private keys",
    "of the certificate store that live on it.", "",
    "\ttoken login <token label>\tprompts for the PIN (without echo)",
    "\ttoken logout <token label>",
  ],
  help: ["This command describes the commands.", "", "\thelp [get|set|add|del|dump|flush|read|write|token|acquire|help]"],
};

/** The one-screen summary (`-h`, `help`). */
export const SUMMARY = [
  "Usage: ikeadm [ -hnp ] [ --root DIR ] [ --json ] cmd obj [cmd-specific options]",
  "       ikeadm [ -hnp ] [ --root DIR ]          (interactive mode)",
  "",
  "Commands and objects:",
  "\tget   debug | priv | stats | defaults | p1 | rule | preshared",
  "\tset   debug | priv",
  "\tadd   rule | preshared",
  "\tdel   p1 | rule | preshared",
  "\tdump  p1 | rule | preshared | certcache | groups | encralgs | authalgs | sadb",
  "\tflush p1 | certcache",
  "\tread  rule | preshared",
  "\twrite rule | preshared",
  "\ttoken login | logout",
  "\tacquire SRC DST [proto P] [sport N] [dport N] [peer ADDR[:PORT]]   (extension)",
  "\thelp  [command]",
  "\texit | quit (interactive mode)",
  "",
  "Options: -h help, -n numeric (no name lookups), -p paranoid (keys shown as XX),",
  "         --root DIR daemon of that root, --json machine-readable output (extensions)",
];

/** The two-line usage message for a bad command line. */
export const USAGE = ["Usage: ikeadm [ -hnp ] cmd obj [cmd-specific options]", "       ikeadm help"];

async function send<T>(ctx: CommandContext, req: AdminRequest, print: (r: T) => string[], seen?: (r: T) => void): Promise<number> {
  const reply = await ctx.request(req);
  if (!reply.ok) {
    if (ctx.json) ctx.out([JSON.stringify({ ok: false, error: { ...reply.error, name: adminErrorName(reply.error.code) } }, null, 2)]);
    else {
      ctx.err(reply.error.message);
      for (const d of reply.error.details ?? []) ctx.err(`  ${d}`);
    }
    return 1;
  }
  seen?.(reply.result as T);
  // -p masks key bytes in JSON output too: every field carrying key material ends in "Hex".
  const mask = (k: string, v: unknown) => (ctx.paranoid && /Hex$/.test(k) && typeof v === "string" ? "XX".repeat(v.length / 2) : v);
  ctx.out(ctx.json ? [JSON.stringify(reply.result, mask, 2)] : print(reply.result as T));
  return 0;
}

function noArgs(name: string, req: AdminRequest, print: (r: never) => string[]): Run {
  return async (args, ctx) => {
    if (args.length > 0) {
      ctx.err(`${name} takes no arguments`);
      ctx.out(HELP[name.split(" ")[0]!] ?? []);
      return 1;
    }
    return send(ctx, req, print);
  };
}

const p1Records = (r: ListResult<P1View>, ctx: CommandContext): string[] => r.items.flatMap((v, i) => [...(i > 0 ? [""] : []), ...formatP1(v, ctx)]);

const PROTOCOLS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58, sctp: 132 };

/** `acquire SRC DST [proto P] [sport N] [dport N] [peer ADDR[:PORT]]` → request, or why not. */
export function parseAcquire(args: readonly string[]): { ok: true; req: Extract<AdminRequest, { cmd: "acquire" }> } | { ok: false; message: string } {
  const [src, dst, ...rest] = args;
  if (src === undefined || dst === undefined) return { ok: false, message: "acquire needs a source and a destination address" };
  const req: Extract<AdminRequest, { cmd: "acquire" }> = { cmd: "acquire", src, dst };
  const num = (w: string | undefined, max: number): number | undefined => (w !== undefined && /^[0-9]+$/.test(w) && Number(w) <= max ? Number(w) : undefined);
  for (let i = 0; i < rest.length; i += 2) {
    const key = rest[i]!;
    const val = rest[i + 1];
    if (val === undefined) return { ok: false, message: `acquire: '${key}' needs a value` };
    switch (key) {
      case "proto": {
        const n = PROTOCOLS[val.toLowerCase()] ?? num(val, 255);
        if (n === undefined) return { ok: false, message: `acquire: unknown protocol '${val}'` };
        req.ulp = n;
        break;
      }
      case "sport":
      case "dport": {
        const n = num(val, 65535);
        if (n === undefined) return { ok: false, message: `acquire: ${key} '${val}' is not a port` };
        req[key] = n;
        break;
      }
      case "peer": {
        // ADDR, ADDR:PORT, [V6]:PORT or a bare IPv6 address.
        const m = /^\[([^\]]+)\](?::([0-9]+))?$/.exec(val) ?? (/^[^:]+:[0-9]+$/.test(val) ? /^([^:]+):([0-9]+)$/.exec(val) : null);
        const address = m ? m[1]! : val;
        const port = m?.[2] !== undefined ? num(m[2], 65535) : undefined;
        if (m?.[2] !== undefined && port === undefined) return { ok: false, message: `acquire: bad peer port in '${val}'` };
        req.peer = address;
        if (port !== undefined) req.peerPort = port;
        break;
      }
      default:
        return { ok: false, message: `acquire: unknown keyword '${key}' (proto, sport, dport, peer)` };
    }
  }
  return { ok: true, req };
}

const abs = (ctx: CommandContext, f: string) => path.resolve(ctx.cwd, f);

/** Whether a word must be quoted for the file grammar to read it back as one value. */
type QuoteRule = (keyword: string, value: string) => boolean;

/** ikeadm re-quotes the values of label, local_id and remote_id (the original does the same). */
const RULE_QUOTES: QuoteRule = (k) => k === "label" || k === "local_id" || k === "remote_id";
/** A key that is not hex was a quoted ASCII key; ids with blanks or specials were quoted too. */
const PRESHARED_QUOTES: QuoteRule = (k, v) =>
  (k.toLowerCase() === "key" && !/^(0x)?[0-9a-f]+(\/[0-9]+)?$/i.test(v)) ||
  ((k.toLowerCase() === "localid" || k.toLowerCase() === "remoteid") && /[\s"{}#\\]/.test(v));

/** `{ ... }` words → definition text, one word per line, re-quoting values as `quote` says. */
function inlineDefinition(args: readonly string[], quote: QuoteRule): string {
  // Braces may touch the first and last words; split them off so the file grammar sees them.
  const words: string[] = [];
  args.forEach((w, i) => {
    let word = w;
    const open = i === 0 && word.startsWith("{");
    const close = i === args.length - 1 && word.endsWith("}");
    if (open) word = word.slice(1);
    if (close) word = word.slice(0, -1);
    if (open) words.push("{");
    if (word !== "" || (!open && !close)) words.push(word);
    if (close) words.push("}");
  });
  return words
    .map((w, i) => {
      const prev = words[i - 1];
      return prev !== undefined && quote(prev, w) ? `"${w.replace(/["\\]/g, (c) => `\\${c}`)}"` : w;
    })
    .join("\n") + "\n";
}

function addRun(obj: "rule" | "preshared"): Run {
  return async (args, ctx) => {
    const cmd = obj === "rule" ? "add_rule" : "add_ps";
    if (args.length === 0) {
      ctx.err(`add ${obj} needs '{ definition }' or a file name`);
      return 1;
    }
    let text: string;
    let source: string;
    if (args[0]!.startsWith("{")) {
      if (!args[args.length - 1]!.endsWith("}")) {
        ctx.err(`the ${obj} definition must end with '}'`);
        return 1;
      }
      if (obj === "preshared" && !ctx.interactive) {
        ctx.err("add preshared { ... } is accepted only in interactive mode (keeps keys out of process arguments); give a file instead");
        return 1;
      }
      text = inlineDefinition(args, obj === "rule" ? RULE_QUOTES : PRESHARED_QUOTES);
      source = "(command line)";
    } else {
      if (args.length !== 1) {
        ctx.err(`add ${obj} takes one file name`);
        return 1;
      }
      source = abs(ctx, args[0]!);
      const read = readDefinitionFile(source);
      if (typeof read !== "object") {
        ctx.err(`cannot read ${source}: ${read}`);
        return 1;
      }
      text = read.text;
    }
    return send<ChangeResult>(ctx, { cmd, text, source }, (r) => [
      ...r.warnings,
      `Successfully created new ${obj === "rule" ? "policy rule" : "preshared key"}${r.count > 1 ? `s (${r.count})` : ""}.`,
    ]);
  };
}

/** command → object → handler. */
export const COMMANDS: Record<string, Record<string, Run>> = {
  get: {
    debug: noArgs("get debug", { cmd: "get_debug" }, (r: DebugResult) => fmt.formatGetDebug(r)),
    priv: noArgs("get priv", { cmd: "get_priv" }, (r: PrivResult) => fmt.formatGetPriv(r)),
    stats: noArgs("get stats", { cmd: "get_stats" }, (r: StatsResult) => fmt.formatStats(r)),
    defaults: noArgs("get defaults", { cmd: "get_defaults" }, (r: DefaultsResult) => fmt.formatDefaults(r)),
    p1: async (args, ctx) => {
      const id = await parseP1Id(args, ctx.numeric);
      if (!id.ok) return ctx.err(id.message), 1;
      return send<ListResult<P1View>>(ctx, { cmd: "get_p1", id: id.id }, (r) => p1Records(r, ctx));
    },
    rule: async (args, ctx) => {
      if (args.length !== 1) return ctx.err("get rule needs one label"), 1;
      return send<ListResult<RuleView>>(ctx, { cmd: "get_rule", label: args[0]! }, (r) => r.items.flatMap((x) => fmt.formatRule(x)));
    },
    preshared: async (args, ctx) => {
      const id = await parsePresharedId(args, ctx.numeric);
      if (!id.ok) return ctx.err(id.message), 1;
      return send<ListResult<PresharedView>>(ctx, { cmd: "get_ps", id: id.id }, (r) => r.items.flatMap((x) => fmt.formatPreshared(x, ctx)));
    },
  },
  set: {
    debug: async (args, ctx) => {
      if (args.length < 1 || args.length > 2) return ctx.err("set debug takes a level and an optional file"), 1;
      const lv = parseDebugLevel(args[0]!);
      if (!lv.ok) return ctx.err(lv.message), 1;
      let file: string | undefined;
      // The daemon opens the file (no symbolic link, no FIFO, regular files only) and says why not.
      if (args[1] !== undefined) file = abs(ctx, args[1]);
      return send<DebugResult>(ctx, { cmd: "set_debug", level: lv.level, ...(file ? { file } : {}) }, fmt.formatSetDebug);
    },
    priv: async (args, ctx) => {
      if (args.length !== 1) return ctx.err("set priv takes one level"), 1;
      const p = parsePrivilege(args[0]!);
      if (!p.ok) return ctx.err(p.message), 1;
      return send<PrivResult>(ctx, { cmd: "set_priv", level: p.level }, fmt.formatSetPriv);
    },
  },
  add: { rule: addRun("rule"), preshared: addRun("preshared") },
  del: {
    p1: async (args, ctx) => {
      const id = await parseP1Id(args, ctx.numeric);
      if (!id.ok) return ctx.err(id.message), 1;
      return send(ctx, { cmd: "del_p1", id: id.id }, () => ["Successfully deleted phase 1 SA."]);
    },
    rule: async (args, ctx) => {
      if (args.length !== 1) return ctx.err("del rule needs one label"), 1;
      return send(ctx, { cmd: "del_rule", label: args[0]! }, () => ["Successfully deleted policy rule."]);
    },
    preshared: async (args, ctx) => {
      const id = await parsePresharedId(args, ctx.numeric);
      if (!id.ok) return ctx.err(id.message), 1;
      return send(ctx, { cmd: "del_ps", id: id.id }, () => ["Successfully deleted preshared key."]);
    },
  },
  dump: {
    p1: async (args, ctx) => {
      if (args.length > 0) return ctx.err("dump p1 takes no arguments"), ctx.out(HELP.dump ?? []), 1;
      return send<ListResult<P1View>>(ctx, { cmd: "dump_p1" }, (r) => fmt.formatDump(r.items.map((v) => formatP1(v, ctx)), "phase 1 SAs"));
    },
    sadb: async (args, ctx) => {
      if (args.length > 0) return ctx.err("dump sadb takes no arguments"), 1;
      return send<ListResult<SadbView>>(ctx, { cmd: "dump_sadb" }, (r) => fmt.formatDump(r.items.map((x) => formatSadb(x, ctx)), "SADB"));
    },
    rule: noArgs("dump rule", { cmd: "dump_rules" }, (r: ListResult<RuleView>) => fmt.formatDump(r.items.map(fmt.formatRule), "policy rules")),
    preshared: async (args, ctx) => {
      if (args.length > 0) return ctx.err("dump preshared takes no arguments"), 1;
      return send<ListResult<PresharedView>>(ctx, { cmd: "dump_ps" }, (r) => fmt.formatDump(r.items.map((x) => fmt.formatPreshared(x, ctx)), "preshared keys"));
    },
    certcache: noArgs("dump certcache", { cmd: "dump_certcache" }, (r: ListResult<CertCacheView>) => fmt.formatDump(r.items.map(fmt.formatCertCache), "certcache")),
    groups: noArgs("dump groups", { cmd: "dump_groups" }, (r: ListResult<GroupView>) => [...fmt.formatGroups(r.items), "", "Completed dump of groups"]),
    encralgs: noArgs("dump encralgs", { cmd: "dump_encralgs" }, (r: ListResult<EncrAlgView>) => [...fmt.formatEncrAlgs(r.items), "", "Completed dump of encralgs"]),
    authalgs: noArgs("dump authalgs", { cmd: "dump_authalgs" }, (r: ListResult<AuthAlgView>) => [...fmt.formatAuthAlgs(r.items), "", "Completed dump of authalgs"]),
  },
  flush: {
    p1: noArgs("flush p1", { cmd: "flush_p1" }, () => ["Successfully flushed P1 SAs."]),
    certcache: noArgs("flush certcache", { cmd: "flush_certcache" }, (r: FlushCertCacheResult) => [...r.warnings, "Successfully flushed cert cache."]),
  },
  read: {
    rule: async (args, ctx) => {
      if (args.length > 1) return ctx.err("read rule takes at most one file"), 1;
      const file = args[0] !== undefined ? abs(ctx, args[0]) : undefined;
      return send<ChangeResult>(ctx, { cmd: "read_rules", ...(file ? { file } : {}) }, (r) => [...r.warnings, `Successfully read policy rules from ${r.file ?? "the configuration file"} (${r.count} rules).`]);
    },
    preshared: async (args, ctx) => {
      if (args.length > 1) return ctx.err("read preshared takes at most one file"), 1;
      const file = args[0] !== undefined ? abs(ctx, args[0]) : undefined;
      return send<ChangeResult>(ctx, { cmd: "read_ps", ...(file ? { file } : {}) }, (r) => [...r.warnings, `Successfully read preshared keys from ${r.file ?? "the preshared key file"} (${r.count} entries).`]);
    },
  },
  write: {
    rule: async (args, ctx) => {
      if (args.length !== 1) return ctx.err("write rule needs one (new) file name"), 1;
      return send<ChangeResult>(ctx, { cmd: "write_rules", file: abs(ctx, args[0]!) }, (r) => [r.count === 0 ? "No policy rule information to write." : `Successfully wrote ${r.count} policy rules to ${r.file}.`]);
    },
    preshared: async (args, ctx) => {
      if (args.length !== 1) return ctx.err("write preshared needs one (new) file name"), 1;
      return send<ChangeResult>(ctx, { cmd: "write_ps", file: abs(ctx, args[0]!) }, (r) => [r.count === 0 ? "No preshared key information to write." : `Successfully wrote ${r.count} preshared keys to ${r.file}.`]);
    },
  },
  token: {
    login: async (args, ctx) => {
      if (args.length !== 1) return ctx.err('token login needs one "<token label>"'), 1;
      if (args[0]!.length > 31) return ctx.err("token label longer than 31 characters"), 1;
      const pin = await ctx.readPin(`Enter PIN for PKCS#11 token '${args[0]}': `);
      return send(ctx, { cmd: "token_login", label: args[0]!, pin }, (r: TokenResult) => [
        r.already
          ? `PKCS#11 operation successful: token '${r.token}' was logged in already (the PIN was not checked); ${r.keys} private key(s) unlocked.`
          : `PKCS#11 operation successful: token '${r.token}' logged in, ${r.keys} private key(s) unlocked.`,
      ]);
    },
    logout: async (args, ctx) => {
      if (args.length !== 1) return ctx.err('token logout needs one "<token label>"'), 1;
      if (args[0]!.length > 31) return ctx.err("token label longer than 31 characters"), 1;
      return send(ctx, { cmd: "token_logout", label: args[0]! }, (r: TokenResult) => [`PKCS#11 operation successful: token '${r.token}' logged out, ${r.keys} private key(s) locked.`]);
    },
  },
  dbg: {
    rbdump: noArgs("dbg rbdump", { cmd: "dbg_rbdump" }, () => ["Rule base dumped to the daemon's debug log."]),
  },
};

/** `acquire` (extension): a command without an object. */
async function runAcquire(args: readonly string[], ctx: CommandContext): Promise<number> {
  const p = parseAcquire(args);
  if (!p.ok) return ctx.err(p.message), ctx.out(HELP.acquire ?? []), 1;
  let ok = false;
  // The exit status says whether a negotiation started (or is pending), with --json too.
  const code = await send<AcquireResult>(ctx, p.req, (r) => formatAcquire(r).lines, (r) => (ok = formatAcquire(r).ok));
  return code !== 0 || !ok ? 1 : 0;
}

/** Run one command line (already split into words). Returns the exit status. */
export async function runCommand(words: readonly string[], ctx: CommandContext): Promise<number> {
  const [cmd, obj, ...args] = words;
  if (cmd === undefined) return 0;
  if (cmd === "acquire") return runAcquire(words.slice(1), ctx);
  if (cmd === "help") {
    if (obj === undefined) return ctx.out(SUMMARY), 0;
    const h = HELP[obj];
    if (!h) return ctx.err(`unknown command '${obj}'`), ctx.out(USAGE), 1;
    return ctx.out(h), 0;
  }
  const table = COMMANDS[cmd];
  if (!table) return ctx.err(`unrecognized command '${cmd}'`), ctx.out(USAGE), 1;
  if (obj === undefined) return ctx.err(`command '${cmd}' needs an object`), ctx.out(HELP[cmd] ?? USAGE), 1;
  const run = Object.hasOwn(table, obj) ? table[obj] : undefined;
  if (!run) return ctx.err(`unrecognized object '${obj}' for command '${cmd}'`), ctx.out(HELP[cmd] ?? USAGE), 1;
  return run(args, ctx);
}
