/**
 * Preload for child processes (not a test file): `node --import <this file> ...` prints the
 * secure slab's free-slot counts on stderr at exit, as one `SLAB_FREE {...}` line, so a test can
 * tell whether the process left any slot in use (every count a whole number of arenas).
 */
import { slabFreeSlots } from "../../src/crypto/secure-slab.js";

process.on("exit", () => {
  process.stderr.write(`SLAB_FREE ${JSON.stringify(slabFreeSlots())}\n`);
});
