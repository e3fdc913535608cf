import { test } from "node:test";
import assert from "node:assert/strict";
import { loadNative } from "../../native/index.js";

test("native addon loads and disables core dumps", () => {
  const addon = loadNative();
  assert.equal(addon.disableCoreDumps(), true);
});
