/**
 * A `Kernel` whose backend sits across a message channel (a privileged helper, a worker): each call
 * becomes a `KernelRequest` handed to `send`, each `KernelResponse` settles it, and events the far
 * side forwards are fed in with `deliver`. The IKE code cannot tell it from a local backend.
 */
import { EventEmitter } from "node:events";
import type { SaProto, SupportedAlgorithms } from "./algorithms.js";
import type { DumpOptions, EncapPorts, EncapUpdate, GetSpiOptions, Kernel, KernelEvent, KeyOptions, SaInfo, SaSpec, SpiRange } from "./kernel.js";
import { unwrapKernelResponse, type KernelRequest, type KernelResponse, type KernelResults } from "./messages.js";

/** Distributes `Omit` over a union, keeping each variant's own fields. */
type RequestBody = KernelRequest extends infer R ? (R extends KernelRequest ? Omit<R, "id"> : never) : never;

/** Kernel client over `send`, which delivers one request and resolves with its response. */
export class KernelClient extends EventEmitter implements Kernel {
  readonly #send: (req: KernelRequest) => Promise<KernelResponse>;
  #nextId = 1;

  /** Whether the far backend keeps idle lifetimes itself (as the in-memory SADB does): the caller says. */
  readonly enforcesIdle: boolean;

  constructor(send: (req: KernelRequest) => Promise<KernelResponse>, options: { enforcesIdle?: boolean } = {}) {
    super();
    this.#send = send;
    this.enforcesIdle = options.enforcesIdle ?? false;
  }

  /** Feeds an event that arrived over the channel to this client's listeners. */
  deliver(event: KernelEvent): void {
    this.emit(event.type, event);
  }

  async #call<K extends keyof KernelResults>(op: K, body: RequestBody): Promise<KernelResults[K]> {
    const res = await this.#send({ ...body, id: this.#nextId++ } as KernelRequest);
    return unwrapKernelResponse(op, res);
  }

  getSpi(src: string, dst: string, proto: SaProto, range?: SpiRange, options?: GetSpiOptions): Promise<SaInfo> {
    const body: RequestBody = { op: "getSpi", src, dst, proto };
    if (range !== undefined) body.range = range;
    if (options !== undefined) body.options = options;
    return this.#call("getSpi", body);
  }
  update(sa: SaSpec): Promise<SaInfo> {
    return this.#call("update", { op: "update", sa });
  }
  add(sa: SaSpec): Promise<SaInfo> {
    return this.#call("add", { op: "add", sa });
  }
  updateEncap(src: string, dst: string, proto: SaProto, spi: number, ports: EncapPorts): Promise<EncapUpdate> {
    return this.#call("updateEncap", { op: "updateEncap", src, dst, proto, spi, ports });
  }
  async delete(src: string, dst: string, proto: SaProto, spi: number): Promise<void> {
    await this.#call("delete", { op: "delete", src, dst, proto, spi });
  }
  get(src: string, dst: string, proto: SaProto, spi: number, options?: KeyOptions): Promise<SaInfo> {
    const body: RequestBody = { op: "get", src, dst, proto, spi };
    if (options !== undefined) body.options = options;
    return this.#call("get", body);
  }
  flush(proto?: SaProto): Promise<number> {
    return this.#call("flush", proto === undefined ? { op: "flush" } : { op: "flush", proto });
  }
  dump(proto?: SaProto, options?: DumpOptions): Promise<SaInfo[]> {
    const body: RequestBody = { op: "dump" };
    if (proto !== undefined) body.proto = proto;
    if (options !== undefined) body.options = options;
    return this.#call("dump", body);
  }
  register(proto: SaProto): Promise<SupportedAlgorithms> {
    return this.#call("register", { op: "register", proto });
  }
  /** Only this side's listeners go; closing the backend is the far side's business. */
  async close(): Promise<void> {
    this.removeAllListeners();
  }
}
