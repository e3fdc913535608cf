/**
 * Key daemon events on `node:diagnostics_channel`, so tests and tools subscribe instead of
 * grepping log text (the pattern of undici's lib/core/diagnostics.js). Payloads never carry
 * secrets.
 */
import diagnostics from "node:diagnostics_channel";

/** Daemon is up and serving the admin socket. */
export const daemonStart = diagnostics.channel("iked:daemon:start");
/**
 * Start-up reached a stage boundary (`{ stage }`: "signals", "pid file", "configuration", "engine",
 * "admin socket"), where a stop signal that arrived meanwhile takes effect.
 */
export const daemonStage = diagnostics.channel("iked:daemon:stage");
/** A configuration reload finished (`{ ok, source, errors? }`). */
export const daemonReload = diagnostics.channel("iked:daemon:reload");
/** Daemon shutdown began (`{ signal? }`). */
export const daemonStop = diagnostics.channel("iked:daemon:stop");
/** One admin request was answered (`{ cmd, ok, error? }`). */
export const controlRequest = diagnostics.channel("iked:control:request");
/** An error- or warn-level log line (`{ level, subsystem, msg }`). */
export const logProblem = diagnostics.channel("iked:log:problem");
