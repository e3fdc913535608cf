/**
 * MM2s answered before, reused for MM1s with the same bytes (issue 11: what an MM1 flood costs).
 * Everything MM2 says after its two cookies is a function of MM1's bytes after its cookies (header
 * fields and payloads), the rule, the authentication methods we can use under it and the default
 * Phase 1 lifetime (phase1/mm1.ts `answerMm1`; the NAT-T choice follows MM1's vendor IDs). A flood
 * repeats one MM1 with fresh cookies, and so does every initiator of one implementation and
 * configuration, so an MM1 whose bytes were answered before under the same rule gets the same
 * answer without being decoded, checked, chosen for and encoded again: the same MM2 bytes, the
 * same embryonic record (choice, SAi_b as a view into its own copy of MM1).
 *
 * The answers are held per resolved rule (ports.ts `configPolicy` resolves a rule once per
 * configuration, so a reload starts with none), at most {@link ANSWERS_PER_RULE} of them, the
 * oldest going first, and only for MM1s of at most {@link MAX_REUSED_MM1} bytes: a flood of
 * distinct MM1s costs one table lookup more each, and the memory held stays a few tens of KiB per
 * rule. Only answers are held: a refused MM1 takes the full path every time.
 */
import type { ResolvedRule } from "../config/types.js";
import { FifoTable } from "../fifo-table.js";
import type { NattVersion } from "./natt.js";
import type { P1Choice } from "./phase1/proposal.js";

/** Answers held per rule. */
export const ANSWERS_PER_RULE = 16;
/** Larger MM1s are answered afresh every time. */
export const MAX_REUSED_MM1 = 1024;

/** An MM1's answer, without the cookies. */
export interface ReusableAnswer {
  readonly choice: P1Choice;
  /** Where SAi_b lies in MM1. */
  readonly saiStart: number;
  readonly saiEnd: number;
  readonly peerDpd: boolean;
  readonly natt?: NattVersion;
  /** MM2 from byte 16 on (everything after the cookies), in an allocation of its own (crypto/unpooled-copy.ts). */
  readonly tail: Buffer;
}

/** The answers of one engine. */
export class Mm1Answers {
  /** MM1s answered from here, since the engine started. */
  hits = 0;
  private readonly byRule = new WeakMap<ResolvedRule, FifoTable<ReusableAnswer>>();

  /** The key of `mm1` under these inputs, or undefined when it is too large to be held. */
  key(mm1: Buffer, methods: readonly number[], defaultLifeSecs: number | undefined): string | undefined {
    if (mm1.length > MAX_REUSED_MM1) return undefined;
    return `${defaultLifeSecs ?? ""}|${methods.join(",")}|${mm1.toString("latin1", 16)}`;
  }

  get(rule: ResolvedRule, key: string): ReusableAnswer | undefined {
    const a = this.byRule.get(rule)?.get(key);
    if (a !== undefined) this.hits++;
    return a;
  }

  put(rule: ResolvedRule, key: string, answer: ReusableAnswer): void {
    let table = this.byRule.get(rule);
    if (table === undefined) this.byRule.set(rule, (table = new FifoTable<ReusableAnswer>(ANSWERS_PER_RULE)));
    table.add(key, answer);
  }
}

/** MM2 for these cookies: the same bytes `encodeMessage` made for the MM1 the answer was made for. */
export function reusedMm2(a: ReusableAnswer, icookie: Buffer, rcookie: Buffer): Buffer {
  const mm2 = Buffer.allocUnsafe(16 + a.tail.length);
  icookie.copy(mm2, 0, 0, 8);
  rcookie.copy(mm2, 8, 0, 8);
  a.tail.copy(mm2, 16);
  return mm2;
}
