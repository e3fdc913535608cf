/**
 * Secure storage for SA keys: sodium-native `sodium_malloc` memory (mlock'd, guard pages, excluded
 * from core dumps), carved into fixed-size slots.
 *
 * Why slabs: each `sodium_malloc` call maps its own pages plus guard pages (three VMAs). One call
 * per key would hit the kernel's `vm.max_map_count` (65530) long before 100k SAs; 64 KiB arenas
 * split into 32..256-byte slots need one mapping per few thousand keys.
 * A freed slot is zeroed at once and only then becomes reusable.
 */
import { createRequire } from "node:module";

interface SodiumSecureMemory {
  sodium_malloc(size: number): Buffer;
  sodium_free(buf: Buffer): void;
  sodium_memzero(buf: Buffer): void;
}

const sodium = createRequire(import.meta.url)("sodium-native") as SodiumSecureMemory;

/** Slot sizes in bytes; the largest is the longest key the store accepts (2048 bits). */
const SLOT_SIZES = [32, 64, 128, 256] as const;
const ARENA_BYTES = 64 * 1024;

/** Where the SADB keeps key bytes. Injectable so tests can watch the buffers it hands out. */
export interface KeyAllocator {
  /** A zero-filled buffer of exactly `length` bytes (1..maxKeyBytes) in secure memory. */
  allocate(length: number): Buffer;
  /**
   * Zeroes `key` (and the rest of its slot) and makes the slot reusable. `key` may be a new view
   * of the same memory (same ArrayBuffer, offset and length) as the one `allocate` returned.
   */
  free(key: Buffer): void;
  /** Zeroes everything and gives the memory back (for reuse by the next store, or to the system). */
  destroy(): void;
}

/**
 * Arenas of destroyed stores, zeroed, for the next store to reuse. `sodium_free` only detaches a
 * buffer: its pages are unmapped when garbage collection finds it, and GC does not count them as
 * memory pressure, so stores made and destroyed in a loop (tests, a backend re-opened on reload)
 * could pile up mappings until `vm.max_map_count` is hit. Kept up to a bound; past it they are freed.
 */
const spareArenas: Buffer[] = [];
const MAX_SPARE_ARENAS = 64;

/** Longest key `SecureKeyStore` holds, in bytes. */
export const MAX_KEY_BYTES = SLOT_SIZES[SLOT_SIZES.length - 1]!;

interface SlabClass {
  size: number;
  arenas: Buffer[];
  free: number[];
  inUse: Uint8Array;
}

/** The slab allocator over sodium secure memory. */
export class SecureKeyStore implements KeyAllocator {
  #classes: SlabClass[] = SLOT_SIZES.map((size) => ({ size, arenas: [], free: [], inUse: new Uint8Array(0) }));
  #arenaIndex = new Map<ArrayBufferLike, number>();
  #live = 0;

  /** Keys currently held. */
  get live(): number {
    return this.#live;
  }

  allocate(length: number): Buffer {
    if (!Number.isInteger(length) || length < 1 || length > MAX_KEY_BYTES) throw new RangeError(`key length ${length} out of range`);
    const cls = this.#classFor(length);
    if (cls.free.length === 0) this.#grow(cls);
    const id = cls.free.pop()!;
    cls.inUse[id] = 1;
    this.#live++;
    const perArena = ARENA_BYTES / cls.size;
    const arena = cls.arenas[Math.floor(id / perArena)]!;
    const off = (id % perArena) * cls.size;
    return arena.subarray(off, off + length);
  }

  free(key: Buffer): void {
    const cls = this.#classFor(key.length);
    const arenaNo = this.#arenaIndex.get(key.buffer);
    const arena = arenaNo === undefined ? undefined : cls.arenas[arenaNo];
    if (arena === undefined || arena.buffer !== key.buffer || key.byteOffset % cls.size !== 0) {
      throw new Error("free of a buffer this store did not allocate");
    }
    const perArena = ARENA_BYTES / cls.size;
    const id = arenaNo! * perArena + key.byteOffset / cls.size;
    if (cls.inUse[id] !== 1) throw new Error("double free of a key slot");
    sodium.sodium_memzero(arena.subarray(key.byteOffset, key.byteOffset + cls.size));
    cls.inUse[id] = 0;
    cls.free.push(id);
    this.#live--;
  }

  destroy(): void {
    for (const cls of this.#classes) {
      for (const arena of cls.arenas) {
        sodium.sodium_memzero(arena);
        if (spareArenas.length < MAX_SPARE_ARENAS) spareArenas.push(arena);
        else sodium.sodium_free(arena);
      }
      cls.arenas = [];
      cls.free = [];
      cls.inUse = new Uint8Array(0);
    }
    this.#arenaIndex.clear();
    this.#live = 0;
  }

  #classFor(length: number): SlabClass {
    for (const cls of this.#classes) if (length <= cls.size) return cls;
    throw new RangeError(`key length ${length} out of range`);
  }

  #grow(cls: SlabClass): void {
    let arena = spareArenas.pop();
    if (arena === undefined) {
      arena = sodium.sodium_malloc(ARENA_BYTES);
      sodium.sodium_memzero(arena); // sodium_malloc fills with 0xdb canaries
    }
    const arenaNo = cls.arenas.length;
    cls.arenas.push(arena);
    // Arenas of different classes never share an ArrayBuffer, so one map serves all classes.
    this.#arenaIndex.set(arena.buffer, arenaNo);
    const perArena = ARENA_BYTES / cls.size;
    const inUse = new Uint8Array((arenaNo + 1) * perArena);
    inUse.set(cls.inUse);
    cls.inUse = inUse;
    // Push in reverse so slots are handed out in address order.
    for (let i = perArena - 1; i >= 0; i--) cls.free.push(arenaNo * perArena + i);
  }
}
