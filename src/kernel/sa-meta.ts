/**
 * What a real kernel does not keep about an SA but the daemon reports in `SaInfo`: the rule label,
 * the key-management cookie, the paired SPI (illumos extensions PF_KEY on Linux and XFRM lack), and
 * whether the SA is still larval (made by GETSPI, not yet updated) or dying (soft lifetime fired).
 * The XFRM and PF_KEY backends keep one entry per SA they made, dropped when the SA goes, so the table
 * is never larger than the SADB.
 */
import type { SaProto } from "./algorithms.js";
import { saKey } from "./sa-record.js";

/** Per-SA facts a backend remembers. */
export interface SaMeta {
  label: string;
  kmCookie: number;
  pairSpi: number;
  larval: boolean;
  dying: boolean;
}

/** The backend's table of `SaMeta`, keyed like the SADB by (proto, spi, dst). */
export class SaMetaTable {
  readonly #map = new Map<string, SaMeta>();

  get size(): number {
    return this.#map.size;
  }
  get(proto: SaProto, spi: number, dst: string): SaMeta | undefined {
    return this.#map.get(saKey(proto, spi, dst));
  }
  set(proto: SaProto, spi: number, dst: string, meta: SaMeta): void {
    this.#map.set(saKey(proto, spi, dst), meta);
  }
  delete(proto: SaProto, spi: number, dst: string): boolean {
    return this.#map.delete(saKey(proto, spi, dst));
  }
  /** Forgets every SA (of one protocol): after a FLUSH. */
  clear(proto?: SaProto): void {
    if (proto === undefined) this.#map.clear();
    else for (const k of [...this.#map.keys()]) if (k.startsWith(`${proto}/`)) this.#map.delete(k);
  }
}
