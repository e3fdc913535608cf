/**
 * The capture key file's line holds Ka: it is written from a buffer of its own, made without
 * turning the key into a JS string (a string can never be wiped), and wiped once written.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test, type TestContext } from "node:test";
import { KeysFile } from "../../src/daemon/keys-file.js";

test("append writes icookie,Ka from a buffer it wipes afterwards, and no hex string of Ka is made", (t: TestContext) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "iked-keys-"));
  const file = path.join(dir, "keys");
  const ka = Buffer.from("00112233445566778899aabbccddeeff", "hex");
  const icookie = Buffer.from("0123456789abcdef", "hex");
  const written: unknown[] = [];
  const write = fs.writeSync;
  t.mock.method(fs, "writeSync", (fd: number, data: unknown, ...rest: unknown[]) => {
    written.push(data);
    return (write as (...a: unknown[]) => number)(fd, data, ...rest);
  });
  const toString = Buffer.prototype.toString;
  const hexOfKa: unknown[] = [];
  t.mock.method(Buffer.prototype, "toString", function (this: Buffer, ...args: Parameters<Buffer["toString"]>) {
    if (this.equals(ka)) hexOfKa.push(args[0]);
    return toString.apply(this, args);
  });
  const keys = KeysFile.open(file);
  keys.append(icookie, ka);
  keys.close();
  t.mock.restoreAll();
  assert.equal(fs.readFileSync(file, "utf8"), "0123456789abcdef,00112233445566778899aabbccddeeff\n");
  assert.equal(written.length, 1);
  assert.ok(Buffer.isBuffer(written[0]), "a buffer, not a string");
  assert.ok((written[0] as Buffer).every((b) => b === 0), "wiped after the write");
  assert.deepEqual(hexOfKa, [], "Ka never became a string");
  fs.rmSync(dir, { recursive: true, force: true });
});
