/**
 * Bounds of ike.config's time and size knobs (ike.config(5) "LIMITS"). The original published
 * none but the nonce lengths, so these are ours, chosen so that no value can break the daemon:
 *
 * - Every time knob stays below what one JS timer holds (2^31-1 ms, about 24.8 days): a longer
 *   delay makes Node fire the timer after 1 ms, which ended SAs as soon as they came up.
 * - Lifetimes stop at 7 days, the "maximum phase 2 lifetime" `ikeadm get defaults` reports; a
 *   longer key lifetime serves no operator purpose and keeps keys in use beyond any rekey policy.
 * - Byte lifetimes keep the full 32-bit range of the door field (4 TiB): no timer is involved,
 *   nothing overflows (KiB × 1024 stays a safe integer), and routers commonly allow the same.
 * - Timers of an unfinished exchange (`expire_timer`, the retransmit timers, `retry_limit`) bound
 *   how long half-open state and retransmissions may last; the caps leave the defaults far inside.
 */
import { IKE_DEFAULTS } from "./defaults.js";

/** An inclusive range; `note` explains the maximum in messages (e.g. "7 days"). */
export interface Bound {
  readonly min: number;
  readonly max: number;
  readonly note?: string;
}

/** Seconds in 7 days: the longest Phase 1 or Phase 2 lifetime accepted. */
export const MAX_LIFETIME_SECS = 7 * 24 * 3600;

/** The largest value of a 32-bit door field. */
const U32 = 0xffffffff;

/** Smallest positive retransmit timer: `numbers.ts` reads at most 6 fraction digits. */
const MIN_TIMER_SECS = 0.000001;

const week: Bound = { min: 0, max: MAX_LIFETIME_SECS, note: "7 days" };

/** Every bounded ike.config number, by keyword. */
export const CONFIG_BOUNDS = {
  p1_lifetime_secs: { min: IKE_DEFAULTS.p1MinLifetimeSecs, max: MAX_LIFETIME_SECS, note: "7 days" },
  p2_lifetime_secs: week,
  p2_softlife_secs: week,
  p2_idletime_secs: week,
  p2_lifetime_kb: { min: 0, max: U32, note: "4 TiB" },
  p2_softlife_kb: { min: 0, max: U32, note: "4 TiB" },
  expire_timer: { min: 0, max: 3600, note: "1 hour" },
  retry_limit: { min: 0, max: 30 },
  retry_timer_init: { min: MIN_TIMER_SECS, max: 60, note: "1 minute" },
  retry_timer_max: { min: MIN_TIMER_SECS, max: 600, note: "10 minutes" },
  max_certs: { min: 0, max: 64 },
  /** RFC 2409 §5: nonces of 8 to 256 bytes. */
  p1_nonce_len: { min: 8, max: 256 },
  p2_nonce_len: { min: 8, max: 256 },
  remote_port: { min: 1, max: 65535 },
  /** Extension: percent of the crypto pool's threads (at least one slot always). */
  unverified_dh_share: { min: 1, max: 100, note: "the whole pool" },
  /** Extension (RFC 3706 DPD): idle seconds before an R-U-THERE, and between unanswered ones; 0 = off. */
  dpd_interval_secs: { min: 0, max: 86400, note: "1 day" },
  /** Extension: unanswered R-U-THEREs before the peer is declared dead. */
  dpd_retries: { min: 1, max: 30 },
} as const satisfies Record<string, Bound>;

/** A keyword with a bound. */
export type BoundedKnob = keyof typeof CONFIG_BOUNDS;
