// Fuzzing the SOCKS5 listener (issue 11 item 3) of a real in-process ztunnel on loopback: near-valid
// greetings and requests (wrong version, no usable method, other commands and address types, cut
// short, extra bytes) and random bytes, written in random chunks. The reply must be the one
// RFC 1928 gives for the input (method 0xff, REP 7 for a command, REP 8 for an address type, a
// refusal code for an unreachable destination), the connection must end (never hang), and after
// each input a valid CONNECT must still carry bytes.
import net from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { socks5Connect } from '../support/socks5-client.js';
import { startSocks5Ztunnel, type Socks5Ztunnel } from '../support/fuzz-socks5-ztunnel.js';
import { fuzzAssertAsync } from '../support/fuzz-mutate.js';
import { until } from '../support/until.js';

const P = '127.0.151';

/** `p`, or an error naming what did not happen within `ms` (a hang is a failure). */
function withinMs<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** What RFC 1928 (and DESIGN: IP addresses only) says the proxy answers to `bytes`, then EOF. */
type Verdict =
  | { kind: 'silent' } // not enough bytes for a decision: the proxy closes on our EOF
  | { kind: 'no-method' } // 05 ff
  | { kind: 'greeted' } // 05 00 (or nothing, see below), then nothing: the request was cut short
  | { kind: 'refused'; rep: number | 'any' } // 05 00, then a reply with REP != 0
  | { kind: 'connect'; ip: string; port: number; requestEnd: number };

function verdict(b: Buffer): Verdict {
  if (b.length < 2) return { kind: 'silent' };
  if (b[0] !== 5) return { kind: 'no-method' };
  const n = b[1] ?? 0;
  if (b.length < 2 + n) return { kind: 'silent' };
  if (!b.subarray(2, 2 + n).includes(0)) return { kind: 'no-method' };
  const r = b.subarray(2 + n);
  if (r.length < 2) return { kind: 'greeted' };
  if (r[0] !== 5) return { kind: 'refused', rep: 'any' };
  if (r.length < 4) return { kind: 'greeted' };
  if (r[1] !== 1) return { kind: 'refused', rep: 7 };
  if (r[3] === 1) {
    if (r.length < 10) return { kind: 'greeted' };
    return {
      kind: 'connect',
      ip: [...r.subarray(4, 8)].join('.'),
      port: r.readUInt16BE(8),
      requestEnd: 2 + n + 10,
    };
  }
  if (r[3] === 4) {
    if (r.length < 22) return { kind: 'greeted' };
    return { kind: 'connect', ip: 'v6', port: r.readUInt16BE(20), requestEnd: 2 + n + 22 };
  }
  return { kind: 'refused', rep: 8 };
}

describe('fuzz: the SOCKS5 listener of a real ztunnel', () => {
  let m: Socks5Ztunnel;
  beforeAll(async () => {
    m = await startSocks5Ztunnel({ prefix: P, handshakeTimeoutMs: 100 });
  });
  /** Client sockets still open (a hung exchange): destroyed before the ztunnel stops. */
  const clients = new Set<net.Socket>();
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await m?.stop();
  });

  /** Destinations whose outcome is known: the echo pod, and addresses where nothing listens. */
  const destination = () =>
    fc.oneof(
      { weight: 2, arbitrary: fc.constant({ v4: m.echo.ip, port: m.echo.port }) },
      fc.constantFrom({ v4: `${P}.99`, port: 1 }, { v4: `${P}.50`, port: 1 }, { v4: '0.0.0.0', port: 0 }),
      fc.constant({ v6: '::1', port: 1 }),
    );

  function requestBytes(cmd: number, atyp: number, d: { v4?: string; v6?: string; port: number }): Buffer {
    const port = [d.port >> 8, d.port & 0xff];
    if (atyp === 1 && d.v4) return Buffer.from([5, cmd, 0, 1, ...d.v4.split('.').map(Number), ...port]);
    if (atyp === 4 || d.v6) {
      const v6 = Buffer.alloc(16);
      v6[15] = 1; // ::1
      return Buffer.from([5, cmd, 0, 4, ...v6, ...port]);
    }
    return Buffer.from([5, cmd, 0, atyp, 9, ...Buffer.from('localhost'), ...port]);
  }

  const input = () =>
    fc.oneof(
      {
        weight: 5,
        arbitrary: fc
          .record({
            ver: fc.oneof({ weight: 5, arbitrary: fc.constant(5) }, fc.constantFrom(4, 0, 6, 0xff)),
            methods: fc.oneof(
              { weight: 4, arbitrary: fc.constant([0]) },
              fc.uint8Array({ maxLength: 6 }).map((a) => [...a]),
              fc.constant([1, 2]),
            ),
            cmd: fc.oneof({ weight: 5, arbitrary: fc.constant(1) }, fc.constantFrom(0, 2, 3, 0xff)),
            atyp: fc.oneof({ weight: 5, arbitrary: fc.constant(1) }, fc.constantFrom(3, 4, 0, 2, 0xff)),
            reqVer: fc.oneof({ weight: 8, arbitrary: fc.constant(5) }, fc.constant(4)),
            dest: destination(),
            cut: fc.option(fc.nat({ max: 40 }), { nil: undefined, freq: 4 }),
          })
          .map(({ ver, methods, cmd, atyp, reqVer, dest, cut }) => {
            const req = requestBytes(cmd, atyp, dest);
            req[0] = reqVer;
            const all = Buffer.concat([Buffer.from([ver, methods.length, ...methods]), req]);
            return cut === undefined ? all : all.subarray(0, cut);
          }),
      },
      fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
    );

  /**
   * Writes `bytes` in the given chunks, half-closes (after `finAfter` bytes came back, if given),
   * and returns everything read until close.
   */
  function exchange(bytes: Buffer, cuts: number[], finAfter?: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: m.socks.host, port: m.socks.port, localAddress: m.clientIp });
      clients.add(s);
      s.once('close', () => clients.delete(s));
      const got: Buffer[] = [];
      s.on('data', (d: Buffer) => got.push(d));
      s.on('error', () => undefined);
      s.once('close', () => resolve(Buffer.concat(got)));
      s.once('connect', async () => {
        try {
          let at = 0;
          for (const c of [...new Set(cuts.map((x) => x % (bytes.length + 1)))].sort((a, b) => a - b)) {
            s.write(bytes.subarray(at, c));
            at = c;
            await new Promise((r) => setImmediate(r));
          }
          s.write(bytes.subarray(at));
          if (finAfter !== undefined)
            await until(
              'the SOCKS5 reply',
              () => got.reduce((n, b) => n + b.length, 0) >= finAfter,
              10_000,
              5,
            );
          s.end();
        } catch (err) {
          reject(err);
        }
      });
    });
  }

  async function expectServing(): Promise<void> {
    const s = await socks5Connect(m.socks, { ip: m.echo.ip, port: m.echo.port }, m.clientIp);
    const back = await new Promise<string>((resolve, reject) => {
      let got = '';
      s.on('data', (d: Buffer) => (got += d.toString()));
      s.once('end', () => resolve(got));
      s.once('error', reject);
      s.resume();
      s.end('ping');
    });
    expect(back).toBe('ping');
  }

  it('answers every input as RFC 1928 says, always closes, and keeps serving', async () => {
    const seen = new Map<string, number>();
    await fuzzAssertAsync(
      'socks5: greetings and requests in random chunks',
      fc.tuple(input(), fc.array(fc.nat(), { maxLength: 4 })),
      async ([bytes, cuts]) => {
        const v = verdict(bytes);
        const reachable = v.kind === 'connect' && v.ip === m.echo.ip && v.port === m.echo.port;
        const reply = await withinMs(
          10_000,
          'the SOCKS5 listener to answer and close',
          exchange(bytes, cuts),
        );
        seen.set(v.kind, (seen.get(v.kind) ?? 0) + 1);
        switch (v.kind) {
          case 'silent':
            expect(reply.length).toBe(0);
            break;
          case 'no-method':
            expect([...reply]).toEqual([5, 0xff]);
            break;
          case 'greeted':
            // the method reply, or nothing: a request that came in the greeting's segment holds the
            // method reply back to go out with the CONNECT reply (one write), and this one never completed
            expect([[5, 0], []]).toContainEqual([...reply]);
            break;
          case 'refused': {
            expect([...reply.subarray(0, 2)]).toEqual([5, 0]);
            expect(reply.length).toBe(12);
            expect(reply[2]).toBe(5);
            if (v.rep === 'any') expect(reply[3]).not.toBe(0);
            else expect(reply[3]).toBe(v.rep);
            break;
          }
          case 'connect': {
            expect([...reply.subarray(0, 2)]).toEqual([5, 0]);
            expect(reply[2]).toBe(5);
            const rep = reply[3];
            if (reachable) {
              // reached the echo pod: whatever followed the request came back
              expect(rep).toBe(0);
            } else {
              // nothing listens there: host unreachable or not allowed, never success
              expect([2, 4]).toContain(rep);
              expect(reply.length).toBe(12);
            }
            break;
          }
          default: {
            const never: never = v;
            throw new Error(`unknown verdict ${JSON.stringify(never)}`);
          }
        }
        await expectServing();
      },
      { seed: 0x50c5, numRuns: 400 },
    );
    console.log(`[fuzz] socks5: verdicts ${JSON.stringify(Object.fromEntries(seen))}`);
  });

  it('greeting, CONNECT and FIN sent at once end with the tunnel (the FIN is carried)', async () => {
    const ip = m.echo.ip.split('.').map(Number);
    const req = Buffer.from([5, 1, 0, 5, 1, 0, 1, ...ip, m.echo.port >> 8, m.echo.port & 0xff]);
    const reply = await withinMs(3_000, 'the connection to end', exchange(req, []));
    expect(reply[3]).toBe(0);
  });
});
