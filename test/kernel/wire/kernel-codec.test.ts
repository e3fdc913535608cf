/**
 * The kernel codecs against the kernel ABI: structure sizes as the C compiler lays out
 * <linux/xfrm.h> and <linux/pfkeyv2.h> on x86_64, real XFRM messages captured from Linux 6.18, and
 * one case per refusal with its exact error code.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { splitMessages, parseAttributes } from "../../../src/kernel/wire/netlink.js";
import { XFRM_STRUCTS } from "../../../src/kernel/xfrm/structs.js";
import { decodeXfrm, encodeXfrm } from "../../../src/kernel/xfrm/message.js";
import { decodeAttributes } from "../../../src/kernel/xfrm/attributes.js";
import { saInfoFromUsersa } from "../../../src/kernel/xfrm/xfrm-sa.js";
import { spdEntryFromXfrm } from "../../../src/kernel/xfrm/xfrm-spd.js";
import { xfrmEvent } from "../../../src/kernel/xfrm/xfrm-events.js";
import { PFKEY_STRUCTS } from "../../../src/kernel/pfkey/structs.js";
import { decodePfkey, encodePfkey, type PfkeyMessage } from "../../../src/kernel/pfkey/message.js";
import { SaMetaTable } from "../../../src/kernel/sa-meta.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../..");

test("structure sizes match the C compiler's (x86_64)", () => {
  // gcc sizeof() of each struct, in the order of XFRM_STRUCTS and PFKEY_STRUCTS.
  const xfrm = [56, 24, 64, 32, 12, 224, 24, 232, 168, 64, 64, 280, 232, 176, 1, 24, 8, 12, 6, 68, 72];
  const pfkey = [16, 4, 16, 32, 8, 8, 16, 16, 16, 16, 8, 8, 8, 8, 8, 72, 16, 28];
  assert.deepEqual(XFRM_STRUCTS.map((s) => s.size), xfrm, XFRM_STRUCTS.map((s) => s.name).join(" "));
  assert.deepEqual(PFKEY_STRUCTS.map((s) => s.size), pfkey, PFKEY_STRUCTS.map((s) => s.name).join(" "));
  const off = (name: string, field: string) => XFRM_STRUCTS.find((s) => s.name === name)!.fields.find((f) => f.name === field)!.offset;
  // offsetof() spot checks where C inserts padding.
  assert.deepEqual([off("xfrm_usersa_info", "lft"), off("xfrm_usersa_info", "seq"), off("xfrm_usersa_info", "flags")], [96, 204, 216]);
  assert.deepEqual([off("xfrm_user_tmpl", "family"), off("xfrm_user_tmpl", "saddr"), off("xfrm_user_tmpl", "aalgos")], [24, 28, 52]);
  assert.deepEqual([off("xfrm_user_acquire", "policy"), off("xfrm_user_acquire", "seq")], [96, 276]);
  assert.deepEqual([off("xfrm_selector", "family"), off("xfrm_selector", "ifindex")], [40, 48]);
});

const fixture = JSON.parse(readFileSync(path.join(root, "test/fixtures/kernel/xfrm-linux-6.18.json"), "utf8")) as { messages: Array<{ name: string; hex: string }> };
const capture = (name: string) => Buffer.from(fixture.messages.find((m) => m.name === name)!.hex, "hex");

function decodeAll(b: Buffer) {
  const split = splitMessages(b);
  assert.ok(split.ok);
  return split.value.map((m) => {
    const d = decodeXfrm(m, 0);
    assert.ok(d.ok, JSON.stringify(!d.ok && d.error));
    return d.value;
  });
}

test("real XFRM messages decode; their meaning comes out right; they re-encode byte for byte", () => {
  for (const m of fixture.messages) {
    const b = Buffer.from(m.hex, "hex");
    const msgs = decodeAll(b);
    assert.deepEqual(Buffer.concat(msgs.map(encodeXfrm)), b, m.name);
  }
  const [dumpB, dumpA] = decodeAll(capture("getpolicy-dump-part")); // the kernel lists the fwd policy first
  const idOf = () => 0;
  const out = dumpA!.body.kind === "userpolicy" ? spdEntryFromXfrm(dumpA!.body.info, dumpA!.attrs, idOf) : null;
  const fwd = dumpB!.body.kind === "userpolicy" ? spdEntryFromXfrm(dumpB!.body.info, dumpB!.attrs, idOf) : null;
  assert.ok(out?.ok && fwd?.ok);
  assert.deepEqual(out.value.selector, { src: "127.0.0.1/32", dst: "127.0.0.2/32", ulp: 17, srcPort: 0, dstPort: 7007 });
  assert.equal(out.value.owned, true, "priority 0x1ced0000 is in the daemon's band");
  assert.deepEqual(fwd.value.templates, [{ proto: "esp", mode: "tunnel", reqid: 5, optional: false, src: "192.0.2.1", dst: "192.0.2.2" }]);
  assert.equal(fwd.value.dir, "fwd");
  const [acq] = decodeAll(capture("acquire-udp-7007"));
  const ev = xfrmEvent(acq!, { ownPort: 1, idOf: () => 9, meta: new SaMetaTable(), nowSeconds: () => 0 });
  assert.ok("event" in ev && ev.event.type === "acquire");
  assert.deepEqual([ev.event.dst, ev.event.ulp, ev.event.proto, ev.event.policy.index], [{ address: "127.0.0.2", port: 7007 }, 17, "esp", 9]);
  const [spi] = decodeAll(capture("allocspi-reply"));
  assert.ok(spi!.body.kind === "usersa");
  const sa = saInfoFromUsersa(spi!.body.info, spi!.attrs, undefined, false);
  assert.ok(sa.ok);
  assert.deepEqual([sa.value.src, sa.value.dst, sa.value.proto, sa.value.state], ["127.0.0.2", "127.0.0.1", "esp", "larval"]);
  assert.ok(sa.value.spi >= 0x100 && sa.value.spi <= 0x1ff);
  const [flush] = decodeAll(capture("flushsa-notice"));
  assert.deepEqual(xfrmEvent(flush!, { ownPort: 1, idOf, meta: new SaMetaTable(), nowSeconds: () => 0 }), { event: { type: "flush", proto: null } });
});

/** A netlink message of `type` whose body is `body`. */
function nl(type: number, body: Buffer, flags = 0): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt32LE(16 + body.length, 0);
  h.writeUInt16LE(type, 4);
  h.writeUInt16LE(flags, 6);
  return Buffer.concat([h, body]);
}
const attr = (type: number, value: Buffer) => {
  const h = Buffer.alloc(4);
  h.writeUInt16LE(4 + value.length, 0);
  h.writeUInt16LE(type, 2);
  return Buffer.concat([h, value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
};
const algo = (name: string, keyBits: number, keyBytes: number) => {
  const b = Buffer.alloc(68 + keyBytes);
  b.write(name, "latin1");
  b.writeUInt32LE(keyBits, 64);
  return b;
};

test("XFRM refusals, each with its code", () => {
  const cases: Array<[string, Buffer, string]> = [
    ["header cut short", Buffer.alloc(12), "IKE_ERR_KMSG_TRUNCATED"],
    ["nlmsg_len below the header", (() => { const b = nl(0x10, Buffer.alloc(224)); b.writeUInt32LE(8, 0); return b; })(), "IKE_ERR_KMSG_LENGTH"],
    ["nlmsg_len past the datagram", (() => { const b = nl(0x10, Buffer.alloc(224)); b.writeUInt32LE(4096, 0); return b; })(), "IKE_ERR_KMSG_TRUNCATED"],
    ["unknown message type", nl(0x7f, Buffer.alloc(0)), "IKE_ERR_KMSG_TYPE"],
    ["NEWSA body shorter than xfrm_usersa_info", nl(0x10, Buffer.alloc(200)), "IKE_ERR_KMSG_TRUNCATED"],
    ["attribute length below its header", nl(0x10, Buffer.concat([Buffer.alloc(224), Buffer.from([2, 0, 1, 0])])), "IKE_ERR_KMSG_LENGTH"],
    ["attribute past the message", nl(0x10, Buffer.concat([Buffer.alloc(224), Buffer.from([64, 0, 1, 0])])), "IKE_ERR_KMSG_TRUNCATED"],
    ["XFRMA_SA of the wrong size", nl(0x11, Buffer.concat([Buffer.alloc(24), attr(6, Buffer.alloc(200))])), "IKE_ERR_KMSG_EXTENSION"],
    ["XFRMA_SRCADDR twice", nl(0x11, Buffer.concat([Buffer.alloc(24), attr(13, Buffer.alloc(16)), attr(13, Buffer.alloc(16))])), "IKE_ERR_KMSG_EXTENSION"],
    ["algorithm name without its NUL", nl(0x10, Buffer.concat([Buffer.alloc(224), attr(2, Buffer.alloc(68, 0x61))])), "IKE_ERR_KMSG_VALUE"],
    ["key longer than the attribute", nl(0x10, Buffer.concat([Buffer.alloc(224), attr(2, algo("cbc(aes)", 128, 8))])), "IKE_ERR_KMSG_LENGTH"],
    ["templates not a multiple of xfrm_user_tmpl", nl(0x13, Buffer.concat([Buffer.alloc(168), attr(5, Buffer.alloc(100))])), "IKE_ERR_KMSG_EXTENSION"],
    ["seven templates", nl(0x13, Buffer.concat([Buffer.alloc(168), attr(5, Buffer.alloc(64 * 7))])), "IKE_ERR_KMSG_EXTENSION"],
    ["nlmsgerr cut short", nl(2, Buffer.alloc(8)), "IKE_ERR_KMSG_TRUNCATED"],
    ["nlmsgerr with a positive error", nl(2, (() => { const b = Buffer.alloc(20); b.writeInt32LE(5, 0); return b; })()), "IKE_ERR_KMSG_VALUE"],
  ];
  for (const [name, bytes, code] of cases) {
    const split = splitMessages(bytes);
    const r = split.ok ? decodeXfrm(split.value[0]!, 16) : split;
    assert.ok(!r.ok, name);
    assert.equal(r.error.code, code, name);
  }
  // Unknown attribute types are skipped (new kernels add some).
  const list = parseAttributes(attr(200, Buffer.alloc(4)), 0, 0);
  assert.ok(list.ok);
  assert.deepEqual(decodeAttributes(list.value), { ok: true, value: {} });
});

const pfkeyBase: PfkeyMessage = { type: 3, satype: 3, errno: 0, seq: 1, pid: 2, ext: { sa: { spi: 0x1234, replay: 32, state: 1, auth: 3, encrypt: 12, flags: 0 } } };

test("PF_KEY refusals, each with its code", () => {
  const good = encodePfkey(pfkeyBase);
  const edit = (f: (b: Buffer) => Buffer | void): Buffer => {
    const b = Buffer.from(good);
    return f(b) ?? b;
  };
  const withExt = (ext: Buffer) => {
    const b = Buffer.concat([good, ext]);
    b.writeUInt16LE(b.length / 8, 4);
    return b;
  };
  const address = (family: number, words: number, prefixlen = 32) => {
    const e = Buffer.alloc(words * 8);
    e.writeUInt16LE(words, 0);
    e.writeUInt16LE(5, 2);
    e[5] = prefixlen;
    e.writeUInt16LE(family, 8);
    return e;
  };
  const cases: Array<[string, Buffer, string]> = [
    ["short header", good.subarray(0, 12), "IKE_ERR_KMSG_TRUNCATED"],
    ["version 1", edit((b) => void (b[0] = 1)), "IKE_ERR_KMSG_VERSION"],
    ["message type 0", edit((b) => void (b[1] = 0)), "IKE_ERR_KMSG_TYPE"],
    ["message type 25", edit((b) => void (b[1] = 25)), "IKE_ERR_KMSG_TYPE"],
    ["sadb_msg_len not the datagram", edit((b) => void b.writeUInt16LE(9, 4)), "IKE_ERR_KMSG_LENGTH"],
    ["extension of length 0", edit((b) => void b.writeUInt16LE(0, 16)), "IKE_ERR_KMSG_LENGTH"],
    ["extension past the end", edit((b) => void b.writeUInt16LE(3, 16)), "IKE_ERR_KMSG_TRUNCATED"],
    ["extension type 0", edit((b) => void b.writeUInt16LE(0, 18)), "IKE_ERR_KMSG_EXTENSION"],
    ["extension type 27", edit((b) => void b.writeUInt16LE(27, 18)), "IKE_ERR_KMSG_EXTENSION"],
    ["SA extension twice", withExt(good.subarray(16)), "IKE_ERR_KMSG_EXTENSION"],
    ["address of family 1", withExt(address(1, 3)), "IKE_ERR_KMSG_VALUE"],
    ["IPv4 address in 5 words", withExt(address(2, 5)), "IKE_ERR_KMSG_LENGTH"],
    ["IPv4 prefix length 33", withExt(address(2, 3, 33)), "IKE_ERR_KMSG_VALUE"],
    ["key bits beyond the extension", withExt(Buffer.from([2, 0, 8, 0, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])), "IKE_ERR_KMSG_LENGTH"],
    ["proposal not n sadb_comb", withExt(Buffer.from([2, 0, 13, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])), "IKE_ERR_KMSG_LENGTH"],
    ["ipsecrequest cut short", withExt(Buffer.from([3, 0, 18, 0, 2, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 50, 0, 1, 2, 0, 0])), "IKE_ERR_KMSG_TRUNCATED"],
    ["ipsecrequest length below its header", withExt(Buffer.concat([Buffer.from([4, 0, 18, 0, 2, 0, 2, 0]), Buffer.alloc(8), Buffer.from([8, 0, 50, 0, 1, 2, 0, 0]), Buffer.alloc(8)])), "IKE_ERR_KMSG_LENGTH"],
    ["transport ipsecrequest with addresses", withExt(Buffer.concat([Buffer.from([5, 0, 18, 0, 2, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 24, 0, 50, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), Buffer.alloc(8)])), "IKE_ERR_KMSG_LENGTH"],
  ];
  for (const [name, bytes, code] of cases) {
    const r = decodePfkey(bytes);
    assert.ok(!r.ok, name);
    assert.equal(r.error.code, code, name);
  }
  // sadb_msg_reserved is Linux's policy reference count in X_SPD* messages: accepted.
  assert.ok(decodePfkey(edit((b) => void b.writeUInt16LE(3, 6))).ok);
});
