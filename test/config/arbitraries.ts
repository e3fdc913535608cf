/**
 * fast-check generators of valid ike.config and ike.preshared objects, for the round-trip
 * properties (not a test file itself).
 */
import fc from "fast-check";
import { IdType } from "../../src/codec/index.js";
import { formatIp, OAKLEY_GROUPS } from "../../src/config/index.js";
import { CONFIG_BOUNDS, type BoundedKnob } from "../../src/config/limits.js";
import { groupById } from "../../src/crypto/algorithms.js";

/** Documented groups this iked computes; the others parse with a warning (see ike-config-errors). */
const IMPLEMENTED_GROUPS = [...OAKLEY_GROUPS].filter((g) => groupById(g) !== undefined);
import type { AddressSpec, IkeConfig, IkeGlobals, IkeRule, P1Xform, PresharedEntry, PresharedId } from "../../src/config/index.js";

/** Any text a quoted string can hold (no line breaks). */
export const textArb = (minLength = 0, maxLength = 40): fc.Arbitrary<string> =>
  fc.string({ minLength, maxLength, unit: "grapheme" }).filter((s) => !/[\r\n]/.test(s));

const v4 = fc.bigInt({ min: 0n, max: (1n << 32n) - 1n });
const v6 = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n });

/** Any address spec, IPv4 or IPv6, in canonical form. */
export const addressArb: fc.Arbitrary<AddressSpec> = fc.oneof(
  ...([4, 6] as const).map((family) => {
    const val = family === 4 ? v4 : v6;
    const bits = family === 4 ? 32 : 128;
    return fc.oneof(
      val.map((v): AddressSpec => ({ kind: "single", family, addr: formatIp(family, v) })),
      fc.tuple(val, fc.integer({ min: 0, max: bits })).map(([v, p]): AddressSpec => ({ kind: "prefix", family, addr: formatIp(family, v), prefixLen: p })),
      fc.tuple(val, val).map(([a, b]): AddressSpec => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        return { kind: "range", family, start: formatIp(family, lo), end: formatIp(family, hi) };
      }),
    );
  }),
);

/** Any integer the parser accepts for `knob` (limits.ts). */
const within = (knob: BoundedKnob): fc.Arbitrary<number> => fc.integer({ min: Math.ceil(CONFIG_BOUNDS[knob].min), max: CONFIG_BOUNDS[knob].max });
/** Any retransmit timer the parser accepts, in milliseconds' steps. */
const timerWithin = (knob: "retry_timer_init" | "retry_timer_max"): fc.Arbitrary<number> =>
  fc.integer({ min: 1, max: CONFIG_BOUNDS[knob].max * 1000 }).map((n) => n / 1000);
const keyBits = fc.constantFrom(128, 192, 256);

/** A transform with the given authentication methods. */
export const xformArb = (methods: readonly number[]): fc.Arbitrary<P1Xform> =>
  fc
    .record(
      {
        authMethod: fc.constantFrom(...methods),
        oakleyGroup: fc.constantFrom(...IMPLEMENTED_GROUPS),
        encrAlg: fc.constantFrom(1, 3, 5, 7),
        encrKeyLen: fc.tuple(keyBits, keyBits).map(([a, b]) => ({ low: Math.min(a, b), high: Math.max(a, b) })),
        authAlg: fc.constantFrom(1, 2, 4, 5, 6),
        p1LifetimeSecs: within("p1_lifetime_secs"),
      },
      { requiredKeys: ["authMethod", "oakleyGroup", "encrAlg", "authAlg"], noNullPrototype: true },
    )
    .map((x) => {
      if (x.encrAlg === 7 || x.encrKeyLen === undefined) return x;
      const { encrKeyLen: _drop, ...rest } = x;
      return rest;
    });

const configIdTypes = fc.constantFrom(1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
const pfs = fc.constantFrom(0, ...IMPLEMENTED_GROUPS);

const ruleOptional = {
  p2Pfs: pfs,
  p2LifetimeSecs: within("p2_lifetime_secs"),
  p2SoftlifeSecs: within("p2_softlife_secs"),
  p2IdletimeSecs: within("p2_idletime_secs"),
  p2LifetimeKb: within("p2_lifetime_kb"),
  p2SoftlifeKb: within("p2_softlife_kb"),
  remotePort: within("remote_port"),
  dpdIntervalSecs: within("dpd_interval_secs"),
  dpdRetries: within("dpd_retries"),
};

/** A rule without a label: preshared (own transforms or none) or certificate-based. */
const ruleBodyArb: fc.Arbitrary<Omit<IkeRule, "label">> = fc.oneof(
  fc.record(
    {
      localAddr: fc.array(addressArb, { minLength: 1, maxLength: 3 }),
      remoteAddr: fc.array(addressArb, { minLength: 1, maxLength: 3 }),
      remoteId: fc.constant([]),
      p1Xforms: fc.array(xformArb([1]), { maxLength: 3 }),
      localIdType: configIdTypes,
      ...ruleOptional,
    },
    { requiredKeys: ["localAddr", "remoteAddr", "remoteId", "p1Xforms"], noNullPrototype: true },
  ),
  fc.record(
    {
      localAddr: fc.array(addressArb, { minLength: 1, maxLength: 3 }),
      remoteAddr: fc.array(addressArb, { minLength: 1, maxLength: 3 }),
      localIdType: configIdTypes,
      localId: textArb(),
      remoteId: fc.array(textArb(), { minLength: 1, maxLength: 3 }),
      p1Xforms: fc.array(xformArb([2, 3, 4]), { minLength: 1, maxLength: 3 }),
      ...ruleOptional,
    },
    { requiredKeys: ["localAddr", "remoteAddr", "localIdType", "localId", "remoteId", "p1Xforms"], noNullPrototype: true },
  ),
);

const ldapArb = fc.record(
  {
    host: fc.oneof(fc.stringMatching(/^[a-z][a-z0-9.-]{0,20}$/), v6.map((v) => formatIp(6, v))),
    port: fc.integer({ min: 1, max: 65535 }),
  },
  { noNullPrototype: true },
);

const globalsArb: fc.Arbitrary<IkeGlobals> = fc.record(
  {
    certRoot: fc.array(textArb(), { maxLength: 2 }),
    certTrust: fc.array(textArb(), { maxLength: 2 }),
    ignoreCrls: fc.boolean(),
    useHttp: fc.boolean(),
    ldapServer: fc.array(ldapArb, { maxLength: 3 }),
    pkcs11Path: textArb(),
    proxy: textArb(),
    socks: textArb(),
    expireTimer: within("expire_timer"),
    retryLimit: within("retry_limit"),
    retryTimerInit: timerWithin("retry_timer_init"),
    retryTimerMax: timerWithin("retry_timer_max"),
    maxCerts: within("max_certs"),
    unverifiedDhShare: within("unverified_dh_share"),
    p1LifetimeSecs: within("p1_lifetime_secs"),
    p1NonceLen: within("p1_nonce_len"),
    p2NonceLen: within("p2_nonce_len"),
    localIdType: configIdTypes,
    ...ruleOptional,
  },
  { requiredKeys: ["certRoot", "certTrust", "ignoreCrls", "useHttp", "ldapServer"], noNullPrototype: true },
).map((g) => {
  const { remotePort: _notGlobal, ...rest } = g;
  return rest;
});

/** A whole valid config: unique labels; a global transform list whenever a rule relies on it. */
export const configArb: fc.Arbitrary<IkeConfig> = fc
  .tuple(
    globalsArb,
    fc.array(xformArb([1]), { maxLength: 3 }),
    fc.uniqueArray(textArb(1, 30).filter((l) => Buffer.byteLength(l) <= 255), { maxLength: 4 }),
    fc.array(ruleBodyArb, { minLength: 4, maxLength: 4 }),
  )
  .map(([globals, globalXforms, labels, bodies]) => {
    const g = fitSoftLifetimes(globals, {});
    const rules = labels.map((label, i) => ({ label, ...fitSoftLifetimes(bodies[i]!, g) }));
    const needGlobal = rules.some((r) => r.p1Xforms.length === 0);
    const p1Xforms = needGlobal && globalXforms.length === 0 ? [{ authMethod: 1, oakleyGroup: 2, encrAlg: 5, authAlg: 2 }] : globalXforms;
    return { globals: g, p1Xforms, rules };
  });

type Lifetimes = Partial<Record<"p2LifetimeSecs" | "p2SoftlifeSecs" | "p2LifetimeKb" | "p2SoftlifeKb", number>>;

/**
 * Lowers a soft lifetime that would exceed its hard one (the parser refuses those), counting a
 * value inherited from `inherited` where `o` sets only one of the pair; hard 0 is "no limit".
 */
function fitSoftLifetimes<T extends Lifetimes>(o: T, inherited: Lifetimes): T {
  const out: Lifetimes = { ...o };
  for (const [hardKey, softKey] of [["p2LifetimeSecs", "p2SoftlifeSecs"], ["p2LifetimeKb", "p2SoftlifeKb"]] as const) {
    if (o[hardKey] === undefined && o[softKey] === undefined) continue;
    const hard = o[hardKey] ?? inherited[hardKey];
    const soft = o[softKey] ?? inherited[softKey];
    if (hard !== undefined && hard !== 0 && soft !== undefined && soft > hard) out[softKey] = hard;
  }
  return out as T;
}

const nameTypes = [IdType.ID_FQDN, IdType.ID_USER_FQDN, IdType.ID_DER_ASN1_DN, IdType.ID_DER_ASN1_GN, IdType.ID_KEY_ID];

/** Any identity ike.preshared can hold. */
export const presharedIdArb: fc.Arbitrary<PresharedId> = fc.oneof(
  addressArb.map((addr): PresharedId => {
    const six = addr.family === 6;
    const type =
      addr.kind === "single" ? (six ? IdType.ID_IPV6_ADDR : IdType.ID_IPV4_ADDR)
      : addr.kind === "prefix" ? (six ? IdType.ID_IPV6_ADDR_SUBNET : IdType.ID_IPV4_ADDR_SUBNET)
      : six ? IdType.ID_IPV6_ADDR_RANGE : IdType.ID_IPV4_ADDR_RANGE;
    return { type, addr };
  }),
  fc.record({ type: fc.constantFrom(...nameTypes), name: textArb(1, 40) }, { noNullPrototype: true }),
);

/** A key and its exact bit length, with the bits past the length zeroed. */
const keyArb = fc
  .uint8Array({ minLength: 1, maxLength: 64 })
  .chain((bytes) => fc.tuple(fc.constant(bytes), fc.integer({ min: (bytes.length - 1) * 8 + 1, max: bytes.length * 8 })))
  .map(([bytes, bits]) => {
    const key = Buffer.from(bytes);
    if (bits % 8 !== 0) key[key.length - 1] = key[key.length - 1]! & ((0xff << (8 - (bits % 8))) & 0xff);
    return { key, keyBits: bits };
  });

/** An identity as the duplicate check compares it: DNS names and mailboxes without case. */
function sameIdentity(id: PresharedId): PresharedId {
  return "name" in id && (id.type === IdType.ID_FQDN || id.type === IdType.ID_USER_FQDN) ? { type: id.type, name: id.name.toLowerCase() } : id;
}

/** Entries with distinct identity pairs (so none is dropped as a duplicate). */
export const presharedArb: fc.Arbitrary<PresharedEntry[]> = fc
  .uniqueArray(fc.tuple(presharedIdArb, presharedIdArb), { maxLength: 6, selector: (ids) => JSON.stringify(ids.map(sameIdentity)) })
  .chain((pairs) =>
    fc.tuple(...pairs.map(([localId, remoteId]) =>
      fc.tuple(keyArb, fc.constantFrom("main", "aggressive", "both") as fc.Arbitrary<PresharedEntry["ikeMode"]>).map(([k, ikeMode]) => ({ localId, remoteId, ikeMode, ...k })),
    )),
  );
