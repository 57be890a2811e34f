// A SOCKS5 front door to the outbound path (like Istio ztunnel's 15080): no authentication,
// CONNECT to an IPv4/IPv6 address only; the source workload is identified by the client's source
// IP. Runs the same decide-then-carry path as captured traffic, with the destination given
// explicitly instead of recovered from the kernel. The success reply is sent only once the
// upstream (HBONE 200, or TCP connect) is up.
import type { Socket } from 'node:net';
import type { OutboundProxy } from './outbound-proxy.js';
import { normalizeAddress } from '../net/peer-address.js';

const REPLY_OK = 0x00;
const REPLY_NOT_ALLOWED = 0x02;
const REPLY_HOST_UNREACHABLE = 0x04;
const REPLY_CMD_UNSUPPORTED = 0x07;
const REPLY_ATYP_UNSUPPORTED = 0x08;
const MAX_HANDSHAKE_BYTES = 512;

export type Socks5Parse =
  | { kind: 'need-more' }
  | { kind: 'greeting'; consumed: number; noAuth: boolean }
  | { kind: 'connect'; consumed: number; ip: string; port: number }
  | { kind: 'error'; reply: number; message: string };

/** Parses the greeting (stage 0) or the request (stage 1) from the head of `buf`. Pure. */
export function parseSocks5(buf: Buffer, stage: 0 | 1): Socks5Parse {
  if (buf.length < 2) return { kind: 'need-more' };
  if (buf[0] !== 0x05) return { kind: 'error', reply: REPLY_NOT_ALLOWED, message: 'not SOCKS5' };
  if (stage === 0) {
    const n = buf.readUInt8(1); // buf.length >= 2 above
    if (buf.length < 2 + n) return { kind: 'need-more' };
    return { kind: 'greeting', consumed: 2 + n, noAuth: buf.subarray(2, 2 + n).includes(0x00) };
  }
  if (buf.length < 4) return { kind: 'need-more' };
  if (buf[1] !== 0x01)
    return { kind: 'error', reply: REPLY_CMD_UNSUPPORTED, message: 'only CONNECT is supported' };
  const atyp = buf[3];
  if (atyp === 0x01) {
    if (buf.length < 10) return { kind: 'need-more' };
    return {
      kind: 'connect',
      consumed: 10,
      ip: [...buf.subarray(4, 8)].join('.'),
      port: buf.readUInt16BE(8),
    };
  }
  if (atyp === 0x04) {
    if (buf.length < 22) return { kind: 'need-more' };
    const parts: string[] = [];
    for (let i = 0; i < 8; i++) parts.push(buf.readUInt16BE(4 + i * 2).toString(16));
    return { kind: 'connect', consumed: 22, ip: compressV6(parts.join(':')), port: buf.readUInt16BE(20) };
  }
  return { kind: 'error', reply: REPLY_ATYP_UNSUPPORTED, message: 'only IP addresses are supported' };
}

function compressV6(full: string): string {
  return new URL(`http://[${full}]/`).hostname.slice(1, -1);
}

function reply(code: number): Buffer {
  return Buffer.from([0x05, code, 0x00, 0x01, 0, 0, 0, 0, 0, 0]);
}

/** `onRequest`: the CONNECT request was read (the end of the SOCKS5 handshake, for its timeout). */
export function handleSocks5(socket: Socket, proxy: OutboundProxy, onRequest?: () => void): void {
  let buf = Buffer.alloc(0);
  let stage: 0 | 1 = 0;
  // A client that sent its request right behind the greeting (no wait) gets the method reply
  // and the CONNECT reply in one write: one wakeup instead of two on its side.
  let greetingReplyPending = false;
  const withGreeting = (b: Buffer) =>
    greetingReplyPending ? Buffer.concat([Buffer.from([0x05, 0x00]), b]) : b;
  socket.on('error', () => undefined);
  const onData = (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    if (buf.length > MAX_HANDSHAKE_BYTES) return socket.destroy();
    for (;;) {
      const p = parseSocks5(buf, stage);
      switch (p.kind) {
        case 'need-more':
          return;
        case 'error':
          socket.end(stage === 0 ? Buffer.from([0x05, 0xff]) : withGreeting(reply(p.reply)));
          socket.off('data', onData);
          return;
        case 'greeting':
          buf = buf.subarray(p.consumed);
          if (!p.noAuth) {
            socket.end(Buffer.from([0x05, 0xff]));
            socket.off('data', onData);
            return;
          }
          if (buf.length > 0) greetingReplyPending = true;
          else socket.write(Buffer.from([0x05, 0x00]));
          stage = 1;
          continue;
        case 'connect': {
          socket.off('data', onData);
          onRequest?.();
          socket.pause();
          const rest = buf.subarray(p.consumed);
          if (rest.length > 0) socket.unshift(rest);
          const src = { ip: normalizeAddress(socket.remoteAddress), port: socket.remotePort ?? 0 };
          void proxy.handle(
            socket,
            src,
            { ip: p.ip, port: p.port },
            {
              ready: () => socket.write(withGreeting(reply(REPLY_OK))),
              refused: (why) => {
                if (!socket.destroyed)
                  socket.write(
                    withGreeting(reply(why === 'deny' ? REPLY_NOT_ALLOWED : REPLY_HOST_UNREACHABLE)),
                  );
              },
            },
          );
          return;
        }
        default: {
          const never: never = p;
          throw new Error(`unknown parse ${JSON.stringify(never)}`);
        }
      }
    }
  };
  socket.on('data', onData);
}
