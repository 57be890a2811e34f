import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import tls from 'node:tls';
import { isTlsHandshakeError, HboneTunnelError } from './tunnel-error.js';
import { HbonePool } from './hbone-pool.js';

function err(code: string | undefined, syscall?: string): Error {
  return Object.assign(new Error('the message is never read'), { code, ...(syscall ? { syscall } : {}) });
}

describe('isTlsHandshakeError', () => {
  const fresh = { authorizationError: undefined, secured: false };
  const cases: [string, Error, { authorizationError: string | undefined; secured: boolean }, boolean][] = [
    ['an OpenSSL error', err('ERR_SSL_WRONG_VERSION_NUMBER'), fresh, true],
    ['an OpenSSL alert', err('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'), fresh, true],
    ['a Node TLS error', err('ERR_TLS_CERT_ALTNAME_INVALID'), fresh, true],
    ['EPROTO from the TLS layer', err('EPROTO', 'write'), fresh, true],
    [
      'the verification error the socket recorded',
      err('DEPTH_ZERO_SELF_SIGNED_CERT'),
      { authorizationError: 'DEPTH_ZERO_SELF_SIGNED_CERT', secured: false },
      true,
    ],
    ['a verification-looking code the socket did not record', err('CERT_HAS_EXPIRED'), fresh, false],
    ['the peer hanging up mid-handshake', err('ECONNRESET'), fresh, true],
    [
      'a hang-up after the handshake',
      err('ECONNRESET'),
      { authorizationError: undefined, secured: true },
      false,
    ],
    ['a reset seen by connect()', err('ECONNRESET', 'connect'), fresh, false],
    ['a reset seen by read()', err('ECONNRESET', 'read'), fresh, false],
    ['connection refused', err('ECONNREFUSED', 'connect'), fresh, false],
    ['our own connect timeout', err('ZT_HBONE_CONNECT'), fresh, false],
    ['no code at all', err(undefined), fresh, false],
  ];
  it.each(cases)('%s', (_name, e, state, expected) => {
    expect(isTlsHandshakeError(e, state)).toBe(expected);
  });
});

// Real servers on loopback port 0 that fail the client's handshake in different ways; the pool's
// error must carry the code, whatever Node's message says.
describe('HbonePool tunnel error codes', () => {
  const servers: net.Server[] = [];
  const accepted: net.Socket[] = [];
  afterEach(async () => {
    for (const s of accepted.splice(0)) s.destroy();
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });
  async function listen(onConnection: (s: net.Socket) => void): Promise<number> {
    const server = net.createServer((s) => {
      accepted.push(s);
      s.on('error', () => undefined);
      onConnection(s);
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return (server.address() as net.AddressInfo).port;
  }
  async function openTo(port: number): Promise<HboneTunnelError> {
    const pool = new HbonePool({ connectTimeoutMs: 5_000 });
    const e = await pool
      .open({
        sourceIdentity: 'spiffe://cluster.local/ns/a/sa/client',
        secureContext: tls.createSecureContext({}),
        serverIdentity: 'spiffe://cluster.local/ambit/node/node-2',
        gateway: { ip: '127.0.0.1', port },
        authority: { ip: '10.0.0.7', port: 8080 },
        headers: {},
      })
      .then(
        () => undefined,
        (x: unknown) => x,
      );
    pool.close();
    expect(e).toBeInstanceOf(HboneTunnelError);
    return e as HboneTunnelError;
  }

  it('ZT_HBONE_TLS when the server speaks something other than TLS', async () => {
    const port = await listen((s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    const e = await openTo(port);
    expect(e.code).toBe('ZT_HBONE_TLS');
    expect(e.hint).toMatch(/mTLS handshake/);
  });

  it('ZT_HBONE_TLS when the server hangs up during the handshake', async () => {
    const port = await listen((s) => s.destroy());
    expect((await openTo(port)).code).toBe('ZT_HBONE_TLS');
  });

  it('ZT_HBONE_CONNECT when the server resets the TCP connection', async () => {
    const port = await listen((s) => s.resetAndDestroy());
    expect((await openTo(port)).code).toBe('ZT_HBONE_CONNECT');
  });

  it('ZT_HBONE_CONNECT when nothing listens', async () => {
    const port = await listen(() => undefined);
    await new Promise((r) => servers.pop()?.close(r));
    const e = await openTo(port);
    expect(e.code).toBe('ZT_HBONE_CONNECT');
    expect(e.message).toMatch(/^HBONE connection to 127\.0\.0\.1:\d+ failed: /);
  });
});
