// How the soak's client pod enters the mesh: a SOCKS5 CONNECT at node-1's ztunnel from the client
// pod's address (the ztunnel's explicit outbound door; the kernel redirect needs root and a
// cgroup), bounded by a deadline. The load lanes and their shared context live on this.
import type net from 'node:net';
import { socks5Connect, Socks5Refused } from '../../test/support/socks5-client.js';
import type { ErrorTally } from './error-tally.js';
import { SoakIoError } from './socket-reader.js';

export interface LaneContext {
  tally: ErrorTally;
  socks5: { host: string; port: number };
  clientIp: string;
  /** per round trip, request or dial */
  timeoutMs: number;
}

/** One load lane of the soak: offers its fixed load from start() until stop() resolves. */
export interface LoadLane {
  name: string;
  start(): void;
  stop(): Promise<void>;
}

/** An error kind for a failed dial: the SOCKS5 reply code, a timeout, or the socket error's code. */
export function dialErrorKind(err: unknown): string | undefined {
  if (err instanceof Socks5Refused) return `socks5-reply-${err.reply}`;
  return undefined;
}

export function dialMesh(ctx: LaneContext, target: { ip: string; port: number }): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      reject(new SoakIoError('SOAK_TIMEOUT', `no SOCKS5 answer within ${ctx.timeoutMs} ms`));
    }, ctx.timeoutMs);
    socks5Connect(ctx.socks5, target, ctx.clientIp).then(
      (s) => {
        clearTimeout(timer);
        if (late) s.destroy();
        else resolve(s);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
