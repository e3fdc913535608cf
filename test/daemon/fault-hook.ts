/**
 * Test-only fault injection for a real in.iked process (not a test file, not a daemon option):
 * loaded with `NODE_OPTIONS=--import=<this file>`, it wraps `EngineIo.prototype.encode` so that
 * encoding a message of an ISAKMP SA whose initiator cookie begins with fa170001 throws a
 * TypeError (an ordinary bug inside one exchange) and with fa170002 an InvariantError (the engine's
 * state can no longer be trusted). The peer of the test picks those cookies.
 */
import { InvariantError } from "../../src/errors.js";
import { EngineIo } from "../../src/ike/engine-io.js";

const encode = EngineIo.prototype.encode;
EngineIo.prototype.encode = function (this: EngineIo, ...args: Parameters<typeof encode>) {
  const which = args[0].icookie.toString("hex", 0, 4);
  if (which === "fa170001") throw new TypeError("injected fault in one exchange");
  if (which === "fa170002") throw new InvariantError("injected invariant failure");
  return encode.apply(this, args);
};
