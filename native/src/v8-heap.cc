/*
 * heapReduce(critical): asks V8 for a memory-reducing full GC of the calling thread's isolate
 * (issue 14 goal 5, src/daemon/heap-reducer.ts). Node exposes no way to ask for one: `gc()` (with
 * --expose-gc) is an ordinary full GC, which moves at most a few MB of live objects out of
 * fragmented pages and leaves the free ranges inside the pages it keeps resident. A memory-reducing
 * GC also makes its sweeper give the whole OS pages inside free ranges back to the kernel
 * (madvise), and it picks more fragmented pages to evacuate.
 *
 * critical false: MemoryPressureNotification(kModerate): V8 starts incremental (mostly concurrent)
 * marking with the memory-reducing flag, finished like any incremental GC; no pause of its own.
 * critical true: MemoryPressureNotification(kCritical): one or two atomic memory-reducing full GCs
 * now, on this thread (V8 gives up on the second when the first took over 50 ms and marks
 * incrementally instead). Used by tests and benches that must see the result at once.
 *
 * This is the one file that uses V8's C++ API rather than Node-API: V8 is part of the node binary
 * these headers came from (node-gyp, nodedir), so the symbols resolve to it.
 */
#include <node_api.h>
#include <v8.h>

extern "C" napi_value HeapReduce(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  bool critical = false;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc >= 1) napi_get_value_bool(env, argv[0], &critical);
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  if (isolate != NULL) {
    isolate->MemoryPressureNotification(critical ? v8::MemoryPressureLevel::kCritical
                                                 : v8::MemoryPressureLevel::kModerate);
  }
  napi_value result;
  napi_get_boolean(env, isolate != NULL, &result);
  return result;
}
