/**
 * Names `ipsecinit.conf` accepts in place of numbers. ipsecconf(8) looks protocols and ports up with
 * getprotobyname(3) and getservbyname(3); a pure parser cannot, so these are the entries of a stock
 * /etc/protocols and /etc/services that policies use. Numbers are always accepted.
 * ICMP names are ipsecconf's own tables; algorithm names are ipsecconf's plus the SHA-2 names of
 * ipsecalgs(8), mapped to PF_KEY numbers.
 */
import { AuthAlg, EncAlg } from "../../kernel/algorithms.js";

/** Protocol names (getprotobyname). */
export const PROTOCOLS: ReadonlyMap<string, number> = new Map([
  ["ip", 0], ["icmp", 1], ["igmp", 2], ["ggp", 3], ["ipip", 4], ["ipencap", 4], ["tcp", 6], ["egp", 8],
  ["pup", 12], ["udp", 17], ["idp", 22], ["ipv6", 41], ["ipv6-route", 43], ["ipv6-frag", 44],
  ["rsvp", 46], ["gre", 47], ["esp", 50], ["ah", 51], ["ipv6-icmp", 58], ["icmp6", 58],
  ["ipv6-nonxt", 59], ["ipv6-opts", 60], ["ospf", 89], ["pim", 103], ["sctp", 132], ["udplite", 136],
]);

/** ICMPv4 and ICMPv6 protocol numbers: `type` and `code` need one of these as `ulp`. */
export const ICMP_PROTOCOLS: ReadonlySet<number> = new Set([1, 58]);

/** Service names (getservbyname with a NULL protocol). */
export const SERVICES: ReadonlyMap<string, number> = new Map([
  ["ftp-data", 20], ["ftp", 21], ["ssh", 22], ["telnet", 23], ["smtp", 25], ["time", 37], ["domain", 53],
  ["tftp", 69], ["finger", 79], ["http", 80], ["www", 80], ["kerberos", 88], ["pop3", 110],
  ["sunrpc", 111], ["auth", 113], ["nntp", 119], ["ntp", 123], ["imap", 143], ["snmp", 161],
  ["snmp-trap", 162], ["bgp", 179], ["ldap", 389], ["https", 443], ["isakmp", 500], ["exec", 512],
  ["login", 513], ["shell", 514], ["syslog", 514], ["printer", 515], ["submission", 587],
  ["ldaps", 636], ["imaps", 993], ["pop3s", 995], ["nfsd", 2049], ["nfs", 2049],
  ["ipsec-nat-t", 4500],
]);

/** ICMP type names (ipsecconf's icmp_type_table). */
export const ICMP_TYPES: ReadonlyMap<string, number> = new Map([
  ["unreach", 3], ["echo", 8], ["echorep", 0], ["squench", 4], ["redir", 5], ["timex", 11],
  ["paramprob", 12], ["timest", 13], ["timestrep", 14], ["inforeq", 15], ["inforep", 16],
  ["maskreq", 17], ["maskrep", 18], ["unreach6", 1], ["pkttoobig6", 2], ["timex6", 3],
  ["paramprob6", 4], ["echo6", 128], ["echorep6", 129], ["router-sol6", 133], ["router-ad6", 134],
  ["neigh-sol6", 135], ["neigh-ad6", 136], ["redir6", 137],
]);

/** ICMP code names (ipsecconf's icmp_code_table). */
export const ICMP_CODES: ReadonlyMap<string, number> = new Map([
  ["net-unr", 0], ["host-unr", 1], ["proto-unr", 2], ["port-unr", 3], ["needfrag", 4], ["srcfail", 5],
  ["net-unk", 6], ["host-unk", 7], ["isolate", 8], ["net-prohib", 9], ["host-prohib", 10],
  ["net-tos", 11], ["host-tos", 12], ["filter-prohib", 13], ["host-preced", 14], ["cutoff-preced", 15],
  ["no-route6", 0], ["adm-prohib6", 1], ["addr-unr6", 3], ["port-unr6", 4], ["hop-limex6", 0],
  ["frag-re-timex6", 1], ["err-head6", 0], ["unrec-head6", 1], ["unreq-opt6", 2],
]);

/** Authentication algorithm names (`auth_algs`, `encr_auth_algs`), case-insensitive. */
export const AUTH_NAMES: ReadonlyMap<string, number> = new Map([
  ["md5", AuthAlg.HmacMd5], ["hmac-md5", AuthAlg.HmacMd5],
  ["sha", AuthAlg.HmacSha1], ["sha1", AuthAlg.HmacSha1], ["hmac-sha", AuthAlg.HmacSha1], ["hmac-sha1", AuthAlg.HmacSha1],
  ["sha256", AuthAlg.HmacSha256], ["hmac-sha256", AuthAlg.HmacSha256],
  ["sha384", AuthAlg.HmacSha384], ["hmac-sha384", AuthAlg.HmacSha384],
  ["sha512", AuthAlg.HmacSha512], ["hmac-sha512", AuthAlg.HmacSha512],
]);

/** Encryption algorithm names (`encr_algs`), case-insensitive. */
export const ENCR_NAMES: ReadonlyMap<string, number> = new Map([
  ["des", EncAlg.DesCbc], ["des-cbc", EncAlg.DesCbc],
  ["3des", EncAlg.TripleDesCbc], ["3des-cbc", EncAlg.TripleDesCbc],
  ["blowfish", EncAlg.BlowfishCbc], ["blowfish-cbc", EncAlg.BlowfishCbc],
  ["aes", EncAlg.AesCbc], ["aes-cbc", EncAlg.AesCbc],
  ["null", EncAlg.Null],
]);
