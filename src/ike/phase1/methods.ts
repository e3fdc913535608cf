/**
 * Which Phase 1 authentication methods a rule can use here, and the authenticator for the one
 * chosen (RFC 2409 section 5: pre-shared keys, DSS and RSA signatures; RSA encryption has its own
 * Main Mode flow, encryption.ts).
 */
import { AuthMethod } from "../../codec/index.js";
import type { AuthContext, Authenticator } from "./authenticator.js";
import { isRefusal } from "./credentials.js";
import { PskAuthenticator } from "./psk-auth.js";
import { SignatureAuthenticator } from "./signature-auth.js";

/** Certificate methods the engine implements. */
const CERT_METHODS: readonly number[] = [AuthMethod.DssSignatures, AuthMethod.RsaSignatures, AuthMethod.RsaEncryption];

/**
 * The methods we can use under the context's rule: pre-shared keys for a pre-shared rule; for a
 * certificate rule, each of its methods for which we hold a certificate and key (and the ports
 * exist). `problems` says why a configured method is unusable.
 */
export function usableMethods(ctx: Pick<AuthContext, "rule" | "pubkey" | "credentials">): { methods: number[]; problems: string[] } {
  const configured = [...new Set(ctx.rule.p1Xforms.map((x) => x.authMethod))];
  if (configured.includes(AuthMethod.PreSharedKey)) return { methods: [AuthMethod.PreSharedKey], problems: [] };
  const methods: number[] = [];
  const problems: string[] = [];
  for (const m of configured) {
    if (!CERT_METHODS.includes(m)) {
      problems.push(`auth method ${m} is not implemented`);
    } else if (ctx.credentials === undefined || ctx.pubkey === undefined) {
      problems.push(`auth method ${m} needs the certificate store, and this engine has none`);
    } else {
      const own = ctx.credentials.own(ctx.rule, m);
      if (isRefusal(own)) problems.push(own.reason);
      else methods.push(m);
    }
  }
  return { methods, problems };
}

/** The authenticator for a chosen method (pre-shared keys or signatures). */
export function authenticatorFor(ctx: AuthContext, method: number): Authenticator {
  return method === AuthMethod.PreSharedKey ? new PskAuthenticator(ctx) : new SignatureAuthenticator(ctx, method);
}
