// A listening TCP socket with SO_REUSEPORT, made with koffi (socket, setsockopt, bind, listen)
// because Node 20's net has no reusePort: several worker processes each adopt their own such
// socket on the same address and port (server.listen({fd})) and the kernel spreads new
// connections across them, with no hop through a primary (KERNEL-NOTES "Several cores").
import koffi from 'koffi';
import { ztError } from '../errors.js';
import {
  AF_INET6,
  IPPROTO_IPV6,
  IPV6_V6ONLY,
  SO_REUSEADDR,
  SO_REUSEPORT,
  SOCK_CLOEXEC,
  SOCK_STREAM,
  SOL_SOCKET,
  closeAndThrow,
  enable,
  lib,
  sockaddr,
} from './libc.js';

/** Returns a listening fd bound to ip:port with SO_REUSEPORT, for net.Server.listen({fd}). */
export function reusePortListener(ip: string, port: number, backlog = 4096): number {
  const l = lib();
  const { buf, family } = sockaddr(ip, port);
  const fd = l.socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw ztError('ZT_LISTEN', `socket() failed: errno ${koffi.errno()}`);
  const where = `on ${ip}:${port}`;
  enable(fd, SOL_SOCKET, SO_REUSEADDR, 'ZT_LISTEN', `SO_REUSEADDR ${where}`);
  enable(fd, SOL_SOCKET, SO_REUSEPORT, 'ZT_LISTEN', `SO_REUSEPORT ${where}`);
  if (family === AF_INET6) enable(fd, IPPROTO_IPV6, IPV6_V6ONLY, 'ZT_LISTEN', `IPV6_V6ONLY ${where}`);
  if (l.bind(fd, buf, buf.length) !== 0) closeAndThrow(fd, 'ZT_LISTEN', `bind ${where}`);
  if (l.listen(fd, backlog) !== 0) closeAndThrow(fd, 'ZT_LISTEN', `listen ${where}`);
  return fd;
}
