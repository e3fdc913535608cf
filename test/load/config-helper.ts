/** Parse ike.config text that must be valid (a test helper; throws on diagnostics). */
import { parseIkeConfig } from "../../src/config/index.js";
import type { IkeConfig } from "../../src/config/types.js";

export function parseConfigOk(text: string): IkeConfig {
  const c = parseIkeConfig(text, "test.config");
  if (!c.ok || c.diagnostics.some((d) => d.severity === "error")) throw new Error(JSON.stringify(c.diagnostics));
  return c.value;
}
