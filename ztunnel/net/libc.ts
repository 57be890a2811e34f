// The few libc socket calls Node's net does not expose (SO_REUSEPORT listeners, sockets bound
// with IP_BIND_ADDRESS_NO_PORT, setns, SO_LINGER / SO_ERROR / SIOCOUTQ), through koffi, bound
// once, and the sockaddr encoding they share.
import koffi from 'koffi';
import { isIP } from 'node:net';
import { ztError } from '../errors.js';
import { writeIpv6 } from '../../core/bpf-maps/ipv6.js';

export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCK_STREAM = 1;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
export const SO_REUSEPORT = 15;
export const IPPROTO_IP = 0;
export const IP_BIND_ADDRESS_NO_PORT = 24;
export const IPPROTO_IPV6 = 41;
export const IPV6_V6ONLY = 26;

export interface Libc {
  socket: (domain: number, type: number, protocol: number) => number;
  setsockopt: (fd: number, level: number, name: number, value: Buffer, len: number) => number;
  bind: (fd: number, addr: Buffer, len: number) => number;
  listen: (fd: number, backlog: number) => number;
  close: (fd: number) => number;
  setns: (fd: number, nstype: number) => number;
  /** `len` is in/out: pass [size of value] */
  getsockopt: (fd: number, level: number, name: number, value: Buffer, len: number[]) => number;
  ioctl: (fd: number, request: number, value: Buffer) => number;
}

/** setns(2) nstype for a network namespace. */
export const CLONE_NEWNET = 0x40000000;

let libc: Libc | undefined;
export function lib(): Libc {
  if (libc) return libc;
  const l = koffi.load('libc.so.6');
  libc = {
    socket: l.func('int socket(int, int, int)'),
    setsockopt: l.func('int setsockopt(int, int, int, const void *, uint32_t)'),
    bind: l.func('int bind(int, const void *, uint32_t)'),
    listen: l.func('int listen(int, int)'),
    close: l.func('int close(int)'),
    setns: l.func('int setns(int, int)'),
    getsockopt: l.func('int getsockopt(int, int, int, void *, _Inout_ uint32_t *)'),
    ioctl: l.func('int ioctl(int, unsigned long, void *)'),
  };
  return libc;
}

export function sockaddr(ip: string, port: number): { buf: Buffer; family: number } {
  if (isIP(ip) === 4) {
    const b = Buffer.alloc(16);
    b.writeUInt16LE(AF_INET, 0);
    b.writeUInt16BE(port, 2);
    ip.split('.').forEach((o, i) => b.writeUInt8(Number(o), 4 + i));
    return { buf: b, family: AF_INET };
  }
  if (isIP(ip) === 6) {
    const b = Buffer.alloc(28);
    b.writeUInt16LE(AF_INET6, 0);
    b.writeUInt16BE(port, 2);
    writeIpv6(b, 8, ip); // sin6_addr
    return { buf: b, family: AF_INET6 };
  }
  throw ztError('ZT_LISTEN', `not an IP address: ${ip}`);
}

const ONE = Buffer.from([1, 0, 0, 0]);

/** Closes `fd` and throws `code` with `what failed: errno N` (errno read before close can change it). */
export function closeAndThrow(fd: number, code: 'ZT_LISTEN' | 'ZT_UPSTREAM_CONNECT', what: string): never {
  const errno = koffi.errno();
  lib().close(fd);
  throw ztError(code, `${what} failed: errno ${errno}`);
}

/** setsockopt(fd, level, name, 1); on failure closes fd and throws `code` naming `what`. */
export function enable(
  fd: number,
  level: number,
  name: number,
  code: 'ZT_LISTEN' | 'ZT_UPSTREAM_CONNECT',
  what: string,
): void {
  if (lib().setsockopt(fd, level, name, ONE, 4) !== 0) closeAndThrow(fd, code, what);
}

/**
 * A non-blocking TCP socket bound to `ip` with IP_BIND_ADDRESS_NO_PORT, ready for Node to
 * connect() (new net.Socket({fd}).connect()). Binding a source address with port 0 makes the
 * kernel reserve a port for that address alone at bind() time: every connection from the one mesh
 * address then competes for one port range whatever its destination, and bind() searches a table
 * that grows with TIME_WAIT (it tripled the ztunnel's CPU per new connection under churn). With the
 * option the port is chosen at connect(), unique per 4-tuple, as Envoy and HAProxy do.
 */
export function boundNoPortSocket(ip: string): number {
  const l = lib();
  const { buf, family } = sockaddr(ip, 0);
  const fd = l.socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw ztError('ZT_UPSTREAM_CONNECT', `socket() failed: errno ${koffi.errno()}`);
  enable(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 'ZT_UPSTREAM_CONNECT', 'IP_BIND_ADDRESS_NO_PORT');
  if (l.bind(fd, buf, buf.length) !== 0) closeAndThrow(fd, 'ZT_UPSTREAM_CONNECT', `bind to ${ip}`);
  return fd;
}
