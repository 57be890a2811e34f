import { describe, expect, it } from 'vitest';
import { CertificateRotator, renewAt, retryDelay } from './certificate-rotator.js';
import { FakeClock } from '../policy/fake-clock.test-helper.js';
import type { IssuedCertificate } from './issued-certificate.js';

const cert = (n: number, from: number, to: number): IssuedCertificate => ({
  identity: 'spiffe://td/ns/a/sa/b',
  keyPem: `key-${n}`,
  certChainPem: [`leaf-${n}`, 'root'],
  rootPem: 'root',
  notBefore: new Date(from),
  notAfter: new Date(to),
});

describe('certificate rotation policy', () => {
  it.each([
    [0, 1000, 500],
    [1000, 87_401_000, 43_701_000],
  ])('renews at half-life of [%d, %d] -> %d', (from, to, want) => {
    expect(renewAt({ notBefore: new Date(from), notAfter: new Date(to) })).toBe(want);
  });
  it.each([
    [0, 1000],
    [1, 2000],
    [3, 8000],
    [10, 60_000],
  ])('retry %d waits %d ms', (attempt, ms) => expect(retryDelay(attempt)).toBe(ms));
});

describe('CertificateRotator on a fake clock', () => {
  it('issues, renews at half-life, retries with backoff and keeps the old cert meanwhile', async () => {
    const clock = new FakeClock();
    const outcomes: (number | 'fail')[] = [1, 'fail', 'fail', 2];
    const calls: number[] = [];
    const rotated: string[] = [];
    const r = new CertificateRotator({
      identity: 'spiffe://td/ns/a/sa/b',
      clock,
      random: () => 0, // no jitter: the retries land on the backoff's ceiling
      onRotate: (c) => rotated.push(c.keyPem),
      issue: async () => {
        calls.push(clock.now());
        const o = outcomes.shift()!;
        if (o === 'fail') throw new Error('CA unavailable');
        return cert(o, clock.now(), clock.now() + 100_000);
      },
    });
    expect((await r.start()).keyPem).toBe('key-1');
    await clock.advance(49_999);
    expect(calls).toEqual([0]);
    await clock.advance(1); // half-life: first renewal attempt fails
    expect(r.current().keyPem).toBe('key-1');
    await clock.advance(1000); // retry after 1 s fails
    expect(r.current().keyPem).toBe('key-1');
    await clock.advance(2000); // retry after 2 s succeeds
    expect(calls).toEqual([0, 50_000, 51_000, 53_000]);
    expect(r.current().keyPem).toBe('key-2');
    expect(rotated).toEqual(['key-2']);
    r.stop();
    await clock.advance(1_000_000);
    expect(calls).toHaveLength(4);
  });
});

describe('CertificateRotator retries with jitter', () => {
  it('draws each retry from the injected random source, within [ceiling/2, ceiling] and never under 1 s', async () => {
    const clock = new FakeClock();
    const outcomes: (number | 'fail')[] = [1, 'fail', 'fail', 'fail', 2];
    const calls: number[] = [];
    const r = new CertificateRotator({
      identity: 'spiffe://td/ns/a/sa/b',
      clock,
      random: () => 0.5,
      issue: async () => {
        calls.push(clock.now());
        const o = outcomes.shift();
        if (o === undefined || o === 'fail') throw new Error('CA unavailable');
        return cert(o, clock.now(), clock.now() + 100_000);
      },
    });
    await r.start();
    await clock.advance(50_000); // half-life: fails
    await clock.advance(1_000); // 1st retry: ceiling 1 s, half jitter would be 0.5 s, floor 1 s
    await clock.advance(1_500); // 2nd retry: ceiling 2 s, half jitter -> 1.5 s
    await clock.advance(3_000); // 3rd retry: ceiling 4 s -> 3 s, succeeds
    expect(calls).toEqual([0, 50_000, 51_000, 52_500, 55_500]);
    expect(r.current().keyPem).toBe('key-2');
    r.stop();
  });
});
