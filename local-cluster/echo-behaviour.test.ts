import { describe, expect, it } from 'vitest';
import { decideEcho, echoSettingsFromEnv, parseGoDuration, type EchoSettings } from './echo-behaviour.js';

const req = (url: string, headers: Record<string, string> = {}) => {
  const u = new URL(url, 'http://echo');
  return { path: u.pathname, query: u.searchParams, header: (n: string) => headers[n] };
};

describe('decideEcho', () => {
  it.each<{
    name: string;
    url: string;
    headers?: Record<string, string>;
    settings?: EchoSettings;
    random?: number;
    want: unknown;
  }>([
    { name: 'plain echo', url: '/x', want: { kind: 'respond', status: 200, delayMs: 0, echo: true } },
    {
      name: 'echo-basic ?delay',
      url: '/x?delay=1.5s',
      want: { kind: 'respond', status: 200, delayMs: 1500, echo: true },
    },
    {
      name: 'header delay wins',
      url: '/x?delay=1s',
      headers: { 'x-ambit-echo-delay-ms': '20' },
      want: { delayMs: 20 },
    },
    { name: '/status/NNN', url: '/status/418', want: { kind: 'respond', status: 418, echo: false } },
    { name: 'hang by header', url: '/', headers: { 'x-ambit-echo-hang': '1' }, want: { kind: 'hang' } },
    { name: 'hang by pod env', url: '/', settings: { hang: true }, want: { kind: 'hang' } },
    {
      name: 'asked status echoes',
      url: '/',
      headers: { 'x-ambit-echo-status': '503' },
      want: { status: 503, echo: true },
    },
    {
      name: 'fail percent hit',
      url: '/',
      headers: { 'x-ambit-echo-fail-percent': '50' },
      random: 0.49,
      want: { status: 503, echo: false },
    },
    {
      name: 'fail percent miss',
      url: '/',
      headers: { 'x-ambit-echo-fail-percent': '50' },
      random: 0.5,
      want: { status: 200, echo: true },
    },
    {
      name: 'pod fail percent, pod status',
      url: '/',
      settings: { failPercent: 100, failStatus: 500 },
      want: { status: 500 },
    },
    { name: 'pod status', url: '/', settings: { status: 502 }, want: { status: 502, echo: true } },
    { name: '/retry/ without uuid', url: '/retry/a', want: { status: 400 } },
  ])('$name', ({ url, headers, settings, random, want }) => {
    expect(decideEcho(req(url, headers), settings ?? {}, new Map(), () => random ?? 0.99)).toMatchObject(
      want as object,
    );
  });

  it('retry simulation: fails the first succeedAfter attempts of a uuid, then echoes', () => {
    const attempts = new Map<string, number>();
    const r = req('/retry/x?uuid=a&succeedAfter=2&responseCode=500&delayRetry=300ms');
    const seen = [1, 2, 3].map(() => decideEcho(r, {}, attempts, () => 0));
    expect(seen).toEqual([
      { kind: 'respond', status: 500, delayMs: 300, echo: false },
      { kind: 'respond', status: 500, delayMs: 300, echo: false },
      { kind: 'respond', status: 200, delayMs: 0, echo: true },
    ]);
    // without responseCode the connection is reset
    expect(decideEcho(req('/retry/x?uuid=b&succeedAfter=1'), {}, attempts, () => 0)).toEqual({
      kind: 'reset',
      delayMs: 0,
    });
  });

  it('retry simulation by header', () => {
    const attempts = new Map<string, number>();
    const r = req('/', {
      'x-ambit-echo-id': 'z',
      'x-ambit-echo-succeed-after': '1',
      'x-ambit-echo-status': '503',
    });
    expect(decideEcho(r, {}, attempts, () => 0)).toMatchObject({ status: 503, echo: false });
    expect(decideEcho(r, {}, attempts, () => 0)).toMatchObject({ status: 200, echo: true });
  });
});

describe('parseGoDuration and echoSettingsFromEnv', () => {
  it.each([
    ['300ms', 300],
    ['1s', 1000],
    ['1m30s', 90_000],
    ['0', 0],
    ['1x', undefined],
    ['', undefined],
  ])('%s -> %s', (text, ms) => expect(parseGoDuration(text)).toBe(ms));

  it('reads the pod env', () => {
    expect(
      echoSettingsFromEnv({ AMBIT_ECHO_FAIL_PERCENT: '50', AMBIT_ECHO_HANG: '1', AMBIT_ECHO_DELAY_MS: 'x' }),
    ).toEqual({
      failPercent: 50,
      hang: true,
    });
  });
});
