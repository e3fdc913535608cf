/** Shared fixtures for the kernel tests (not a test file itself). */
import { AuthAlg, EncAlg } from "../../src/kernel/algorithms.js";
import type { SaSpec } from "../../src/kernel/kernel.js";
import { SecureKeyStore, type KeyAllocator } from "../../src/kernel/secure-keys.js";

/** A real secure store that remembers every buffer it handed out, so tests can check the wiping. */
export class WatchedKeyStore implements KeyAllocator {
  readonly store = new SecureKeyStore();
  readonly handed: Buffer[] = [];
  allocate(length: number): Buffer {
    const b = this.store.allocate(length);
    this.handed.push(b);
    return b;
  }
  free(key: Buffer): void {
    this.store.free(key);
  }
  destroy(): void {
    this.store.destroy();
  }
}

/** An ESP AES-128-CBC + HMAC-SHA1 SA between two documentation addresses. */
export function espSa(spi: number, over: Partial<SaSpec> = {}): SaSpec {
  return {
    src: "192.0.2.1",
    dst: "192.0.2.2",
    proto: "esp",
    spi,
    mode: "transport",
    encAlg: EncAlg.AesCbc,
    encKey: Buffer.alloc(16, 0xa5),
    authAlg: AuthAlg.HmacSha1,
    authKey: Buffer.alloc(20, 0x5a),
    ...over,
  };
}
