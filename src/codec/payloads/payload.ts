/**
 * What every decoded payload carries besides its fields: views of its bytes, because the hashes of
 * RFC 2409 need them — SAi_b and IDii_b are bodies without the generic header (§5), Quick Mode's
 * HASH(1..3) cover whole payloads with their generic headers (§5.5).
 */

/** Where a decoded payload sits and views of its bytes (valid while the datagram buffer lives). */
export interface PayloadRaw {
  /** Offset of the generic header in the datagram (a decrypted body counts from 28, after the header). */
  readonly offset: number;
  /** The payload including its 4-byte generic header. */
  readonly full: Buffer;
  /** The payload body after the generic header (SAi_b, IDii_b). */
  readonly body: Buffer;
}

/** Fields every top-level payload value has; `raw` is present on decoded payloads, ignored on encode. */
export interface PayloadBase {
  raw?: PayloadRaw;
}
