// Dials a TCP upstream (a local pod from the mesh address, or a passthrough destination) with a
// 10 s connect timeout, half-open allowed and keepalive on. Resolves with the connected socket.
import net from 'node:net';
import { ztError } from '../errors.js';
import { TCP_KEEPALIVE_MS } from '../hbone/splice.js';

export const UPSTREAM_CONNECT_TIMEOUT_MS = 10_000;

export function connectUpstream(
  address: { ip: string; port: number },
  opts: { localAddress?: string; timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({
      host: address.ip,
      port: address.port,
      allowHalfOpen: true,
      noDelay: true,
      keepAlive: true,
      keepAliveInitialDelay: TCP_KEEPALIVE_MS,
      ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
    });
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
