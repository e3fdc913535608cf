/**
 * Secure memory: ownership transfer wipes the source, destroy() zeroes before releasing, idle
 * buffers are inaccessible, comparisons go through constant-time primitives, nothing prints bytes.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { describe, it } from "node:test";
import { inspect } from "node:util";
import { constantTimeEqual, SecureBuffer, wipe } from "../../src/crypto/secure.js";
import { CryptoErrorCode } from "../../src/crypto/crypto-error.js";
import { watchFrees } from "../helpers/sodium-frees.js";

type Sodium = typeof import("sodium-native");
const sodium = createRequire(import.meta.url)("sodium-native") as Sodium & Record<string, unknown>;

describe("SecureBuffer", () => {
  it("take() copies the secret and zero-fills the given buffer", () => {
    const src = Buffer.from("00112233445566778899aabbccddeeff", "hex");
    const sb = SecureBuffer.take(src);
    assert.ok(src.every((b) => b === 0));
    assert.equal(sb.use((b) => b.toString("hex")), "00112233445566778899aabbccddeeff");
    sb.destroy();
  });

  it("destroy() zeroes the bytes before sodium_free and detaches every view", () => {
    const sb = SecureBuffer.copyOf(Buffer.alloc(48, 0xa5));
    let view: Buffer | undefined;
    sb.use((b) => {
      view = b;
    });
    const freed = watchFrees(() => sb.destroy());
    assert.equal(freed.length, 1);
    assert.equal(freed[0]?.length, 48);
    assert.ok(freed[0]?.every((b) => b === 0), "zero when released");
    assert.equal(view?.length, 0, "an old view sees no bytes after release");
    assert.equal(sb.destroyed, true);
    assert.throws(() => sb.use(() => 0), { code: CryptoErrorCode.Destroyed });
    sb.destroy();
  });

  it("nested use() keeps the buffer accessible until the outer call returns", () => {
    const sb = SecureBuffer.copyOf(Buffer.from([1, 2, 3]));
    const r = sb.use((a) => sb.use((b) => a[0]! + b[2]!) + a[1]!);
    assert.equal(r, 6);
    assert.equal(sb.use((b) => b[1]), 2, "relocked and unlocked again");
    sb.destroy();
  });

  it("an idle buffer is PROT_NONE: reading a leaked view kills the process (child)", () => {
    const mod = new URL("../../src/crypto/secure.js", import.meta.url).href;
    const script = `const { SecureBuffer } = await import(${JSON.stringify(mod)});
      const sb = SecureBuffer.copyOf(Buffer.from([7, 7, 7, 7]));
      let leaked; sb.use((b) => { leaked = b; });
      console.log("read", leaked[0]);`;
    // bash sets the core size limit to 0 first, so the expected crash leaves no core file behind.
    const r = spawnSync("bash", ["-c", 'ulimit -c 0; exec "$0" --input-type=module -e "$1"', process.execPath, script], {
      encoding: "utf8",
      timeout: 20_000,
    });
    assert.notEqual(r.status, 0);
    assert.ok(r.signal === "SIGSEGV" || r.signal === "SIGBUS" || (r.status ?? 0) > 128, `signal=${r.signal} status=${r.status}`);
    assert.ok(!r.stdout.includes("read 7"));
  });

  it("with protect: false the buffer stays readable (for measured hot paths)", () => {
    const sb = SecureBuffer.alloc(4, { protect: false });
    let view: Buffer | undefined;
    sb.use((b) => {
      b.writeUInt32BE(0xdeadbeef);
      view = b;
    });
    assert.equal(view?.readUInt32BE(0), 0xdeadbeef);
    sb.destroy();
    assert.equal(view?.length, 0);
  });

  it("equals() compares through sodium_memcmp (constant time) and handles lengths", () => {
    const a = SecureBuffer.copyOf(Buffer.from("secret-one"));
    const b = SecureBuffer.copyOf(Buffer.from("secret-one"));
    const calls: number[] = [];
    const original = sodium.sodium_memcmp;
    sodium.sodium_memcmp = (x: ArrayBufferView, y: ArrayBufferView) => {
      calls.push(x.byteLength);
      return original(x, y);
    };
    try {
      assert.equal(a.equals(b), true);
      assert.equal(a.equals(Buffer.from("secret-two")), false);
      assert.equal(a.equals(Buffer.from("secret")), false);
    } finally {
      sodium.sodium_memcmp = original;
    }
    assert.deepEqual(calls, [10, 10], "memcmp for the equal-length comparisons, none for a length mismatch");
    a.destroy();
    b.destroy();
  });

  it("constantTimeEqual() and wipe()", () => {
    assert.equal(constantTimeEqual(Buffer.from("abc"), Buffer.from("abc")), true);
    assert.equal(constantTimeEqual(Buffer.from("abc"), Buffer.from("abd")), false);
    assert.equal(constantTimeEqual(Buffer.from("abc"), Buffer.from("ab")), false);
    const b = Buffer.from("wipe me");
    wipe(b);
    assert.ok(b.every((x) => x === 0));
  });

  it("never prints its bytes", () => {
    const sb = SecureBuffer.copyOf(Buffer.from("hunter2hunter2"));
    for (const s of [String(sb), JSON.stringify({ sb }), inspect(sb)]) {
      assert.ok(!s.includes("hunter2") && !s.includes(Buffer.from("hunter2").toString("hex")), s);
      assert.match(s, /SecureBuffer 14 bytes/);
    }
    sb.destroy();
  });
});
