/**
 * Socket addresses inside PF_KEY extensions (`struct sockaddr_in`, `struct sockaddr_in6`, family in
 * host order, port in network order), and the 8-byte padding of PF_KEY lengths.
 */
import { formatAddress, parseAddress } from "../address.js";
import { ok, refuse, type KernelDecodeError, type Result } from "../wire/decode-error.js";
import { SockaddrIn6Struct, SockaddrInStruct } from "./structs.js";

const AF_INET = 2;
const AF_INET6 = 10;

/** `n` rounded up to a multiple of 8 (PF_KEY lengths count 8-byte words). */
export const pad8 = (n: number): number => (n + 7) & ~7;

/** The socket address inside an address extension, from `offset` of `w` (which must end after it). */
export function decodeSockaddr(w: Buffer, offset: number, at: number, exact: boolean): Result<{ address: string; port: number; size: number }, KernelDecodeError> {
  if (w.length - offset < 2) return refuse("IKE_ERR_KMSG_TRUNCATED", at, "socket address without a family");
  const family = w.readUInt16LE(offset);
  const s = family === AF_INET ? SockaddrInStruct : family === AF_INET6 ? SockaddrIn6Struct : undefined;
  if (s === undefined) return refuse("IKE_ERR_KMSG_VALUE", at, `socket address family ${family}`);
  const room = w.length - offset;
  if (exact ? pad8(s.size) !== room : s.size > room) return refuse("IKE_ERR_KMSG_LENGTH", at, `${s.name} in ${room} bytes`);
  const sa = s.decode(w, offset) as { port: number; addr: Buffer };
  return ok({ address: formatAddress(sa.addr), port: sa.port, size: s.size });
}

/** A socket address for an address literal (unpadded: 16 or 28 bytes). */
export function encodeSockaddr(address: string, port: number): Buffer {
  const a = parseAddress(address);
  if (a === null) throw new TypeError(`not an address: ${address}`);
  return a.length === 4
    ? SockaddrInStruct.encode({ family: AF_INET, port, addr: Buffer.from(a) })
    : SockaddrIn6Struct.encode({ family: AF_INET6, port, flowinfo: 0, addr: Buffer.from(a), scopeId: 0 });
}

