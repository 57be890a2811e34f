// A listening TCP socket made inside another network namespace (a pod's), for the in-pod
// plaintext capture: sk_lookup can only hand a connection to a socket of the pod's own netns.
// socket() is the one call that fixes a socket's namespace, so the calling thread enters the pod's
// netns, makes the socket and returns at once, all synchronously through koffi on the main thread
// (KERNEL-NOTES: libuv's threadpool never changes namespace, and nothing else of ours runs on this
// thread in between). bind() and listen() then act on the fd wherever the thread is.
import koffi from 'koffi';
import { closeSync, openSync, statSync } from 'node:fs';
import { ztError } from '../errors.js';
import { CLONE_NEWNET, SOCK_CLOEXEC, SOCK_STREAM, closeAndThrow, lib, sockaddr } from './libc.js';

/** The calling thread's own network namespace (the main thread is the one that runs JS). */
export const OWN_NETNS = '/proc/thread-self/ns/net';

/** Inode of a netns file: two paths name the same namespace iff they have the same inode. */
export function netnsInode(path: string): number {
  return statSync(path).ino;
}

/**
 * Returns a listening fd bound to ip:port inside the network namespace open as `netnsFd`, for
 * net.Server.listen({fd}). The thread is back in its own namespace when this returns or throws.
 */
export function listenInNetns(
  netnsFd: number,
  ip: string,
  port: number,
  what: string,
  backlog = 1024,
): number {
  const l = lib();
  const own = openSync(OWN_NETNS, 'r');
  let fd: number;
  try {
    if (l.setns(netnsFd, CLONE_NEWNET) !== 0)
      throw ztError('ZT_LISTEN', `setns into ${what} failed: errno ${koffi.errno()}`);
    const { family } = sockaddr(ip, port);
    fd = l.socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const errno = koffi.errno();
    if (l.setns(own, CLONE_NEWNET) !== 0) {
      // Still in the pod's netns: every later socket of this process would be made there.
      // Nothing sane can continue; say so loudly.
      const back = koffi.errno();
      if (fd >= 0) l.close(fd);
      throw ztError('ZT_LISTEN', `setns back from ${what} failed: errno ${back}; the process must restart`);
    }
    if (fd < 0) throw ztError('ZT_LISTEN', `socket() in ${what} failed: errno ${errno}`);
  } finally {
    closeSync(own);
  }
  const { buf } = sockaddr(ip, port);
  if (l.bind(fd, buf, buf.length) !== 0) closeAndThrow(fd, 'ZT_LISTEN', `bind ${ip}:${port} in ${what}`);
  if (l.listen(fd, backlog) !== 0) closeAndThrow(fd, 'ZT_LISTEN', `listen in ${what}`);
  return fd;
}
