/**
 * The SADB_X_EXT_POLICY extension (KAME, Linux af_key): a policy's type, direction, id and priority,
 * then its ipsecrequests, one per SA the policy needs, innermost first:
 *
 *   sadb_x_policy (16)  | ipsecrequest (16) [ src sockaddr | dst sockaddr ] | ipsecrequest ...
 *
 * `sadb_x_ipsecrequest_len` counts bytes, not words. A tunnel-mode request carries its endpoints as
 * two socket addresses of one family (16 + 2 × 16 or 16 + 2 × 28 bytes); any other mode carries
 * none. The requests must fill the extension exactly.
 */
import { ok, refuse, type KernelDecodeError, type Result } from "../wire/decode-error.js";
import { IpsecMode } from "./constants.js";
import { decodeSockaddr, encodeSockaddr } from "./sockaddr.js";
import { SadbXIpsecrequestStruct, SadbXPolicyStruct, type SadbXPolicyHead } from "./structs.js";

/** One ipsecrequest: an SA the policy needs. */
export interface IpsecRequest {
  /** IP protocol number of the SA (50 ESP, 51 AH, 108 IPCOMP). */
  proto: number;
  mode: number;
  level: number;
  reqid: number;
  /** Tunnel endpoints (tunnel mode only). */
  src?: string;
  dst?: string;
}

/** The policy extension. */
export interface PfkeyPolicy extends SadbXPolicyHead {
  requests: IpsecRequest[];
}

/** Most requests a policy may have (XFRM_MAX_DEPTH). */
const MAX_REQUESTS = 6;

/** Decodes a whole policy extension (header included); `at` is its datagram offset. */
export function decodePolicy(w: Buffer, at: number): Result<PfkeyPolicy, KernelDecodeError> {
  if (w.length < SadbXPolicyStruct.size) return refuse("IKE_ERR_KMSG_TRUNCATED", at, `policy: ${w.length} bytes`);
  const head = SadbXPolicyStruct.decode(w);
  const requests: IpsecRequest[] = [];
  let off = SadbXPolicyStruct.size;
  while (off < w.length) {
    const rat = at + off;
    if (requests.length === MAX_REQUESTS) return refuse("IKE_ERR_KMSG_LENGTH", rat, `more than ${MAX_REQUESTS} ipsecrequests`);
    if (w.length - off < SadbXIpsecrequestStruct.size) return refuse("IKE_ERR_KMSG_TRUNCATED", rat, `ipsecrequest in ${w.length - off} bytes`);
    const r = SadbXIpsecrequestStruct.decode(w, off);
    if (r.len < SadbXIpsecrequestStruct.size || r.len > w.length - off) return refuse("IKE_ERR_KMSG_LENGTH", rat, `ipsecrequest length ${r.len}`);
    const req: IpsecRequest = { proto: r.proto, mode: r.mode, level: r.level, reqid: r.reqid };
    const rest = w.subarray(off + SadbXIpsecrequestStruct.size, off + r.len);
    if (r.mode === IpsecMode.TUNNEL) {
      const src = decodeSockaddr(rest, 0, rat, false);
      if (!src.ok) return src;
      const dst = decodeSockaddr(rest, src.value.size, rat, false);
      if (!dst.ok) return dst;
      if (src.value.size !== dst.value.size || rest.length !== 2 * src.value.size) return refuse("IKE_ERR_KMSG_LENGTH", rat, "tunnel endpoints of different families or with trailing bytes");
      req.src = src.value.address;
      req.dst = dst.value.address;
    } else if (rest.length !== 0) {
      return refuse("IKE_ERR_KMSG_LENGTH", rat, `ipsecrequest of mode ${r.mode} with ${rest.length} bytes of addresses`);
    }
    requests.push(req);
    off += r.len;
  }
  return ok({ type: head.type, dir: head.dir, id: head.id, priority: head.priority, requests });
}

/** Encodes a whole policy extension (len/type header left for the message codec). */
export function encodePolicy(p: PfkeyPolicy): Buffer {
  const parts: Buffer[] = [SadbXPolicyStruct.encode(p)];
  for (const r of p.requests) {
    const addrs = r.mode === IpsecMode.TUNNEL ? Buffer.concat([encodeSockaddr(r.src!, 0), encodeSockaddr(r.dst!, 0)]) : Buffer.alloc(0);
    const head = SadbXIpsecrequestStruct.encode({ len: SadbXIpsecrequestStruct.size + addrs.length, proto: r.proto, mode: r.mode, level: r.level, reqid: r.reqid });
    parts.push(head, addrs);
  }
  return Buffer.concat(parts);
}
