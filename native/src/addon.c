/*
 * iked native addon: the few system and OpenSSL calls Node.js does not expose (kernel key-management
 * sockets in ksock.c, IKE socket policy bypass in udp-bypass.c, batched
 * reads and sends on the IKE port in udp-batch.c, public-key operations in pkey.c, prf/hash/CBC in
 * digest.c).
 * Built against Node's own headers (node-gyp, nodedir), so the OpenSSL symbols
 * resolve to the copy inside the node binary.
 *
 * Context-aware (NAPI_MODULE_INIT) and free of global state: every worker thread that loads it gets
 * its own exports, and key handles belong to the thread that created them.
 */
#include <node_api.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include "pkey.h"
#include "ksock.h"
#include "digest.h"

/* v8-heap.cc: a memory-reducing GC of this isolate (V8 C++ API). */
napi_value HeapReduce(napi_env env, napi_callback_info info);

/* disableCoreDumps(): PR_SET_DUMPABLE 0 and RLIMIT_CORE 0, so keying material never reaches a core file. */
static napi_value DisableCoreDumps(napi_env env, napi_callback_info info) {
  (void)info;
  struct rlimit rl = {0, 0};
  int ok = setrlimit(RLIMIT_CORE, &rl) == 0 && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0;
  napi_value result;
  napi_get_boolean(env, ok, &result);
  return result;
}

/*
 * mallocTrim(): glibc malloc_trim(0), which gives the kernel back the free pages inside malloc's
 * arenas, not only at their top (which is all free() does). Freed Buffers, OpenSSL contexts and V8's
 * large short-lived blocks of a burst of negotiations leave large free ranges between the
 * long-lived small allocations of held SAs; they stay resident until trimmed. True when memory was
 * given back; false when none was, or when this is not glibc.
 */
static napi_value MallocTrim(napi_env env, napi_callback_info info) {
  (void)info;
  int released = 0;
#ifdef __GLIBC__
  released = malloc_trim(0);
#endif
  napi_value result;
  napi_get_boolean(env, released, &result);
  return result;
}

#define METHOD(name, fn) {name, NULL, fn, NULL, NULL, NULL, napi_default, NULL}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
    METHOD("disableCoreDumps", DisableCoreDumps),
    METHOD("mallocTrim", MallocTrim),
    METHOD("heapReduce", HeapReduce),
    METHOD("loadPrivateKey", LoadPrivateKey),
    METHOD("loadPublicKey", LoadPublicKey),
    METHOD("keyInfo", KeyInfo),
    METHOD("dsaSign", DsaSign),
    METHOD("dsaVerify", DsaVerify),
    METHOD("rsaDecryptPkcs1", RsaDecryptPkcs1),
    METHOD("openKernelSocket", OpenKernelSocket),
    METHOD("kernelSocketSend", KernelSocketSend),
    METHOD("kernelSocketPortId", KernelSocketPortId),
    METHOD("kernelSocketClose", KernelSocketClose),
    METHOD("udpSocket", UdpSocket),
    METHOD("udpSocketPair", UdpSocketPair),
    METHOD("setXfrmBypass", SetXfrmBypass),
    METHOD("clearReuseAddr", ClearReuseAddr),
    METHOD("udpBatchOpen", UdpBatchOpen),
    METHOD("udpBatchSend", UdpBatchSend),
    METHOD("udpBatchWantWritable", UdpBatchWantWritable),
    METHOD("udpBatchPort", UdpBatchPort),
    METHOD("udpBatchClose", UdpBatchClose),
    METHOD("mdFetch", MdFetch),
    METHOD("cipherFetch", CipherFetch),
    METHOD("digest", Digest),
    METHOD("hmac", Hmac),
    METHOD("cbc", Cbc),
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}
