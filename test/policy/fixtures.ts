/** Paths of the policy fixtures (not a test file itself). */
import path from "node:path";
import { fileURLToPath } from "node:url";

// dist/test/policy → repo root is three levels up.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

/** Absolute path of a file under test/fixtures/policy. */
export function policyFixture(name: string): string {
  return path.join(root, "test/fixtures/policy", name);
}
