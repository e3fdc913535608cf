/**
 * Round trips of the kernel codecs: every valid XFRM netlink message and PF_KEY v2 message the
 * generators make decodes back to itself after encoding, alone or several to a datagram (netlink).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { splitMessages } from "../../src/kernel/wire/netlink.js";
import { decodeXfrm, encodeXfrm } from "../../src/kernel/xfrm/message.js";
import { decodePfkey, encodePfkey } from "../../src/kernel/pfkey/message.js";
import { pfkeyMessage, xfrmControl, xfrmMessage } from "./kernel-arbitraries.js";

const seed = Number(process.env["FUZZ_SEED"] ?? Date.now() % 0x7fffffff);
const params = { seed, numRuns: 400 };

test(`XFRM: decode(encode(m)) is m, several messages to a datagram (seed ${seed})`, () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(xfrmMessage, xfrmControl), { minLength: 1, maxLength: 4 }), (msgs) => {
      const datagram = Buffer.concat(msgs.map(encodeXfrm));
      const split = splitMessages(datagram);
      assert.ok(split.ok, JSON.stringify(!split.ok && split.error));
      assert.equal(split.value.length, msgs.length);
      split.value.forEach((nl, i) => {
        const d = decodeXfrm(nl, 0);
        assert.ok(d.ok, JSON.stringify(!d.ok && d.error));
        assert.deepStrictEqual(d.value, msgs[i]);
      });
    }),
    params,
  );
});

test(`PF_KEY: decode(encode(m)) is m (seed ${seed})`, () => {
  fc.assert(
    fc.property(pfkeyMessage, (m) => {
      const bytes = encodePfkey(m);
      assert.equal(bytes.length % 8, 0);
      const d = decodePfkey(bytes);
      assert.ok(d.ok, JSON.stringify(!d.ok && d.error));
      assert.deepStrictEqual(d.value, m);
    }),
    params,
  );
});
