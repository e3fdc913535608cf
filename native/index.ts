/**
 * Loader for the iked native addon (native/build/Release/iked_native.node).
 *
 * The addon holds the few calls Node.js lacks. If it is missing, `loadNative()` throws an error that
 * names the build command; callers that can run without it (tests, the CLI) use `tryLoadNative()`.
 */
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import path from "node:path";

/** Functions the addon exports. */
export interface NativeAddon {
  /** PR_SET_DUMPABLE 0 and RLIMIT_CORE 0; true on success. */
  disableCoreDumps(): boolean;
}

const here = path.dirname(fileURLToPath(import.meta.url));
/** Resolved both from the source tree (native/) and the build tree (dist/native/). */
const candidates = [
  path.resolve(here, "build/Release/iked_native.node"),
  path.resolve(here, "../../native/build/Release/iked_native.node"),
];

let cached: NativeAddon | undefined;

/** Load the addon or throw an error naming the build command. */
export function loadNative(): NativeAddon {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const errors: string[] = [];
  for (const file of candidates) {
    try {
      cached = require(file) as NativeAddon;
      return cached;
    } catch (err) {
      errors.push(`${file}: ${(err as Error).message}`);
    }
  }
  throw new Error(`iked native addon not found; build it with 'npm run build:native' (${errors.join("; ")})`);
}

/** The addon, or undefined when it is not built. */
export function tryLoadNative(): NativeAddon | undefined {
  try {
    return loadNative();
  } catch {
    // Absence is reported by loadNative() to callers that require the addon.
    return undefined;
  }
}
