/*
 * IKE's own UDP sockets and IPsec policy. An IPsec policy covering the addresses IKE talks between
 * would otherwise catch IKE itself: outbound IKE packets would wait for an SA only IKE can make, and
 * inbound ones would be dropped by the policy check. Like strongSwan and racoon, each IKE socket gets
 * a per-socket "allow" policy for both directions (IP_XFRM_POLICY / IPV6_XFRM_POLICY with an
 * `xfrm_userpolicy_info` whose action is XFRM_POLICY_ALLOW and which has no template), which the
 * kernel consults before the SPD.
 *
 * Node's dgram exposes no descriptor, but `socket.bind({ fd })` adopts one: udpSocket() makes the
 * socket here (bound, bypassing, optionally ESP-in-UDP for NAT-T port 4500, optionally inside a
 * network namespace) and returns its descriptor for dgram to wrap.
 *
 * libuv sets SO_REUSEADDR on every descriptor it adopts (uv_udp_open); on Linux a second socket
 * with SO_REUSEADDR may then bind the very same address and port, with no check of its owner, and
 * take the unicast datagrams (any local user on port 4500). clearReuseAddr() takes it off again once
 * dgram holds the descriptor.
 *
 * udpSocketPair() makes the IKE port's two sockets (issue 11): during an MM1 flood the socket's
 * receive buffer overflows in the kernel and drops every datagram in the flood's proportion,
 * MM3/MM5, Quick Mode and Informational of peers that already returned our cookie included. Both
 * sockets get SO_REUSEPORT before bind, so they form one reuseport group on the same address and
 * port, and the group gets a classic BPF program (SO_ATTACH_REUSEPORT_CBPF) that picks the socket
 * by the ISAKMP header (RFC 2408 section 3.1): a non-zero responder cookie (bytes 8..15, after
 * the non-ESP marker where there is one) goes to socket 1, everything else (MM1s, datagrams too
 * short for the 28-byte header) to socket 0. A
 * socket's index in the group is the order it joined (bound): socks[0] is made by reuseport_alloc
 * at the first bind, the second bind appends (net/core/sock_reuseport.c). The program sees the
 * UDP payload at offset 0: for UDP, run_bpf_filter() pulls sizeof(struct udphdr) off the skb before
 * running it and pushes it back after. An index the group does not have (>= num_socks, e.g. once
 * one socket is closed) makes the kernel fall back to its hash, so nothing is lost then.
 *
 * Who can join the group: the kernel adds a binding socket to an existing group only when both
 * have SO_REUSEPORT and the same owner (udp_lib_lport_inuse(): `uid_eq(uid, sock_i_uid(sk2))`),
 * and the group takes only exact address matches. A socket of another user conflicts (EADDRINUSE)
 * unless both sides have SO_REUSEADDR, which ours keep only on privileged ports (500), where no
 * other user may bind at all; on other ports SO_REUSEADDR is cleared once dgram adopts the
 * descriptors (clearReuseAddr), as for the single socket. A process of our own user could join,
 * but it could as well ptrace us; and a third socket (index 2) is never picked by the program.
 *
 *   udpSocket(family, address, port, { bypass?, espInUdp?, reuseAddr?, netns? }) -> fd
 *   udpSocketPair(family, address, port, { bypass?, reuseAddr?, netns? }) -> [fd0, fd1]
 *   setXfrmBypass(fd, family)
 *   clearReuseAddr(fd)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/udp.h>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "ksock.h"
#include "pkey.h"

#ifndef UDP_ENCAP
#define UDP_ENCAP 100
#endif
#ifndef SO_ATTACH_REUSEPORT_CBPF
#define SO_ATTACH_REUSEPORT_CBPF 51
#endif
#ifndef UDP_ENCAP_ESPINUDP
#define UDP_ENCAP_ESPINUDP 2
#endif

/* Installs the per-socket "allow" policy for inbound and outbound; 0 or -1 with errno. */
static int Bypass(int fd, int family) {
  struct xfrm_userpolicy_info pol;
  int level = family == 6 ? IPPROTO_IPV6 : IPPROTO_IP;
  int opt = family == 6 ? IPV6_XFRM_POLICY : IP_XFRM_POLICY;
  memset(&pol, 0, sizeof pol);
  pol.action = XFRM_POLICY_ALLOW;
  pol.sel.family = family == 6 ? AF_INET6 : AF_INET;
  pol.dir = XFRM_POLICY_IN;
  if (setsockopt(fd, level, opt, &pol, sizeof pol) != 0) return -1;
  pol.dir = XFRM_POLICY_OUT;
  return setsockopt(fd, level, opt, &pol, sizeof pol);
}

static int GetFamily(napi_env env, napi_value v) {
  uint32_t f = 0;
  if (napi_get_value_uint32(env, v, &f) != napi_ok || (f != 4 && f != 6)) return 0;
  return (int)f;
}

/* Optional boolean property; `dflt` when absent. */
static int OptBool(napi_env env, napi_value obj, const char *name, int dflt) {
  bool has = false, b = false;
  napi_value v;
  if (napi_has_named_property(env, obj, name, &has) != napi_ok || !has) return dflt;
  napi_get_named_property(env, obj, name, &v);
  if (napi_get_value_bool(env, v, &b) != napi_ok) return dflt;
  return b;
}

/* setXfrmBypass(fd, family): the per-socket allow policy on an existing UDP or raw socket. */
napi_value SetXfrmBypass(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd = -1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int family = argc < 2 ? 0 : GetFamily(env, argv[1]);
  THROW_IF(argc < 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0 || family == 0, "IKE_ERR_NATIVE_ARG", "setXfrmBypass(fd, family: 4 | 6)");
  if (Bypass(fd, family) != 0) napi_throw(env, IkedErrno(env, "IKE_ERR_NATIVE_SOCKET", family == 6 ? "setsockopt(IPV6_XFRM_POLICY)" : "setsockopt(IP_XFRM_POLICY)", errno));
  return NULL;
}

/* clearReuseAddr(fd): SO_REUSEADDR off (libuv set it when dgram adopted the descriptor). */
napi_value ClearReuseAddr(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd = -1;
  int zero = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  THROW_IF(argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0, "IKE_ERR_NATIVE_ARG", "clearReuseAddr(fd)");
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &zero, sizeof zero) != 0) napi_throw(env, IkedErrno(env, "IKE_ERR_NATIVE_SOCKET", "setsockopt(SO_REUSEADDR)", errno));
  return NULL;
}

/* Makes, configures and binds the socket in the current namespace; fd or -1 with errno, *what set. */
static int MakeUdp(int family, const void *addr, uint16_t port, int bypass, int espInUdp, int reuse, int reusePort, const char **what) {
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
  struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
  int one = 1, encap = UDP_ENCAP_ESPINUDP, e;
  *what = "socket";
  int fd = socket(family == 6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  *what = "setsockopt(IPV6_V6ONLY)";
  if (family == 6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) goto fail;
  *what = "setsockopt(SO_REUSEADDR)";
  if (reuse && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) goto fail;
  *what = "setsockopt(SO_REUSEPORT)";
  if (reusePort && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) goto fail;
  *what = family == 6 ? "setsockopt(IPV6_XFRM_POLICY)" : "setsockopt(IP_XFRM_POLICY)";
  if (bypass && Bypass(fd, family) != 0) goto fail;
  *what = "setsockopt(UDP_ENCAP)";
  if (espInUdp && setsockopt(fd, IPPROTO_UDP, UDP_ENCAP, &encap, sizeof encap) != 0) goto fail;
  *what = "bind";
  if (family == 6) {
    memcpy(&sin6.sin6_addr, addr, 16);
    if (bind(fd, (struct sockaddr *)&sin6, sizeof sin6) != 0) goto fail;
  } else {
    memcpy(&sin.sin_addr, addr, 4);
    if (bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0) goto fail;
  }
  return fd;
fail:
  e = errno;
  close(fd);
  errno = e;
  return -1;
}

/*
 * The group's program. The ISAKMP header may follow the 4-byte non-ESP marker (RFC 3948: the
 * daemon expects it when neither port is 500, see src/net/marker.ts); a marker is four zero bytes,
 * where a bare header has the initiator cookie, which is random. `marked` is 0 on port 500, where
 * no datagram carries a marker (so an MM1 whose initiator cookie starts with four zero bytes is
 * never read as marked and sent to socket 1); elsewhere a header whose cookie starts with four zero
 * bytes is read as if marked (it lands on one socket or the other, both read alike).
 *   X = 0; length < 28 -> 0; marked and first word 0: X = 4, length < 32 -> 0;
 *   responder cookie (words at X+8 and X+12) non-zero -> 1, else 0.
 */
static int AttachSteering(int fd, int marked) {
  struct sock_filter code[] = {
      BPF_STMT(BPF_LDX | BPF_W | BPF_IMM, 0),
      BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
      BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 28, 0, 10),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, marked ? 0 : 3, 3), /* port 500 carries no marker */
      BPF_STMT(BPF_LDX | BPF_W | BPF_IMM, 4),
      BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
      BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 32, 0, 5),
      BPF_STMT(BPF_LD | BPF_W | BPF_IND, 8),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 2),
      BPF_STMT(BPF_LD | BPF_W | BPF_IND, 12),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, 1),
      BPF_STMT(BPF_RET | BPF_K, 0),
  };
  struct sock_fprog prog = {.len = sizeof code / sizeof code[0], .filter = code};
  return setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof prog);
}

/* The port `fd` is bound to (the kernel's pick when 0 was asked for); 0 on error. */
static uint16_t BoundPort(int fd) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return 0;
  return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);
}

/* Both sockets of the group, bound in this order (index 0, then 1), and the program; 0 or -1 with errno. */
static int MakePair(int family, const void *addr, uint16_t port, int bypass, int reuse, int fds[2], const char **what) {
  int e;
  fds[0] = MakeUdp(family, addr, port, bypass, 0, reuse, 1, what);
  if (fds[0] < 0) return -1;
  *what = "getsockname";
  uint16_t bound = BoundPort(fds[0]);
  if (bound == 0) goto fail0;
  fds[1] = MakeUdp(family, addr, bound, bypass, 0, reuse, 1, what);
  if (fds[1] < 0) goto fail0;
  *what = "setsockopt(SO_ATTACH_REUSEPORT_CBPF)";
  if (AttachSteering(fds[0], bound != 500) != 0) {
    e = errno;
    close(fds[1]);
    errno = e;
    goto fail0;
  }
  return 0;
fail0:
  e = errno;
  close(fds[0]);
  errno = e;
  return -1;
}

/*
 * udpSocket / udpSocketPair: parses (family, address, port, options?), makes the socket (`pair`
 * 0: an fd) or the pair (1: [fd0, fd1]) in the namespace asked for, or throws.
 */
static napi_value MakeSockets(napi_env env, napi_callback_info info, int pair) {
  size_t argc = 4, alen;
  napi_value argv[4], out, v;
  char text[64], netns[256];
  unsigned char addr[16];
  uint32_t port = 0;
  int bypass = 1, espInUdp = 0, reuse = 0, hasNs = 0, saved = -1, fds[2] = {-1, -1}, rc;
  napi_valuetype t = napi_undefined;
  const char *what = "socket";
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int family = argc < 3 ? 0 : GetFamily(env, argv[0]);
  THROW_IF(family == 0 || napi_get_value_string_utf8(env, argv[1], text, sizeof text, &alen) != napi_ok ||
               napi_get_value_uint32(env, argv[2], &port) != napi_ok || port > 65535,
           "IKE_ERR_NATIVE_ARG", pair ? "udpSocketPair(family: 4 | 6, address, port, options?)" : "udpSocket(family: 4 | 6, address, port, options?)");
  THROW_IF(inet_pton(family == 6 ? AF_INET6 : AF_INET, text, addr) != 1, "IKE_ERR_NATIVE_ARG", "address is not an IP address of that family");
  if (argc > 3) napi_typeof(env, argv[3], &t);
  if (t == napi_object) {
    bypass = OptBool(env, argv[3], "bypass", 1);
    espInUdp = OptBool(env, argv[3], "espInUdp", 0);
    reuse = OptBool(env, argv[3], "reuseAddr", 0);
    hasNs = IkedGetOptString(env, argv[3], "netns", netns, sizeof netns);
    THROW_IF(hasNs < 0, "IKE_ERR_NATIVE_ARG", "netns must be a path");
  }
  if (hasNs && IkedEnterNetns(netns, &saved) != 0) {
    napi_throw(env, IkedErrno(env, "IKE_ERR_NATIVE_SOCKET", "setns", errno));
    return NULL;
  }
  if (pair) {
    rc = MakePair(family, addr, (uint16_t)port, bypass, reuse, fds, &what);
  } else {
    fds[0] = MakeUdp(family, addr, (uint16_t)port, bypass, espInUdp, reuse, 0, &what);
    rc = fds[0] < 0 ? -1 : 0;
  }
  int err = errno;
  if (hasNs) IkedLeaveNetns(saved);
  if (rc != 0) {
    napi_throw(env, IkedErrno(env, "IKE_ERR_NATIVE_SOCKET", what, err));
    return NULL;
  }
  if (!pair) {
    napi_create_int32(env, fds[0], &out);
    return out;
  }
  napi_create_array_with_length(env, 2, &out);
  for (uint32_t i = 0; i < 2; i++) {
    napi_create_int32(env, fds[i], &v);
    napi_set_element(env, out, i, v);
  }
  return out;
}

/* udpSocket(family, address, port, options?) -> fd, for dgram's socket.bind({ fd }). */
napi_value UdpSocket(napi_env env, napi_callback_info info) {
  return MakeSockets(env, info, 0);
}

/* udpSocketPair(family, address, port, options?) -> [fd0, fd1]: fd1 takes the datagrams with a responder cookie. */
napi_value UdpSocketPair(napi_env env, napi_callback_info info) {
  return MakeSockets(env, info, 1);
}
