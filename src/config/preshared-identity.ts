/**
 * The identity a pre-shared-key rule presents must exist (ike-config.md §5, §8): with
 * `local_id_type ip`/`ipv6` it is the local address; with `fqdn`/`dns` or `user_fqdn`/`mbox` it is the
 * rule's `local_id`, or else the `localid` of an ike.preshared entry of that type. A rule with
 * neither would have nothing to present (a Libreswan gateway answers whatever is sent instead with
 * INVALID-ID-INFORMATION), so `in.iked -c`, startup and reload refuse it at the rule. Other types
 * (DN, GN, KEY_ID, subnets, ranges) cannot be presented with a pre-shared key here.
 */
import { AuthMethod } from "../codec/attributes-constants.js";
import { IdType } from "../codec/constants.js";
import { IKE_DEFAULTS } from "./defaults.js";
import type { ConfigContext } from "./ike-config-validate.js";
import { idTypeName } from "./names.js";
import type { PresharedEntry } from "./types.js";

const NAME_TYPES: ReadonlySet<number> = new Set([IdType.ID_FQDN, IdType.ID_USER_FQDN]);
const ADDRESS_TYPES: ReadonlySet<number> = new Set([IdType.ID_IPV4_ADDR, IdType.ID_IPV6_ADDR]);

/** A ConfigContext that checks each pre-shared rule's identity against `entries`. */
export function presharedIdentityContext(entries: readonly PresharedEntry[]): ConfigContext {
  return {
    checkRule(rule, g, sites, report) {
      if (!sites.p1Xforms.some((x) => x.authMethod === AuthMethod.PreSharedKey)) return;
      const t = rule.localIdType ?? g.localIdType ?? IKE_DEFAULTS.localIdType;
      if (ADDRESS_TYPES.has(t)) return;
      const at = sites.localId ?? sites.rule;
      if (!NAME_TYPES.has(t)) {
        report.error("IKE_ERR_CFG_ID_TYPE", at, `local_id_type ${idTypeName(t)} cannot be presented with a pre-shared key; use ip, ipv6, fqdn or user_fqdn`);
        return;
      }
      if (rule.localId !== undefined && rule.localId !== "") return;
      if (entries.some((e) => "name" in e.localId && e.localId.type === t)) return;
      report.error(
        "IKE_ERR_CFG_NO_ID",
        at,
        `rule "${rule.label}": local_id_type ${idTypeName(t)} has no value to present: give local_id, or an ike.preshared entry with localidtype ${t === IdType.ID_FQDN ? "fqdn" : "user_fqdn"}`,
      );
    },
  };
}

/** Both contexts' checks, `a`'s first. */
export function bothContexts(a: ConfigContext, b: ConfigContext): ConfigContext {
  return {
    checkGlobals(g, sites, report) {
      a.checkGlobals?.(g, sites, report);
      b.checkGlobals?.(g, sites, report);
    },
    checkRule(rule, g, sites, report) {
      a.checkRule?.(rule, g, sites, report);
      b.checkRule?.(rule, g, sites, report);
    },
  };
}
