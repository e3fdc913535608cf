/**
 * A slab of libsodium secure memory for short-lived per-SA secrets (`SecureBuffer` with
 * `pooled: true`). Each `sodium_malloc` maps its own pages plus two guard pages and mlocks them; in
 * the handshake benchmark that cost (mmap + mlock, munmap on release: ~25 us idle, ~130 us under
 * load) came three times per negotiation and was the largest item of the responder's profile
 * besides the page protection. Here 64 KiB arenas from `sodium_malloc` (locked, excluded from core
 * dumps, guard pages at both ends) are split into power-of-two slots; a slot is zeroed when it is
 * released, before it can be handed out again. Arenas are kept for reuse (memory is bounded by the
 * peak number of live secrets) and only a process exit unmaps them.
 *
 * What the slab gives up, compared with one mapping per secret: slots share pages, so they cannot
 * be made PROT_NONE while idle, and a view kept past release is not detached (it sees zeros, later
 * another secret). `SecureBuffer` never hands a view out beyond one synchronous call, so only a
 * caller breaking that rule could notice.
 */
import { createRequire } from "node:module";

interface SodiumSlabMemory {
  sodium_malloc(size: number): Buffer;
  sodium_memzero(buf: ArrayBufferView): void;
}

const sodium = createRequire(import.meta.url)("sodium-native") as SodiumSlabMemory;

/** Slot sizes in bytes; a longer secret gets its own mapping. */
const SLOT_SIZES = [64, 128, 256, 512, 1024, 2048] as const;
const ARENA_BYTES = 64 * 1024;

/** Longest secret the slab holds, in bytes. */
export const MAX_SLAB_BYTES = SLOT_SIZES[SLOT_SIZES.length - 1]!;

interface SlotClass {
  readonly size: number;
  /** Free slots, each a view of one slot's full size. */
  readonly free: Buffer[];
}

const classes: SlotClass[] = SLOT_SIZES.map((size) => ({ size, free: [] }));
/**
 * The class of each handed-out slot, keyed by the caller's view (which starts where its slot
 * does): the slot's full-size view is made again on release, not held with an entry object beside
 * every live secret (~140 bytes each: one per held ISAKMP SA).
 */
const owners = new WeakMap<Buffer, SlotClass>();

function classFor(length: number): SlotClass | undefined {
  for (const cls of classes) if (length <= cls.size) return cls;
  return undefined;
}

function grow(cls: SlotClass): void {
  const arena = sodium.sodium_malloc(ARENA_BYTES);
  sodium.sodium_memzero(arena); // sodium_malloc fills with 0xdb canaries
  // Reverse order so slots are handed out in address order.
  for (let off = ARENA_BYTES - cls.size; off >= 0; off -= cls.size) cls.free.push(arena.subarray(off, off + cls.size));
}

/**
 * A zero-filled view of exactly `length` bytes (1..MAX_SLAB_BYTES) in a slab slot, or undefined
 * when the length does not fit a slot.
 */
export function slabAllocate(length: number): Buffer | undefined {
  if (length < 1) return undefined;
  const cls = classFor(length);
  if (cls === undefined) return undefined;
  if (cls.free.length === 0) grow(cls);
  const slot = cls.free.pop()!;
  const view = slot.subarray(0, length);
  owners.set(view, cls);
  return view;
}

/** Zeroes the whole slot behind `view` (from slabAllocate) and makes it reusable. */
export function slabRelease(view: Buffer): void {
  const cls = owners.get(view);
  if (cls === undefined) throw new Error("slab release of a buffer the slab did not hand out");
  owners.delete(view);
  const slot = Buffer.from(view.buffer, view.byteOffset, cls.size);
  sodium.sodium_memzero(slot);
  cls.free.push(slot);
}

/** Free slots per slot size (for tests and benchmarks). */
export function slabFreeSlots(): Record<number, number> {
  return Object.fromEntries(classes.map((c) => [c.size, c.free.length]));
}
