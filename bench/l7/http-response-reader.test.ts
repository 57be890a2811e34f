import { describe, expect, it } from 'vitest';
import { HttpResponseError, HttpResponseReader, type ResponseHead } from './http-response-reader.js';

const body1k = 'x'.repeat(1024);
const cl = (status: number, body: string, extra = '') =>
  `HTTP/1.1 ${status} OK\r\ncontent-type: text/plain\r\n${extra}Content-Length: ${body.length}\r\n\r\n${body}`;
const chunked = (parts: string[], trailer = '') =>
  `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n` +
  parts.map((p) => `${p.length.toString(16)}\r\n${p}\r\n`).join('') +
  `0\r\n${trailer}\r\n`;

function read(pieces: string[]): ResponseHead[] {
  const out: ResponseHead[] = [];
  const r = new HttpResponseReader((h) => out.push(h));
  for (const p of pieces) r.push(Buffer.from(p, 'latin1'));
  return out;
}

/** Every way of cutting `s` in two, so no boundary is special. */
function everySplit(s: string): string[][] {
  return Array.from({ length: s.length + 1 }, (_, i) => [s.slice(0, i), s.slice(i)]);
}

describe('HttpResponseReader', () => {
  const cases: { description: string; wire: string; want: ResponseHead[] }[] = [
    { description: 'content-length body', wire: cl(200, body1k), want: [{ status: 200, close: false }] },
    {
      description: 'two responses back to back',
      wire: cl(200, body1k) + cl(503, 'no healthy upstream'),
      want: [
        { status: 200, close: false },
        { status: 503, close: false },
      ],
    },
    { description: 'empty body', wire: cl(404, ''), want: [{ status: 404, close: false }] },
    {
      description: 'Connection: close',
      wire: cl(200, 'ok', 'Connection: close\r\n'),
      want: [{ status: 200, close: true }],
    },
    {
      description: 'HTTP/1.0 without keep-alive closes',
      wire: 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok',
      want: [{ status: 200, close: true }],
    },
    {
      description: 'chunked, several chunks, then a content-length response',
      wire: chunked(['abc', 'x'.repeat(300)]) + cl(200, 'ok'),
      want: [
        { status: 200, close: false },
        { status: 200, close: false },
      ],
    },
    {
      description: 'chunked with a trailer and a chunk extension',
      wire: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n0\r\nx-t: 1\r\n\r\n',
      want: [{ status: 200, close: false }],
    },
    {
      description: '204 without framing',
      wire: 'HTTP/1.1 204 No Content\r\n\r\n',
      want: [{ status: 204, close: false }],
    },
  ];

  it.each(cases)('$description', ({ wire, want }) => {
    expect(read([wire])).toEqual(want);
    for (const split of everySplit(wire)) expect(read(split)).toEqual(want);
    // one byte at a time
    expect(read([...wire])).toEqual(want);
  });

  it('reports nothing until the body is complete', () => {
    const wire = cl(200, body1k);
    expect(read([wire.slice(0, -1)])).toEqual([]);
  });

  const bad: { description: string; wire: string }[] = [
    { description: 'not HTTP', wire: 'SSH-2.0-OpenSSH\r\n\r\n' },
    { description: 'no framing on a 200', wire: 'HTTP/1.1 200 OK\r\n\r\nbody' },
    { description: 'bad chunk size', wire: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n' },
  ];
  it.each(bad)('rejects $description', ({ wire }) => {
    expect(() => read([wire])).toThrow(HttpResponseError);
  });
});
