// A listening TCP socket with SO_REUSEPORT, made with koffi (socket, setsockopt, bind, listen)
// because Node 20's net has no reusePort: several worker processes each adopt their own such
// socket on the same address and port (server.listen({fd})) and the kernel spreads new
// connections across them, with no hop through a primary (KERNEL-NOTES "Several cores").
import koffi from 'koffi';
import { isIP } from 'node:net';
import { ztError } from '../errors.js';

const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_REUSEADDR = 2;
const SO_REUSEPORT = 15;
const IPPROTO_IPV6 = 41;
const IPV6_V6ONLY = 26;

interface Libc {
  socket: (domain: number, type: number, protocol: number) => number;
  setsockopt: (fd: number, level: number, name: number, value: Buffer, len: number) => number;
  bind: (fd: number, addr: Buffer, len: number) => number;
  listen: (fd: number, backlog: number) => number;
  close: (fd: number) => number;
}

let libc: Libc | undefined;
function lib(): Libc {
  if (libc) return libc;
  const l = koffi.load('libc.so.6');
  libc = {
    socket: l.func('int socket(int, int, int)'),
    setsockopt: l.func('int setsockopt(int, int, int, const void *, uint32_t)'),
    bind: l.func('int bind(int, const void *, uint32_t)'),
    listen: l.func('int listen(int, int)'),
    close: l.func('int close(int)'),
  } as unknown as Libc;
  return libc;
}

function sockaddr(ip: string, port: number): { buf: Buffer; family: number } {
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
    const full = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
    const [head, tail] = full.includes('::') ? full.split('::') : [full, undefined];
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
    groups.forEach((g, i) => b.writeUInt16BE(parseInt(g || '0', 16), 8 + i * 2));
    return { buf: b, family: AF_INET6 };
  }
  throw ztError('ZT_LISTEN', `not an IP address: ${ip}`);
}

/** Returns a listening fd bound to ip:port with SO_REUSEPORT, for net.Server.listen({fd}). */
export function reusePortListener(ip: string, port: number, backlog = 4096): number {
  const l = lib();
  const { buf, family } = sockaddr(ip, port);
  const fd = l.socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw ztError('ZT_LISTEN', `socket() failed: errno ${koffi.errno()}`);
  const one = Buffer.alloc(4);
  one.writeInt32LE(1, 0);
  const fail = (what: string): never => {
    const errno = koffi.errno();
    l.close(fd);
    throw ztError('ZT_LISTEN', `${what} on ${ip}:${port} failed: errno ${errno}`);
  };
  if (l.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, one, 4) !== 0) fail('SO_REUSEADDR');
  if (l.setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, one, 4) !== 0) fail('SO_REUSEPORT');
  if (family === AF_INET6) l.setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, one, 4);
  if (l.bind(fd, buf, buf.length) !== 0) fail('bind');
  if (l.listen(fd, backlog) !== 0) fail('listen');
  return fd;
}
