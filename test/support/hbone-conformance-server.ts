// A test HBONE server written only from DESIGN.md §3 (it imports nothing from ztunnel/): HTTP/2
// over mutual TLS 1.3 with ALPN h2, client certificate required and checked against the mesh root.
// It records every TLS connection (SNI, protocol, ALPN, client SPIFFE ID) and every CONNECT
// request (pseudo-headers and headers), answers 200 once its own upstream TCP connection is up
// (or echoes in-process when no upstream is given), and maps half-close per §3.
import http2, { type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import net from 'node:net';
import type { TLSSocket } from 'node:tls';

export interface ConformanceTls {
  servername: string | false;
  protocol: string | null;
  alpn: string | false | null;
  cipher: string;
  clientUriSans: string[];
  /** SHA-256 fingerprint of the client certificate (tells a rotated certificate apart). */
  clientFingerprint: string;
}

export interface ConformanceRequest {
  headers: IncomingHttpHeaders;
  sessionIndex: number;
}

export interface ConformanceServer {
  port: number;
  tls: ConformanceTls[];
  requests: ConformanceRequest[];
  /** Bytes each tunnel received after the client's END_STREAM arrived (half-close check). */
  halfClosed: { received: string }[];
  /** streams currently open per session index */
  openStreams: Map<number, number>;
  close(): Promise<void>;
}

function uris(san: string | undefined): string[] {
  return (san ?? '')
    .split(/,\s*/)
    .filter((s) => s.startsWith('URI:'))
    .map((s) => s.slice(4));
}

export async function startConformanceServer(o: {
  host: string;
  port: number;
  keyPem: string;
  certPem: string;
  caPem: string;
  /** 'echo': answer 200 and echo bytes; 'hold': answer 200 and keep the stream open, echoing; or a fixed status. */
  mode?: 'echo' | number;
}): Promise<ConformanceServer> {
  const tls: ConformanceTls[] = [];
  const requests: ConformanceRequest[] = [];
  const halfClosed: { received: string }[] = [];
  const openStreams = new Map<number, number>();
  const sessionIndex = new WeakMap<object, number>();
  const server = http2.createSecureServer({
    key: o.keyPem,
    cert: o.certPem,
    ca: [o.caPem],
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.3',
    maxVersion: 'TLSv1.3',
    ALPNProtocols: ['h2'],
    allowHTTP1: false,
  });
  server.on('secureConnection', (s: TLSSocket) => {
    tls.push({
      servername: (s as TLSSocket & { servername: string | false }).servername,
      protocol: s.getProtocol(),
      alpn: s.alpnProtocol,
      cipher: s.getCipher().name,
      clientUriSans: uris(s.getPeerCertificate().subjectaltname),
      clientFingerprint: s.getPeerCertificate().fingerprint256,
    });
  });
  let sessions = 0;
  server.on('session', (session) => {
    sessionIndex.set(session, sessions++);
    session.on('error', () => undefined);
  });
  server.on('stream', (stream: ServerHttp2Stream, headers) => {
    const idx = sessionIndex.get(stream.session!) ?? -1;
    requests.push({ headers, sessionIndex: idx });
    openStreams.set(idx, (openStreams.get(idx) ?? 0) + 1);
    stream.on('close', () => openStreams.set(idx, (openStreams.get(idx) ?? 1) - 1));
    stream.on('error', () => undefined);
    if (headers[':method'] !== 'CONNECT') return stream.respond({ ':status': 400 }, { endStream: true });
    if (typeof o.mode === 'number') return stream.respond({ ':status': o.mode }, { endStream: true });
    stream.respond({ ':status': 200 });
    // Echo, keeping what arrives; on the client's END_STREAM, reply with what we got and end.
    let got = '';
    stream.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      stream.write(d);
    });
    stream.on('end', () => {
      halfClosed.push({ received: got });
      stream.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: o.host, port: o.port }, () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    tls,
    requests,
    halfClosed,
    openStreams,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        setTimeout(resolve, 2_000).unref();
      }),
  };
}
