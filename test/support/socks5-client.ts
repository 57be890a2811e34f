// A minimal SOCKS5 client for tests and benches: connects from a given local address (the "pod"
// IP the ztunnel identifies the source by) and asks for CONNECT ip:port. Resolves with the socket
// once the proxy replied success; rejects with the reply code otherwise.
import net from 'node:net';

export class Socks5Refused extends Error {
  constructor(readonly reply: number) {
    super(`SOCKS5 reply ${reply}`);
  }
}

export function socks5Connect(
  proxy: { host: string; port: number },
  target: { ip: string; port: number },
  localAddress?: string,
): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({
      host: proxy.host,
      port: proxy.port,
      allowHalfOpen: true,
      noDelay: true,
      ...(localAddress ? { localAddress } : {}),
    });
    let buf = Buffer.alloc(0);
    let stage = 0;
    const fail = (e: Error) => {
      s.destroy();
      reject(e);
    };
    s.on('error', fail);
    s.on('close', () => reject(new Error('SOCKS5 proxy closed the connection')));
    s.on('connect', () => {
      s.write(Buffer.from([5, 1, 0]));
    });
    const onData = (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (stage === 0 && buf.length >= 2) {
        if (buf[1] !== 0) return fail(new Error('SOCKS5 auth refused'));
        buf = buf.subarray(2);
        stage = 1;
        const ip = target.ip.split('.').map(Number);
        const req = Buffer.from([5, 1, 0, 1, ...ip, target.port >> 8, target.port & 0xff]);
        s.write(req);
      }
      if (stage === 1 && buf.length >= 10) {
        s.off('data', onData);
        s.removeAllListeners('close');
        s.off('error', fail);
        if (buf[1] !== 0) {
          s.destroy();
          return reject(new Socks5Refused(buf[1]!));
        }
        s.pause();
        const rest = buf.subarray(10);
        if (rest.length) s.unshift(rest);
        resolve(s);
      }
    };
    s.on('data', onData);
  });
}
