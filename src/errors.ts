/**
 * Operational errors (kernel, worker, config, socket). Peer input errors are values, not exceptions
 * (see src/codec); these are for failures of our own machinery, caught at the SA boundary or at startup.
 * Code never branches on message text: use `code`, a stable `IKE_ERR_<WHAT>` string.
 */
export class IkeError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A configuration file or admin request that does not parse or validate. */
export class ConfigError extends IkeError {}
/** The kernel (PF_KEY, XFRM or the in-memory SADB) refused a request. */
export class KernelError extends IkeError {}
/** A crypto worker failed or died while running a task. */
export class WorkerError extends IkeError {}
/** A socket (UDP, control) failed. */
export class SocketError extends IkeError {}

/**
 * A state the daemon relies on can no longer be trusted (an SA table out of step with the kernel,
 * a key holder used after destroy, a counter gone negative). Unlike the errors above it is never
 * caught at an SA boundary: a boundary that sees one rethrows it, and the crash policy
 * (src/daemon/crash-policy.ts) stops the daemon cleanly, SAs deleted and kernel state removed, with
 * a non-zero exit so the service manager restarts it. An `AssertionError` from node:assert (how
 * STYLE §7 writes invariants) is treated the same way.
 */
export class InvariantError extends IkeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("IKE_ERR_INVARIANT", message, options);
  }
}
