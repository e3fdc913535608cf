/*
 * Batched I/O on the IKE port's steered pair (issue 11). During an MM1 flood the daemon spends
 * more per datagram crossing from libuv into JS (one callback, one Buffer, one address object and
 * one round of the tick queue per datagram read; one send request, one DNS-lookup tick and one
 * completion callback per datagram sent) than the engine spends answering it. Here both sockets
 * of the pair are watched by uv_poll handles on the loop of the thread that opened them and read
 * with recvmmsg(2), up to `slots` datagrams per call, into buffers JS made once; JS gets one call
 * per batch. Replies leave from the first socket with sendmmsg(2), many per call.
 *
 *   udpBatchOpen(fds, data, meta, slots, slotSize, onEvent) -> handle
 *     fds: [fd0] or [fd0, fd1], bound non-blocking UDP sockets of one family; the handle owns them
 *     (closes them) once it returns; when it throws they are still the caller's. data: slots * slotSize
 *     bytes; meta: slots * BATCH_META bytes (both 4-byte aligned; JS keeps them alive).
 *     onEvent(sock, count, errno): `count` datagrams of socket `sock` are in data/meta (errno 0);
 *     count -1: socket `sock` can be written again (after udpBatchSend returned -EAGAIN);
 *     count 0 and errno: recvmmsg failed with it (reading goes on).
 *   udpBatchSend(handle, sock, datagrams[], ports[], addresses[], count) -> sent or -errno
 *     sends datagrams[0..count) (count <= BATCH_SEND_MAX) in order; returns how many the socket
 *     took (>= 1), or -errno of the first when it took none (-EAGAIN: wait for onEvent count -1).
 *   udpBatchWantWritable(handle, sock)   onEvent(sock, -1, 0) once `sock` is writable
 *   udpBatchPort(handle) -> the port socket 0 is bound to
 *   udpBatchClose(handle)                idempotent
 *
 * Read order: every wakeup of either socket reads socket 1 (datagrams with our responder cookie,
 * see udp-bypass.c) before socket 0, one batch each, so a flooded socket 0 cannot starve it; the
 * poll is level-triggered, so what is left is read on the next turn of the loop, after timers and
 * the crypto pool's results. Within a socket, datagrams reach JS in the order the kernel queued
 * them.
 *
 * meta, per slot i at i * BATCH_META, host byte order: u32 length (bytes in data at i * slotSize),
 * u32 flags (1: cut short to slotSize, MSG_TRUNC; 2: no usable source address), u32 source port,
 * u32 length of the source address text, then the text (inet_ntop; a link-local IPv6 address with
 * a scope gets "%" and the interface name, as Node's dgram writes it), at most BATCH_ADDR bytes.
 *
 * Lifetime as in ksock.c: closed by udpBatchClose(), the garbage collector or the thread's exit;
 * freed once both uv handles have closed and the finalizer has run.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>
#include "ksock.h"
#include "pkey.h"

#define BATCH_META 96
#define BATCH_ADDR (BATCH_META - 16)
#define BATCH_SLOTS_MAX 1024
#define BATCH_SEND_MAX 64

static const napi_type_tag kBatchTag = {0x7564702d62617463ULL, 0x682d69616b65642dULL};

typedef struct {
  napi_env env;
  int nfds;
  int fd[2];
  int family[2];
  uv_poll_t poll[2];
  int watching[2]; /* uv_poll events now asked for */
  napi_ref callback, dataRef, metaRef;
  napi_async_context actx;
  napi_async_cleanup_hook_handle hook;
  unsigned char *data, *meta;
  uint32_t slots, slotSize;
  struct mmsghdr *msgs;
  struct iovec *iov;
  struct sockaddr_storage *from;
  int closing, closedHandles, initHandles, finalized;
} Batch;

static void MaybeFree(Batch *b) {
  if (!b->finalized || b->closedHandles < b->initHandles) return;
  free(b->msgs);
  free(b->iov);
  free(b->from);
  free(b);
}

static void OnClosed(uv_handle_t *h) {
  Batch *b = h->data;
  b->closedHandles++;
  if (b->closedHandles == b->initHandles && b->hook != NULL) {
    napi_remove_async_cleanup_hook(b->hook);
    b->hook = NULL;
  }
  MaybeFree(b);
}

static void StartClose(Batch *b) {
  if (b->closing) return;
  b->closing = 1;
  for (int i = 0; i < b->nfds; i++) {
    if (i < b->initHandles) {
      uv_poll_stop(&b->poll[i]);
      uv_close((uv_handle_t *)&b->poll[i], OnClosed);
    }
    if (b->fd[i] >= 0) close(b->fd[i]);
    b->fd[i] = -1;
  }
  if (b->initHandles == 0 && b->hook != NULL) {
    napi_remove_async_cleanup_hook(b->hook);
    b->hook = NULL;
  }
}

/* Drops what ties the handle to JS: the callback, the buffers, the async context. */
static void Release(Batch *b) {
  napi_ref *refs[3] = {&b->callback, &b->dataRef, &b->metaRef};
  for (int i = 0; i < 3; i++) {
    if (*refs[i] != NULL) napi_delete_reference(b->env, *refs[i]);
    *refs[i] = NULL;
  }
  if (b->actx != NULL) napi_async_destroy(b->env, b->actx);
  b->actx = NULL;
  b->data = b->meta = NULL;
}

static void OnCleanup(napi_async_cleanup_hook_handle handle, void *arg) {
  (void)handle;
  StartClose(arg);
}

static void Finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  Batch *b = data;
  Release(b);
  StartClose(b);
  b->finalized = 1;
  MaybeFree(b);
}

static void Deliver(Batch *b, int sock, int count, int err) {
  napi_env env = b->env;
  napi_value cb, recv, argv[3], exc;
  if (b->callback == NULL || napi_get_reference_value(env, b->callback, &cb) != napi_ok || cb == NULL) return;
  napi_create_int32(env, sock, &argv[0]);
  napi_create_int32(env, count, &argv[1]);
  napi_create_int32(env, err, &argv[2]);
  napi_get_global(env, &recv);
  if (napi_make_callback(env, b->actx, recv, cb, 3, argv, NULL) == napi_pending_exception) {
    /* A throwing listener is the program's bug: report it as any uncaught exception. */
    napi_get_and_clear_last_exception(env, &exc);
    napi_fatal_exception(env, exc);
  }
}

/* The source address of slot i into meta (text, port); flags 2 where it is not an inet address. */
static void PutSource(Batch *b, uint32_t i, socklen_t namelen) {
  unsigned char *m = b->meta + (size_t)i * BATCH_META;
  char *text = (char *)m + 16;
  uint32_t port = 0, len = 0, flags = 0;
  const struct sockaddr_storage *ss = &b->from[i];
  if (ss->ss_family == AF_INET && namelen >= sizeof(struct sockaddr_in)) {
    const struct sockaddr_in *sin = (const void *)ss;
    inet_ntop(AF_INET, &sin->sin_addr, text, BATCH_ADDR);
    port = ntohs(sin->sin_port);
  } else if (ss->ss_family == AF_INET6 && namelen >= sizeof(struct sockaddr_in6)) {
    const struct sockaddr_in6 *sin6 = (const void *)ss;
    inet_ntop(AF_INET6, &sin6->sin6_addr, text, BATCH_ADDR);
    if (IN6_IS_ADDR_LINKLOCAL(&sin6->sin6_addr) && sin6->sin6_scope_id > 0) {
      char ifname[IF_NAMESIZE];
      size_t at = strlen(text);
      if (if_indextoname(sin6->sin6_scope_id, ifname) != NULL) snprintf(text + at, BATCH_ADDR - at, "%%%s", ifname);
      else snprintf(text + at, BATCH_ADDR - at, "%%%u", sin6->sin6_scope_id);
    }
    port = ntohs(sin6->sin6_port);
  } else {
    text[0] = 0;
    flags = 2;
  }
  len = (uint32_t)strnlen(text, BATCH_ADDR);
  uint32_t *w = (uint32_t *)m;
  w[1] |= flags;
  w[2] = port;
  w[3] = len;
}

/* One recvmmsg on socket `sock` into data/meta; how many, 0 when none waits, -errno on error. */
static int ReadBatch(Batch *b, int sock) {
  if (b->data == NULL || b->fd[sock] < 0) return 0;
  for (uint32_t i = 0; i < b->slots; i++) {
    b->iov[i].iov_base = b->data + (size_t)i * b->slotSize;
    b->iov[i].iov_len = b->slotSize;
    memset(&b->msgs[i].msg_hdr, 0, sizeof b->msgs[i].msg_hdr);
    b->msgs[i].msg_hdr.msg_name = &b->from[i];
    b->msgs[i].msg_hdr.msg_namelen = sizeof b->from[i];
    b->msgs[i].msg_hdr.msg_iov = &b->iov[i];
    b->msgs[i].msg_hdr.msg_iovlen = 1;
    b->msgs[i].msg_len = 0;
  }
  int n;
  do {
    n = recvmmsg(b->fd[sock], b->msgs, b->slots, MSG_DONTWAIT, NULL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
  for (int i = 0; i < n; i++) {
    uint32_t *w = (uint32_t *)(b->meta + (size_t)i * BATCH_META);
    uint32_t len = b->msgs[i].msg_len;
    w[0] = len > b->slotSize ? b->slotSize : len;
    w[1] = (b->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ? 1 : 0;
    PutSource(b, (uint32_t)i, b->msgs[i].msg_hdr.msg_namelen);
  }
  return n;
}

/* Reads one batch of `sock` and hands it to JS; whether anything was read. */
static int Drain(Batch *b, int sock) {
  if (b->closing || sock >= b->nfds) return 0;
  int n = ReadBatch(b, sock);
  if (n < 0) Deliver(b, sock, 0, -n);
  else if (n > 0) Deliver(b, sock, n, 0);
  return n > 0;
}

static void OnPoll(uv_poll_t *h, int status, int events) {
  Batch *b = h->data;
  int sock = h == &b->poll[1] ? 1 : 0;
  napi_handle_scope scope;
  if (b->closing || napi_open_handle_scope(b->env, &scope) != napi_ok) return;
  if (status < 0) {
    /* libuv reports POLLERR as EBADF and stops watching: a pending socket error (SO_ERROR takes
     * and clears it) is reported and the socket watched again; with none, the socket failed. */
    int e = 0;
    socklen_t len = sizeof e;
    if (status == UV_EBADF && getsockopt(b->fd[sock], SOL_SOCKET, SO_ERROR, &e, &len) == 0 && e != 0) {
      Deliver(b, sock, 0, e);
      if (!b->closing) uv_poll_start(&b->poll[sock], b->watching[sock], OnPoll);
    } else {
      Deliver(b, sock, 0, -status);
      if (!b->closing) uv_poll_stop(&b->poll[sock]);
    }
    napi_close_handle_scope(b->env, scope);
    return;
  }
  if ((events & UV_WRITABLE) && !b->closing) {
    b->watching[sock] = UV_READABLE;
    uv_poll_start(&b->poll[sock], UV_READABLE, OnPoll);
    Deliver(b, sock, -1, 0);
  }
  if (events & UV_READABLE) {
    /* Socket 1 first, whichever woke us: the flooded socket 0 never delays it by more than a batch. */
    if (b->nfds > 1) Drain(b, 1);
    Drain(b, 0);
  }
  napi_close_handle_scope(b->env, scope);
}

static Batch *GetBatch(napi_env env, napi_value v) {
  bool ok = false;
  void *data = NULL;
  napi_valuetype type;
  if (napi_typeof(env, v, &type) != napi_ok || type != napi_external) return NULL;
  if (napi_check_object_type_tag(env, v, &kBatchTag, &ok) != napi_ok || !ok) return NULL;
  if (napi_get_value_external(env, v, &data) != napi_ok) return NULL;
  return data;
}

/* The buffer's bytes when it is a Buffer of at least `need` bytes, 4-byte aligned; else NULL. */
static unsigned char *AlignedBuffer(napi_env env, napi_value v, size_t need) {
  bool is = false;
  void *p = NULL;
  size_t len = 0;
  if (napi_is_buffer(env, v, &is) != napi_ok || !is || napi_get_buffer_info(env, v, &p, &len) != napi_ok) return NULL;
  if (len < need || ((uintptr_t)p & 3) != 0) return NULL;
  return p;
}

/* The socket's family (4 or 6) when `fd` is a UDP socket of one; else 0. */
static int UdpFamily(int fd) {
  int type = 0;
  struct sockaddr_storage ss;
  socklen_t len = sizeof type, sl = sizeof ss;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_DGRAM) return 0;
  if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) return 0;
  return ss.ss_family == AF_INET ? 4 : ss.ss_family == AF_INET6 ? 6 : 0;
}

/* The fds of argv[0] (an array of one or two descriptors) into fds; how many, or 0. */
static int GetFds(napi_env env, napi_value arr, int fds[2]) {
  bool isarr = false;
  uint32_t n = 0;
  napi_value v;
  if (napi_is_array(env, arr, &isarr) != napi_ok || !isarr || napi_get_array_length(env, arr, &n) != napi_ok || n < 1 || n > 2) return 0;
  for (uint32_t i = 0; i < n; i++) {
    int32_t fd = -1;
    if (napi_get_element(env, arr, i, &v) != napi_ok || napi_get_value_int32(env, v, &fd) != napi_ok || fd < 0) return 0;
    fds[i] = fd;
  }
  return (int)n;
}

/* udpBatchOpen(fds, data, meta, slots, slotSize, onEvent) -> handle */
napi_value UdpBatchOpen(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6], ext, name;
  napi_valuetype t = napi_undefined;
  uint32_t slots = 0, slotSize = 0;
  int fds[2] = {-1, -1}, families[2] = {0, 0};
  uv_loop_t *loop = NULL;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int nfds = argc < 6 ? 0 : GetFds(env, argv[0], fds);
  THROW_IF(nfds == 0, "IKE_ERR_NATIVE_ARG", "udpBatchOpen(fds: [fd0] | [fd0, fd1], data, meta, slots, slotSize, onEvent)");
  const char *bad = NULL;
  unsigned char *data = NULL, *meta = NULL;
  napi_typeof(env, argv[5], &t);
  if (napi_get_value_uint32(env, argv[3], &slots) != napi_ok || slots < 1 || slots > BATCH_SLOTS_MAX) bad = "slots must be 1..1024";
  else if (napi_get_value_uint32(env, argv[4], &slotSize) != napi_ok || slotSize < 1 || slotSize > 65536) bad = "slotSize must be 1..65536";
  else if ((data = AlignedBuffer(env, argv[1], (size_t)slots * slotSize)) == NULL) bad = "data must be a 4-byte aligned Buffer of slots * slotSize bytes";
  else if ((meta = AlignedBuffer(env, argv[2], (size_t)slots * BATCH_META)) == NULL) bad = "meta must be a 4-byte aligned Buffer of slots * 96 bytes";
  else if (t != napi_function) bad = "onEvent must be a function";
  for (int i = 0; bad == NULL && i < nfds; i++) {
    families[i] = UdpFamily(fds[i]);
    if (families[i] == 0 || families[i] != families[0]) bad = "fds must be UDP sockets of one family";
  }
  if (bad != NULL) {
    napi_throw_error(env, "IKE_ERR_NATIVE_ARG", bad);
    return NULL;
  }
  Batch *b = calloc(1, sizeof *b);
  if (b != NULL) {
    b->msgs = calloc(slots, sizeof *b->msgs);
    b->iov = calloc(slots, sizeof *b->iov);
    b->from = calloc(slots, sizeof *b->from);
  }
  if (b == NULL || b->msgs == NULL || b->iov == NULL || b->from == NULL || napi_get_uv_event_loop(env, &loop) != napi_ok) {
    if (b != NULL) {
      free(b->msgs);
      free(b->iov);
      free(b->from);
    }
    free(b);
    napi_throw_error(env, "IKE_ERR_NATIVE_SOCKET", "out of memory");
    return NULL;
  }
  b->env = env;
  b->nfds = nfds;
  b->data = data;
  b->meta = meta;
  b->slots = slots;
  b->slotSize = slotSize;
  for (int i = 0; i < nfds; i++) {
    b->fd[i] = fds[i];
    b->family[i] = families[i];
  }
  for (int i = nfds; i < 2; i++) b->fd[i] = -1;
  napi_add_async_cleanup_hook(env, OnCleanup, b, &b->hook);
  for (int i = 0; i < nfds; i++) {
    if (uv_poll_init(loop, &b->poll[i], fds[i]) != 0) break;
    b->poll[i].data = b;
    b->initHandles++;
  }
  if (b->initHandles < nfds) {
    /* The descriptors stay the caller's: only the watchers go. */
    for (int i = 0; i < nfds; i++) b->fd[i] = -1;
    b->finalized = 1;
    StartClose(b);
    MaybeFree(b);
    napi_throw_error(env, "IKE_ERR_NATIVE_SOCKET", "cannot watch the socket");
    return NULL;
  }
  napi_create_reference(env, argv[5], 1, &b->callback);
  napi_create_reference(env, argv[1], 1, &b->dataRef);
  napi_create_reference(env, argv[2], 1, &b->metaRef);
  napi_create_string_utf8(env, "iked:udpBatch", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &b->actx);
  if (napi_create_external(env, b, Finalize, NULL, &ext) != napi_ok) {
    Release(b);
    for (int i = 0; i < nfds; i++) b->fd[i] = -1; /* still the caller's */
    b->finalized = 1;
    StartClose(b);
    napi_throw_error(env, "IKE_ERR_NATIVE_SOCKET", "cannot wrap the sockets");
    return NULL;
  }
  napi_type_tag_object(env, ext, &kBatchTag);
  for (int i = 0; i < nfds; i++) {
    b->watching[i] = UV_READABLE;
    uv_poll_start(&b->poll[i], UV_READABLE, OnPoll);
  }
  return ext;
}

/* Destination `text`:`port` of a socket of `family` into ss; its length, or 0 if not an address of it. */
static socklen_t ParseDest(int family, const char *text, uint32_t port, struct sockaddr_storage *ss) {
  memset(ss, 0, sizeof *ss);
  if (port > 65535) return 0;
  if (family == 4) {
    struct sockaddr_in *sin = (void *)ss;
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, text, &sin->sin_addr) == 1 ? sizeof *sin : 0;
  }
  struct sockaddr_in6 *sin6 = (void *)ss;
  char addr[INET6_ADDRSTRLEN];
  const char *pct = strchr(text, '%');
  size_t alen = pct != NULL ? (size_t)(pct - text) : strlen(text);
  if (alen >= sizeof addr) return 0;
  memcpy(addr, text, alen);
  addr[alen] = 0;
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons((uint16_t)port);
  if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) != 1) return 0;
  if (pct != NULL) {
    char *end = NULL;
    unsigned long id = strtoul(pct + 1, &end, 10);
    if (end != NULL && *end == 0 && end != pct + 1) sin6->sin6_scope_id = (uint32_t)id;
    else if ((sin6->sin6_scope_id = if_nametoindex(pct + 1)) == 0) return 0;
  }
  return sizeof *sin6;
}

/* udpBatchSend(handle, sock, datagrams, ports, addresses, count) -> sent (>= 1) or -errno */
napi_value UdpBatchSend(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6], out;
  uint32_t sock = 0, count = 0, lens[3] = {0, 0, 0};
  bool arr[3] = {false, false, false};
  struct mmsghdr msgs[BATCH_SEND_MAX];
  struct iovec iov[BATCH_SEND_MAX];
  struct sockaddr_storage to[BATCH_SEND_MAX];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  Batch *b = argc < 6 ? NULL : GetBatch(env, argv[0]);
  for (int i = 0; b != NULL && i < 3; i++) {
    if (napi_is_array(env, argv[2 + i], &arr[i]) != napi_ok || !arr[i]) b = NULL;
    else napi_get_array_length(env, argv[2 + i], &lens[i]);
  }
  THROW_IF(b == NULL || napi_get_value_uint32(env, argv[1], &sock) != napi_ok || napi_get_value_uint32(env, argv[5], &count) != napi_ok,
           "IKE_ERR_NATIVE_ARG", "udpBatchSend(handle, sock, datagrams[], ports[], addresses[], count)");
  THROW_IF(b->closing, "IKE_ERR_NATIVE_CLOSED", "UDP batch sockets are closed");
  THROW_IF(sock >= (uint32_t)b->nfds, "IKE_ERR_NATIVE_ARG", "no such socket");
  THROW_IF(count < 1 || count > BATCH_SEND_MAX || count > lens[0] || count > lens[1] || count > lens[2], "IKE_ERR_NATIVE_ARG", "count must be 1..64 and within the arrays");
  uint32_t ok = 0;
  int result = 0;
  for (uint32_t i = 0; i < count; i++) {
    const unsigned char *d;
    size_t dlen;
    uint32_t port = 0;
    char text[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
    size_t tlen = 0;
    napi_value dv, pv, av;
    napi_get_element(env, argv[2], i, &dv);
    napi_get_element(env, argv[3], i, &pv);
    napi_get_element(env, argv[4], i, &av);
    THROW_IF(!IkedGetBytes(env, dv, &d, &dlen) || napi_get_value_uint32(env, pv, &port) != napi_ok, "IKE_ERR_NATIVE_ARG", "datagrams must be Buffers, ports numbers");
    THROW_IF(napi_get_value_string_utf8(env, av, text, sizeof text, &tlen) != napi_ok, "IKE_ERR_NATIVE_ARG", "addresses must be strings");
    socklen_t namelen = tlen + 1 >= sizeof text ? 0 : ParseDest(b->family[sock], text, port, &to[i]);
    if (namelen == 0) {
      /* Not an address of this socket's family: the datagrams before it go, it fails alone. */
      result = -EINVAL;
      break;
    }
    iov[i].iov_base = (void *)d;
    iov[i].iov_len = dlen;
    memset(&msgs[i], 0, sizeof msgs[i]);
    msgs[i].msg_hdr.msg_name = &to[i];
    msgs[i].msg_hdr.msg_namelen = namelen;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    ok++;
  }
  if (ok > 0) {
    int n;
    do {
      n = sendmmsg(b->fd[sock], msgs, ok, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    result = n < 0 ? -errno : n;
  }
  napi_create_int32(env, result, &out);
  return out;
}

/* udpBatchWantWritable(handle, sock): onEvent(sock, -1, 0) once the socket takes datagrams again. */
napi_value UdpBatchWantWritable(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  uint32_t sock = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  Batch *b = argc < 2 ? NULL : GetBatch(env, argv[0]);
  THROW_IF(b == NULL || napi_get_value_uint32(env, argv[1], &sock) != napi_ok || sock >= (uint32_t)b->nfds, "IKE_ERR_NATIVE_ARG", "udpBatchWantWritable(handle, sock)");
  THROW_IF(b->closing, "IKE_ERR_NATIVE_CLOSED", "UDP batch sockets are closed");
  b->watching[sock] = UV_READABLE | UV_WRITABLE;
  uv_poll_start(&b->poll[sock], b->watching[sock], OnPoll);
  return NULL;
}

/* udpBatchPort(handle) -> the port socket 0 is bound to. */
napi_value UdpBatchPort(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  Batch *b = argc < 1 ? NULL : GetBatch(env, argv[0]);
  THROW_IF(b == NULL, "IKE_ERR_NATIVE_ARG", "udpBatchPort(handle)");
  THROW_IF(b->closing, "IKE_ERR_NATIVE_CLOSED", "UDP batch sockets are closed");
  if (getsockname(b->fd[0], (struct sockaddr *)&ss, &len) != 0) {
    napi_throw(env, IkedErrno(env, "IKE_ERR_NATIVE_SOCKET", "getsockname", errno));
    return NULL;
  }
  uint16_t port = ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port;
  napi_create_uint32(env, ntohs(port), &out);
  return out;
}

/* udpBatchClose(handle): stops reading and closes both sockets; later calls do nothing. */
napi_value UdpBatchClose(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  Batch *b = argc < 1 ? NULL : GetBatch(env, argv[0]);
  THROW_IF(b == NULL, "IKE_ERR_NATIVE_ARG", "udpBatchClose(handle)");
  Release(b);
  StartClose(b);
  return NULL;
}
