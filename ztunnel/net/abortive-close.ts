// SO_LINGER {on, 0} on proxied TCP sockets, so that a ztunnel that dies (SIGKILL, OOM kill, node
// crash) resets its connections instead of closing them with a FIN. The kernel closes a dead
// process's sockets as close(2) does: with the default linger that is a FIN, and a client that had
// sent its FIN and waits for the reply reads a clean EOF with the reply missing (a silent loss,
// seen in the SIGKILL and node-reboot faults). With linger 0 the close is a reset.
// The graceful path must undo it before it ends a socket: close(2) with linger 0 after shutdown()
// still aborts (a FIN_WAIT socket is reset, queued send data not yet sent is dropped), so
// endGracefully() turns linger back off, then end()s: FIN after every byte, as before.
import type { Socket } from 'node:net';
import { SOL_SOCKET, lib } from './libc.js';

export const SO_LINGER = 13;

/** struct linger { int l_onoff; int l_linger; } */
function linger(onoff: 0 | 1, seconds: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeInt32LE(onoff, 0);
  b.writeInt32LE(seconds, 4);
  return b;
}
const ABORT = linger(1, 0);
const NORMAL = linger(0, 0);

/** The kernel file descriptor under a connected net.Socket, or undefined (not TCP, or closed). */
export function socketFd(socket: Socket): number | undefined {
  const handle: unknown = Reflect.get(socket, '_handle');
  if (typeof handle !== 'object' || handle === null) return undefined;
  const fd: unknown = Reflect.get(handle, 'fd');
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/** Sets SO_LINGER on an fd (abort: {1, 0}, else off); false when the kernel refused. */
export function setLinger(fd: number, abort: boolean): boolean {
  const v = abort ? ABORT : NORMAL;
  return lib().setsockopt(fd, SOL_SOCKET, SO_LINGER, v, v.length) === 0;
}

/**
 * Makes the socket reset (not FIN) its peer if the process dies or it is destroyed without end().
 * Best effort: a socket already closed, or not a kernel socket, is left as it is.
 */
export function resetOnProcessDeath(socket: Socket): void {
  const fd = socketFd(socket);
  if (fd !== undefined) setLinger(fd, true);
}

/** end() with the default linger back on, so the FIN follows every queued byte. */
export function endGracefully(socket: Socket): void {
  const fd = socketFd(socket);
  // a socket the kernel no longer has (fd gone) has nothing to restore
  if (fd !== undefined) setLinger(fd, false);
  socket.end();
}
