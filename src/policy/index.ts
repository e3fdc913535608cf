/** The IPsec policy file and its selection functions: what the daemon and the IKE code import. */
export { MAX_POLICY_ERRORS, parseIpsecPolicy, type PolicyParseResult } from "./ipsecinit/parser.js";
export { loadIpsecPolicy, DEFAULT_IPSEC_POLICY_PATH } from "./load.js";
export { formatPolicyError } from "./ipsecinit/types.js";
export type * from "./ipsecinit/types.js";
export * from "./select.js";
export * from "./proposals.js";
export * from "./doi.js";
export { formatPolicyWarning, weakPolicyAlgorithms, type PolicyWarning } from "./weak-algorithms.js";
