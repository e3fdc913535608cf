/* Entry points of ksock.c and udp-bypass.c, registered by addon.c, and the helpers they share. */
#ifndef IKED_KSOCK_H
#define IKED_KSOCK_H
#include <node_api.h>
#include <stdint.h>

napi_value OpenKernelSocket(napi_env env, napi_callback_info info);
napi_value KernelSocketSend(napi_env env, napi_callback_info info);
napi_value KernelSocketPortId(napi_env env, napi_callback_info info);
napi_value KernelSocketClose(napi_env env, napi_callback_info info);
napi_value UdpSocket(napi_env env, napi_callback_info info);
napi_value UdpSocketPair(napi_env env, napi_callback_info info);
napi_value SetXfrmBypass(napi_env env, napi_callback_info info);
napi_value ClearReuseAddr(napi_env env, napi_callback_info info);
napi_value UdpBatchOpen(napi_env env, napi_callback_info info);
napi_value UdpBatchSend(napi_env env, napi_callback_info info);
napi_value UdpBatchWantWritable(napi_env env, napi_callback_info info);
napi_value UdpBatchPort(napi_env env, napi_callback_info info);
napi_value UdpBatchClose(napi_env env, napi_callback_info info);

/* An Error with `code`, `errno` and `syscall`, its message "syscall: strerror(errno)". */
napi_value IkedErrno(napi_env env, const char *code, const char *syscall, int err);
/* Moves the calling thread into the network namespace at `path`; *saved restores it. -1 + errno. */
int IkedEnterNetns(const char *path, int *saved);
/* Returns the thread to the namespace IkedEnterNetns saved (aborts if it cannot). */
void IkedLeaveNetns(int saved);
/* Optional properties of an options object: 1 read, 0 absent, -1 wrong type. */
int IkedGetOptString(napi_env env, napi_value obj, const char *name, char *buf, size_t size);
int IkedGetOptUint(napi_env env, napi_value obj, const char *name, uint32_t *out);

#endif
