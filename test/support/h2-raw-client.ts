// A deliberately low-level HTTP/2 client for the hardening suites: it writes frames by hand over
// mutual TLS 1.3, so it can do what a well-behaved client (Node's own, which honours the server's
// SETTINGS and rate-limits its resets) will not: open more streams than MAX_CONCURRENT_STREAMS
// allows, reset streams as fast as it can, never grant flow-control window, and reuse one HPACK
// table entry for thousands of requests. Imports nothing from ztunnel/.
import tls from 'node:tls';

export const FRAME = {
  DATA: 0,
  HEADERS: 1,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
};
export const SETTING = { MAX_CONCURRENT_STREAMS: 3, INITIAL_WINDOW_SIZE: 4 } as const;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const ACK = 0x1;
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export interface RawFrame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

/** HPACK integer with an n-bit prefix (RFC 7541 §5.1). */
function hpackInt(value: number, prefixBits: number, firstByte: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([firstByte | value]);
  const out = [firstByte | max];
  let v = value - max;
  while (v >= 128) {
    out.push((v % 128) + 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

function hpackString(s: string): Buffer {
  const b = Buffer.from(s, 'latin1');
  return Buffer.concat([hpackInt(b.length, 7, 0), b]);
}

/** A header block field: literal without indexing, or with incremental indexing (`index: true`). */
export function literal(name: string, value: string, index = false): Buffer {
  return Buffer.concat([Buffer.from([index ? 0x40 : 0x00]), hpackString(name), hpackString(value)]);
}

/** A reference to an entry of the static or dynamic table (62 = the newest dynamic entry). */
export function indexed(i: number): Buffer {
  return hpackInt(i, 7, 0x80);
}

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([h, payload]);
}

export class RawH2Client {
  readonly frames: RawFrame[] = [];
  readonly serverSettings = new Map<number, number>();
  /** The first GOAWAY received. */
  goaway: { lastStreamId: number; code: number } | undefined;
  closed = false;
  private buf: Buffer = Buffer.alloc(0);
  private nextId = 1;
  private readonly listeners = new Set<(f: RawFrame) => void>();

  private constructor(readonly socket: tls.TLSSocket) {
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', () => undefined);
    socket.on('close', () => (this.closed = true));
  }

  static open(o: {
    host: string;
    port: number;
    keyPem: string;
    certPem: string;
    caPem: string;
    /** SETTINGS sent with the preface, e.g. a tiny INITIAL_WINDOW_SIZE. */
    settings?: [number, number][];
  }): Promise<RawH2Client> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect({
        host: o.host,
        port: o.port,
        key: o.keyPem,
        cert: o.certPem,
        ca: [o.caPem],
        minVersion: 'TLSv1.3',
        ALPNProtocols: ['h2'],
        checkServerIdentity: () => undefined,
      });
      socket.once('error', reject);
      socket.once('secureConnect', () => {
        socket.off('error', reject);
        const c = new RawH2Client(socket);
        const s = Buffer.alloc(6 * (o.settings?.length ?? 0));
        (o.settings ?? []).forEach(([id, v], i) => {
          s.writeUInt16BE(id, i * 6);
          s.writeUInt32BE(v, i * 6 + 2);
        });
        socket.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0, s)]));
        resolve(c);
      });
    });
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    while (this.buf.length >= 9) {
      const len = this.buf.readUIntBE(0, 3);
      if (this.buf.length < 9 + len) break;
      const f: RawFrame = {
        type: this.buf[3] ?? 0,
        flags: this.buf[4] ?? 0,
        streamId: this.buf.readUInt32BE(5) & 0x7fffffff,
        payload: this.buf.subarray(9, 9 + len),
      };
      this.buf = this.buf.subarray(9 + len);
      if (f.type === FRAME.SETTINGS && !(f.flags & ACK)) {
        for (let i = 0; i + 6 <= f.payload.length; i += 6)
          this.serverSettings.set(f.payload.readUInt16BE(i), f.payload.readUInt32BE(i + 2));
        this.socket.write(frame(FRAME.SETTINGS, ACK, 0, Buffer.alloc(0)));
      } else if (f.type === FRAME.PING && !(f.flags & ACK)) {
        this.socket.write(frame(FRAME.PING, ACK, 0, f.payload));
      } else if (f.type === FRAME.GOAWAY) {
        // The first GOAWAY says why; a server may send a second (NO_ERROR) as it closes.
        this.goaway ??= {
          lastStreamId: f.payload.readUInt32BE(0) & 0x7fffffff,
          code: f.payload.readUInt32BE(4),
        };
      }
      // Payloads are not kept: a suite that lets a pod send for seconds would hold it all.
      const kept = f.type === FRAME.DATA ? { ...f, payload: Buffer.alloc(0) } : f;
      this.frames.push(kept);
      for (const l of this.listeners) l(kept);
    }
  }

  onFrame(l: (f: RawFrame) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** Sends a CONNECT request (a whole header block) and returns its stream id. */
  connect(block: Buffer[], opts: { endStream?: boolean } = {}): number {
    const id = this.nextId;
    this.nextId += 2;
    const flags = END_HEADERS | (opts.endStream ? END_STREAM : 0);
    this.socket.write(frame(FRAME.HEADERS, flags, id, Buffer.concat(block)));
    return id;
  }

  /** The §3 CONNECT header block for `authority`. */
  static connectBlock(authority: string): Buffer[] {
    return [literal(':method', 'CONNECT'), literal(':authority', authority)];
  }

  rst(streamId: number, code = 0x8 /* CANCEL */): void {
    const p = Buffer.alloc(4);
    p.writeUInt32BE(code, 0);
    this.socket.write(frame(FRAME.RST_STREAM, 0, streamId, p));
  }

  /** Frames of one type received so far, optionally for one stream. */
  received(type: number, streamId?: number): RawFrame[] {
    return this.frames.filter((f) => f.type === type && (streamId === undefined || f.streamId === streamId));
  }

  close(): void {
    this.socket.destroy();
  }
}
