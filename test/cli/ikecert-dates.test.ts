/** ikecert -S/-F times (ikecert.md §5). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseWhen } from "../../src/cli/ikecert/dates.js";

test("relative and absolute validity times", () => {
  const base = Date.UTC(2023, 0, 31, 12, 0, 0);
  const iso = (t: string) => {
    const v = parseWhen(t, base);
    return typeof v === "string" ? v : new Date(v).toISOString();
  };
  assert.equal(iso("+1M"), "2023-03-03T12:00:00.000Z", "Jan 31 + 1 month overflows into March in a common year");
  assert.equal(iso("+3d12h"), "2023-02-04T00:00:00.000Z");
  assert.equal(iso("-3y2M"), "2019-12-01T12:00:00.000Z");
  assert.equal(iso("+1w30s"), "2023-02-07T12:00:30.000Z");
  assert.equal(iso("01/22/2007 12:00:00"), "2007-01-22T12:00:00.000Z");
  assert.equal(iso("2030-06-01"), "2030-06-01T00:00:00.000Z");
  for (const bad of ["+", "+3x", "02/30/2020", "tomorrow", "2020-13-01"]) assert.equal(typeof parseWhen(bad, base), "string", bad);
});
