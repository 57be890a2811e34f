// Dials a TCP upstream (a local pod from the mesh address, or a passthrough destination) with a
// 10 s connect timeout, half-open allowed and keepalive on, SO_LINGER 0 (net/abortive-close.ts).
// Resolves with the connected socket.
// A source address is bound with IP_BIND_ADDRESS_NO_PORT (see net/libc.ts): the port is picked at
// connect(), per destination, instead of one port range shared by every connection from the mesh
// address and a bind() that slows down with TIME_WAIT.
import net from 'node:net';
import { ztError } from '../errors.js';
import { TCP_KEEPALIVE_MS } from '../hbone/splice.js';
import { boundNoPortSocket } from './libc.js';
import { resetOnProcessDeath } from './abortive-close.js';

/** net.Socket options Node accepts but does not type: `manualStart` keeps it from reading before connect(). */
type FdSocketOptions = net.SocketConstructorOpts & net.TcpSocketConnectOpts & { manualStart: boolean };

export const UPSTREAM_CONNECT_TIMEOUT_MS = 10_000;

export function connectUpstream(
  address: { ip: string; port: number },
  opts: { localAddress?: string; timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const common = {
      allowHalfOpen: true,
      noDelay: true,
      keepAlive: true,
      keepAliveInitialDelay: TCP_KEEPALIVE_MS,
    };
    let socket: net.Socket;
    if (opts.localAddress) {
      let fd: number;
      try {
        fd = boundNoPortSocket(opts.localAddress);
      } catch (err) {
        reject(err);
        return;
      }
      socket = new net.Socket({ ...common, fd, manualStart: true } as FdSocketOptions);
      socket.connect({ host: address.ip, port: address.port });
    } else {
      socket = net.connect({ ...common, host: address.ip, port: address.port });
    }
    const timer = setTimeout(() => {
      socket.destroy();
      reject(ztError('ZT_UPSTREAM_CONNECT', `connect to ${address.ip}:${address.port} timed out`));
    }, opts.timeoutMs ?? UPSTREAM_CONNECT_TIMEOUT_MS);
    const onAbort = () => {
      clearTimeout(timer);
      socket.destroy();
      reject(ztError('ZT_UPSTREAM_CONNECT', 'client went away before the upstream connected'));
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      clearTimeout(timer);
      // a pod (or passthrough destination) reads a reset, not an EOF, if this process dies
      resetOnProcessDeath(socket);
      opts.signal?.removeEventListener('abort', onAbort);
      socket.removeListener('error', onError);
      resolve(socket);
    });
    const onError = (err: Error) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      reject(
        ztError(
          'ZT_UPSTREAM_CONNECT',
          `connect to ${address.ip}:${address.port} failed: ${err.message}`,
          err,
        ),
      );
    };
    socket.once('error', onError);
  });
}
