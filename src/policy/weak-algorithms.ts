/**
 * Warnings for weak IPsec algorithms in `ipsecinit.conf` (issue 11 item 9): ESP encryption with
 * single DES (56-bit key) and HMAC-MD5 for AH or ESP authentication. They stay accepted, since
 * old peers may know nothing else; each entry that names one is pointed out by file:line and its
 * index (ipsecconf's entry number). `any` is not flagged: it names no algorithm.
 */
import { AuthAlg, EncAlg } from "../kernel/algorithms.js";
import type { AlgorithmChoice, IpsecPolicy, PolicyAction } from "./ipsecinit/types.js";

/** A weak algorithm in one policy entry. */
export interface PolicyWarning {
  readonly code: "IKE_ERR_POLICY_WEAK_ALG";
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

const WEAK_ENCR: ReadonlyMap<number, string> = new Map([[EncAlg.DesCbc, "56-bit key"]]);
const WEAK_AUTH: ReadonlyMap<number, string> = new Map([[AuthAlg.HmacMd5, "MD5"]]);

function weakOf(choice: AlgorithmChoice | null, table: ReadonlyMap<number, string>, property: string): string | undefined {
  if (choice === null || choice.id === "any") return undefined;
  const why = table.get(choice.id);
  return why === undefined ? undefined : `${property} ${choice.name} (${why})`;
}

function weakParts(a: PolicyAction): string[] {
  return [weakOf(a.ah, WEAK_AUTH, "auth_algs"), weakOf(a.espEncr, WEAK_ENCR, "encr_algs"), weakOf(a.espAuth, WEAK_AUTH, "encr_auth_algs")]
    .filter((w): w is string => w !== undefined);
}

/** One warning per entry whose actions (any `or` alternative) name a weak algorithm. */
export function weakPolicyAlgorithms(policy: IpsecPolicy): PolicyWarning[] {
  const out: PolicyWarning[] = [];
  for (const e of policy.entries) {
    const weak = [...new Set(e.actions.flatMap(weakParts))];
    if (weak.length === 0) continue;
    out.push({
      code: "IKE_ERR_POLICY_WEAK_ALG",
      file: e.file,
      line: e.line,
      message: `policy entry ${e.index} uses weak ${weak.join(", ")}; accepted for compatibility; prefer aes and sha256 or better`,
    });
  }
  return out;
}

/** `file:line: warning: message`, as config warnings read. */
export function formatPolicyWarning(w: PolicyWarning): string {
  return `${w.file}:${w.line}: warning: ${w.message}`;
}
