/**
 * Table of refused bytes (STYLE §8): each case names the exact `DecodeError.code`, the notify it maps
 * to and the byte offset (from the datagram start; a payload chain is decoded as if it followed the
 * 28-byte header). `first` set: a payload chain; unset: a whole datagram.
 */
import { gh, tv, tlv, rep, msg } from "./helpers.js";
import type { DecodeErrorCode } from "../../src/codec/index.js";

export interface ErrorCase {
  readonly name: string;
  readonly first?: number;
  readonly hex: string;
  readonly code: DecodeErrorCode;
  readonly notify: number;
  readonly offset: number;
}

const SIT = "00000001 00000001";
const ikeT = gh(0, "00 01 0000"); // KEY_IKE transform without attributes, 8 bytes
const prop = (next: number, body: string): string => gh(next, body);

export const ERROR_CASES: readonly ErrorCase[] = [
  // Header (RFC 2408 §3.1, §5.2)
  { name: "datagram shorter than a header", hex: rep("01", 27), code: "IKE_ERR_DATAGRAM_TOO_SHORT", notify: 30, offset: 27 },
  { name: "datagram over 65535 bytes", hex: msg({ next: 13, exchange: 2 }, gh(0, rep("00", 65504))), code: "IKE_ERR_DATAGRAM_TOO_LARGE", notify: 16, offset: 65535 },
  { name: "major version 2", hex: msg({ next: 0, exchange: 2, version: 0x20 }), code: "IKE_ERR_INVALID_MAJOR_VERSION", notify: 5, offset: 17 },
  { name: "minor version 1", hex: msg({ next: 0, exchange: 2, version: 0x11 }), code: "IKE_ERR_INVALID_MINOR_VERSION", notify: 6, offset: 17 },
  { name: "header length != datagram length", hex: msg({ next: 0, exchange: 2, length: 100 }), code: "IKE_ERR_LENGTH_MISMATCH", notify: 30, offset: 24 },
  { name: "exchange type 0 (NONE)", hex: msg({ next: 0, exchange: 0 }), code: "IKE_ERR_INVALID_EXCHANGE_TYPE", notify: 7, offset: 18 },
  { name: "exchange type 7 (reserved)", hex: msg({ next: 0, exchange: 7 }), code: "IKE_ERR_INVALID_EXCHANGE_TYPE", notify: 7, offset: 18 },
  { name: "exchange type 34", hex: msg({ next: 0, exchange: 34 }), code: "IKE_ERR_INVALID_EXCHANGE_TYPE", notify: 7, offset: 18 },
  { name: "reserved flag bit 3", hex: msg({ next: 0, exchange: 2, flags: 0x08 }), code: "IKE_ERR_INVALID_FLAGS", notify: 8, offset: 19 },
  { name: "zero initiator cookie", hex: msg({ next: 0, exchange: 2, icookie: rep("00", 8) }), code: "IKE_ERR_INVALID_COOKIE", notify: 4, offset: 0 },
  { name: "nonzero message ID in main mode", hex: msg({ next: 0, exchange: 2, messageId: 1 }), code: "IKE_ERR_INVALID_MESSAGE_ID", notify: 9, offset: 20 },
  { name: "nonzero message ID in aggressive mode", hex: msg({ next: 0, exchange: 4, messageId: 7 }), code: "IKE_ERR_INVALID_MESSAGE_ID", notify: 9, offset: 20 },
  { name: "zero message ID in quick mode", hex: msg({ next: 0, exchange: 32 }), code: "IKE_ERR_INVALID_MESSAGE_ID", notify: 9, offset: 20 },
  { name: "zero message ID in new group mode", hex: msg({ next: 0, exchange: 33 }), code: "IKE_ERR_INVALID_MESSAGE_ID", notify: 9, offset: 20 },
  { name: "encrypted message without body", hex: msg({ next: 8, exchange: 32, flags: 1, messageId: 5 }), code: "IKE_ERR_EMPTY_ENCRYPTED_BODY", notify: 16, offset: 28 },
  { name: "encrypted message naming an unknown first payload", hex: msg({ next: 99, exchange: 32, flags: 1, messageId: 5 }, rep("00", 16)), code: "IKE_ERR_INVALID_PAYLOAD_TYPE", notify: 1, offset: 16 },
  { name: "clear message naming an unknown first payload", hex: msg({ next: 99, exchange: 2 }, gh(0, "aa")), code: "IKE_ERR_INVALID_PAYLOAD_TYPE", notify: 1, offset: 16 },
  { name: "clear message with bytes after the last payload", hex: msg({ next: 13, exchange: 2 }, gh(0, "aa") + "aaaa"), code: "IKE_ERR_TRAILING_DATA", notify: 30, offset: 33 },
  { name: "clear message with zeros after the last payload, past a 4-octet boundary", hex: msg({ next: 13, exchange: 2 }, gh(0, "aa") + "00000000000000"), code: "IKE_ERR_TRAILING_DATA", notify: 30, offset: 33 },
  { name: "clear message whose header names a payload but has none", hex: msg({ next: 13, exchange: 2 }), code: "IKE_ERR_PAYLOAD_TRUNCATED", notify: 30, offset: 28 },

  // Generic payload header (RFC 2408 §3.2)
  { name: "generic header truncated", first: 13, hex: "0000", code: "IKE_ERR_PAYLOAD_TRUNCATED", notify: 30, offset: 28 },
  { name: "generic header reserved octet set", first: 13, hex: "00010005aa", code: "IKE_ERR_RESERVED_NOT_ZERO", notify: 16, offset: 29 },
  { name: "payload length below the payload's minimum", first: 5, hex: "00000007010000", code: "IKE_ERR_PAYLOAD_TOO_SHORT", notify: 16, offset: 30 },
  { name: "payload length below 4", first: 13, hex: "00000002", code: "IKE_ERR_PAYLOAD_TOO_SHORT", notify: 16, offset: 30 },
  { name: "payload length past the end", first: 13, hex: "00000010aabb", code: "IKE_ERR_PAYLOAD_LENGTH", notify: 30, offset: 30 },
  { name: "second payload of unknown type", first: 13, hex: gh(99, "aa") + gh(0, "bb"), code: "IKE_ERR_INVALID_PAYLOAD_TYPE", notify: 1, offset: 28 },
  { name: "first payload of unknown type", first: 99, hex: gh(0, "aa"), code: "IKE_ERR_INVALID_PAYLOAD_TYPE", notify: 1, offset: 16 },
  { name: "Proposal payload at top level", first: 13, hex: gh(2, "aa") + gh(0, "bb"), code: "IKE_ERR_INVALID_PAYLOAD_TYPE", notify: 1, offset: 28 },
  { name: "Transform payload at top level", first: 3, hex: gh(0, "0001 0000"), code: "IKE_ERR_INVALID_PAYLOAD_TYPE", notify: 1, offset: 16 },
  { name: "65 payloads", first: 13, hex: rep(gh(13, "aa"), 64) + gh(0, "aa"), code: "IKE_ERR_TOO_MANY_PAYLOADS", notify: 16, offset: 28 + 64 * 5 },

  // SA, proposal, transform, attributes (RFC 2408 §3.3-3.6, RFC 2407 §4.4-4.6)
  { name: "SA DOI 2", first: 1, hex: gh(0, "00000002 00000001" + prop(0, "01 01 00 01" + ikeT)), code: "IKE_ERR_DOI_NOT_SUPPORTED", notify: 2, offset: 32 },
  { name: "SA situation SIT_SECRECY", first: 1, hex: gh(0, "00000001 00000002" + prop(0, "01 01 00 01" + ikeT)), code: "IKE_ERR_SITUATION_NOT_SUPPORTED", notify: 3, offset: 36 },
  { name: "SA situation 0", first: 1, hex: gh(0, "00000001 00000000" + prop(0, "01 01 00 01" + ikeT)), code: "IKE_ERR_SITUATION_NOT_SUPPORTED", notify: 3, offset: 36 },
  { name: "SA without proposals", first: 1, hex: gh(0, SIT), code: "IKE_ERR_BAD_PROPOSAL_SYNTAX", notify: 15, offset: 40 },
  { name: "proposal whose next payload is KE", first: 1, hex: gh(0, SIT + prop(4, "01 01 00 01" + ikeT)), code: "IKE_ERR_BAD_PROPOSAL_SYNTAX", notify: 15, offset: 40 },
  { name: "last proposal says another follows", first: 1, hex: gh(0, SIT + prop(2, "01 01 00 01" + ikeT)), code: "IKE_ERR_BAD_PROPOSAL_SYNTAX", notify: 15, offset: 56 },
  { name: "bytes after the last proposal", first: 1, hex: gh(0, SIT + prop(0, "01 01 00 01" + ikeT) + "00000000"), code: "IKE_ERR_BAD_PROPOSAL_SYNTAX", notify: 15, offset: 56 },
  { name: "proposal numbers decrease", first: 1, hex: gh(0, SIT + prop(2, "02 01 00 01" + ikeT) + prop(0, "01 01 00 01" + ikeT)), code: "IKE_ERR_BAD_PROPOSAL_SYNTAX", notify: 15, offset: 60 },
  { name: "transform count disagrees with the transforms", first: 1, hex: gh(0, SIT + prop(0, "01 01 00 02" + ikeT)), code: "IKE_ERR_TRANSFORM_COUNT", notify: 15, offset: 47 },
  { name: "proposal protocol 9", first: 1, hex: gh(0, SIT + prop(0, "01 09 00 01" + ikeT)), code: "IKE_ERR_INVALID_PROTOCOL_ID", notify: 10, offset: 45 },
  { name: "proposal protocol 0", first: 1, hex: gh(0, SIT + prop(0, "01 00 00 01" + ikeT)), code: "IKE_ERR_INVALID_PROTOCOL_ID", notify: 10, offset: 45 },
  { name: "ISAKMP proposal with a 4-byte SPI", first: 1, hex: gh(0, SIT + prop(0, "01 01 04 01 00000000" + ikeT)), code: "IKE_ERR_INVALID_SPI", notify: 11, offset: 46 },
  { name: "ESP proposal with a 2-byte SPI", first: 1, hex: gh(0, SIT + prop(0, "01 03 02 01 0100" + gh(0, "01 03 0000"))), code: "IKE_ERR_INVALID_SPI", notify: 11, offset: 46 },
  { name: "ESP proposal with reserved SPI 5", first: 1, hex: gh(0, SIT + prop(0, "01 03 04 01 00000005" + gh(0, "01 03 0000"))), code: "IKE_ERR_INVALID_SPI", notify: 11, offset: 48 },
  { name: "ISAKMP transform id 2", first: 1, hex: gh(0, SIT + prop(0, "01 01 00 01" + gh(0, "00 02 0000"))), code: "IKE_ERR_INVALID_TRANSFORM_ID", notify: 12, offset: 53 },
  { name: "ESP transform id 0", first: 1, hex: gh(0, SIT + prop(0, "01 03 04 01 c0000001" + gh(0, "01 00 0000"))), code: "IKE_ERR_INVALID_TRANSFORM_ID", notify: 12, offset: 57 },
  { name: "transform RESERVED2 set", first: 1, hex: gh(0, SIT + prop(0, "01 01 00 01" + gh(0, "00 01 0100"))), code: "IKE_ERR_RESERVED_NOT_ZERO", notify: 16, offset: 54 },
  { name: "basic IKE attribute in TLV form", first: 1, hex: gh(0, SIT + prop(0, "01 01 00 01" + gh(0, "00 01 0000" + tlv(1, "0007")))), code: "IKE_ERR_ATTRIBUTE_FORM", notify: 13, offset: 56 },
  { name: "basic IPsec attribute in TLV form", first: 1, hex: gh(0, SIT + prop(0, "01 03 04 01 c0000001" + gh(0, "01 03 0000" + tv(1, 1) + tlv(4, "0001")))), code: "IKE_ERR_ATTRIBUTE_FORM", notify: 13, offset: 64 },
  { name: "attribute header cut short", first: 1, hex: gh(0, SIT + prop(0, "01 01 00 01" + gh(0, "00 01 0000 8001"))), code: "IKE_ERR_ATTRIBUTE_TRUNCATED", notify: 16, offset: 56 },
  { name: "TLV attribute longer than its transform", first: 1, hex: gh(0, SIT + prop(0, "01 01 00 01" + gh(0, "00 01 0000 000c 0008 00001c20"))), code: "IKE_ERR_ATTRIBUTE_TRUNCATED", notify: 16, offset: 58 },
  { name: "65 attributes", first: 1, hex: gh(0, SIT + prop(0, "01 01 00 01" + gh(0, "00 01 0000" + rep(tv(1, 7), 65)))), code: "IKE_ERR_TOO_MANY_ATTRIBUTES", notify: 16, offset: 28 + 28 + 64 * 4 },
  { name: "65 proposals", first: 1, hex: gh(0, SIT + rep(prop(2, "01 01 00 01" + ikeT), 64) + prop(0, "01 01 00 01" + ikeT)), code: "IKE_ERR_TOO_MANY_PROPOSALS", notify: 16, offset: 28 + 12 + 64 * 16 },
  { name: "65 transforms", first: 1, hex: gh(0, SIT + prop(0, "01 01 00 41" + rep(gh(3, "00 01 0000"), 64) + ikeT)), code: "IKE_ERR_TOO_MANY_TRANSFORMS", notify: 16, offset: 28 + 20 + 64 * 8 },
  { name: "proposal length below its minimum", first: 1, hex: gh(0, SIT + "00000007 010100"), code: "IKE_ERR_PAYLOAD_TOO_SHORT", notify: 16, offset: 42 },
  { name: "proposal generic header truncated", first: 1, hex: gh(0, SIT + "0000"), code: "IKE_ERR_PAYLOAD_TRUNCATED", notify: 30, offset: 40 },
  { name: "proposal length past the SA", first: 1, hex: gh(0, SIT + "00000020 01010001" + ikeT), code: "IKE_ERR_PAYLOAD_LENGTH", notify: 30, offset: 42 },
  { name: "proposal reserved octet set", first: 1, hex: gh(0, SIT + "00010010 01010001" + ikeT), code: "IKE_ERR_RESERVED_NOT_ZERO", notify: 16, offset: 41 },
  { name: "SPI size past the proposal", first: 1, hex: gh(0, SIT + prop(0, "01 03 08 01 c0000001")), code: "IKE_ERR_PAYLOAD_TOO_SHORT", notify: 16, offset: 48 },

  // KE, ID, CERT, CR, HASH, SIG, NONCE (RFC 2408 §3.7-3.13, RFC 2407 §4.6.2, RFC 2409 §5)
  { name: "KE without data", first: 4, hex: gh(0, ""), code: "IKE_ERR_INVALID_KEY_INFORMATION", notify: 17, offset: 32 },
  { name: "ID type 0", first: 5, hex: gh(0, "00 00 0000 c0a80001"), code: "IKE_ERR_INVALID_ID_INFORMATION", notify: 18, offset: 32 },
  { name: "ID type 12", first: 5, hex: gh(0, "0c 00 0000 c0a80001"), code: "IKE_ERR_INVALID_ID_INFORMATION", notify: 18, offset: 32 },
  { name: "ID_IPV4_ADDR of 5 bytes", first: 5, hex: gh(0, "01 00 0000 c0a8000101"), code: "IKE_ERR_INVALID_ID_INFORMATION", notify: 18, offset: 36 },
  { name: "ID_IPV6_ADDR_SUBNET of 16 bytes", first: 5, hex: gh(0, "06 00 0000" + rep("20", 16)), code: "IKE_ERR_INVALID_ID_INFORMATION", notify: 18, offset: 36 },
  { name: "empty ID_FQDN", first: 5, hex: gh(0, "02 00 0000"), code: "IKE_ERR_INVALID_ID_INFORMATION", notify: 18, offset: 36 },
  { name: "CERT encoding 0", first: 6, hex: gh(0, "00 3082"), code: "IKE_ERR_INVALID_CERT_ENCODING", notify: 19, offset: 32 },
  { name: "CERT encoding 11", first: 6, hex: gh(0, "0b 3082"), code: "IKE_ERR_INVALID_CERT_ENCODING", notify: 19, offset: 32 },
  { name: "CERT without data", first: 6, hex: gh(0, "04"), code: "IKE_ERR_INVALID_CERT_ENCODING", notify: 19, offset: 33 },
  { name: "CR encoding 0", first: 7, hex: gh(0, "00"), code: "IKE_ERR_INVALID_CERT_ENCODING", notify: 19, offset: 32 },
  { name: "CR encoding 200", first: 7, hex: gh(0, "c8"), code: "IKE_ERR_INVALID_CERT_ENCODING", notify: 19, offset: 32 },
  { name: "HASH without data", first: 8, hex: gh(0, ""), code: "IKE_ERR_INVALID_HASH_INFORMATION", notify: 23, offset: 32 },
  { name: "SIG without data", first: 9, hex: gh(0, ""), code: "IKE_ERR_INVALID_SIGNATURE", notify: 25, offset: 32 },
  { name: "NONCE of 7 bytes", first: 10, hex: gh(0, rep("01", 7)), code: "IKE_ERR_INVALID_NONCE", notify: 16, offset: 30 },
  { name: "NONCE of 257 bytes", first: 10, hex: gh(0, rep("01", 257)), code: "IKE_ERR_INVALID_NONCE", notify: 16, offset: 30 },

  // N, D (RFC 2408 §3.14-3.15)
  { name: "N with DOI 3", first: 11, hex: gh(0, "00000003 01 00 0001"), code: "IKE_ERR_DOI_NOT_SUPPORTED", notify: 2, offset: 32 },
  { name: "N with protocol 5", first: 11, hex: gh(0, "00000001 05 00 0001"), code: "IKE_ERR_INVALID_PROTOCOL_ID", notify: 10, offset: 36 },
  { name: "N with a 3-byte SPI", first: 11, hex: gh(0, "00000001 03 03 0001 010203"), code: "IKE_ERR_INVALID_SPI", notify: 11, offset: 37 },
  { name: "N whose SPI runs past the payload", first: 11, hex: gh(0, "00000001 01 10 0001 01020304"), code: "IKE_ERR_PAYLOAD_TOO_SHORT", notify: 16, offset: 40 },
  { name: "N shorter than its fixed part", first: 11, hex: gh(0, "00000001 01 00 00"), code: "IKE_ERR_PAYLOAD_TOO_SHORT", notify: 16, offset: 30 },
  { name: "D with DOI 2", first: 12, hex: gh(0, "00000002 03 04 0001 c0000001"), code: "IKE_ERR_DOI_NOT_SUPPORTED", notify: 2, offset: 32 },
  { name: "D with protocol 0", first: 12, hex: gh(0, "00000001 00 04 0001 c0000001"), code: "IKE_ERR_INVALID_PROTOCOL_ID", notify: 10, offset: 36 },
  { name: "D of ESP with 16-byte SPIs", first: 12, hex: gh(0, "00000001 03 10 0001" + rep("01", 16)), code: "IKE_ERR_INVALID_SPI", notify: 11, offset: 37 },
  { name: "D of ISAKMP with SPI size 0", first: 12, hex: gh(0, "00000001 01 00 0000"), code: "IKE_ERR_INVALID_SPI", notify: 11, offset: 37 },
  { name: "D whose SPI count disagrees with its length", first: 12, hex: gh(0, "00000001 03 04 0002 c0000001"), code: "IKE_ERR_INVALID_DELETE", notify: 16, offset: 38 },
  { name: "D without SPIs", first: 12, hex: gh(0, "00000001 03 04 0000"), code: "IKE_ERR_INVALID_DELETE", notify: 16, offset: 38 },

  // VID, Attribute, NAT-D, NAT-OA, Fragment
  { name: "empty VID", first: 13, hex: gh(0, ""), code: "IKE_ERR_INVALID_VENDOR_ID", notify: 16, offset: 30 },
  { name: "Attribute with configuration type 5", first: 14, hex: gh(0, "05 00 0001"), code: "IKE_ERR_INVALID_CFG_TYPE", notify: 16, offset: 32 },
  { name: "Attribute with reserved octet set", first: 14, hex: gh(0, "01 01 0001"), code: "IKE_ERR_RESERVED_NOT_ZERO", notify: 16, offset: 33 },
  { name: "Attribute with a cut attribute", first: 14, hex: gh(0, "01 00 0001 0001"), code: "IKE_ERR_ATTRIBUTE_TRUNCATED", notify: 16, offset: 36 },
  { name: "empty NAT-D", first: 20, hex: gh(0, ""), code: "IKE_ERR_INVALID_NAT_D", notify: 16, offset: 30 },
  { name: "NAT-OA with ID type 2", first: 21, hex: gh(0, "02 000000 c0a80001"), code: "IKE_ERR_INVALID_NAT_OA", notify: 16, offset: 32 },
  { name: "NAT-OA IPv4 with 16 bytes", first: 131, hex: gh(0, "01 000000" + rep("01", 16)), code: "IKE_ERR_INVALID_NAT_OA", notify: 16, offset: 36 },
  { name: "NAT-OA reserved octet set", first: 21, hex: gh(0, "01 000100 c0a80001"), code: "IKE_ERR_RESERVED_NOT_ZERO", notify: 16, offset: 34 },
  { name: "Fragment number 0", first: 132, hex: gh(0, "0001 00 01 aa"), code: "IKE_ERR_INVALID_FRAGMENT", notify: 16, offset: 34 },
  { name: "Fragment with unknown flag", first: 132, hex: gh(0, "0001 01 02 aa"), code: "IKE_ERR_INVALID_FRAGMENT", notify: 16, offset: 35 },
  { name: "Fragment without data", first: 132, hex: gh(0, "0001 01 01"), code: "IKE_ERR_INVALID_FRAGMENT", notify: 16, offset: 30 },
];
