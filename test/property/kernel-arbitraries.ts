/**
 * fast-check generators of valid kernel messages (XFRM netlink, PF_KEY v2): every structure is
 * generated from its own field list (so a field added to a structure is covered at once), every
 * attribute and extension with values its codec accepts. Shared by the round-trip properties and the
 * mutation fuzzer. Not a test file itself.
 */
import fc from "fast-check";
import { formatAddress } from "../../src/kernel/address.js";
import type { Struct } from "../../src/kernel/wire/struct.js";
import { NlFlag, NlMsgHdrStruct, NlMsgType } from "../../src/kernel/wire/netlink.js";
import { XfrmMsg } from "../../src/kernel/xfrm/constants.js";
import type { XfrmAttrs } from "../../src/kernel/xfrm/attributes.js";
import type { XfrmBody, XfrmMessage } from "../../src/kernel/xfrm/message.js";
import * as X from "../../src/kernel/xfrm/structs.js";
import { IpsecMode, SadbMsg } from "../../src/kernel/pfkey/constants.js";
import type { PfkeyExts, SadbAddress } from "../../src/kernel/pfkey/extensions.js";
import type { PfkeyMessage } from "../../src/kernel/pfkey/message.js";
import * as P from "../../src/kernel/pfkey/structs.js";

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const bytes = (n: number): fc.Arbitrary<Buffer> => fc.uint8Array({ minLength: n, maxLength: n }).map((a) => Buffer.from(a));

/** Any value of a structure, field by field from its layout. */
export function structArb<T>(s: Struct<T>): fc.Arbitrary<T> {
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of s.fields) {
    switch (f.kind) {
      case "u8":
        model[f.name] = u8;
        break;
      case "u16":
      case "be16":
        model[f.name] = u16;
        break;
      case "u32":
      case "be32":
        model[f.name] = u32;
        break;
      case "i32":
        model[f.name] = fc.integer({ min: -0x80000000, max: 0x7fffffff });
        break;
      case "u64":
        model[f.name] = fc.bigInt({ min: 0n, max: 0xffffffffffffffffn });
        break;
      case "bytes":
        model[f.name] = bytes(f.size);
        break;
      case "nested":
        model[f.name] = structArb(f.struct!);
        break;
      case "pad":
        break;
    }
  }
  return fc.record(model, { noNullPrototype: true }) as unknown as fc.Arbitrary<T>;
}

/** A key of `bits` bits: ceil(bits/8) bytes. */
const keyed = (maxBytes: number) =>
  fc.integer({ min: 0, max: maxBytes }).chain((n) => fc.tuple(n === 0 ? fc.constant(0) : fc.integer({ min: n * 8 - 7, max: n * 8 }), bytes(n)));

const algName = fc.stringMatching(/^[a-z0-9()_-]{1,40}$/);
const algo = fc.tuple(algName, keyed(64)).map(([name, [keyBits, key]]) => ({ name, keyBits, key }));
const algoTrunc = fc.tuple(algo, u32).map(([a, truncBits]) => ({ ...a, truncBits }));

const xfrmAttrs: fc.Arbitrary<XfrmAttrs> = fc.record(
  {
    algCrypt: algo,
    algAuth: algo,
    algAuthTrunc: algoTrunc,
    algAead: algoTrunc,
    algComp: algo,
    encap: structArb(X.XfrmEncapTmplStruct),
    tmpls: fc.array(structArb(X.XfrmUserTmplStruct), { minLength: 1, maxLength: 6 }),
    sa: structArb(X.XfrmUsersaInfoStruct),
    policy: structArb(X.XfrmUserpolicyInfoStruct),
    ltimeVal: structArb(X.XfrmLifetimeCurStruct),
    replayVal: structArb(X.XfrmReplayStateStruct),
    srcaddr: bytes(16),
    coaddr: bytes(16),
    lastused: fc.bigInt({ min: 0n, max: 0xffffffffffffffffn }),
    policyType: structArb(X.XfrmUserpolicyTypeStruct),
    mark: structArb(X.XfrmMarkStruct),
    proto: u8,
    saExtraFlags: u32,
    ifId: u32,
  },
  { requiredKeys: [], noNullPrototype: true },
);

const notDump = u16.filter((f) => (f & NlFlag.Dump) !== NlFlag.Dump || (f & NlFlag.Request) === 0);

/** Any XFRM message the codec knows, with flags consistent with its body. */
export const xfrmMessage: fc.Arbitrary<XfrmMessage> = fc
  .oneof(
    fc.tuple(fc.constantFrom(XfrmMsg.NEWSA, XfrmMsg.UPDSA), u16, structArb(X.XfrmUsersaInfoStruct).map((info): XfrmBody => ({ kind: "usersa", info }))),
    fc.tuple(fc.constantFrom(XfrmMsg.DELSA), u16, structArb(X.XfrmUsersaIdStruct).map((id): XfrmBody => ({ kind: "usersaId", id }))),
    fc.tuple(fc.constantFrom(XfrmMsg.GETSA), notDump, structArb(X.XfrmUsersaIdStruct).map((id): XfrmBody => ({ kind: "usersaId", id }))),
    fc.tuple(fc.constantFrom(XfrmMsg.GETSA, XfrmMsg.GETPOLICY), fc.constant(NlFlag.Request | NlFlag.Dump), fc.constant<XfrmBody>({ kind: "none" })),
    fc.tuple(fc.constantFrom(XfrmMsg.ALLOCSPI), u16, structArb(X.XfrmUserspiInfoStruct).map((spi): XfrmBody => ({ kind: "userspi", spi }))),
    fc.tuple(fc.constantFrom(XfrmMsg.NEWPOLICY, XfrmMsg.UPDPOLICY), u16, structArb(X.XfrmUserpolicyInfoStruct).map((info): XfrmBody => ({ kind: "userpolicy", info }))),
    fc.tuple(fc.constantFrom(XfrmMsg.DELPOLICY), u16, structArb(X.XfrmUserpolicyIdStruct).map((id): XfrmBody => ({ kind: "userpolicyId", id }))),
    fc.tuple(fc.constantFrom(XfrmMsg.GETPOLICY), notDump, structArb(X.XfrmUserpolicyIdStruct).map((id): XfrmBody => ({ kind: "userpolicyId", id }))),
    fc.tuple(fc.constantFrom(XfrmMsg.ACQUIRE), u16, structArb(X.XfrmUserAcquireStruct).map((acquire): XfrmBody => ({ kind: "acquire", acquire }))),
    fc.tuple(fc.constantFrom(XfrmMsg.EXPIRE), u16, structArb(X.XfrmUserExpireStruct).map((expire): XfrmBody => ({ kind: "expire", expire }))),
    fc.tuple(fc.constantFrom(XfrmMsg.POLEXPIRE), u16, structArb(X.XfrmUserPolexpireStruct).map((polexpire): XfrmBody => ({ kind: "polexpire", polexpire }))),
    fc.tuple(fc.constantFrom(XfrmMsg.FLUSHSA), u16, structArb(X.XfrmUsersaFlushStruct).map((flush): XfrmBody => ({ kind: "flushsa", flush }))),
    fc.tuple(fc.constantFrom(XfrmMsg.FLUSHPOLICY), u16, fc.constant<XfrmBody>({ kind: "none" })),
  )
  .chain(([type, flags, body]) => fc.record({ type: fc.constant(type), flags: fc.constant(flags), seq: u32, pid: u32, body: fc.constant(body), attrs: xfrmAttrs }, { noNullPrototype: true }))
  .map((m) => m as XfrmMessage);

/** Netlink control messages: errors/ACKs and dump ends. */
export const xfrmControl: fc.Arbitrary<XfrmMessage> = fc.oneof(
  fc.record({ type: fc.constant(NlMsgType.Error as number), flags: u16, seq: u32, pid: u32, body: fc.record({ kind: fc.constant("error" as const), errno: fc.integer({ min: 0, max: 4095 }), request: structArb(NlMsgHdrStruct) }, { noNullPrototype: true }), attrs: fc.constant({}) }, { noNullPrototype: true }),
  fc.record({ type: fc.constant(NlMsgType.Done as number), flags: u16, seq: u32, pid: u32, body: fc.record({ kind: fc.constant("done" as const), errno: fc.integer({ min: 0, max: 4095 }) }, { noNullPrototype: true }), attrs: fc.constant({}) }, { noNullPrototype: true }),
) as fc.Arbitrary<XfrmMessage>;

const sadbAddress = (v6?: boolean): fc.Arbitrary<SadbAddress> =>
  (v6 === undefined ? fc.boolean() : fc.constant(v6)).chain((six) =>
    fc.record({ proto: u8, prefixlen: fc.integer({ min: 0, max: six ? 128 : 32 }), address: bytes(six ? 16 : 4).map(formatAddress), port: u16 }, { noNullPrototype: true }),
  );
const sadbKey = keyed(64).map(([bits, key]) => ({ bits, key }));

const request = fc.oneof(
  fc.record({ proto: u16, mode: u8.filter((m) => m !== IpsecMode.TUNNEL), level: u8, reqid: u32 }, { noNullPrototype: true }),
  fc.tuple(u16, u8, u32, fc.boolean()).chain(([proto, level, reqid, six]) =>
    fc.record({ proto: fc.constant(proto), mode: fc.constant(IpsecMode.TUNNEL as number), level: fc.constant(level), reqid: fc.constant(reqid), src: bytes(six ? 16 : 4).map(formatAddress), dst: bytes(six ? 16 : 4).map(formatAddress) }, { noNullPrototype: true }),
  ),
);

const pfkeyExts: fc.Arbitrary<PfkeyExts> = fc.record(
  {
    sa: structArb(P.SadbSaStruct),
    lifetimeCurrent: structArb(P.SadbLifetimeStruct),
    lifetimeHard: structArb(P.SadbLifetimeStruct),
    lifetimeSoft: structArb(P.SadbLifetimeStruct),
    addressSrc: sadbAddress(),
    addressDst: sadbAddress(),
    addressProxy: sadbAddress(),
    keyAuth: sadbKey,
    keyEncrypt: sadbKey,
    proposal: fc.record({ replay: u8, combs: fc.array(structArb(P.SadbCombStruct), { maxLength: 4 }) }, { noNullPrototype: true }),
    supportedAuth: fc.array(structArb(P.SadbAlgStruct), { maxLength: 8 }),
    supportedEncrypt: fc.array(structArb(P.SadbAlgStruct), { maxLength: 8 }),
    spirange: structArb(P.SadbSpirangeStruct),
    policy: fc.record({ type: u16, dir: u8, id: u32, priority: u32, requests: fc.array(request, { maxLength: 6 }) }, { noNullPrototype: true }),
    sa2: structArb(P.SadbXSa2Struct),
    natTType: u8,
    natTSport: u16,
    natTDport: u16,
    natTOa: sadbAddress(),
  },
  { requiredKeys: [], noNullPrototype: true },
) as fc.Arbitrary<PfkeyExts>;

/** Any PF_KEY message the codec knows. */
export const pfkeyMessage: fc.Arbitrary<PfkeyMessage> = fc.record(
  { type: fc.integer({ min: SadbMsg.GETSPI, max: SadbMsg.X_MIGRATE }), satype: u8, errno: u8, seq: u32, pid: u32, ext: pfkeyExts },
  { noNullPrototype: true },
);
