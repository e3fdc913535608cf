/**
 * A kernel socket the addon gives up for good (IKE_ERR_NATIVE_SOCKET_STOPPED: its descriptor is no
 * longer a socket, or POLLERR keeps coming with nothing to read; native/src/ksock.c) must not leave
 * the daemon deaf to the kernel while it looks healthy. The backend hears it as lost events (a
 * resync), then an InvariantError goes to the process's uncaught-exception handler, where the
 * daemon's crash policy stops it cleanly (exit 70). An error that loses events but leaves the socket
 * read (IKE_ERR_NATIVE_SOCKET, IKE_ERR_NATIVE_OVERRUN) does not. The addon's side cannot be driven
 * on a real socket (there is no way to make POLLERR come without a pending error, or to take the fd
 * from under libuv), so the addon's callback is driven here through a stand-in addon.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadNative, type KernelSocketHandle, type KernelSocketListener, type NativeAddon, type NativeSocketError } from "../../native/index.js";
import { InvariantError } from "../../src/errors.js";
import { KernelSocket } from "../../src/kernel/kernel-socket.js";
import type { LostEvent } from "../../src/kernel/kernel.js";
import { XfrmKernel } from "../../src/kernel/xfrm/xfrm-kernel.js";

/** An addon whose sockets send nothing and whose callbacks the test calls. */
function standIn(): { native: NativeAddon; callbacks: KernelSocketListener[] } {
  const callbacks: KernelSocketListener[] = [];
  const native = {
    ...loadNative(),
    openKernelSocket: (_kind: string, cb: KernelSocketListener) => {
      callbacks.push(cb);
      return {} as KernelSocketHandle;
    },
    kernelSocketPortId: () => 4242,
    kernelSocketSend: () => undefined,
    kernelSocketClose: () => undefined,
  } as NativeAddon;
  return { native, callbacks };
}

function nativeError(code: string, message: string): NativeSocketError {
  return Object.assign(new Error(message), { code, errno: 9, syscall: "poll" });
}

test("a socket stopped for good: the listener hears it, then an InvariantError goes to the crash policy; other errors do not", () => {
  const { native, callbacks } = standIn();
  const heard: (string | undefined)[] = [];
  const s = KernelSocket.open("xfrm", (_d, err) => heard.push(err?.code), { native });
  const cb = callbacks[0]!;
  cb(nativeError("IKE_ERR_NATIVE_SOCKET", "poll: Input/output error"), null);
  cb(nativeError("IKE_ERR_NATIVE_OVERRUN", "recvmsg: No buffer space available"), null);
  assert.throws(() => cb(nativeError("IKE_ERR_NATIVE_SOCKET_STOPPED", "poll: Bad file descriptor"), null), (e: Error) => {
    assert.ok(e instanceof InvariantError);
    assert.match(e.message, /xfrm kernel socket stopped for good: poll: Bad file descriptor/);
    return true;
  });
  assert.deepEqual(heard, ["IKE_ERR_NATIVE_SOCKET", "IKE_ERR_NATIVE_OVERRUN", "IKE_ERR_NATIVE_SOCKET_STOPPED"]);
  s.close();
});

test("XFRM: the event socket stopped for good is a lost event before the invariant failure", async () => {
  const { native, callbacks } = standIn();
  const k = new XfrmKernel({ native });
  const lost: LostEvent[] = [];
  k.on("lost", (ev: LostEvent) => lost.push(ev));
  const events = callbacks[1]!;
  assert.throws(() => events(nativeError("IKE_ERR_NATIVE_SOCKET_STOPPED", "poll: Bad file descriptor"), null), InvariantError);
  assert.deepEqual(lost, [{ type: "lost", cause: "error", detail: "IKE_ERR_NATIVE_SOCKET_STOPPED: poll: Bad file descriptor" }]);
  await k.close();
});
