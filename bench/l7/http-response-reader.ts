// An incremental HTTP/1.1 response reader for bench/l7's load generator: feeds it the bytes of
// one keep-alive connection and it reports each complete response (status, whether the peer will
// close). Bodies framed by Content-Length or chunked encoding are skipped, not kept. It reads
// only what a reverse proxy answers a GET with; it is no general HTTP parser (no 1xx, no HEAD).

export interface ResponseHead {
  status: number;
  /** The peer said `Connection: close` (or spoke HTTP/1.0 without keep-alive). */
  close: boolean;
}

export class HttpResponseError extends Error {
  readonly code = 'BENCH_BAD_RESPONSE';
}

type State =
  | { kind: 'head' }
  | { kind: 'body'; left: number }
  | { kind: 'chunk-size' }
  | { kind: 'chunk-data'; left: number }
  | { kind: 'trailers' };

const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');
/** A head longer than this is a broken peer, not a slow one. */
const MAX_HEAD = 64 * 1024;

export class HttpResponseReader {
  private buf: Buffer = Buffer.alloc(0);
  private state: State = { kind: 'head' };
  private head: ResponseHead = { status: 0, close: false };

  constructor(private readonly onResponse: (r: ResponseHead) => void) {}

  /** Consumes bytes; calls onResponse once per complete response. Throws HttpResponseError. */
  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    for (;;) {
      if (!this.step()) return;
    }
  }

  /** One transition; false when more bytes are needed. */
  private step(): boolean {
    const s = this.state;
    switch (s.kind) {
      case 'head': {
        const end = this.buf.indexOf(HEAD_END);
        if (end < 0) {
          if (this.buf.length > MAX_HEAD) throw new HttpResponseError('response head too long');
          return false;
        }
        const text = this.buf.subarray(0, end).toString('latin1');
        this.buf = this.buf.subarray(end + 4);
        this.state = this.parseHead(text);
        if (this.state.kind === 'body' && this.state.left === 0) this.finish();
        return true;
      }
      case 'body': {
        if (this.buf.length === 0) return false;
        const n = Math.min(s.left, this.buf.length);
        this.buf = this.buf.subarray(n);
        s.left -= n;
        if (s.left === 0) this.finish();
        return true;
      }
      case 'chunk-size': {
        const eol = this.buf.indexOf(CRLF);
        if (eol < 0) return false;
        const size = parseInt(this.buf.subarray(0, eol).toString('latin1').split(';')[0] ?? '', 16);
        if (!Number.isFinite(size) || size < 0) throw new HttpResponseError('bad chunk size');
        this.buf = this.buf.subarray(eol + 2);
        // data plus its CRLF; the last chunk is followed by trailers and an empty line
        this.state = size === 0 ? { kind: 'trailers' } : { kind: 'chunk-data', left: size + 2 };
        return true;
      }
      case 'chunk-data': {
        if (this.buf.length === 0) return false;
        const n = Math.min(s.left, this.buf.length);
        this.buf = this.buf.subarray(n);
        s.left -= n;
        if (s.left === 0) this.state = { kind: 'chunk-size' };
        return true;
      }
      case 'trailers': {
        const eol = this.buf.indexOf(CRLF);
        if (eol < 0) return false;
        this.buf = this.buf.subarray(eol + 2);
        if (eol === 0) this.finish();
        return true;
      }
    }
  }

  private parseHead(text: string): State {
    const lines = text.split('\r\n');
    const m = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0] ?? '');
    if (!m) throw new HttpResponseError(`bad status line: ${(lines[0] ?? '').slice(0, 80)}`);
    let length: number | undefined;
    let chunked = false;
    let connection = '';
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line
        .slice(colon + 1)
        .trim()
        .toLowerCase();
      if (name === 'content-length') length = Number(value);
      else if (name === 'transfer-encoding') chunked = value.split(',').some((v) => v.trim() === 'chunked');
      else if (name === 'connection') connection = value;
    }
    const http10 = m[1] === '0';
    this.head = {
      status: Number(m[2]),
      close: connection.includes('close') || (http10 && !connection.includes('keep-alive')),
    };
    if (chunked) return { kind: 'chunk-size' };
    if (length === undefined || !Number.isInteger(length) || length < 0) {
      // 204/304 have no body; anything else unframed would run to EOF, which a keep-alive bench
      // cannot measure
      if (this.head.status === 204 || this.head.status === 304) return { kind: 'body', left: 0 };
      throw new HttpResponseError(`response ${this.head.status} without Content-Length or chunked framing`);
    }
    return { kind: 'body', left: length };
  }

  private finish(): void {
    this.state = { kind: 'head' };
    this.onResponse(this.head);
  }
}
