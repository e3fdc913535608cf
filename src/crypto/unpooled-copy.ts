/**
 * Copies of secrets in normal memory. `Buffer.from` puts anything under 4 KiB into Node's shared
 * 8 KiB pool slab, which stays mapped (and, if a copy is not wiped, readable in a heap snapshot or
 * core) as long as any neighbour lives. A secret copy that its holder will wipe belongs in an
 * allocation of its own. No dependencies: the workers use it too.
 */

/** A copy of `src` with an ArrayBuffer of its own (never Node's shared pool). */
export function unpooledCopy(src: Uint8Array): Buffer {
  const c = Buffer.alloc(src.length);
  c.set(src);
  return c;
}
