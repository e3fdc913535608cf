/**
 * Public API of the configuration layer: the ike.config and ike.preshared parsers, loaders,
 * writers and lookups. Everything else in src/config is internal.
 */
export type {
  AddressSpec, ConfigDiagnostic, Family, IkeConfig, IkeGlobals, IkeMode, IkeRule, KeyLengthRange, LdapServer, P1Xform,
  ParseResult, PresharedEntry, PresharedId, ResolvedRule, Severity,
} from "./types.js";
export { parseIkeConfig } from "./ike-config-parser.js";
export type { ConfigContext, ConfigReporter, RuleSites } from "./ike-config-validate.js";
export type { Pos } from "./diagnostics.js";
export { parsePreshared } from "./preshared-parser.js";
export { concealKey } from "./conceal.js";
export { isSecureKey, releasePreshared, secureKey } from "./preshared-keys.js";
export { checkSecretFilePermissions, loadIkeConfig, loadPreshared, type ConfigFileOptions, type SecretFileOptions } from "./load.js";
export { formatIkeConfig, formatIkeConfigRules, formatIkeRule, formatP1Xform } from "./ike-config-writer.js";
export { formatPreshared, formatPresharedEntry } from "./preshared-writer.js";
export { findPresharedByAddress, findPresharedByIdentity, findPresharedByRemoteAddress, findRule, findRuleByLabel, resolveRule } from "./match.js";
export { formatDiagnostic, MAX_DIAGNOSTICS, MAX_FILE_CHARS } from "./diagnostics.js";
export { IKE_DEFAULTS } from "./defaults.js";
export { OAKLEY_GROUPS, authMethodWord, configIdTypeWord, encrWord, hashWord, idTypeName } from "./names.js";
export { addressCovers, addressSpan, formatAddressSpec, formatIp, parseAddressSpec, parseIp, type IpValue } from "./address.js";
export { bothContexts, presharedIdentityContext } from "./preshared-identity.js";
