/** Tokeniser dialects and C number literals. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Diagnostics } from "../../src/config/diagnostics.js";
import { CONFIG_LEX, PRESHARED_LEX, tokenize } from "../../src/config/lexer.js";
import { formatFloat, parseCInteger, parseFloatLiteral } from "../../src/config/numbers.js";

const toks = (text: string, opts = CONFIG_LEX) => tokenize(text, opts, new Diagnostics("t")).map((t) => `${t.kind}:${t.text}@${t.line}:${t.col}`);

test("config dialect: self-delimiting braces and parens, comments, continuation", () => {
  assert.deepEqual(toks('{a}(b)"c d"# x\n//y\n e\\\nf'), [
    "{:{@1:1", "word:a@1:2", "}:}@1:3", "(:(@1:4", "word:b@1:5", "):)@1:6", "string:c d@1:7", "word:e@3:2", "word:f@4:1", "eof:@4:2",
  ]);
  assert.deepEqual(toks("a//b c#d"), ["word:a@1:1", "eof:@1:9"]);
  assert.deepEqual(toks("a/b"), ["word:a/b@1:1", "eof:@1:4"]);
});

test("string escapes differ between the dialects", () => {
  assert.deepEqual(toks('"a\\qb\\"c\\\\"'), ['string:aqb"c\\@1:1', "eof:@1:12"]);
  assert.deepEqual(toks('"a\\qb\\"c\\\\"', PRESHARED_LEX), ['string:a\\qb"c\\@1:1', "eof:@1:12"]);
  assert.deepEqual(toks("(x)", PRESHARED_LEX), ["word:(x)@1:1", "eof:@1:4"]);
  assert.deepEqual(toks("a//b", PRESHARED_LEX), ["word:a//b@1:1", "eof:@1:5"]);
});

test("C integers: decimal, hex, octal; capped at 32 bits", () => {
  const cases: [string, number | undefined][] = [
    ["0", 0], ["10", 10], ["010", 8], ["0x10", 16], ["0X1f", 31], ["00000000000000000017", 15], ["4294967295", 4294967295],
    ["4294967296", undefined], ["0xffffffff", 0xffffffff], ["0x100000000", undefined], ["08", undefined], ["0x", undefined],
    ["-1", undefined], ["+1", undefined], ["1e3", undefined], ["", undefined], [" 1", undefined],
  ];
  for (const [t, v] of cases) assert.equal(parseCInteger(t), v, t);
});

test("fractions for the retransmit timers, and a writer that reads back", () => {
  assert.equal(parseFloatLiteral("0.5"), 0.5);
  assert.equal(parseFloatLiteral(".25"), 0.25);
  assert.equal(parseFloatLiteral("2."), 2);
  assert.equal(parseFloatLiteral("0x10"), 16);
  assert.equal(parseFloatLiteral("1.2345678"), undefined);
  assert.equal(parseFloatLiteral("."), undefined);
  for (const v of [0.5, 0.001, 123.456, 30, 0.1]) assert.equal(parseFloatLiteral(formatFloat(v)), v);
});

test("columns count code points: tabs, accents, emoji and CRLF lines", () => {
  assert.deepEqual(toks('\t"é€😀" x\r\n😀😀 y'), ["string:é€😀@1:2", "word:x@1:8", "word:😀😀@2:1", "word:y@2:4", "eof:@2:5"]);
  assert.deepEqual(toks('{ label "😀" bogus }'), ["{:{@1:1", "word:label@1:3", "string:😀@1:9", "word:bogus@1:13", "}:}@1:19", "eof:@1:20"]);
});
