/**
 * Pre-shared key authentication (RFC 2409 section 5.4): SKEYID = prf(pre-shared-key, Ni_b | Nr_b),
 * and HASH_I/HASH_R prove the peer holds the key.
 *
 * Which key: Main Mode picks it by the address pair before the (encrypted) ID arrives, as the
 * original does; an Aggressive Mode initiator by the address pair too; an Aggressive Mode responder
 * by the identity in AM1, which is what Aggressive Mode is for. The key is copied into this
 * negotiation's secure memory at lookup (a reload may zero the configuration's copy meanwhile)
 * and wiped as soon as SKEYID is derived, or with the SA.
 *
 * The ID we present comes from `local_id` or the key entry's `localid` (identity.ts). The peer's ID
 * must fit the key entry and, when the rule names any, one of its `remote_id` selectors.
 */
import { AuthMethod, Notify, PayloadType, type IdPayload, type Payload } from "../../codec/index.js";
import type { PresharedEntry, PresharedId } from "../../config/types.js";
import { authFailure, missing, type AuthContext, type AuthFailure, type Authenticator } from "./authenticator.js";
import { checkPeerId, formatId, localIdPayload, presharedIdOf } from "./identity.js";
import { deriveKeys, first, holdPsk, type HeldPsk, type Phase1Inputs } from "./phase1.js";

/** Pre-shared keys, for one exchange. */
export class PskAuthenticator implements Authenticator {
  readonly method = AuthMethod.PreSharedKey;
  private entry: PresharedEntry | undefined;
  private key: HeldPsk | undefined;
  private id: IdPayload | undefined;

  constructor(private readonly ctx: AuthContext) {}

  /** The key for the SA's address pair (Main Mode, Aggressive Mode initiator); false when none. */
  findByAddress(mode: "main" | "aggressive"): boolean {
    const { sa, policy } = this.ctx;
    return this.hold(policy.presharedFor(sa.local.address, sa.remote.address, mode));
  }

  /** Aggressive Mode responder: the key for the identity in AM1, or why there is none. */
  findByPeerId(id: IdPayload): AuthFailure | null {
    const { sa, policy } = this.ctx;
    const peer: PresharedId | undefined = presharedIdOf(id);
    if (peer === undefined || !this.hold(policy.presharedForId(peer, sa.local.address, "aggressive"))) {
      return authFailure(Notify.InvalidIdInformation, `no aggressive-mode key for ID ${formatId(id)}`);
    }
    const problem = checkPeerId(id, sa.remote, this.entry, sa.natt?.detection?.peerBehindNat === true);
    return problem === null ? null : authFailure(Notify.InvalidIdInformation, problem);
  }

  private hold(entry: PresharedEntry | undefined): boolean {
    if (entry === undefined) return false;
    this.entry = entry;
    this.key?.release();
    this.key = holdPsk(this.ctx.sa, entry.key);
    return true;
  }

  requests(): Payload[] {
    return [];
  }

  noteRequests(): void {
    // A CERTREQ asks for a certificate, which pre-shared keys never send.
  }

  localId(): IdPayload | AuthFailure {
    if (this.id !== undefined) return this.id;
    const id = localIdPayload(this.ctx.rule, this.ctx.sa.local, this.entry);
    if (typeof id === "string") return authFailure(undefined, id);
    this.id = id;
    return id;
  }

  localIdText(): string {
    return this.id === undefined ? "" : formatId(this.id);
  }

  async derive(group: number, x: Phase1Inputs, gxy?: Buffer): Promise<AuthFailure | null> {
    const sa = this.ctx.sa;
    if (this.key === undefined && !this.findByAddress("main")) {
      gxy?.fill(0);
      return authFailure(Notify.AuthenticationFailed, `no pre-shared key for ${sa.local.address} <-> ${sa.remote.address}`);
    }
    const key = this.key!;
    let d: Awaited<ReturnType<typeof deriveKeys>>;
    try {
      d = await deriveKeys(this.ctx, group, x, { psk: key.key }, gxy);
    } finally {
      key.release();
      this.key = undefined;
    }
    if (d === "dh") return authFailure(Notify.InvalidKeyInformation, "peer's DH value refused");
    if (d === "gone") return authFailure(undefined, "SA destroyed during DH");
    return null;
  }

  async prove(hash: Buffer): Promise<Payload[]> {
    return [{ type: PayloadType.HASH, data: hash }];
  }

  async verify(id: IdPayload, payloads: readonly Payload[], expected: Buffer): Promise<string | AuthFailure> {
    const { sa, rule, credentials } = this.ctx;
    const which = sa.role === "initiator" ? "HASH_R" : "HASH_I";
    const hash = first(payloads, PayloadType.HASH);
    if (hash === undefined) return missing(which);
    if (!sa.keymat!.verifyHash(hash.data, expected)) {
      return authFailure(Notify.AuthenticationFailed, `${which} does not verify (pre-shared key mismatch?)`);
    }
    const problem = checkPeerId(id, sa.remote, this.entry, sa.natt?.detection?.peerBehindNat === true);
    if (problem !== null) return authFailure(Notify.InvalidIdInformation, problem);
    const refused = credentials?.presharedPeerProblem(rule, { idType: id.idType, data: id.data }) ?? null;
    if (refused !== null) return authFailure(Notify.AuthenticationFailed, refused);
    return formatId(id);
  }
}
