/*
 * Kernel key-management sockets Node.js lacks: PF_KEY v2 (RFC 2367, Linux af_key), NETLINK_XFRM and
 * NETLINK_ROUTE. Each socket is non-blocking and watched by a uv_poll_t on the loop of the thread
 * that opened it: no blocking read and no thread per socket. Every datagram read is handed whole
 * to a JS callback as a Buffer; all message building and parsing is TypeScript (src/kernel/).
 *
 *   openKernelSocket(kind, onEvent, options) -> handle     kind: "pfkey" | "xfrm" | "route"
 *   kernelSocketSend(handle, bytes)                         one message, to the kernel
 *   kernelSocketPortId(handle) -> number                    netlink port id (0 for PF_KEY)
 *   kernelSocketClose(handle)                               idempotent
 *
 * Lifetime: a socket is closed by kernelSocketClose(), by the garbage collector when its handle is
 * unreachable, or when the thread's environment is torn down (an async cleanup hook, so a worker
 * that exits with a socket open shuts down cleanly). The struct is freed once the uv handle has
 * closed *and* the handle's finalizer has run, whichever comes last.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/pfkeyv2.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>
#include "ksock.h"
#include "pkey.h"

#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif
#define RECV_BUF 65536
#define MAX_READS_PER_WAKEUP 64
#define MAX_GROUPS 32
/* POLLERR wakeups in a row without a datagram read before the socket is given up (see OnPoll). */
#define MAX_ERROR_WAKEUPS 16

static const napi_type_tag kSockTag = {0x4b534f434b2d6963ULL, 0x65642d6b65726e6cULL};

typedef struct {
  napi_env env;
  int fd;
  int netlink;
  uv_poll_t poll;
  napi_ref callback;
  napi_async_context actx;
  napi_async_cleanup_hook_handle hook;
  int closing, closed, finalized;
  int errorWakeups; /* POLLERR wakeups since the last datagram read */
  unsigned char *buf;
} KSock;

napi_value IkedErrno(napi_env env, const char *code, const char *syscall, int err) {
  char msg[160];
  napi_value c, m, e, v;
  snprintf(msg, sizeof msg, "%s: %s", syscall, strerror(err));
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &c);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_error(env, c, m, &e);
  napi_create_int32(env, err, &v);
  napi_set_named_property(env, e, "errno", v);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, e, "syscall", v);
  return e;
}

int IkedEnterNetns(const char *path, int *saved) {
  *saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (*saved < 0) return -1;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
    int e = errno;
    if (fd >= 0) close(fd);
    close(*saved);
    errno = e;
    return -1;
  }
  close(fd);
  return 0;
}

void IkedLeaveNetns(int saved) {
  /* A thread left in another namespace would open every later socket there: that is not survivable. */
  if (setns(saved, CLONE_NEWNET) != 0) napi_fatal_error("iked_native", NAPI_AUTO_LENGTH, "cannot return to the thread's network namespace", NAPI_AUTO_LENGTH);
  close(saved);
}

static void OnClosed(uv_handle_t *h) {
  KSock *s = h->data;
  if (s->hook != NULL) napi_remove_async_cleanup_hook(s->hook);
  s->hook = NULL;
  s->closed = 1;
  if (s->finalized) free(s);
}

static void StartClose(KSock *s) {
  if (s->closing) return;
  s->closing = 1;
  uv_poll_stop(&s->poll);
  close(s->fd);
  s->fd = -1;
  if (s->buf != NULL) {
    explicit_bzero(s->buf, RECV_BUF);
    free(s->buf);
    s->buf = NULL;
  }
  uv_close((uv_handle_t *)&s->poll, OnClosed);
}

/* Drops what ties the socket to JS: the callback and the async context. */
static void Release(KSock *s) {
  if (s->callback != NULL) napi_delete_reference(s->env, s->callback);
  if (s->actx != NULL) napi_async_destroy(s->env, s->actx);
  s->callback = NULL;
  s->actx = NULL;
}

static void OnCleanup(napi_async_cleanup_hook_handle handle, void *arg) {
  (void)handle;
  StartClose(arg);
}

static void Finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  KSock *s = data;
  s->finalized = 1;
  Release(s);
  StartClose(s);
  if (s->closed) free(s);
}

static void Deliver(KSock *s, napi_value err, napi_value msg) {
  napi_env env = s->env;
  napi_value cb, recv, argv[2] = {err, msg}, exc;
  if (s->callback == NULL || napi_get_reference_value(env, s->callback, &cb) != napi_ok || cb == NULL) return;
  napi_get_global(env, &recv); /* napi_make_callback wants an object receiver */
  if (napi_make_callback(env, s->actx, recv, cb, 2, argv, NULL) == napi_pending_exception) {
    /* A throwing listener is the program's bug: report it as any uncaught exception. */
    napi_get_and_clear_last_exception(env, &exc);
    napi_fatal_exception(env, exc);
  }
}

static void OnPoll(uv_poll_t *h, int status, int events) {
  (void)events;
  KSock *s = h->data;
  napi_handle_scope scope;
  napi_value null;
  if (napi_open_handle_scope(s->env, &scope) != napi_ok) return;
  napi_get_null(s->env, &null);
  if (status == UV_EBADF && !s->closing) {
    /* libuv reports POLLERR as EBADF and stops watching. On these sockets POLLERR is the socket's
     * pending error: a netlink overrun sets ENOBUFS there. SO_ERROR takes (and clears) it: report
     * it as recvmsg would, and watch again.
     * No pending error, but SO_ERROR answered: the descriptor is still our socket and the error
     * was taken before we looked (netlink and PF_KEY use no error queue, so no other POLLERR is
     * known). Events may have been lost all the same: report that (IKE_ERR_NATIVE_SOCKET: the
     * daemon resyncs) and watch again, rather than stop hearing the kernel for good. This cannot
     * be driven from a test (no way to take a socket's error between libuv's epoll_wait and this
     * callback), so it is kept to the same two steps as the pending-error case.
     * A POLLERR that keeps coming with nothing read in between would spin: after
     * MAX_ERROR_WAKEUPS in a row, and at once when SO_ERROR fails (the descriptor is no longer a
     * socket: watching it again would abort libuv), the socket is given up with
     * IKE_ERR_NATIVE_SOCKET_STOPPED, which the daemon treats as fatal (src/kernel/kernel-socket.ts). */
    int e = 0;
    socklen_t len = sizeof e;
    int ok = getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &e, &len) == 0;
    if (ok && ++s->errorWakeups <= MAX_ERROR_WAKEUPS) {
      if (e != 0) Deliver(s, IkedErrno(s->env, e == ENOBUFS ? "IKE_ERR_NATIVE_OVERRUN" : "IKE_ERR_NATIVE_SOCKET", "recvmsg", e), null);
      else Deliver(s, IkedErrno(s->env, "IKE_ERR_NATIVE_SOCKET", "poll", EIO), null);
      if (s->closing || uv_poll_start(&s->poll, UV_READABLE, OnPoll) == 0) status = 0;
    } else if (!ok) {
      status = -errno;
    }
  }
  if (status < 0 && !s->closing) {
    uv_poll_stop(&s->poll);
    Deliver(s, IkedErrno(s->env, "IKE_ERR_NATIVE_SOCKET_STOPPED", "poll", -status), null);
  }
  for (int i = 0; i < MAX_READS_PER_WAKEUP && !s->closing && status >= 0; i++) {
    struct sockaddr_nl from;
    struct iovec iov = {s->buf, RECV_BUF};
    struct msghdr mh = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1};
    memset(&from, 0, sizeof from);
    ssize_t n = recvmsg(s->fd, &mh, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      /* ENOBUFS: the kernel dropped messages for us (receive queue full); reading goes on. */
      int e = errno;
      Deliver(s, IkedErrno(s->env, e == ENOBUFS ? "IKE_ERR_NATIVE_OVERRUN" : "IKE_ERR_NATIVE_SOCKET", "recvmsg", e), null);
      if (e == ENOBUFS) continue;
      break;
    }
    s->errorWakeups = 0;
    if (mh.msg_flags & MSG_TRUNC) {
      Deliver(s, IkedErrno(s->env, "IKE_ERR_NATIVE_TRUNCATED", "recvmsg", EMSGSIZE), null);
    } else if (s->netlink && from.nl_pid != 0) {
      /* Only the kernel speaks on these sockets; another process unicasting to our port is not heard. */
      Deliver(s, IkedErrno(s->env, "IKE_ERR_NATIVE_FOREIGN_SENDER", "recvmsg", EPERM), null);
    } else {
      napi_value out;
      void *copy;
      if (napi_create_buffer_copy(s->env, (size_t)n, s->buf, &copy, &out) == napi_ok) Deliver(s, null, out);
    }
    /* Dumps carry key bytes: none stay in the scratch buffer. */
    if (s->buf != NULL) explicit_bzero(s->buf, (size_t)n);
  }
  napi_close_handle_scope(s->env, scope);
}

static KSock *GetSock(napi_env env, napi_value v) {
  bool ok = false;
  void *data = NULL;
  napi_valuetype type;
  if (napi_typeof(env, v, &type) != napi_ok || type != napi_external) return NULL;
  if (napi_check_object_type_tag(env, v, &kSockTag, &ok) != napi_ok || !ok) return NULL;
  if (napi_get_value_external(env, v, &data) != napi_ok) return NULL;
  return data;
}

/* Optional string property of an options object into buf; 0 if absent, -1 if not a string. */
int IkedGetOptString(napi_env env, napi_value obj, const char *name, char *buf, size_t size) {
  bool has = false;
  napi_value v;
  napi_valuetype t;
  size_t len;
  if (napi_has_named_property(env, obj, name, &has) != napi_ok || !has) return 0;
  napi_get_named_property(env, obj, name, &v);
  if (napi_typeof(env, v, &t) != napi_ok || t == napi_undefined) return 0;
  if (t != napi_string || napi_get_value_string_utf8(env, v, buf, size, &len) != napi_ok || len + 1 >= size) return -1;
  return 1;
}

/* Optional uint32 property; 0 if absent, -1 if not a number. */
int IkedGetOptUint(napi_env env, napi_value obj, const char *name, uint32_t *out) {
  bool has = false;
  napi_value v;
  napi_valuetype t;
  if (napi_has_named_property(env, obj, name, &has) != napi_ok || !has) return 0;
  napi_get_named_property(env, obj, name, &v);
  if (napi_typeof(env, v, &t) != napi_ok || t == napi_undefined) return 0;
  if (t != napi_number || napi_get_value_uint32(env, v, out) != napi_ok) return -1;
  return 1;
}

/* Reads options.groups (array of netlink group numbers) into groups; count or -1. */
static int GetGroups(napi_env env, napi_value opts, uint32_t *groups) {
  bool has = false, isarr = false;
  napi_value arr, v;
  uint32_t n;
  if (napi_has_named_property(env, opts, "groups", &has) != napi_ok || !has) return 0;
  napi_get_named_property(env, opts, "groups", &arr);
  if (napi_is_array(env, arr, &isarr) != napi_ok || !isarr) return -1;
  napi_get_array_length(env, arr, &n);
  if (n > MAX_GROUPS) return -1;
  for (uint32_t i = 0; i < n; i++) {
    napi_get_element(env, arr, i, &v);
    if (napi_get_value_uint32(env, v, &groups[i]) != napi_ok || groups[i] == 0) return -1;
  }
  return (int)n;
}

/* Creates and configures the socket (in the current namespace); -1 with errno and *what set. */
static int MakeSocket(const char *kind, const uint32_t *groups, int ngroups, uint32_t rcvbuf, const char **what) {
  int fd, proto = strcmp(kind, "xfrm") == 0 ? NETLINK_XFRM : NETLINK_ROUTE;
  int netlink = strcmp(kind, "pfkey") != 0;
  *what = "socket";
  fd = netlink ? socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto)
               : socket(PF_KEY, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, PF_KEY_V2);
  if (fd < 0) return -1;
  if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf); /* best effort without CAP_NET_ADMIN */
  }
  if (netlink) {
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    int one = 1;
    /* Error ACKs echo only the header, never a request's key bytes. Older kernels lack it: fine. */
    setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
    *what = "bind";
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) goto fail;
    *what = "setsockopt(NETLINK_ADD_MEMBERSHIP)";
    for (int i = 0; i < ngroups; i++) {
      if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &groups[i], sizeof groups[i]) != 0) goto fail;
    }
  }
  return fd;
fail: {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
}

/* openKernelSocket(kind, onEvent(err, msg), { groups?, netns?, rcvbuf? }) -> handle */
napi_value OpenKernelSocket(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], ext, name;
  napi_valuetype t1 = napi_undefined, t2 = napi_undefined;
  char kind[8], netns[256];
  size_t klen;
  uint32_t groups[MAX_GROUPS], rcvbuf = 0;
  int ngroups = 0, hasNs = 0, saved = -1;
  const char *what;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  THROW_IF(argc < 2 || napi_get_value_string_utf8(env, argv[0], kind, sizeof kind, &klen) != napi_ok, "IKE_ERR_NATIVE_ARG", "openKernelSocket(kind, onEvent, options?)");
  THROW_IF(strcmp(kind, "pfkey") != 0 && strcmp(kind, "xfrm") != 0 && strcmp(kind, "route") != 0, "IKE_ERR_NATIVE_ARG", "kind must be pfkey, xfrm or route");
  napi_typeof(env, argv[1], &t1);
  THROW_IF(t1 != napi_function, "IKE_ERR_NATIVE_ARG", "onEvent must be a function");
  if (argc > 2) napi_typeof(env, argv[2], &t2);
  if (t2 == napi_object) {
    ngroups = GetGroups(env, argv[2], groups);
    THROW_IF(ngroups < 0, "IKE_ERR_NATIVE_ARG", "groups must be an array of at most 32 group numbers");
    THROW_IF(ngroups > 0 && strcmp(kind, "pfkey") == 0, "IKE_ERR_NATIVE_ARG", "PF_KEY has no multicast groups");
    hasNs = IkedGetOptString(env, argv[2], "netns", netns, sizeof netns);
    THROW_IF(hasNs < 0, "IKE_ERR_NATIVE_ARG", "netns must be a path");
    THROW_IF(IkedGetOptUint(env, argv[2], "rcvbuf", &rcvbuf) < 0, "IKE_ERR_NATIVE_ARG", "rcvbuf must be a number");
  }
  if (hasNs && IkedEnterNetns(netns, &saved) != 0) {
    napi_throw(env, IkedErrno(env, "IKE_ERR_NATIVE_SOCKET", "setns", errno));
    return NULL;
  }
  int fd = MakeSocket(kind, groups, ngroups, rcvbuf, &what);
  int err = errno;
  if (hasNs) IkedLeaveNetns(saved);
  if (fd < 0) {
    napi_throw(env, IkedErrno(env, "IKE_ERR_NATIVE_SOCKET", what, err));
    return NULL;
  }
  KSock *s = calloc(1, sizeof *s);
  unsigned char *buf = malloc(RECV_BUF);
  uv_loop_t *loop = NULL;
  if (s == NULL || buf == NULL || napi_get_uv_event_loop(env, &loop) != napi_ok || uv_poll_init(loop, &s->poll, fd) != 0) {
    free(s);
    free(buf);
    close(fd);
    napi_throw_error(env, "IKE_ERR_NATIVE_SOCKET", "cannot watch the socket");
    return NULL;
  }
  s->env = env;
  s->fd = fd;
  s->netlink = strcmp(kind, "pfkey") != 0;
  s->buf = buf;
  s->poll.data = s;
  napi_create_reference(env, argv[1], 1, &s->callback);
  napi_create_string_utf8(env, "iked:kernelSocket", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &s->actx);
  napi_add_async_cleanup_hook(env, OnCleanup, s, &s->hook);
  uv_poll_start(&s->poll, UV_READABLE, OnPoll);
  if (napi_create_external(env, s, Finalize, NULL, &ext) != napi_ok) {
    /* Nothing in JS can reach it: close it now, free it when the handle has closed. */
    s->finalized = 1;
    Release(s);
    StartClose(s);
    napi_throw_error(env, "IKE_ERR_NATIVE_SOCKET", "cannot wrap the socket");
    return NULL;
  }
  napi_type_tag_object(env, ext, &kSockTag);
  return ext;
}

/* kernelSocketSend(handle, bytes): one datagram to the kernel (netlink port 0, or PF_KEY). */
napi_value KernelSocketSend(napi_env env, napi_callback_info info) {
  size_t argc = 2, len;
  napi_value argv[2];
  const unsigned char *data;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  KSock *s = argc < 2 ? NULL : GetSock(env, argv[0]);
  THROW_IF(s == NULL || !IkedGetBytes(env, argv[1], &data, &len), "IKE_ERR_NATIVE_ARG", "kernelSocketSend(handle, bytes)");
  THROW_IF(s->closing, "IKE_ERR_NATIVE_CLOSED", "kernel socket is closed");
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  ssize_t n;
  do {
    n = s->netlink ? sendto(s->fd, data, len, 0, (struct sockaddr *)&kernel, sizeof kernel) : send(s->fd, data, len, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    napi_throw(env, IkedErrno(env, "IKE_ERR_NATIVE_SOCKET", "send", errno));
    return NULL;
  }
  return NULL;
}

/* kernelSocketPortId(handle): the netlink port id the kernel gave this socket; 0 for PF_KEY. */
napi_value KernelSocketPortId(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  KSock *s = argc < 1 ? NULL : GetSock(env, argv[0]);
  THROW_IF(s == NULL, "IKE_ERR_NATIVE_ARG", "kernelSocketPortId(handle)");
  THROW_IF(s->closing, "IKE_ERR_NATIVE_CLOSED", "kernel socket is closed");
  uint32_t pid = 0;
  if (s->netlink) {
    struct sockaddr_nl sa;
    socklen_t sl = sizeof sa;
    if (getsockname(s->fd, (struct sockaddr *)&sa, &sl) != 0) {
      napi_throw(env, IkedErrno(env, "IKE_ERR_NATIVE_SOCKET", "getsockname", errno));
      return NULL;
    }
    pid = sa.nl_pid;
  }
  napi_create_uint32(env, pid, &out);
  return out;
}

/* kernelSocketClose(handle): stops reading and closes; later calls do nothing. */
napi_value KernelSocketClose(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  KSock *s = argc < 1 ? NULL : GetSock(env, argv[0]);
  THROW_IF(s == NULL, "IKE_ERR_NATIVE_ARG", "kernelSocketClose(handle)");
  Release(s);
  StartClose(s);
  return NULL;
}
