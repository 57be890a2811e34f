// SO_LINGER {on, 0} on proxied TCP sockets, so that a ztunnel that dies (SIGKILL, OOM kill, node
// crash) resets its connections instead of closing them with a FIN. The kernel closes a dead
// process's sockets as close(2) does: with the default linger that is a FIN, and a client that had
// sent its FIN and waits for the reply reads a clean EOF with the reply missing (a silent loss,
// seen in the SIGKILL and node-reboot faults). With linger 0 the close is a reset.
// The graceful path must undo it before it ends a socket: close(2) with linger 0 after shutdown()
// still aborts (a FIN_WAIT socket is reset, queued send data not yet sent is dropped), so
// endGracefully() turns linger back off at the shutdown() that follows the last queued byte: FIN
// after every byte, as before. Rule for callers: destroy()/resetAndDestroy() where the connection
// is aborted (a reset is the truth), endGracefully() where it ended cleanly.
// The other half, reading: libuv reports a reset that arrives right behind data (or while the
// socket is paused with data queued) as EOF, not ECONNRESET (a partial read plus POLLHUP is taken for
// EOF), so a proxy that trusts 'end' would pass a peer's reset on as a FIN. pendingSocketError()
// reads SO_ERROR at 'end' to tell the two apart.
import type { Socket } from 'node:net';
import { SOL_SOCKET, lib } from './libc.js';

export const SO_LINGER = 13;
export const SO_ERROR = 4;

/** TIOCOUTQ, which is SIOCOUTQ for a TCP socket (linux/sockios.h). */
const SIOCOUTQ = 0x5411;

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

/**
 * end() that still resets if the process dies before every byte is out, and FINs after them once
 * they are. Linger 0 stays on while Node still holds queued bytes (a FIN then would be a clean EOF
 * with them missing) and is turned off right before Node calls shutdown(SHUT_WR), i.e. once every
 * byte has reached the kernel, which delivers them and the FIN even if the process dies after.
 */
export function endGracefully(socket: Socket): void {
  if (!socket.writableEnded) {
    const final = socket._final;
    socket._final = (callback) => {
      const fd = socketFd(socket);
      // a socket the kernel no longer has (fd gone) has nothing to restore
      if (fd !== undefined) setLinger(fd, false);
      final.call(socket, (err?: Error | null) => {
        if (!err) rearmWhenDelivered(socket);
        callback(err);
      });
    };
  }
  socket.end();
}

/**
 * After our FIN, the other direction may still be open (a pod that read the request to its EOF and
 * has not answered). If every byte we sent is already acknowledged (at most the FIN itself is not),
 * linger 0 goes back on: a process death then resets that half-open connection, so the peer learns
 * its answer has no reader, instead of an orphaned FIN_WAIT socket that resets only its next write.
 * With bytes still unacknowledged it stays off, so the kernel still delivers them after a death.
 */
function rearmWhenDelivered(socket: Socket): void {
  if (socket.readableEnded) return; // both directions done: nothing left to protect
  const fd = socketFd(socket);
  if (fd !== undefined && unacknowledged(fd) <= 1) setLinger(fd, true);
}

/** ioctl(SIOCOUTQ): bytes sent (and the FIN) not yet acknowledged by the peer; Infinity if unknown. */
function unacknowledged(fd: number): number {
  const v = Buffer.alloc(4);
  return lib().ioctl(fd, SIOCOUTQ, v) === 0 ? v.readInt32LE(0) : Infinity;
}

/**
 * The error the kernel holds for the socket (SO_ERROR, e.g. 104 ECONNRESET), cleared by the read;
 * 0 when none or the socket is gone. Non-zero at 'end' means the peer reset, not a FIN.
 */
export function pendingSocketError(socket: Socket): number {
  const fd = socketFd(socket);
  if (fd === undefined) return 0;
  const v = Buffer.alloc(4);
  return lib().getsockopt(fd, SOL_SOCKET, SO_ERROR, v, [4]) === 0 ? v.readInt32LE(0) : 0;
}
