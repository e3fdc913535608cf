/**
 * The contract between the dispatcher (dispatch.ts) and the exchange handlers (Phase 1, Quick Mode,
 * Informational). For each datagram the dispatcher finds the SA, decodes, decrypts and checks the
 * codec's message rules once; a handler only names the message's place in its exchange (a
 * {@link Route}) and then receives the result as a typed {@link Inbound}, never bytes to parse.
 */
import type { DecodeError, Header, Message, MessagePosition, Payload } from "../codec/index.js";
import type { IsakmpSa } from "./isakmp-sa.js";
import type { Endpoint } from "./transport.js";

/**
 * Our own copy of a received datagram that is going to wait on an SA's queue (the transport's
 * buffer is not ours to keep), with its decoded header moved onto the copy. Made only once the
 * datagram is kept: a refused flood costs no copy.
 */
export function keep(received: Buffer, header: Header): { readonly datagram: Buffer; readonly header: Header } {
  const datagram = Buffer.from(received);
  return { datagram, header: { ...header, icookie: datagram.subarray(0, 8), rcookie: datagram.subarray(8, 16) } };
}

/** A received message after decryption, decoding and the rule check. */
export interface Inbound {
  readonly sa: IsakmpSa;
  readonly header: Header;
  readonly payloads: readonly Payload[];
  /** The datagram as received (reply caches match retransmissions against it). */
  readonly datagram: Buffer;
  /**
   * The endpoints it travelled between: the SA's, or (NAT-T) the peer's new ones, which the SA
   * takes once the message authenticates (dispatch.ts).
   */
  readonly local: Endpoint;
  readonly remote: Endpoint;
  /** It arrived encrypted, so the peer holds the SA's keys. */
  readonly encrypted: boolean;
  /**
   * Advance the SA's IV chain past this message (`accepted`) or leave the chain as it was. Once per
   * message; nothing to do for a clear one. Advancing proves nothing: a Phase 1 message whose
   * HASH_I/HASH_R failed still advances it (its protected error notify follows the peer's chain).
   */
  settle(accepted: boolean): void;
  /**
   * Its HASH, signature or authentication verified: NAT-T moves the SA to the endpoints it came
   * from (RFC 3947 sections 5 and 7: only authenticated messages move an SA). Never for a message
   * that failed, whatever {@link settle} did with the IV chain.
   */
  verified(): void;
}

/** How the dispatcher is to finish a message a handler takes. */
export interface Route {
  /** The codec rule (RULES) the message must satisfy; undefined when none applies. */
  readonly position: MessagePosition | undefined;
  /**
   * The message was refused: its decrypted body does not decode (`body`), or it breaks the rules
   * of `position` (`rules`). The IV chain is left as it was.
   */
  refused(error: DecodeError, stage: "body" | "rules"): void;
  /** The message passed; the handler's turn. */
  deliver(m: Inbound): Promise<void>;
}

/** One exchange kind's handler, as the dispatcher sees it. */
export interface ExchangeHandler {
  /**
   * Take a message for `sa` (on the SA's queue, its body decoded but still encrypted if it was):
   * a route, a reason to drop it (logged with the SA's tag), or null when the handler already
   * answered it (a retransmission, from a reply cache).
   */
  route(sa: IsakmpSa, message: Message, datagram: Buffer): Route | string | null;
  /**
   * Payload types whose bodies are ciphertext in the clear message `header` announces for `sa`
   * (RFC 2409 section 5.2: ID and NONCE of MM3/MM4 with public key encryption), asked before the
   * body is decoded; absent or undefined: none.
   */
  sealed?(sa: IsakmpSa, header: Header): readonly number[] | undefined;
}

/** Where new responder SAs come from (admission.ts). */
export interface ResponderAdmission {
  /**
   * A Phase 1 message (MM or AM exchange type) that matches no SA: MM1 (answered without an SA),
   * MM3 returning our cookie or AM1. The new SA with our copy of the datagram ({@link keep}) and
   * its header, decoded when admission decoded it (AM1; MM3 is decoded on the SA's queue), or
   * undefined when none is made (MM1 answered, or refused: half-open bounds, no rule, malformed;
   * counted, answered and logged there).
   */
  admit(received: Buffer, header: Header, local: Endpoint, remote: Endpoint): { sa: IsakmpSa; datagram: Buffer; header: Header; message?: Message } | undefined;
}
