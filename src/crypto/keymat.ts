/**
 * The key holder of one ISAKMP SA (RFC 2409 sections 5 and 5.5, appendix B), after strongSwan's
 * keymat_v1: it derives SKEYID, SKEYID_d/a/e and Ka, and then offers operations (HASH_I/HASH_R,
 * Quick Mode and Informational hashes, CBC with per-exchange IV chaining, KEYMAT) without ever
 * handing a key out. The SA's derived secrets (SKEYID, SKEYID_d/a/e, Ka) sit in one
 * `SecureBuffer`, together with g^xy during the derivation only (its slot is wiped once the keys
 * are derived), and our DH private value in another until the derivation consumes it; destroy()
 * wipes and releases both. KEYMAT comes back in its own `SecureBuffer` for the kernel.
 *
 * Ownership: buffers passed as g^xy or as the DH private value are copied into secure memory and
 * the given buffer is zero-filled, so the pool's result buffer does not linger. Copies of the DH
 * private value given out for a pool task are tracked and wiped when the value is released.
 *
 * Typical use by the exchange engine:
 *   const km = new Phase1Keymat(phase1Suite(encr, keyLen, hash));
 *   km.deriveFromPsk({ icookie, rcookie, nonceI, nonceR, gxi, gxr }, gxyFromPool, psk);
 *   const ct = km.encrypt(0, payloads);                 // MM5
 *   const r = km.decrypt(0, ciphertext);                // MM6
 *   if (r.ok && km.verifyHashR(hashPayload, saiB, idirB)) r.commit(); else if (r.ok) r.discard();
 */
import type { IpsecProtocolId } from "./algorithms.js";
import { cbcDecrypt, cbcEncrypt, checkCipherKey, cipherAvailable, padForEncryption } from "./cipher.js";
import { CryptoError, CryptoErrorCode } from "./crypto-error.js";
import { IvChain } from "./iv-chain.js";
import * as kdf from "./kdf.js";
import type { Phase1Suite } from "./phase1-suite.js";
import { constantTimeEqual, SecureBuffer, wipe } from "./secure.js";
import { unpooledCopy } from "./unpooled-copy.js";

export { phase1Suite, type Phase1Suite } from "./phase1-suite.js";

/** The public inputs of a Phase 1 derivation (all bodies without generic payload headers). */
export interface Phase1Exchange {
  readonly icookie: Uint8Array;
  readonly rcookie: Uint8Array;
  /** Ni_b and Nr_b. */
  readonly nonceI: Uint8Array;
  readonly nonceR: Uint8Array;
  /** g^xi and g^xr (KE payload bodies). */
  readonly gxi: Uint8Array;
  readonly gxr: Uint8Array;
}

/** A decrypted message whose IV advance waits for authentication. */
export interface Decrypted {
  readonly ok: true;
  /** The payload chain followed by the padding (the receiver ignores what follows the chain). */
  readonly plaintext: Buffer;
  /** The message authenticated: later messages of this exchange chain from its last block. */
  commit(): void;
  /** The message failed authentication: the IV stays where it was. */
  discard(): void;
}

/** Why a ciphertext could not be decrypted (a value: it comes from a peer). */
export interface DecryptFailure {
  readonly ok: false;
  readonly code: "IKE_ERR_DECRYPT_LENGTH";
  readonly message: string;
}

/**
 * Copies of an SA's Phase 1 secrets, made only for privilege level 2 (`in.iked -p keymat`): the
 * `KEY:` lines of `ikeadm get|dump p1` and the capture key file. Normal memory: the caller wipes
 * every buffer (`fill(0)`) as soon as it has used it.
 */
export interface Phase1KeyExport {
  readonly skeyid: Buffer;
  readonly skeyidD: Buffer;
  readonly skeyidA: Buffer;
  readonly skeyidE: Buffer;
  /** The Phase 1 encryption key (Ka, RFC 2409 appendix B). */
  readonly ka: Buffer;
}

/** Offsets of the secrets in the SA's one secure allocation. */
interface Layout {
  readonly skeyid: [number, number];
  readonly skeyidD: [number, number];
  readonly skeyidA: [number, number];
  readonly skeyidE: [number, number];
  readonly ka: [number, number];
  /** Bytes in all. */
  readonly length: number;
}

const view = (b: Buffer, [off, len]: [number, number]): Buffer => b.subarray(off, off + len);

/** Layouts by hash length and key length: a few suites, shared by every SA (frozen). */
const layouts = new Map<string, Layout>();

function layoutOf(hl: number, kaLen: number): Layout {
  const k = `${hl},${kaLen}`;
  let l = layouts.get(k);
  if (l === undefined) {
    l = Object.freeze({
      skeyid: [0, hl],
      skeyidD: [hl, hl],
      skeyidA: [2 * hl, hl],
      skeyidE: [3 * hl, hl],
      ka: [4 * hl, kaLen],
      length: 4 * hl + kaLen,
    } as Layout);
    layouts.set(k, l);
  }
  return l;
}

/** The four ways of holding secrets, [pooled][protect]: one frozen object each, shared by every holder. */
const MEMORY = [false, true].map((pooled) => [false, true].map((protect) => Object.freeze({ protect, pooled })));

/** Options of a key holder. */
export interface Phase1KeymatOptions {
  /**
   * Keep the secrets PROT_NONE between operations (default true; see secure.ts for the measured
   * cost). Applies to the SA's secrets and to the KEYMAT buffers it returns.
   */
  readonly protect?: boolean;
  /**
   * Keep the secrets in the shared secure slab instead of mappings of their own (no page
   * protection; see secure-slab.ts). Default false. Applies to the KEYMAT buffers too.
   */
  readonly pooled?: boolean;
}

/** The per-ISAKMP-SA key holder. */
export class Phase1Keymat {
  readonly suite: Phase1Suite;
  readonly #memory: { readonly protect: boolean; readonly pooled: boolean };
  #secrets: SecureBuffer | undefined;
  #layout: Layout | undefined;
  #dhPrivate: SecureBuffer | undefined;
  /** Normal-memory copies of the DH private value given out for pool tasks (see dhPrivateForTask). */
  #dhCopies: Set<Buffer> | undefined;
  #ivs: IvChain | undefined;
  #x: Phase1Exchange | undefined;
  #destroyed = false;
  #phase1Over = false;

  /**
   * A holder for one ISAKMP SA. Throws `IKE_ERR_CRYPTO_LEGACY_PROVIDER` at once when the suite's
   * cipher needs OpenSSL's legacy provider and it is not loaded (proposal selection can avoid that
   * with `cipherAvailable()`).
   */
  constructor(suite: Phase1Suite, options: Phase1KeymatOptions = {}) {
    if (!cipherAvailable(suite.cipher)) {
      throw new CryptoError(CryptoErrorCode.LegacyProvider, `${suite.cipher.display} needs node --openssl-legacy-provider`);
    }
    this.suite = suite;
    this.#memory = MEMORY[options.pooled === true ? 1 : 0]![options.protect === false ? 0 : 1]!;
  }

  /** Whether SKEYID and its children have been derived. */
  get derived(): boolean {
    return this.#secrets !== undefined;
  }

  /**
   * Keeps our DH private value (takes ownership: `value` is wiped) until a derivation runs. A value
   * held before is released, and every copy of it handed out is wiped.
   */
  holdDhPrivate(value: Uint8Array): void {
    this.#alive();
    const next = SecureBuffer.take(value, this.#memory);
    this.#releaseDhPrivate();
    this.#dhPrivate = next;
  }

  /**
   * A normal-memory copy of the DH private value, only to be passed to a pool task computing g^xy
   * (the pool copies it into the task's message, which the worker wipes). This is the one place it
   * leaves secure memory. The copy has an allocation of its own (not Node's shared pool) and the
   * holder keeps track of it: it is wiped when the value is released (the derivation consumes it,
   * holdDhPrivate replaces it, destroy()), whatever the caller does. Prefer
   * {@link withDhPrivateForTask}, which wipes it as soon as the task settles.
   */
  dhPrivateForTask(): Buffer {
    this.#alive();
    if (!this.#dhPrivate) throw new CryptoError(CryptoErrorCode.NotDerived, "no DH private value held");
    const copy = this.#dhPrivate.use(unpooledCopy);
    (this.#dhCopies ??= new Set()).add(copy);
    return copy;
  }

  /**
   * Runs `task` with a copy of the DH private value (as {@link dhPrivateForTask}) and wipes the copy
   * when the task's promise settles, fulfilled or rejected: `await km.withDhPrivateForTask((x) =>
   * pool.dhAgree(group, x, peerPublic, { signal }))`.
   */
  async withDhPrivateForTask<T>(task: (privateValue: Buffer) => Promise<T>): Promise<T> {
    const copy = this.dhPrivateForTask();
    try {
      return await task(copy);
    } finally {
      wipe(copy);
      this.#dhCopies?.delete(copy);
    }
  }

  /**
   * Pre-shared key authentication: SKEYID = prf(PSK, Ni_b | Nr_b). Wipes `gxy`. Like the other
   * derive methods it throws `CryptoError` `IKE_ERR_CRYPTO_WEAK_KEY` or
   * `IKE_ERR_CRYPTO_DEGENERATE_3DES_KEY` when the derived DES/3DES key Ka must be rejected (the SA
   * is abandoned), and `IKE_ERR_CRYPTO_BAD_INPUT` when called twice.
   */
  deriveFromPsk(x: Phase1Exchange, gxy: Uint8Array, psk: Uint8Array | SecureBuffer): void {
    const h = this.suite.hash;
    this.#derive(x, gxy, () =>
      psk instanceof SecureBuffer ? psk.use((k) => kdf.skeyidPsk(h, k, x.nonceI, x.nonceR)) : kdf.skeyidPsk(h, psk, x.nonceI, x.nonceR),
    );
  }

  /** Signature authentication: SKEYID = prf(Ni_b | Nr_b, g^xy). Wipes `gxy`. */
  deriveFromSig(x: Phase1Exchange, gxy: Uint8Array): void {
    this.#derive(x, gxy, (g) => kdf.skeyidSig(this.suite.hash, x.nonceI, x.nonceR, g));
  }

  /** Public key encryption: SKEYID = prf(hash(Ni_b | Nr_b), CKY-I | CKY-R). Wipes `gxy`. */
  deriveFromPkEnc(x: Phase1Exchange, gxy: Uint8Array): void {
    this.#derive(x, gxy, () => kdf.skeyidPkEnc(this.suite.hash, x.nonceI, x.nonceR, x.icookie, x.rcookie));
  }

  /** HASH_I over the initiator's SA body and ID body. */
  hashI(saiB: Uint8Array, idiiB: Uint8Array): Buffer {
    const x = this.#exchange();
    return this.#withKeys((s, l) => kdf.hashI(this.suite.hash, view(s, l.skeyid), x.gxi, x.gxr, x.icookie, x.rcookie, saiB, idiiB));
  }

  /** HASH_R over the initiator's SA body and the responder's ID body. */
  hashR(saiB: Uint8Array, idirB: Uint8Array): Buffer {
    const x = this.#exchange();
    return this.#withKeys((s, l) => kdf.hashR(this.suite.hash, view(s, l.skeyid), x.gxi, x.gxr, x.icookie, x.rcookie, saiB, idirB));
  }

  /** Constant-time comparison of a received hash with the expected one. */
  verifyHash(received: Uint8Array, expected: Uint8Array): boolean {
    return constantTimeEqual(received, expected);
  }

  /** Whether `received` is the right HASH_I. */
  verifyHashI(received: Uint8Array, saiB: Uint8Array, idiiB: Uint8Array): boolean {
    return constantTimeEqual(received, this.hashI(saiB, idiiB));
  }

  /** Whether `received` is the right HASH_R. */
  verifyHashR(received: Uint8Array, saiB: Uint8Array, idirB: Uint8Array): boolean {
    return constantTimeEqual(received, this.hashR(saiB, idirB));
  }

  /** Quick Mode HASH(1) = prf(SKEYID_a, M-ID | rest of the message after HASH). */
  quickModeHash1(messageId: number, rest: Uint8Array): Buffer {
    return this.#withKeys((s, l) => kdf.quickModeHash1(this.suite.hash, view(s, l.skeyidA), messageId, rest));
  }

  /** Quick Mode HASH(2) = prf(SKEYID_a, M-ID | Ni_b | rest). */
  quickModeHash2(messageId: number, nonceI: Uint8Array, rest: Uint8Array): Buffer {
    return this.#withKeys((s, l) => kdf.quickModeHash2(this.suite.hash, view(s, l.skeyidA), messageId, nonceI, rest));
  }

  /** Quick Mode HASH(3) = prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b). */
  quickModeHash3(messageId: number, nonceI: Uint8Array, nonceR: Uint8Array): Buffer {
    return this.#withKeys((s, l) => kdf.quickModeHash3(this.suite.hash, view(s, l.skeyidA), messageId, nonceI, nonceR));
  }

  /** Informational HASH(1) = prf(SKEYID_a, M-ID | N/D payloads). */
  informationalHash(messageId: number, rest: Uint8Array): Buffer {
    return this.quickModeHash1(messageId, rest);
  }

  /**
   * Pads the payload chain (zeros, at least one byte) and encrypts it with the current IV of
   * `messageId`; the exchange's IV then chains from the last ciphertext block.
   */
  encrypt(messageId: number, payloads: Uint8Array): Buffer {
    const ivs = this.#ivChain();
    const padded = padForEncryption(payloads, this.suite.cipher.blockSize);
    const ct = this.#withKeys((s, l) => cbcEncrypt(this.suite.cipher, view(s, l.ka), ivs.current(messageId), padded));
    ivs.advance(messageId, ct);
    return ct;
  }

  /**
   * Decrypts a message of exchange `messageId`. The IV advance happens only on commit(), after
   * the caller has checked the message's hash, so a forged message cannot desynchronise the chain.
   */
  decrypt(messageId: number, ciphertext: Uint8Array): Decrypted | DecryptFailure {
    const ivs = this.#ivChain();
    const bs = this.suite.cipher.blockSize;
    if (ciphertext.length === 0 || ciphertext.length % bs !== 0) {
      return {
        ok: false,
        code: "IKE_ERR_DECRYPT_LENGTH",
        message: `encrypted part is ${ciphertext.length} bytes, not a non-zero multiple of ${bs}`,
      };
    }
    const plaintext = this.#withKeys((s, l) => cbcDecrypt(this.suite.cipher, view(s, l.ka), ivs.current(messageId), ciphertext));
    const lastBlock = Buffer.from(ciphertext.subarray(ciphertext.length - bs));
    let settled = false;
    return {
      ok: true,
      plaintext,
      commit: () => {
        if (settled) return;
        settled = true;
        if (!this.#destroyed) ivs.advance(messageId, lastBlock);
      },
      discard: () => {
        settled = true;
      },
    };
  }

  /** The IV the next message of `messageId` will use (public; for logs at trace level and tests). */
  currentIv(messageId: number): Buffer {
    return this.#ivChain().current(messageId);
  }

  /** Drops the IV state of a finished Quick Mode or Informational exchange. */
  endExchange(messageId: number): void {
    this.#ivs?.end(messageId);
  }

  /**
   * KEYMAT for one IPsec SA: `lengthBytes` bytes (encryption key, then authentication key; see
   * `keymatLength`) in a new SecureBuffer that the caller hands to the kernel and destroys.
   * `gqmxy` is the Quick Mode DH secret with PFS (the caller keeps and destroys it).
   */
  keymat(
    protocol: IpsecProtocolId,
    spi: number | Uint8Array,
    nonceI: Uint8Array,
    nonceR: Uint8Array,
    gqmxy: SecureBuffer | undefined,
    lengthBytes: number,
  ): SecureBuffer {
    const out = SecureBuffer.alloc(lengthBytes, this.#memory);
    try {
      out.use((o) =>
        this.#withKeys((s, l) => {
          const d = view(s, l.skeyidD);
          if (gqmxy) gqmxy.use((g) => kdf.keymat(this.suite.hash, d, protocol, spi, nonceI, nonceR, g, lengthBytes, o));
          else kdf.keymat(this.suite.hash, d, protocol, spi, nonceI, nonceR, undefined, lengthBytes, o);
        }),
      );
      return out;
    } catch (e) {
      out.destroy();
      throw e;
    }
  }

  /**
   * The one way keys leave the holder, deliberately named: call it only when the daemon runs at
   * privilege level 2 (keymat), where the administrator asked to see keying material (`ikeadm
   * get p1` KEY: lines, the `--keys-file` for packet captures). Returns fresh normal-memory copies
   * the caller must wipe. Throws `IKE_ERR_CRYPTO_NOT_DERIVED` before the derivation and
   * `IKE_ERR_CRYPTO_DESTROYED` after destroy().
   */
  exportForKeymatPrivilege(): Phase1KeyExport {
    // Not Buffer.from: a copy must not land in Node's shared pool slab (see unpooledCopy).
    return this.#withKeys((s, l) => ({
      skeyid: unpooledCopy(view(s, l.skeyid)),
      skeyidD: unpooledCopy(view(s, l.skeyidD)),
      skeyidA: unpooledCopy(view(s, l.skeyidA)),
      skeyidE: unpooledCopy(view(s, l.skeyidE)),
      ka: unpooledCopy(view(s, l.ka)),
    }));
  }

  /**
   * The Phase 1 exchange is over: drop the copies of its public values (cookies, nonces, g^xi,
   * g^xr) that only HASH_I and HASH_R need. The derived keys and the IV chain stay; hashI/hashR
   * throw from now on.
   */
  phase1Over(): void {
    this.#x = undefined;
    this.#phase1Over = true;
  }

  /** Wipes and releases every secret; the holder is unusable afterwards. Idempotent. */
  destroy(): void {
    this.#destroyed = true;
    this.#secrets?.destroy();
    this.#releaseDhPrivate();
    this.#secrets = undefined;
    this.#layout = undefined;
    this.#ivs = undefined;
    this.#x = undefined;
  }

  /** Never shows key bytes. */
  toString(): string {
    const s = this.suite;
    return `[Phase1Keymat ${s.cipher.name}-${s.keyBits} ${s.hash.name}${this.derived ? " derived" : ""}${this.#destroyed ? " destroyed" : ""}]`;
  }
  toJSON(): string {
    return this.toString();
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  /** SKEYID and its children, then Ka, from `gxy` into `s` (the SA's secrets, laid out as `layout`). */
  #fill(s: Buffer, layout: Layout, x: Phase1Exchange, gxy: Buffer, skeyidOf: (gxy: Buffer) => Buffer): void {
    const h = this.suite.hash;
    const put = (slot: [number, number], value: Buffer): Buffer => {
      view(s, slot).set(value);
      wipe(value);
      return view(s, slot);
    };
    const skeyid = put(layout.skeyid, skeyidOf(gxy));
    const c = kdf.skeyidChildren(h, skeyid, gxy, x.icookie, x.rcookie);
    put(layout.skeyidD, c.skeyidD);
    put(layout.skeyidA, c.skeyidA);
    const skeyidE = put(layout.skeyidE, c.skeyidE);
    const ka = kdf.expandKa(h, skeyidE, layout.ka[1], view(s, layout.ka));
    checkCipherKey(this.suite.cipher, ka);
    // Nothing after this needs g^xy: it must not outlive the derivation, even in secure memory.
    wipe(gxy);
  }

  #derive(x: Phase1Exchange, gxyIn: Uint8Array, skeyidOf: (gxy: Buffer) => Buffer): void {
    this.#alive();
    if (this.#secrets) throw new CryptoError(CryptoErrorCode.BadInput, "Phase 1 keys already derived");
    const h = this.suite.hash;
    const hl = h.outputLength;
    const kaLen = this.suite.keyBits / 8;
    const layout = layoutOf(hl, kaLen);
    // g^xy in secure memory of its own for the derivation only: the SA's allocation holds just
    // what it keeps (a slab slot half or a quarter the size: 128 instead of 256 bytes for SHA-1
    // with group 2, 256 instead of 512 with group 14), for the SA's whole life.
    const secrets = SecureBuffer.alloc(layout.length, this.#memory);
    let gxyHeld: SecureBuffer | undefined;
    try {
      gxyHeld = SecureBuffer.alloc(gxyIn.length, this.#memory);
      gxyHeld.use((gxy) => {
        gxy.set(gxyIn);
        wipe(gxyIn);
        secrets.use((s) => this.#fill(s, layout, x, gxy, skeyidOf));
      });
    } catch (e) {
      secrets.destroy();
      wipe(gxyIn);
      throw e;
    } finally {
      // Destroy wipes it (slab slots are zeroed on release).
      gxyHeld?.destroy();
    }
    this.#releaseDhPrivate();
    this.#secrets = secrets;
    this.#layout = layout;
    this.#x = {
      icookie: Buffer.from(x.icookie),
      rcookie: Buffer.from(x.rcookie),
      nonceI: Buffer.from(x.nonceI),
      nonceR: Buffer.from(x.nonceR),
      gxi: Buffer.from(x.gxi),
      gxr: Buffer.from(x.gxr),
    };
    const iv = kdf.phase1Iv(h, x.gxi, x.gxr, this.suite.cipher.blockSize);
    this.#ivs = new IvChain(h, this.suite.cipher.blockSize, iv);
  }

  /** Wipes the held DH private value and every copy of it handed out. */
  #releaseDhPrivate(): void {
    this.#dhPrivate?.destroy();
    this.#dhPrivate = undefined;
    for (const c of this.#dhCopies ?? []) wipe(c);
    this.#dhCopies = undefined;
  }

  #withKeys<T>(fn: (secrets: Buffer, layout: Layout) => T): T {
    this.#alive();
    const secrets = this.#secrets;
    const layout = this.#layout;
    if (!secrets || !layout) throw new CryptoError(CryptoErrorCode.NotDerived, "Phase 1 keys not derived yet");
    return secrets.use((s) => fn(s, layout));
  }

  #exchange(): Phase1Exchange {
    this.#alive();
    if (!this.#x) throw new CryptoError(CryptoErrorCode.NotDerived, this.#phase1Over ? "Phase 1 exchange over: HASH_I/HASH_R inputs dropped" : "Phase 1 keys not derived yet");
    return this.#x;
  }

  #ivChain(): IvChain {
    this.#alive();
    if (!this.#ivs) throw new CryptoError(CryptoErrorCode.NotDerived, "Phase 1 keys not derived yet");
    return this.#ivs;
  }

  #alive(): void {
    if (this.#destroyed) throw new CryptoError(CryptoErrorCode.Destroyed, "Phase 1 key holder used after destroy");
  }
}
