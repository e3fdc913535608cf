/** Interactive-mode tokenising. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { LineAssembler, splitWords } from "../../src/cli/ikeadm/tokenize.js";

test("quotes group words and are removed; escapes inside quotes", () => {
  assert.deepEqual(splitWords('get rule "my rule"'), { ok: true, words: ["get", "rule", "my rule"] });
  assert.deepEqual(splitWords('a "b \\" c" d'), { ok: true, words: ["a", 'b " c', "d"] });
  assert.deepEqual(splitWords('x ""'), { ok: true, words: ["x", ""] });
  assert.equal(splitWords('get rule "open').ok, false);
});

test("comments, blank lines and backslash continuation", () => {
  const l = new LineAssembler();
  assert.deepEqual(l.feed("  # comment"), { kind: "empty" });
  assert.deepEqual(l.feed(""), { kind: "empty" });
  assert.deepEqual(l.feed("dump \\"), { kind: "more" });
  assert.deepEqual(l.feed("rule"), { kind: "words", words: ["dump", "rule"] });
  assert.deepEqual(l.feed("get \\"), { kind: "more" });
  l.reset();
  assert.deepEqual(l.feed("get priv"), { kind: "words", words: ["get", "priv"] });
});
