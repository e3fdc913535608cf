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
 *   udpSocket(family, address, port, { bypass?, espInUdp?, reuseAddr?, netns? }) -> fd
 *   setXfrmBypass(fd, family)
 *   clearReuseAddr(fd)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
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
static int MakeUdp(int family, const void *addr, uint16_t port, int bypass, int espInUdp, int reuse, const char **what) {
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

/* udpSocket(family, address, port, options?) -> fd, for dgram's socket.bind({ fd }). */
napi_value UdpSocket(napi_env env, napi_callback_info info) {
  size_t argc = 4, alen;
  napi_value argv[4], out;
  char text[64], netns[256];
  unsigned char addr[16];
  uint32_t port = 0;
  int bypass = 1, espInUdp = 0, reuse = 0, hasNs = 0, saved = -1;
  napi_valuetype t = napi_undefined;
  const char *what;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int family = argc < 3 ? 0 : GetFamily(env, argv[0]);
  THROW_IF(family == 0 || napi_get_value_string_utf8(env, argv[1], text, sizeof text, &alen) != napi_ok ||
               napi_get_value_uint32(env, argv[2], &port) != napi_ok || port > 65535,
           "IKE_ERR_NATIVE_ARG", "udpSocket(family: 4 | 6, address, port, options?)");
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
  int fd = MakeUdp(family, addr, (uint16_t)port, bypass, espInUdp, reuse, &what);
  int err = errno;
  if (hasNs) IkedLeaveNetns(saved);
  if (fd < 0) {
    napi_throw(env, IkedErrno(env, "IKE_ERR_NATIVE_SOCKET", what, err));
    return NULL;
  }
  napi_create_int32(env, fd, &out);
  return out;
}
