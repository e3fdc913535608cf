/**
 * Typed admin requests and replies shared by the daemon's control server and `ikeadm`.
 *
 * The command set and the error numbering follow the original door protocol (reference
 * ikeadm.md §7: IKE_SVC_* commands, IKE_ERR_* codes 1..15) so scripts and people see the same
 * meanings; the transport is msgpack frames (frame.ts). File descriptors cannot be passed, so
 * requests that named a descriptor carry an absolute path instead (see the server for what the
 * daemon does with it) or, for `add`, the definition text itself.
 */

/** Door-compatible error numbers (ike_err_t.ike_err). */
export const AdminError = {
  NO_OBJ: 1,
  NO_DESC: 2,
  ID_INVALID: 3,
  LOC_INVALID: 4,
  CMD_INVALID: 5,
  DATA_INVALID: 6,
  CMD_NOTSUP: 7,
  REQ_INVALID: 8,
  NO_PRIV: 9,
  SYS_ERR: 10,
  DUP_IGNORED: 11,
  NO_TOKEN: 12,
  NO_AUTH: 13,
  IN_PROGRESS: 14,
  NO_MEM: 15,
} as const;
/** Name of an admin error. */
export type AdminErrorName = keyof typeof AdminError;

/** Name of an AdminError number, for messages and `--json`. */
export function adminErrorName(n: number): string {
  const e = Object.entries(AdminError).find(([, v]) => v === n);
  return e ? `IKE_ERR_${e[0]}` : `IKE_ERR_${n}`;
}

/** Identifies a Phase 1 SA or a pre-shared key entry. */
export type AdminId =
  | { kind: "addr"; local: string; remote: string }
  | { kind: "cookies"; icookie: string; rcookie: string }
  | { kind: "ident"; localType: string; local: string; remoteType: string; remote: string };

/** Every admin request. `id` pairs a reply with its request on one connection. */
export type AdminRequest =
  | { cmd: "get_debug" }
  | { cmd: "set_debug"; level: number; file?: string }
  | { cmd: "get_priv" }
  | { cmd: "set_priv"; level: number }
  | { cmd: "get_stats" }
  | { cmd: "get_defaults" }
  | { cmd: "get_p1"; id: AdminId }
  | { cmd: "del_p1"; id: AdminId }
  | { cmd: "dump_p1" }
  | { cmd: "flush_p1" }
  | { cmd: "get_rule"; label: string }
  | { cmd: "add_rule"; text: string; source: string }
  | { cmd: "del_rule"; label: string }
  | { cmd: "dump_rules" }
  | { cmd: "read_rules"; file?: string }
  | { cmd: "write_rules"; file: string }
  | { cmd: "get_ps"; id: AdminId }
  | { cmd: "add_ps"; text: string; source: string }
  | { cmd: "del_ps"; id: AdminId }
  | { cmd: "dump_ps" }
  | { cmd: "read_ps"; file?: string }
  | { cmd: "write_ps"; file: string }
  | { cmd: "dump_certcache" }
  | { cmd: "flush_certcache" }
  | { cmd: "dump_groups" }
  | { cmd: "dump_encralgs" }
  | { cmd: "dump_authalgs" }
  | { cmd: "token_login"; label: string; pin: string }
  | { cmd: "token_logout"; label: string }
  | { cmd: "dbg_rbdump" }
  /** Extension: the SADB of the in-memory kernel; key bytes only at privilege 2. */
  | { cmd: "dump_sadb" }
  /**
   * Extension: raise the in-memory kernel's ACQUIRE for this traffic, as outbound packets
   * matching an IPsec policy would; `peer`/`peerPort` override where the engine initiates to.
   */
  | { cmd: "acquire"; src: string; dst: string; ulp?: number; sport?: number; dport?: number; peer?: string; peerPort?: number };

/** A request command name. */
export type AdminCommand = AdminRequest["cmd"];

/** Wire envelope of a request. */
export type RequestEnvelope = { v: 1; id: number; req: AdminRequest };

/** An error reply's body. */
export interface AdminErrorBody {
  /** Door error number (AdminError). */
  code: number;
  /** Human-readable reason; never contains secrets. */
  message: string;
  /** For SYS_ERR: the errno name (EEXIST, ENOENT ...). */
  errno?: string;
  /** Parse diagnostics (`file:line:col: message`), when a definition or file was refused. */
  details?: string[];
}

/** Wire envelope of a reply. */
export type ReplyEnvelope =
  | { v: 1; id: number; ok: true; result: unknown }
  | { v: 1; id: number; ok: false; error: AdminErrorBody };

/** Protocol message version inside frames. */
export const MESSAGE_VERSION = 1;
/** Longest rule label (the door carried 256-byte label fields with a NUL). */
export const MAX_LABEL = 255;
/** Longest PKCS#11 token label. */
export const MAX_TOKEN_LABEL = 31;
/** Longest path a request may carry. */
export const MAX_PATH = 4096;

type Shape = Record<string, "string" | "number" | "id" | "string?" | "number?">;

const SHAPES: Record<AdminCommand, Shape> = {
  get_debug: {},
  set_debug: { level: "number", file: "string?" },
  get_priv: {},
  set_priv: { level: "number" },
  get_stats: {},
  get_defaults: {},
  get_p1: { id: "id" },
  del_p1: { id: "id" },
  dump_p1: {},
  flush_p1: {},
  get_rule: { label: "string" },
  add_rule: { text: "string", source: "string" },
  del_rule: { label: "string" },
  dump_rules: {},
  read_rules: { file: "string?" },
  write_rules: { file: "string" },
  get_ps: { id: "id" },
  add_ps: { text: "string", source: "string" },
  del_ps: { id: "id" },
  dump_ps: {},
  read_ps: { file: "string?" },
  write_ps: { file: "string" },
  dump_certcache: {},
  flush_certcache: {},
  dump_groups: {},
  dump_encralgs: {},
  dump_authalgs: {},
  token_login: { label: "string", pin: "string" },
  token_logout: { label: "string" },
  dbg_rbdump: {},
  dump_sadb: {},
  acquire: { src: "string", dst: "string", ulp: "number?", sport: "number?", dport: "number?", peer: "string?", peerPort: "number?" },
};

/** All command names, as the server dispatches them. */
export const ADMIN_COMMANDS = Object.keys(SHAPES) as AdminCommand[];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

function validId(v: unknown): v is AdminId {
  if (!isRecord(v)) return false;
  const str = (k: string) => typeof v[k] === "string" && (v[k] as string).length <= 1024;
  switch (v.kind) {
    case "addr": return str("local") && str("remote") && Object.keys(v).length === 3;
    case "cookies": return str("icookie") && str("rcookie") && Object.keys(v).length === 3;
    case "ident": return str("localType") && str("local") && str("remoteType") && str("remote") && Object.keys(v).length === 5;
    default: return false;
  }
}

/** Validation outcome: the typed envelope, or why not (with the request id when one was readable). */
export type ValidateResult =
  | { ok: true; envelope: RequestEnvelope }
  | { ok: false; id: number; code: number; message: string };

/** Check the shape of a decoded frame body before anything acts on it. */
export function validateRequest(value: unknown): ValidateResult {
  const id = isRecord(value) && Number.isSafeInteger(value.id) ? (value.id as number) : 0;
  const bad = (code: number, message: string): ValidateResult => ({ ok: false, id, code, message });
  if (!isRecord(value)) return bad(AdminError.REQ_INVALID, "request is not a map");
  if (value.v !== MESSAGE_VERSION) return bad(AdminError.REQ_INVALID, `unsupported message version ${String(value.v)}`);
  if (!Number.isSafeInteger(value.id) || (value.id as number) < 0) return bad(AdminError.REQ_INVALID, "request id is not a non-negative integer");
  const req = value.req;
  if (!isRecord(req)) return bad(AdminError.REQ_INVALID, "request body is not a map");
  const cmd = req.cmd;
  if (typeof cmd !== "string" || !Object.hasOwn(SHAPES, cmd)) return bad(AdminError.CMD_INVALID, `unknown command ${JSON.stringify(typeof cmd === "string" ? cmd.slice(0, 64) : cmd)}`);
  const shape = SHAPES[cmd as AdminCommand];
  for (const key of Object.keys(req)) {
    if (key !== "cmd" && !Object.hasOwn(shape, key)) return bad(AdminError.REQ_INVALID, `${cmd}: unexpected field '${key.slice(0, 64)}'`);
  }
  for (const [key, kind] of Object.entries(shape)) {
    const v = req[key];
    switch (kind) {
      case "string":
        if (typeof v !== "string") return bad(AdminError.REQ_INVALID, `${cmd}: field '${key}' must be a string`);
        break;
      case "string?":
        if (v !== undefined && typeof v !== "string") return bad(AdminError.REQ_INVALID, `${cmd}: field '${key}' must be a string`);
        break;
      case "number?":
        if (v === undefined) break;
        if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0xffffffff) return bad(AdminError.REQ_INVALID, `${cmd}: field '${key}' must be an integer 0..2^32-1`);
        break;
      case "number":
        if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0xffffffff) return bad(AdminError.REQ_INVALID, `${cmd}: field '${key}' must be an integer 0..2^32-1`);
        break;
      case "id":
        if (!validId(v)) return bad(AdminError.ID_INVALID, `${cmd}: malformed identifier`);
        break;
    }
  }
  const r = req as Record<string, unknown>;
  if ((cmd === "get_rule" || cmd === "del_rule") && ((r.label as string).length === 0 || (r.label as string).length > MAX_LABEL)) {
    return bad(AdminError.ID_INVALID, `rule label must be 1..${MAX_LABEL} characters`);
  }
  if ((cmd === "token_login" || cmd === "token_logout") && (r.label as string).length > MAX_TOKEN_LABEL) {
    return bad(AdminError.ID_INVALID, `token label longer than ${MAX_TOKEN_LABEL} characters`);
  }
  if (cmd === "acquire") {
    for (const k of ["src", "dst", "peer"]) {
      const a = r[k];
      if (typeof a === "string" && (a.length === 0 || a.length > 64)) return bad(AdminError.DATA_INVALID, `acquire: '${k}' is not an address`);
    }
    if (typeof r.ulp === "number" && r.ulp > 255) return bad(AdminError.DATA_INVALID, "acquire: protocol must be 0..255");
    for (const k of ["sport", "dport", "peerPort"]) {
      if (typeof r[k] === "number" && (r[k] as number) > 65535) return bad(AdminError.DATA_INVALID, `acquire: '${k}' must be a port 0..65535`);
    }
  }
  for (const k of ["file"]) {
    const f = r[k];
    if (typeof f === "string" && (f.length === 0 || f.length > MAX_PATH || !f.startsWith("/") || f.includes("\0"))) {
      return bad(AdminError.LOC_INVALID, `${cmd}: '${k}' must be an absolute path`);
    }
  }
  return { ok: true, envelope: { v: 1, id: value.id as number, req: req as AdminRequest } };
}
