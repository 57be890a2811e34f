// A test HBONE client written only from DESIGN.md §3 (it imports nothing from ztunnel/): opens
// HTTP/2 over mutual TLS 1.3 (ALPN h2, no SNI) with a given client certificate, checks the
// server's SPIFFE URI SAN, and sends CONNECT requests with the §3 headers (or deliberately
// wrong ones), returning the response status and the stream.
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type OutgoingHttpHeaders } from 'node:http2';
import tls, { type PeerCertificate } from 'node:tls';

export interface ConformanceClient {
  session: ClientHttp2Session;
  serverUriSans: string[];
  alpn: string | false | null;
  protocol: string | null;
  /** Sends a request; resolves with the :status and the open stream. */
  request(headers: OutgoingHttpHeaders): Promise<{ status: number; stream: ClientHttp2Stream }>;
  close(): void;
}

export async function connectConformanceClient(o: {
  host: string;
  port: number;
  keyPem: string;
  certPem: string;
  caPem: string;
  /** The server's expected SPIFFE ID; the connection fails when it differs. */
  expectServer?: string;
}): Promise<ConformanceClient> {
  let serverUriSans: string[] = [];
  const socket = tls.connect({
    host: o.host,
    port: o.port,
    key: o.keyPem,
    cert: o.certPem,
    ca: [o.caPem],
    minVersion: 'TLSv1.3',
    maxVersion: 'TLSv1.3',
    ALPNProtocols: ['h2'],
    checkServerIdentity: (_h: string, cert: PeerCertificate) => {
      serverUriSans = (cert.subjectaltname ?? '')
        .split(/,\s*/)
        .filter((s) => s.startsWith('URI:'))
        .map((s) => s.slice(4));
      if (o.expectServer && !(serverUriSans.length === 1 && serverUriSans[0] === o.expectServer)) {
        return new Error(`server is ${serverUriSans.join(',')}, expected ${o.expectServer}`);
      }
      return undefined;
    },
  });
  const session = http2.connect(`https://${o.host}:${o.port}`, { createConnection: () => socket });
  session.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('close', () => reject(new Error('HBONE session closed during setup')));
    socket.once('error', reject);
  });
  return {
    session,
    serverUriSans,
    alpn: socket.alpnProtocol,
    protocol: socket.getProtocol(),
    request: (headers) =>
      new Promise((resolve, reject) => {
        const stream = session.request(headers, { endStream: false });
        stream.on('error', () => undefined);
        stream.once('response', (h) => resolve({ status: Number(h[':status']), stream }));
        stream.once('close', () =>
          reject(new Error(`stream closed without a response (rst ${stream.rstCode})`)),
        );
      }),
    close: () => session.destroy(),
  };
}

/** Reads a stream to its end (END_STREAM), as text. */
export function readAll(stream: ClientHttp2Stream): Promise<string> {
  return new Promise((resolve, reject) => {
    let s = '';
    stream.on('data', (d: Buffer) => (s += d.toString('latin1')));
    stream.on('end', () => resolve(s));
    stream.on('error', reject);
  });
}
