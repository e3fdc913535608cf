/**
 * The kernel interface as messages, for a backend behind a channel (a privileged helper process, a
 * worker): every `Kernel` call is a `KernelRequest`, every answer a `KernelResponse`, every unasked
 * notice a `KernelEvent` (kernel.ts). All of them are plain data that structured clone and msgpackr
 * carry unchanged; errors travel as their stable code, never as an exception object.
 */
import { KernelError } from "../errors.js";
import type { SaProto, SupportedAlgorithms } from "./algorithms.js";
import { isKernelErrorCode, kernelError, type KernelErrorCode } from "./errors.js";
import type { DumpOptions, EncapPorts, EncapUpdate, GetSpiOptions, Kernel, KeyOptions, SaInfo, SaSpec, SpiRange } from "./kernel.js";

/** A kernel call as data. `id` pairs the response with its request. */
export type KernelRequest =
  | { id: number; op: "getSpi"; src: string; dst: string; proto: SaProto; range?: SpiRange; options?: GetSpiOptions }
  | { id: number; op: "update"; sa: SaSpec }
  | { id: number; op: "add"; sa: SaSpec }
  | { id: number; op: "updateEncap"; src: string; dst: string; proto: SaProto; spi: number; ports: EncapPorts }
  | { id: number; op: "delete"; src: string; dst: string; proto: SaProto; spi: number }
  | { id: number; op: "get"; src: string; dst: string; proto: SaProto; spi: number; options?: KeyOptions }
  | { id: number; op: "flush"; proto?: SaProto }
  | { id: number; op: "dump"; proto?: SaProto; options?: DumpOptions }
  | { id: number; op: "register"; proto: SaProto };

/** The result type of each request. */
export interface KernelResults {
  getSpi: SaInfo;
  update: SaInfo;
  add: SaInfo;
  updateEncap: EncapUpdate;
  delete: null;
  get: SaInfo;
  flush: number;
  dump: SaInfo[];
  register: SupportedAlgorithms;
}

/** A kernel answer as data. */
export type KernelResponse =
  | { [K in keyof KernelResults]: { id: number; ok: true; op: K; result: KernelResults[K] } }[keyof KernelResults]
  | { id: number; ok: false; code: KernelErrorCode; message: string };

/**
 * Serves one request with a real backend. Never throws: a `KernelError` becomes `ok: false` with its
 * code; anything else (a bug) becomes EINVAL with a generic message, so no internal detail leaks.
 */
export async function serveKernelRequest(kernel: Kernel, req: KernelRequest): Promise<KernelResponse> {
  const id = typeof req?.id === "number" ? req.id : 0;
  try {
    switch (req.op) {
      case "getSpi":
        return { id, ok: true, op: req.op, result: await kernel.getSpi(req.src, req.dst, req.proto, req.range, req.options) };
      case "update":
        return { id, ok: true, op: req.op, result: await kernel.update(req.sa) };
      case "add":
        return { id, ok: true, op: req.op, result: await kernel.add(req.sa) };
      case "updateEncap":
        return { id, ok: true, op: req.op, result: await kernel.updateEncap(req.src, req.dst, req.proto, req.spi, req.ports) };
      case "delete":
        await kernel.delete(req.src, req.dst, req.proto, req.spi);
        return { id, ok: true, op: req.op, result: null };
      case "get":
        return { id, ok: true, op: req.op, result: await kernel.get(req.src, req.dst, req.proto, req.spi, req.options) };
      case "flush":
        return { id, ok: true, op: req.op, result: await kernel.flush(req.proto) };
      case "dump":
        return { id, ok: true, op: req.op, result: await kernel.dump(req.proto, req.options) };
      case "register":
        return { id, ok: true, op: req.op, result: await kernel.register(req.proto) };
      default: {
        const never: never = req;
        return { id, ok: false, code: "IKE_ERR_KERNEL_EINVAL", message: `unknown kernel operation ${String((never as { op?: unknown })?.op)}` };
      }
    }
  } catch (err) {
    if (err instanceof KernelError && isKernelErrorCode(err.code)) return { id, ok: false, code: err.code, message: err.message };
    return { id, ok: false, code: "IKE_ERR_KERNEL_EINVAL", message: "kernel request failed" };
  }
}

/** Turns a response back into a value, or throws the `KernelError` it carries. */
export function unwrapKernelResponse<K extends keyof KernelResults>(op: K, res: KernelResponse): KernelResults[K] {
  if (!res.ok) throw kernelError(res.code, res.message);
  if (res.op !== op) throw kernelError("IKE_ERR_KERNEL_EINVAL", `response to ${res.op} where ${op} was asked`);
  return res.result as KernelResults[K];
}
