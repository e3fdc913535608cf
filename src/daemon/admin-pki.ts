/**
 * Admin commands on certificates and tokens (ikeadm.md §3.9, §3.10), answered from the daemon's
 * PKI holder (pki-live.ts):
 *   dump certcache    the store's certificates and the validated peer certificates (any privilege)
 *   flush certcache   drops the cache and re-reads the store (on-disk changes become visible)
 *   token login       logs in to a PKCS#11 token with the PIN the request carries; the PIN goes to
 *                     a crypto worker once, is wiped here after, and appears in no log or reply
 *   token logout      locks the token's keys again
 * Privilege: the reference gates only pre-shared keys and keying material by level, and token
 * login/logout by authorisation (ikeadm.md §3.10); here the admin socket (root only, mode 0600)
 * is that authorisation, so every level may use these commands.
 */
import { AdminError } from "../control/messages.js";
import type { CertCacheView, FlushCertCacheResult, ListResult, TokenResult } from "../control/results.js";
import type { HandlerResult } from "../control/server.js";
import type { PkiLive } from "./pki-live.js";

const done = (result: unknown): HandlerResult => ({ ok: true, result });
const fail = (code: number, message: string, details?: readonly string[]): HandlerResult =>
  ({ ok: false, error: { code, message, ...(details && details.length > 0 ? { details: [...details] } : {}) } });

/** `dump certcache`. */
export function dumpCertCache(pki: PkiLive): HandlerResult {
  return done({ items: pki.view() } satisfies ListResult<CertCacheView>);
}

/** `flush certcache`: the cache goes; the store is read again, all or nothing. */
export async function flushCertCache(pki: PkiLive): Promise<HandlerResult> {
  const flushed = pki.certCache.flush();
  const r = await pki.reload();
  if (!r.ok) return fail(AdminError.DATA_INVALID, `certificate cache flushed (${flushed}), but the store did not reload; the previous one stays in use`, r.errors);
  return done({ flushed, warnings: [...r.warnings] } satisfies FlushCertCacheResult);
}

/** `token login`. */
export async function tokenLogin(pki: PkiLive, label: string, pin: string): Promise<HandlerResult> {
  const r = await pki.tokenLogin(label, Buffer.from(pin, "utf8"));
  if (!r.ok) return fail(AdminError.NO_TOKEN, `token login failed or no objects on device: ${r.error.message}`);
  return done({ token: label, keys: r.value.keys, ...(r.value.already ? { already: true } : {}) } satisfies TokenResult);
}

/** `token logout`. */
export async function tokenLogout(pki: PkiLive, label: string): Promise<HandlerResult> {
  const r = await pki.tokenLogout(label);
  if (!r.ok) return fail(AdminError.NO_TOKEN, `token logout failed or no objects on device: ${r.error.message}`);
  return done({ token: label, keys: r.value } satisfies TokenResult);
}
